//! Promotion requests and four-eyes approvals.
//!
//! A request names the candidate (id and artifact digest), the endpoint and the rollout plan.
//! The policy that governs the model answers `on_promotion` with the candidate's and the
//! champion's holdout metrics and baselines, the risk tier and the approvals so far; the answer
//! and its decision record are kept on the request. A model no policy governs (or whose policy
//! has no published revision) gets the risk tier's default: high needs two governance officers,
//! medium one, low none. A policy that fails denies (fail closed).
//!
//! Approvals count per distinct approver under the role the policy names, never the
//! requester's, and expire after the configured time; a change of the candidate or the plan,
//! or of the active policy revision, cancels the approvals given so far. When the answer is
//! `allow`, or the approvals that count reach `require_approval`'s number, the rollout starts in
//! the same transaction (`rollout.rs`).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use steward_domain::*;

use super::verdict::{Required, required_of, satisfied, status_of};
use sha2::Digest;
use steward_store::IdempotencyKey;

use crate::audit::Record;
use crate::{Service, ServiceError, ServiceResult, Writes, authorize_on};

/// A promotion to request.
#[derive(Clone, Debug)]
pub struct PromotionInput {
    pub endpoint: EndpointId,
    pub candidate: ModelVersionId,
    /// The candidate's artifact digest as the requester knows it; must match the registry's.
    pub artifact_digest: String,
    pub mode: PromotionMode,
    pub plan: RolloutPlan,
    pub reason: String,
    /// A retried request with the same key (and the same content) returns the first one.
    pub idempotency_key: Option<String>,
}

/// A change to a request awaiting approval: it cancels the approvals given so far.
#[derive(Clone, Debug, Default)]
pub struct RequestChange {
    /// A new candidate and its digest.
    pub candidate: Option<(ModelVersionId, String)>,
    pub plan: Option<RolloutPlan>,
}

impl Service {
    /// The candidate, checked: the endpoint's model's, its digest as given, not already serving
    /// the way asked, and servable by the endpoint's target.
    async fn checked_candidate(
        &self,
        scope: &TenantScope,
        e: &Endpoint,
        (id, digest): (ModelVersionId, &str),
        mode: PromotionMode,
        plan: &RolloutPlan,
    ) -> ServiceResult<ModelVersion> {
        plan.validate()?;
        let v = self
            .version_of(scope, e.model_id, id, "input.candidateVersionId")
            .await?;
        if v.artifact_digest.to_string() != digest {
            return Err(ServiceError::Invalid(format!(
                "input.artifactDigest: {digest:?} is not the digest of version {} ({})",
                v.version, v.artifact_digest
            )));
        }
        let current = self
            .store
            .deployment_revision(None, scope, e.id, e.revision)
            .await?
            .ok_or(ServiceError::NotFound("deployment revision"))?;
        if mode == PromotionMode::Champion && current.state.champion.version_id == v.id {
            return Err(ServiceError::Invalid(format!(
                "input.candidateVersionId: version {} is already the champion of `{}`",
                v.version, e.name
            )));
        }
        if mode == PromotionMode::Shadow && plan.mirror_percent == 0 {
            return Err(ServiceError::Invalid(
                "input.mirrorPercent: a shadow needs a share of traffic to mirror (1 to 100)"
                    .into(),
            ));
        }
        if let Some(t) = &e.target {
            let can = self.serving_target(scope, t).await?;
            if mode == PromotionMode::Shadow && !can.shadow {
                return Err(ServiceError::Invalid(format!(
                    "input.mode: the endpoint's target `{t}` cannot mirror traffic to a shadow"
                )));
            }
            if !plan.steps.is_empty() && !can.canary {
                return Err(ServiceError::Invalid(format!(
                    "input.plan: the endpoint's target `{t}` cannot split traffic to a canary"
                )));
            }
        }
        Ok(v)
    }

    /// Requests a promotion (model_owner, service): judged at once; allowed ones start rolling
    /// out in the same transaction.
    pub async fn request_promotion(
        &self,
        principal: &Principal,
        input: PromotionInput,
    ) -> ServiceResult<PromotionRequest> {
        let target = ("endpoint", input.endpoint.to_string());
        let a = self
            .attempt(principal, Operation::RequestPromotion, target)
            .await?;
        let now = self.now();
        let actor = principal.subject().to_string();
        let key = match &input.idempotency_key {
            Some(k) => {
                if let Err(e) = validate::required_text("input.idempotencyKey", k, 256) {
                    return self.reject(a, e.into()).await;
                }
                let content = json!([
                    input.endpoint.to_string(),
                    input.candidate.to_string(),
                    input.artifact_digest,
                    input.mode.as_str(),
                    input.plan.to_json(),
                    input.reason
                ]);
                let hash = sha2::Sha256::digest(content.to_string().as_bytes());
                Some(IdempotencyKey {
                    operation: Operation::RequestPromotion.as_str(),
                    key: k.clone(),
                    request_hash: hex::encode(hash),
                })
            }
            None => None,
        };
        if let Some(k) = &key {
            let first = match self.store.idempotent_result(&a.scope, k).await {
                Ok(found) => found,
                Err(e) => return self.reject(a, e.into()).await,
            };
            if let Some(id) = first {
                let id = PromotionRequestId::from_uuid(id);
                let key = k.key.clone();
                return self
                    .complete(a, async move |m: Writes| {
                        let req = self
                            .store
                            .promotion_request(Some(&m.tx), &m.scope, id)
                            .await?
                            .ok_or(ServiceError::NotFound("promotion request"))?;
                        let payload = json!({"replayOf": id.to_string(), "idempotencyKey": key});
                        Ok((req, Record::new("promotion_request", id, payload)))
                    })
                    .await;
            }
        }
        let prepared = async {
            validate::required_text("input.reason", &input.reason, MAX_DEPLOY_REASON)?;
            let e = self
                .store
                .endpoint(&a.scope, input.endpoint)
                .await?
                .ok_or(ServiceError::NotFound("endpoint"))?;
            let v = self
                .checked_candidate(
                    &a.scope,
                    &e,
                    (input.candidate, &input.artifact_digest),
                    input.mode,
                    &input.plan,
                )
                .await?;
            let judged = self
                .judge_promotion(&a.scope, principal, (&e, &v), (&actor, now), &[])
                .await?;
            Ok::<_, ServiceError>((e, v, judged))
        };
        let (e, v, judged) = match prepared.await {
            Ok(p) => p,
            Err(err) => return self.reject(a, err).await,
        };
        self.complete(a, async move |m: Writes| {
            let decision = self.keep_record(&m, judged.record.as_ref()).await?;
            let mut req = PromotionRequest {
                id: PromotionRequestId::generate(),
                endpoint_id: e.id,
                candidate_version_id: v.id,
                candidate_version: v.version,
                candidate_digest: v.artifact_digest.to_string(),
                mode: input.mode,
                plan: input.plan,
                requester: actor.clone(),
                reason: input.reason,
                status: status_of(&judged.required),
                verdict: judged.verdict,
                decision_record_id: decision,
                policy_revision: judged.policy_revision,
                step: -1,
                step_started_at: None,
                paused_by: None,
                pause_reason: None,
                pause_until: None,
                base_revision: e.revision,
                outcome: match &judged.required {
                    Required::Deny(r) => Some(r.clone()),
                    _ => None,
                },
                created_at: now,
                updated_at: now,
                finished_at: matches!(judged.required, Required::Deny(_)).then_some(now),
            };
            if judged.required == Required::Allow {
                self.start_rollout(&m, &mut req, &actor, now).await?;
            }
            self.store.insert_request(&m.tx, &m.scope, &req).await?;
            if let Some(k) = &key {
                // A concurrent retry that claimed the key first rolls this one back.
                self.store
                    .claim_idempotency_key(&m.tx, &m.scope, k, req.id.as_uuid())
                    .await?;
            }
            let payload = request_payload(&req);
            let id = req.id;
            Ok((req, Record::new("promotion_request", id, payload)))
        })
        .await
    }

    /// Stores an evaluation's decision record in the mutation; its id.
    async fn keep_record(
        &self,
        m: &Writes,
        record: Option<&NewDecisionRecord>,
    ) -> ServiceResult<Option<DecisionRecordId>> {
        match record {
            Some(r) => Ok(Some(
                self.store
                    .insert_decision_record(&m.tx, &m.scope, r)
                    .await?
                    .id,
            )),
            None => Ok(None),
        }
    }

    /// Approves or rejects a request awaiting approval (governance_officer, sre, model_owner;
    /// counted for the role the policy names, never by the requester).
    pub async fn answer_promotion(
        &self,
        principal: &Principal,
        id: PromotionRequestId,
        verdict: ApprovalVerdict,
        reason: String,
    ) -> ServiceResult<PromotionRequest> {
        let target = ("promotion_request", id.to_string());
        let a = self
            .attempt(principal, Operation::ApprovePromotion, target)
            .await?;
        let now = self.now();
        let subject = principal.subject().to_string();
        let ttl = self.deployments.approval_ttl;
        let prepared = async {
            validate::required_text("input.reason", &reason, MAX_DEPLOY_REASON)?;
            let req = self
                .store
                .promotion_request(None, &a.scope, id)
                .await?
                .ok_or(ServiceError::NotFound("promotion request"))?;
            awaiting(&req)?;
            let e = self
                .store
                .endpoint(&a.scope, req.endpoint_id)
                .await?
                .ok_or(ServiceError::NotFound("endpoint"))?;
            let v = self
                .version_of(&a.scope, e.model_id, req.candidate_version_id, "candidate")
                .await?;
            let stored = self.store.approvals(None, &a.scope, id).await?;
            // Judged as of the approval being given: the policy sees it among the others.
            let role = match required_of(&req.verdict) {
                Required::Approvals { role, .. } => role,
                _ => approver_role(principal),
            };
            let mut given: Vec<Approval> =
                stored.into_iter().filter(|x| x.counts_at(now)).collect();
            if verdict == ApprovalVerdict::Approve {
                given.push(new_approval(
                    id,
                    &subject,
                    role,
                    verdict,
                    &reason,
                    (now, ttl),
                ));
            }
            let judged = self
                .judge_promotion(
                    &a.scope,
                    principal,
                    (&e, &v),
                    (&req.requester, req.created_at),
                    &given,
                )
                .await?;
            Ok::<_, ServiceError>((req, judged))
        };
        let (before, judged) = match prepared.await {
            Ok(p) => p,
            Err(err) => return self.reject(a, err).await,
        };
        self.complete(a, async move |m: Writes| {
            let mut req = self.locked_awaiting(&m, id, now).await?;
            let policy_changed = req.policy_revision != judged.policy_revision;
            let required_role = match (&judged.required, policy_changed) {
                (Required::Approvals { role, .. }, _) => Some(*role),
                _ => match required_of(&before.verdict) {
                    Required::Approvals { role, .. } => Some(role),
                    _ => None,
                },
            };
            let resource = Resource::PromotionRequest {
                own: req.requester == subject,
                required_role,
            };
            authorize_on(principal, Operation::ApprovePromotion, &resource)?;
            let role = required_role.unwrap_or_else(|| approver_role(principal));
            let mut cancelled = 0;
            if policy_changed {
                let why = format!(
                    "the active policy revision changed from {} to {}",
                    req.policy_revision.as_deref().unwrap_or("none"),
                    judged.policy_revision.as_deref().unwrap_or("none")
                );
                cancelled = self
                    .store
                    .cancel_approvals(&m.tx, &m.scope, id, &why, now)
                    .await?;
            }
            let standing = self.store.approvals(Some(&m.tx), &m.scope, id).await?;
            if standing
                .iter()
                .any(|x| x.approver == subject && x.counts_at(now) && x.role == role.as_str())
            {
                return Err(ServiceError::Conflict(
                    "you have already approved this request; approvals count per distinct approver"
                        .into(),
                ));
            }
            let approval = new_approval(id, &subject, role, verdict, &reason, (now, ttl));
            self.store
                .insert_approval(&m.tx, &m.scope, &approval)
                .await?;
            if verdict == ApprovalVerdict::Reject {
                req.status = RequestStatus::Rejected;
                req.outcome = Some(format!("rejected by {subject}: {reason}"));
                req.finished_at = Some(now);
            } else {
                req.decision_record_id = self
                    .keep_record(&m, judged.record.as_ref())
                    .await?
                    .or(req.decision_record_id);
                req.verdict = judged.verdict.clone();
                req.policy_revision = judged.policy_revision.clone();
                let all = self.store.approvals(Some(&m.tx), &m.scope, id).await?;
                match &judged.required {
                    Required::Deny(why) => {
                        req.status = RequestStatus::Denied;
                        req.outcome = Some(why.clone());
                        req.finished_at = Some(now);
                    }
                    r if satisfied(r, &all, now) => {
                        let actor = subject.clone();
                        self.start_rollout(&m, &mut req, &actor, now).await?;
                    }
                    _ => {}
                }
            }
            req.updated_at = now;
            self.store.save_request(&m.tx, &m.scope, &req).await?;
            let mut payload = request_payload(&req);
            payload["answer"] = json!({"verdict": verdict.as_str(), "role": role.as_str(),
                "reason": reason, "expiresAt": approval.expires_at.to_rfc3339()});
            if policy_changed {
                payload["approvalsCancelled"] = json!(cancelled);
            }
            Ok((req, Record::new("promotion_request", id, payload)))
        })
        .await
    }

    /// Changes the candidate or the plan of the caller's request awaiting approval: the
    /// approvals given so far are cancelled and the policy answers again.
    pub async fn change_promotion_request(
        &self,
        principal: &Principal,
        id: PromotionRequestId,
        change: RequestChange,
    ) -> ServiceResult<PromotionRequest> {
        let target = ("promotion_request", id.to_string());
        let a = self
            .attempt(principal, Operation::RequestPromotion, target)
            .await?;
        let now = self.now();
        let subject = principal.subject().to_string();
        let prepared = async {
            let req = self
                .store
                .promotion_request(None, &a.scope, id)
                .await?
                .ok_or(ServiceError::NotFound("promotion request"))?;
            awaiting(&req)?;
            let e = self
                .store
                .endpoint(&a.scope, req.endpoint_id)
                .await?
                .ok_or(ServiceError::NotFound("endpoint"))?;
            let (cand, digest) = change
                .candidate
                .clone()
                .unwrap_or((req.candidate_version_id, req.candidate_digest.clone()));
            let plan = change.plan.clone().unwrap_or_else(|| req.plan.clone());
            let v = self
                .checked_candidate(&a.scope, &e, (cand, &digest), req.mode, &plan)
                .await?;
            let judged = self
                .judge_promotion(&a.scope, principal, (&e, &v), (&req.requester, now), &[])
                .await?;
            Ok::<_, ServiceError>((v, plan, judged))
        };
        let (v, plan, judged) = match prepared.await {
            Ok(p) => p,
            Err(err) => return self.reject(a, err).await,
        };
        self.complete(a, async move |m: Writes| {
            let mut req = self.locked_awaiting(&m, id, now).await?;
            own_request(principal, &req)?;
            let mut what = Vec::new();
            if v.id != req.candidate_version_id {
                what.push(format!(
                    "the candidate changed from version {} to {}",
                    req.candidate_version, v.version
                ));
            }
            if plan != req.plan {
                what.push("the rollout plan changed".to_string());
            }
            if what.is_empty() {
                return Err(ServiceError::Invalid(
                    "input: neither the candidate nor the plan changes".into(),
                ));
            }
            let why = what.join("; ");
            let cancelled = self
                .store
                .cancel_approvals(&m.tx, &m.scope, id, &why, now)
                .await?;
            req.candidate_version_id = v.id;
            req.candidate_version = v.version;
            req.candidate_digest = v.artifact_digest.to_string();
            req.plan = plan;
            req.decision_record_id = self
                .keep_record(&m, judged.record.as_ref())
                .await?
                .or(req.decision_record_id);
            req.verdict = judged.verdict;
            req.policy_revision = judged.policy_revision;
            req.status = status_of(&judged.required);
            if let Required::Deny(r) = &judged.required {
                req.outcome = Some(r.clone());
                req.finished_at = Some(now);
            }
            req.updated_at = now;
            self.store.save_request(&m.tx, &m.scope, &req).await?;
            if judged.required == Required::Allow {
                self.start_rollout(&m, &mut req, &subject, now).await?;
                self.store.save_request(&m.tx, &m.scope, &req).await?;
            }
            let mut payload = request_payload(&req);
            payload["changed"] = json!(why);
            payload["approvalsCancelled"] = json!(cancelled);
            Ok((req, Record::new("promotion_request", id, payload)))
        })
        .await
    }

    /// Withdraws the caller's request awaiting approval.
    pub async fn withdraw_promotion_request(
        &self,
        principal: &Principal,
        id: PromotionRequestId,
        reason: String,
    ) -> ServiceResult<PromotionRequest> {
        let now = self.now();
        let subject = principal.subject().to_string();
        self.mutate(
            principal,
            Operation::RequestPromotion,
            ("promotion_request", id.to_string()),
            async move |m: Writes| {
                validate::required_text("input.reason", &reason, MAX_DEPLOY_REASON)?;
                let mut req = self.locked_awaiting(&m, id, now).await?;
                own_request(principal, &req)?;
                req.status = RequestStatus::Cancelled;
                req.outcome = Some(format!("withdrawn by {subject}: {reason}"));
                req.finished_at = Some(now);
                self.store.save_request(&m.tx, &m.scope, &req).await?;
                let payload = request_payload(&req);
                Ok((req, Record::new("promotion_request", id, payload)))
            },
        )
        .await
    }
}

impl Service {
    /// The request, its row locked in the mutation, if it can still be answered or changed.
    async fn locked_awaiting(
        &self,
        m: &Writes,
        id: PromotionRequestId,
        now: DateTime<Utc>,
    ) -> ServiceResult<PromotionRequest> {
        let req = self
            .store
            .lock_request(&m.tx, &m.scope, id, now)
            .await?
            .ok_or(ServiceError::NotFound("promotion request"))?;
        awaiting(&req)?;
        Ok(req)
    }
}

/// Only its requester changes or withdraws a request (a rule on the resource, audited as a
/// denial).
fn own_request(principal: &Principal, req: &PromotionRequest) -> ServiceResult<()> {
    let own = Resource::PromotionRequest {
        own: req.requester == principal.subject(),
        required_role: None,
    };
    authorize_on(principal, Operation::RequestPromotion, &own)
}

/// A request that can still be answered or changed.
fn awaiting(req: &PromotionRequest) -> ServiceResult<()> {
    if req.status == RequestStatus::AwaitingApproval {
        Ok(())
    } else {
        Err(ServiceError::Precondition(format!(
            "the request is {}, not awaiting approval",
            req.status.as_str()
        )))
    }
}

/// The role an answer is recorded under when the policy names none.
fn approver_role(p: &Principal) -> Role {
    [Role::GovernanceOfficer, Role::Sre, Role::ModelOwner]
        .into_iter()
        .find(|r| p.roles().contains(r))
        .unwrap_or(Role::GovernanceOfficer)
}

pub(super) fn new_approval(
    request: PromotionRequestId,
    approver: &str,
    role: Role,
    verdict: ApprovalVerdict,
    reason: &str,
    (at, ttl): (DateTime<Utc>, chrono::Duration),
) -> Approval {
    Approval {
        id: ApprovalId::generate(),
        request_id: request,
        approver: approver.to_string(),
        role: role.as_str().to_string(),
        verdict,
        reason: reason.to_string(),
        at,
        expires_at: at + ttl,
        cancelled_at: None,
        cancel_reason: None,
    }
}

/// A request as its audit events record it.
pub(crate) fn request_payload(r: &PromotionRequest) -> Value {
    json!({"endpoint": r.endpoint_id.to_string(), "candidate": r.candidate_version,
        "candidateDigest": r.candidate_digest, "mode": r.mode.as_str(), "plan": r.plan.to_json(),
        "status": r.status.as_str(), "verdict": r.verdict, "step": r.step,
        "policyRevision": r.policy_revision, "outcome": r.outcome})
}
