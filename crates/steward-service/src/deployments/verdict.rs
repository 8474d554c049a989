//! What a promotion needs: the governing policy's `on_promotion` answer (with the candidate's
//! and the champion's holdout metrics and baselines, the risk tier and the approvals so far),
//! or the risk tier's default when no policy governs the model or its policy has no
//! `on_promotion` (high: two governance officers, medium: one, low: none); a policy that fails
//! denies. And whether the approvals that count
//! meet it: distinct approvers, of the role named, not cancelled, not expired.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use steward_domain::*;
use steward_policy as sp;

use crate::policy::EvaluatePolicy;
use crate::{Service, ServiceError, ServiceResult};

/// What the policy (or the risk tier's default) asks for.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Required {
    Allow,
    Deny(String),
    Approvals { role: Role, count: u32 },
}

/// A judgement of a request: what is required, the verdict as stored, and the evaluation.
pub(crate) struct Judged {
    pub required: Required,
    pub verdict: Value,
    pub record: Option<NewDecisionRecord>,
    /// `policy-name@revision`, `None` for the risk tier's default.
    pub policy_revision: Option<String>,
}

fn tier_default(tier: RiskTier) -> Required {
    match tier {
        RiskTier::High => Required::Approvals {
            role: Role::GovernanceOfficer,
            count: 2,
        },
        RiskTier::Medium => Required::Approvals {
            role: Role::GovernanceOfficer,
            count: 1,
        },
        RiskTier::Low => Required::Allow,
    }
}

fn required_json(r: &Required) -> Value {
    match r {
        Required::Allow => json!({"kind": "allow"}),
        Required::Deny(reason) => json!({"kind": "deny", "reason": reason}),
        Required::Approvals { role, count } => {
            json!({"kind": "require_approval", "role": role.as_str(), "count": count})
        }
    }
}

/// Reads back what [`required_json`] stored.
pub(crate) fn required_of(verdict: &Value) -> Required {
    let v = &verdict["verdict"];
    match v["kind"].as_str() {
        Some("allow") => Required::Allow,
        Some("require_approval") => match v["role"].as_str().map(str::parse::<Role>) {
            Some(Ok(role)) => Required::Approvals {
                role,
                count: u32::try_from(v["count"].as_u64().unwrap_or(1)).unwrap_or(1),
            },
            _ => Required::Deny("the stored verdict names an unknown role".into()),
        },
        _ => Required::Deny(v["reason"].as_str().unwrap_or("denied").to_string()),
    }
}

/// Whether the approvals that count at `now` meet `required`.
pub(crate) fn satisfied(required: &Required, approvals: &[Approval], now: DateTime<Utc>) -> bool {
    match required {
        Required::Allow => true,
        Required::Deny(_) => false,
        Required::Approvals { role, count } => {
            let distinct: std::collections::BTreeSet<&str> = approvals
                .iter()
                .filter(|a| a.counts_at(now) && a.role == role.as_str())
                .map(|a| a.approver.as_str())
                .collect();
            distinct.len() >= *count as usize
        }
    }
}

/// The status a request takes from a judgement, before any rollout starts.
pub(super) fn status_of(required: &Required) -> RequestStatus {
    match required {
        Required::Deny(_) => RequestStatus::Denied,
        _ => RequestStatus::AwaitingApproval,
    }
}

impl Service {
    /// Whether the governing revision has an `on_promotion` hook (compiled, or taken from the
    /// engine's cache).
    async fn defines_on_promotion(&self, g: &crate::policy::Governing) -> ServiceResult<bool> {
        let (name, source) = (g.policy.name.clone(), g.revision.source.clone());
        self.policy
            .compile(move |engine| {
                engine
                    .compile(&name, &source)
                    .is_ok_and(|c| c.defines("on_promotion"))
            })
            .await
    }

    /// Asks the governing policy (or the risk tier's default) about promoting `candidate` on
    /// `endpoint`, with `approvals`. Slow work: run before the mutation's transaction.
    pub(crate) async fn judge_promotion(
        &self,
        scope: &TenantScope,
        principal: &Principal,
        (endpoint, candidate): (&Endpoint, &ModelVersion),
        (requester, requested_at): (&str, DateTime<Utc>),
        approvals: &[Approval],
    ) -> ServiceResult<Judged> {
        let model = self
            .store
            .model(scope, endpoint.model_id)
            .await?
            .ok_or(ServiceError::NotFound("model"))?;
        let governing = match self.governing(scope, &model).await {
            Ok(g) => match self.defines_on_promotion(&g).await? {
                true => Ok(g),
                false => Err(format!(
                    "policy `{}` revision {} defines no on_promotion",
                    g.policy.name, g.revision.number
                )),
            },
            Err(ServiceError::Precondition(why)) => Err(why),
            Err(e) => return Err(e),
        };
        let governing = match governing {
            Ok(g) => g,
            Err(why) => {
                let required = tier_default(model.risk_tier);
                let verdict = json!({"source": "risk_tier_default", "riskTier": model.risk_tier.as_str(),
                    "why": why, "verdict": required_json(&required)});
                return Ok(Judged {
                    required,
                    verdict,
                    record: None,
                    policy_revision: None,
                });
            }
        };
        let label = format!("{}@{}", governing.policy.name, governing.revision.number);
        let champion = match self
            .store
            .deployment_revision(None, scope, endpoint.id, endpoint.revision)
            .await?
        {
            Some(r) => {
                self.store
                    .model_version(scope, r.state.champion.version_id)
                    .await?
            }
            None => None,
        };
        let baseline = |v: ModelVersionId| async move {
            Ok::<_, ServiceError>(self.store.active_baseline(scope, v).await?.map(|b| {
                json!({"id": b.id.to_string(), "created_at": b.created_at.to_rfc3339(),
                    "metrics": {"rows": b.rows, "features": b.features}})
            }))
        };
        let mut cand = json!({"version": candidate.version.to_string(),
            "holdout": candidate.metrics,
            "training_run": candidate.training_run_id.map(|r| r.to_string())});
        if let Some(b) = baseline(candidate.id).await? {
            cand["baseline"] = b;
        }
        let champ = match &champion {
            Some(c) => {
                let mut v = json!({"version": c.version.to_string(), "holdout": c.metrics});
                if let Some(b) = baseline(c.id).await? {
                    v["baseline"] = b;
                }
                v
            }
            None => Value::Null,
        };
        let given: Vec<Value> = approvals
            .iter()
            .map(|a| json!({"principal": a.approver, "role": a.role, "at": a.at.to_rfc3339()}))
            .collect();
        let context = json!({"candidate": cand, "champion": champ, "approvals": given,
            "requester": requester, "requested_at": requested_at.to_rfc3339()});
        let input = EvaluatePolicy {
            model_version_id: candidate.id,
            hook: PolicyHook::OnPromotion,
            context,
        };
        let record = self.evaluate_in(scope, principal, input).await?;
        let required = match record.outcome["outcome"].as_str() {
            Some("verdict") => {
                match serde_json::from_value::<sp::Verdict>(record.outcome["verdict"].clone()) {
                    Ok(sp::Verdict::Allow) => Required::Allow,
                    Ok(sp::Verdict::Deny { reason }) => Required::Deny(reason),
                    Ok(sp::Verdict::RequireApproval { role, count }) => match role.parse() {
                        Ok(role) => Required::Approvals { role, count },
                        Err(e) => Required::Deny(format!("the policy's verdict: {e}")),
                    },
                    Err(e) => Required::Deny(format!("the policy's verdict is unreadable: {e}")),
                }
            }
            _ => Required::Deny(format!(
                "the policy failed, which denies: {}",
                record.outcome["error"]
            )),
        };
        let verdict = json!({"source": "policy", "policy": label,
            "verdict": required_json(&required)});
        Ok(Judged {
            required,
            verdict,
            record: Some(record),
            policy_revision: Some(label),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployments::promotion::new_approval;

    fn approval(who: &str, role: &str, at: DateTime<Utc>) -> Approval {
        new_approval(
            PromotionRequestId::generate(),
            who,
            role.parse().unwrap(),
            ApprovalVerdict::Approve,
            "ok",
            (at, chrono::Duration::hours(24)),
        )
    }

    #[test]
    fn a_quorum_counts_distinct_approvers_of_the_named_role_while_they_stand() {
        let now = Utc::now();
        let two = Required::Approvals {
            role: Role::GovernanceOfficer,
            count: 2,
        };
        let gina = approval("gina", "governance_officer", now);
        assert!(!satisfied(&two, std::slice::from_ref(&gina), now));
        assert!(
            !satisfied(&two, &[gina.clone(), gina.clone()], now),
            "same approver twice"
        );
        let sam = approval("sam", "sre", now);
        assert!(!satisfied(&two, &[gina.clone(), sam], now), "wrong role");
        let gus = approval("gus", "governance_officer", now);
        assert!(satisfied(&two, &[gina.clone(), gus.clone()], now));
        let later = now + chrono::Duration::hours(25);
        assert!(!satisfied(&two, &[gina, gus], later), "expired");
        assert!(satisfied(&Required::Allow, &[], now));
        assert!(!satisfied(&Required::Deny("no".into()), &[], now));
    }

    #[test]
    fn stored_verdicts_read_back() {
        for r in [
            Required::Allow,
            Required::Deny("holdout AUC fell".into()),
            Required::Approvals {
                role: Role::Sre,
                count: 3,
            },
        ] {
            assert_eq!(required_of(&json!({"verdict": required_json(&r)})), r);
        }
    }
}
