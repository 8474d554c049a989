//! Deployments: endpoints and their append-only deployment revisions (the desired state after
//! every change), promotion requests with their rollout plans, and approvals.
//!
//! An endpoint's desired state names a champion, optionally a canary with the percent of
//! traffic it gets, and optionally a shadow with the percent of traffic mirrored to it. Every
//! change writes a new revision; nothing is updated in place, so "what served endpoint E at
//! time T" is the revision in force at T.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::ids::*;
use crate::validate::{self, Validated, ValidationError};

/// Longest reason of a deployment change, a request or an approval.
pub const MAX_DEPLOY_REASON: usize = 1_000;
/// Most steps of a rollout plan.
pub const MAX_ROLLOUT_STEPS: usize = 10;
/// Longest bake time of a step: a week.
pub const MAX_BAKE_MINUTES: u32 = 7 * 24 * 60;

text_enum!(
    /// What changed an endpoint's desired state.
    RevisionChange, "change", "deployment change", {
        /// The endpoint was created with its first champion.
        Created => "created",
        /// A rollout moved its canary to the next step's traffic.
        CanaryStep => "canary_step",
        /// The candidate became the champion.
        Promoted => "promoted",
        /// A rollout was aborted: the canary's traffic went back to the champion.
        Aborted => "aborted",
        /// A rollback: an earlier version became the champion again, any canary removed.
        RolledBack => "rolled_back",
        /// A shadow version started receiving mirrored traffic.
        ShadowStarted => "shadow_started",
        /// The shadow was removed.
        ShadowStopped => "shadow_stopped",
    }
);

text_enum!(
    /// Where a promotion request stands.
    RequestStatus, "status", "promotion request status", {
        /// The policy asks for approvals not all given yet.
        AwaitingApproval => "awaiting_approval",
        /// The policy denied it (or failed, which denies).
        Denied => "denied",
        /// An approver rejected it.
        Rejected => "rejected",
        /// Withdrawn by its requester, or overtaken by a rollback or another promotion.
        Cancelled => "cancelled",
        /// Approved; the rollout plan is being carried out.
        Rolling => "rolling",
        /// Stopped at a step for a person's judgement.
        Paused => "paused",
        /// Done: the candidate is the champion (or, for a shadow request, the shadow).
        Promoted => "promoted",
        /// Stopped: the canary's traffic went back to the champion.
        Aborted => "aborted",
    }
);

impl RequestStatus {
    /// No further change can happen to the request.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RequestStatus::Denied
                | RequestStatus::Rejected
                | RequestStatus::Cancelled
                | RequestStatus::Promoted
                | RequestStatus::Aborted
        )
    }

    /// Holds the endpoint: a rollout under way (no second one may start).
    pub fn is_in_flight(self) -> bool {
        matches!(self, RequestStatus::Rolling | RequestStatus::Paused)
    }
}

text_enum!(
    /// What a promotion request asks for.
    PromotionMode, "mode", "promotion mode", {
        /// Make the candidate the champion, through the rollout plan's canary steps.
        Champion => "champion",
        /// Mirror a share of traffic to the candidate as a shadow.
        Shadow => "shadow",
    }
);

text_enum!(
    /// What a failed or inconclusive analysis between rollout steps does.
    OnFailure, "onFailure", "analysis failure action", {
        /// Weight 0 for the canary; the champion is kept.
        Abort => "abort",
        /// Stop at this step until a person resumes, promotes or aborts.
        Pause => "pause",
        /// Go on to the next step anyway.
        Continue => "continue",
    }
);

text_enum!(
    /// An approver's answer.
    ApprovalVerdict, "verdict", "approval verdict", {
        Approve => "approve",
        Reject => "reject",
    }
);

/// A version served by an endpoint, with the share of traffic it gets (canary) or mirrors
/// (shadow); 100 for the champion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Served {
    pub version_id: ModelVersionId,
    pub version: i64,
    pub percent: u8,
}

/// An endpoint's desired state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DesiredState {
    /// Gets all traffic the canary does not.
    pub champion: Served,
    pub canary: Option<Served>,
    pub shadow: Option<Served>,
}

impl DesiredState {
    /// Only a champion.
    pub fn champion(version_id: ModelVersionId, version: i64) -> Self {
        Self {
            champion: Served {
                version_id,
                version,
                percent: 100,
            },
            canary: None,
            shadow: None,
        }
    }

    /// The percent of traffic the champion answers.
    pub fn champion_percent(&self) -> u8 {
        100 - self.canary.map_or(0, |c| c.percent)
    }

    /// Whether the version answers (champion or canary) or mirrors (shadow) traffic here.
    pub fn serves(&self, version: ModelVersionId) -> bool {
        self.champion.version_id == version
            || self.canary.is_some_and(|c| c.version_id == version)
            || self.shadow.is_some_and(|s| s.version_id == version)
    }
}

/// An endpoint: where a model's versions answer requests in one environment, and the delivery
/// target (a KServe InferenceService, a signed webhook) its changes are carried to.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub id: EndpointId,
    pub model_id: ModelId,
    pub name: String,
    pub environment: String,
    /// The delivery target changes go to; `None`: Steward records the desired state and the
    /// serving side reads it (no adapter).
    pub target: Option<String>,
    pub description: String,
    /// The model's alias that follows this endpoint's champion (moved in the same transaction
    /// as every change of champion; nobody moves it by hand).
    pub champion_alias: Option<String>,
    /// The number of its latest revision: every change names it as its precondition.
    pub revision: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An endpoint to create, with its first champion.
#[derive(Clone, Debug)]
pub struct NewEndpoint {
    pub model_id: ModelId,
    pub name: String,
    pub environment: String,
    pub target: Option<String>,
    pub description: String,
    pub champion: ModelVersionId,
    /// The model's alias that will follow the endpoint's champion.
    pub champion_alias: Option<String>,
    pub reason: String,
}

impl NewEndpoint {
    pub fn validate(&self) -> Validated {
        validate::name("input.name", &self.name)?;
        validate::name("input.environment", &self.environment)?;
        if let Some(t) = &self.target {
            validate::name("input.target", t)?;
        }
        validate::text("input.description", &self.description, 500)?;
        if let Some(a) = &self.champion_alias {
            crate::tags::validate_alias(a)?;
        }
        validate::required_text("input.reason", &self.reason, MAX_DEPLOY_REASON)
    }
}

/// One revision of an endpoint: its desired state from `at` until the next revision.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentRevision {
    pub id: DeploymentRevisionId,
    pub endpoint_id: EndpointId,
    /// 1 for the endpoint's creation, then one more per change.
    pub number: i64,
    pub state: DesiredState,
    pub change: RevisionChange,
    pub actor: String,
    pub reason: String,
    pub request_id: Option<PromotionRequestId>,
    /// `policy-name@revision` of the policy in force when the change was decided.
    pub policy_revision: Option<String>,
    pub incident_id: Option<IncidentId>,
    pub decision_record_id: Option<DecisionRecordId>,
    pub idempotency_key: Option<String>,
    pub at: DateTime<Utc>,
}

/// One step of a rollout: the canary gets `percent` of the traffic for `bake_minutes`, then its
/// monitoring windows are compared with the champion's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RolloutStep {
    pub percent: u8,
    pub bake_minutes: u32,
    /// What a failed analysis does.
    pub on_failure: OnFailure,
    /// What an inconclusive analysis (not enough data in the canary's windows) does.
    pub on_inconclusive: OnFailure,
}

/// The steps of a rollout. No steps: the candidate becomes the champion at once when approved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RolloutPlan {
    pub steps: Vec<RolloutStep>,
    /// For a shadow request: the percent of traffic mirrored to the candidate.
    pub mirror_percent: u8,
}

impl RolloutPlan {
    /// The plan as stored and shown: `{"steps": [{"percent", "bakeMinutes", "onFailure",
    /// "onInconclusive"}], "mirrorPercent"}`.
    pub fn to_json(&self) -> Value {
        let steps: Vec<Value> = self
            .steps
            .iter()
            .map(|s| {
                json!({"percent": s.percent, "bakeMinutes": s.bake_minutes,
                    "onFailure": s.on_failure.as_str(), "onInconclusive": s.on_inconclusive.as_str()})
            })
            .collect();
        json!({"steps": steps, "mirrorPercent": self.mirror_percent})
    }

    /// Reads what [`RolloutPlan::to_json`] wrote.
    pub fn from_json(v: &Value) -> Result<Self, ValidationError> {
        let bad = |what: &str| ValidationError::new("plan", format!("stored plan: {what}"));
        let int = |v: &Value, k: &str| v[k].as_u64().ok_or_else(|| bad(k));
        let mut steps = Vec::new();
        for s in v["steps"].as_array().ok_or_else(|| bad("steps"))? {
            let word = |k: &str| s[k].as_str().ok_or_else(|| bad(k));
            steps.push(RolloutStep {
                percent: u8::try_from(int(s, "percent")?).map_err(|_| bad("percent"))?,
                bake_minutes: u32::try_from(int(s, "bakeMinutes")?)
                    .map_err(|_| bad("bakeMinutes"))?,
                on_failure: word("onFailure")?.parse()?,
                on_inconclusive: word("onInconclusive")?.parse()?,
            });
        }
        Ok(Self {
            steps,
            mirror_percent: u8::try_from(v["mirrorPercent"].as_u64().unwrap_or(0))
                .map_err(|_| bad("mirrorPercent"))?,
        })
    }

    /// Steps are canary shares strictly between 0 and 100, rising; bake times within a week.
    pub fn validate(&self) -> Validated {
        if self.mirror_percent > 100 {
            return Err(ValidationError::new(
                "input.mirrorPercent",
                format!("{} is not a percent (0 to 100)", self.mirror_percent),
            ));
        }
        if self.steps.len() > MAX_ROLLOUT_STEPS {
            return Err(ValidationError::new(
                "input.plan",
                format!(
                    "has {} steps; at most {MAX_ROLLOUT_STEPS}",
                    self.steps.len()
                ),
            ));
        }
        let mut last = 0u8;
        for (i, s) in self.steps.iter().enumerate() {
            let field = format!("input.plan[{i}]");
            if !(1..=99).contains(&s.percent) {
                return Err(ValidationError::new(
                    &field,
                    format!(
                        "percent {} is not a canary share: use 1 to 99 (after the last step the candidate takes all traffic)",
                        s.percent
                    ),
                ));
            }
            if s.percent <= last {
                return Err(ValidationError::new(
                    &field,
                    format!(
                        "percent {} does not rise above the previous step's {last}",
                        s.percent
                    ),
                ));
            }
            if s.bake_minutes > MAX_BAKE_MINUTES {
                return Err(ValidationError::new(
                    &field,
                    format!("bakeMinutes {} is over a week", s.bake_minutes),
                ));
            }
            last = s.percent;
        }
        Ok(())
    }
}

/// A request to promote a version on an endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct PromotionRequest {
    pub id: PromotionRequestId,
    pub endpoint_id: EndpointId,
    pub candidate_version_id: ModelVersionId,
    pub candidate_version: i64,
    pub candidate_digest: String,
    pub mode: PromotionMode,
    pub plan: RolloutPlan,
    pub requester: String,
    pub reason: String,
    pub status: RequestStatus,
    /// The policy's latest answer and where it came from (JSON).
    pub verdict: serde_json::Value,
    pub decision_record_id: Option<DecisionRecordId>,
    pub policy_revision: Option<String>,
    /// The rollout step under way (0-based); -1 before the first.
    pub step: i64,
    pub step_started_at: Option<DateTime<Utc>>,
    pub paused_by: Option<String>,
    pub pause_reason: Option<String>,
    pub pause_until: Option<DateTime<Utc>>,
    /// The endpoint revision the request was made against.
    pub base_revision: i64,
    /// Why it ended (denied, rejected, cancelled, aborted), or what the last analysis found.
    pub outcome: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// An approval or rejection of a promotion request.
#[derive(Clone, Debug, PartialEq)]
pub struct Approval {
    pub id: ApprovalId,
    pub request_id: PromotionRequestId,
    pub approver: String,
    /// The role it was given under (the approver holds it).
    pub role: String,
    pub verdict: ApprovalVerdict,
    pub reason: String,
    pub at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
}

impl Approval {
    /// Counts at `now`: an approval, not cancelled, not expired.
    pub fn counts_at(&self, now: DateTime<Utc>) -> bool {
        self.verdict == ApprovalVerdict::Approve
            && self.cancelled_at.is_none()
            && now < self.expires_at
    }
}

/// One request seen by both the champion and the shadow: their predictions (a score or a
/// label), and the label that came back for the champion's, if any.
#[derive(Clone, Debug, PartialEq)]
pub struct PredictionPair {
    pub champion_score: Option<f64>,
    pub champion_predicted: Option<String>,
    pub shadow_score: Option<f64>,
    pub shadow_predicted: Option<String>,
    pub label: Option<String>,
    pub slice: String,
}

/// A rollback's record, as the history lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct RollbackRecord {
    pub revision: DeploymentRevision,
    /// The champion (and canary) before it.
    pub from: DesiredState,
    /// When the serving target confirmed it (the outbox delivery); `None` while pending or for
    /// an endpoint without a target.
    pub effective_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(percent: u8) -> RolloutStep {
        RolloutStep {
            percent,
            bake_minutes: 30,
            on_failure: OnFailure::Abort,
            on_inconclusive: OnFailure::Pause,
        }
    }

    #[test]
    fn plans_rise_through_canary_shares() {
        let ok = RolloutPlan {
            steps: vec![step(5), step(25), step(50)],
            mirror_percent: 0,
        };
        assert!(ok.validate().is_ok());
        assert_eq!(RolloutPlan::from_json(&ok.to_json()).unwrap(), ok);
        assert!(RolloutPlan::default().validate().is_ok());
        let flat = RolloutPlan {
            steps: vec![step(25), step(25)],
            mirror_percent: 0,
        };
        let e = flat.validate().unwrap_err().to_string();
        assert!(e.contains("input.plan[1]") && e.contains("rise"), "{e}");
        let all = RolloutPlan {
            steps: vec![step(100)],
            mirror_percent: 0,
        };
        assert!(all.validate().unwrap_err().to_string().contains("1 to 99"));
        let long = RolloutPlan {
            steps: vec![RolloutStep {
                bake_minutes: MAX_BAKE_MINUTES + 1,
                ..step(5)
            }],
            mirror_percent: 0,
        };
        assert!(long.validate().unwrap_err().to_string().contains("week"));
    }

    #[test]
    fn approvals_count_until_they_expire_or_are_cancelled() {
        let now = Utc::now();
        let a = Approval {
            id: ApprovalId::generate(),
            request_id: PromotionRequestId::generate(),
            approver: "gina".into(),
            role: "governance_officer".into(),
            verdict: ApprovalVerdict::Approve,
            reason: "ok".into(),
            at: now,
            expires_at: now + chrono::Duration::hours(1),
            cancelled_at: None,
            cancel_reason: None,
        };
        assert!(a.counts_at(now));
        assert!(!a.counts_at(now + chrono::Duration::hours(1)));
        let cancelled = Approval {
            cancelled_at: Some(now),
            ..a.clone()
        };
        assert!(!cancelled.counts_at(now));
        let reject = Approval {
            verdict: ApprovalVerdict::Reject,
            ..a
        };
        assert!(!reject.counts_at(now));
    }
}
