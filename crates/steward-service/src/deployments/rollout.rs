//! Rollouts: an approved request's plan carried out step by step. Each step gives the canary
//! its share of traffic for the step's bake time; then the canary's monitoring windows closed
//! since the step began are compared with the champion's ([`analyse`]), and the plan says what
//! a failed or inconclusive analysis does: abort (the canary's traffic back to the champion),
//! pause for a person (with the scheduler's reason and a timeout that aborts), or continue.
//! After the last step the candidate becomes the champion.
//!
//! SREs promote (skip the remaining steps), pause (with a reason and an optional timeout),
//! resume (the step bakes again) and abort; the scheduler advances due steps. Every one is a
//! mutation, audited, and every change of traffic is a new endpoint revision.

use chrono::{DateTime, Utc};
use serde_json::json;
use steward_domain::*;

use super::Change;
use super::analysis::{Analysis, AnalysisVerdict, analyse};
use super::promotion::request_payload;
use crate::audit::Record;
use crate::tenancy::{Tenancy, within};
use crate::{Service, ServiceError, ServiceResult, Writes};

/// Deployment settings of this process.
#[derive(Clone, Debug)]
pub struct DeploymentSettings {
    /// How long an approval counts.
    pub approval_ttl: chrono::Duration,
    /// How long a pause the scheduler makes (a failed or inconclusive analysis) waits for a
    /// person before the rollout is aborted.
    pub pause_timeout: chrono::Duration,
}

impl Default for DeploymentSettings {
    fn default() -> Self {
        Self {
            approval_ttl: chrono::Duration::hours(72),
            pause_timeout: chrono::Duration::hours(24),
        }
    }
}

impl Service {
    /// Replaces the deployment settings.
    pub fn with_deployment_settings(mut self, settings: DeploymentSettings) -> Self {
        self.deployments = std::sync::Arc::new(settings);
        self
    }

    /// The endpoint and its current revision, read in the mutation.
    pub(super) async fn current(
        &self,
        m: &Writes,
        endpoint: EndpointId,
    ) -> ServiceResult<(Endpoint, DeploymentRevision)> {
        let e = self
            .store
            .endpoint_in(&m.tx, &m.scope, endpoint)
            .await?
            .ok_or(ServiceError::NotFound("endpoint"))?;
        let r = self
            .store
            .deployment_revision(Some(&m.tx), &m.scope, e.id, e.revision)
            .await?
            .ok_or(ServiceError::NotFound("deployment revision"))?;
        Ok((e, r))
    }

    /// Writes a change of `req`'s endpoint on its current revision.
    async fn change_for(
        &self,
        m: &Writes,
        req: &PromotionRequest,
        (state, change): (DesiredState, RevisionChange),
        (actor, reason): (&str, &str),
        now: DateTime<Utc>,
    ) -> ServiceResult<DeploymentRevision> {
        let (e, _) = self.current(m, req.endpoint_id).await?;
        let c = Change {
            endpoint: &e,
            expected: e.revision,
            state,
            change,
            actor,
            reason,
            request: Some(req.id),
            policy_revision: req.policy_revision.as_deref(),
            incident: None,
            decision: req.decision_record_id,
            key: None,
        };
        self.change_endpoint(m, c, now).await
    }

    /// Starts an approved request: a shadow is mirrored at once; a champion request without
    /// steps is promoted at once; otherwise its first step begins.
    pub(crate) async fn start_rollout(
        &self,
        m: &Writes,
        req: &mut PromotionRequest,
        actor: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let (e, current) = self.current(m, req.endpoint_id).await?;
        let busy = self
            .store
            .promotion_requests(
                Some(&m.tx),
                &m.scope,
                Some(e.id),
                &[RequestStatus::Rolling, RequestStatus::Paused],
                1,
            )
            .await?;
        // A shadow runs beside a rollout; two champion rollouts never do.
        let champion = req.mode == PromotionMode::Champion;
        if let Some(other) = busy.into_iter().find(|r| champion && r.id != req.id) {
            return Err(ServiceError::Conflict(format!(
                "request {} is rolling out on `{}`; promote, abort or wait for it first",
                other.id, e.name
            )));
        }
        let cand = Served {
            version_id: req.candidate_version_id,
            version: req.candidate_version,
            percent: 100,
        };
        let mut state = current.state;
        let reason = format!("approved promotion of version {}", req.candidate_version);
        let change = match (req.mode, req.plan.steps.first()) {
            (PromotionMode::Shadow, _) => {
                state.shadow = Some(Served {
                    percent: req.plan.mirror_percent,
                    ..cand
                });
                finish(req, RequestStatus::Promoted, "mirroring", now);
                RevisionChange::ShadowStarted
            }
            (PromotionMode::Champion, None) => {
                state = promoted(&state, cand);
                finish(req, RequestStatus::Promoted, "promoted without steps", now);
                RevisionChange::Promoted
            }
            (PromotionMode::Champion, Some(first)) => {
                state.canary = Some(Served {
                    percent: first.percent,
                    ..cand
                });
                req.status = RequestStatus::Rolling;
                req.step = 0;
                req.step_started_at = Some(now);
                RevisionChange::CanaryStep
            }
        };
        self.change_for(m, req, (state, change), (actor, &reason), now)
            .await?;
        req.updated_at = now;
        Ok(())
    }

    /// Ends the endpoint's rollout in flight, if any, as aborted with `why` (a rollback
    /// overrides it); the caller writes the endpoint's new state.
    pub(crate) async fn end_rollouts(
        &self,
        m: &Writes,
        endpoint: EndpointId,
        why: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let live = [RequestStatus::Rolling, RequestStatus::Paused];
        for mut r in self
            .store
            .promotion_requests(Some(&m.tx), &m.scope, Some(endpoint), &live, 10)
            .await?
        {
            finish(&mut r, RequestStatus::Aborted, why, now);
            self.store.save_request(&m.tx, &m.scope, &r).await?;
        }
        Ok(())
    }

    /// What an SRE does to a rollout in flight, as one audited mutation.
    pub async fn operate_rollout(
        &self,
        principal: &Principal,
        id: PromotionRequestId,
        op: RolloutOp,
    ) -> ServiceResult<PromotionRequest> {
        let actor = principal.subject().to_string();
        let now = self.now();
        let timeout = self.deployments.pause_timeout;
        self.mutate(
            principal,
            Operation::OperateDeployment,
            ("promotion_request", id.to_string()),
            async move |m: Writes| {
                validate::required_text("input.reason", op.reason(), MAX_DEPLOY_REASON)?;
                let mut req = self
                    .store
                    .lock_request(&m.tx, &m.scope, id, now)
                    .await?
                    .ok_or(ServiceError::NotFound("promotion request"))?;
                if !req.status.is_in_flight() {
                    return Err(ServiceError::Precondition(format!(
                        "the request is {}, not rolling out",
                        req.status.as_str()
                    )));
                }
                match &op {
                    RolloutOp::Promote { reason } => {
                        self.promote_now(&m, &mut req, (&actor, reason), now)
                            .await?;
                    }
                    RolloutOp::Abort { reason } => {
                        self.abort(&m, &mut req, (&actor, reason), now).await?;
                    }
                    RolloutOp::Pause { reason, until } => {
                        if req.status == RequestStatus::Paused {
                            return Err(ServiceError::Precondition(
                                "the rollout is paused already".into(),
                            ));
                        }
                        if until.is_some_and(|u| u <= now) {
                            return Err(ServiceError::Invalid(
                                "input.until: must be in the future".into(),
                            ));
                        }
                        req.status = RequestStatus::Paused;
                        req.paused_by = Some(actor.clone());
                        req.pause_reason = Some(reason.clone());
                        req.pause_until = Some(until.unwrap_or(now + timeout));
                    }
                    RolloutOp::Resume { reason } => {
                        if req.status != RequestStatus::Paused {
                            return Err(ServiceError::Precondition(
                                "the rollout is not paused".into(),
                            ));
                        }
                        req.status = RequestStatus::Rolling;
                        req.step_started_at = Some(now);
                        req.outcome = Some(format!("resumed by {actor}: {reason}"));
                        req.pause_until = None;
                    }
                }
                req.updated_at = now;
                self.store.save_request(&m.tx, &m.scope, &req).await?;
                let mut payload = request_payload(&req);
                payload["operation"] = json!(op.name());
                payload["reason"] = json!(op.reason());
                Ok((req, Record::new("promotion_request", id, payload)))
            },
        )
        .await
    }

    /// The candidate takes all traffic now.
    async fn promote_now(
        &self,
        m: &Writes,
        req: &mut PromotionRequest,
        (actor, reason): (&str, &str),
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let (_, current) = self.current(m, req.endpoint_id).await?;
        let cand = Served {
            version_id: req.candidate_version_id,
            version: req.candidate_version,
            percent: 100,
        };
        let state = promoted(&current.state, cand);
        self.change_for(
            m,
            req,
            (state, RevisionChange::Promoted),
            (actor, reason),
            now,
        )
        .await?;
        finish(req, RequestStatus::Promoted, reason, now);
        Ok(())
    }

    /// The canary's traffic goes back to the champion.
    async fn abort(
        &self,
        m: &Writes,
        req: &mut PromotionRequest,
        (actor, reason): (&str, &str),
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let (_, current) = self.current(m, req.endpoint_id).await?;
        let mut state = current.state;
        state.canary = None;
        self.change_for(
            m,
            req,
            (state, RevisionChange::Aborted),
            (actor, reason),
            now,
        )
        .await?;
        finish(req, RequestStatus::Aborted, reason, now);
        Ok(())
    }

    /// Advances every tenant's rollouts whose step has baked (the scheduler's tick): analysis,
    /// then the next step, the promotion, a pause or an abort; and aborts pauses that timed out.
    /// How many rollouts changed.
    pub async fn advance_rollouts(&self) -> ServiceResult<usize> {
        within(Tenancy::System, self.advance_due_rollouts()).await
    }

    async fn advance_due_rollouts(&self) -> ServiceResult<usize> {
        let now = self.now();
        let mut changed = 0;
        for (tenant, req) in self.store.rollouts_in_flight().await? {
            let due = match req.status {
                RequestStatus::Paused => req.pause_until.is_some_and(|u| u <= now),
                _ => {
                    let bake = req
                        .plan
                        .steps
                        .get(usize::try_from(req.step).unwrap_or(0))
                        .map_or(0, |s| i64::from(s.bake_minutes));
                    req.step_started_at
                        .is_some_and(|s| s + chrono::Duration::minutes(bake) <= now)
                }
            };
            if !due {
                continue;
            }
            let slug = self
                .store
                .tenant_by_id(tenant)
                .await?
                .map(|t| t.slug)
                .unwrap_or_default();
            let scheduler = Principal::system(SystemActor::Scheduler, &slug, Some(tenant));
            let step = within(
                Tenancy::Tenant(tenant),
                self.advance(&scheduler, req.id, now),
            );
            match step.await {
                Ok(true) => changed += 1,
                Ok(false) => {}
                Err(e) => tracing::warn!(request = %req.id, error = %e, "rollout step failed"),
            }
        }
        Ok(changed)
    }

    /// One due step of one rollout, as the scheduler.
    async fn advance(
        &self,
        scheduler: &Principal,
        id: PromotionRequestId,
        now: DateTime<Utc>,
    ) -> ServiceResult<bool> {
        let actor = scheduler.subject().to_string();
        self.mutate(
            scheduler,
            Operation::OperateDeployment,
            ("promotion_request", id.to_string()),
            async move |m: Writes| {
                let mut req = self
                    .store
                    .lock_request(&m.tx, &m.scope, id, now)
                    .await?
                    .ok_or(ServiceError::NotFound("promotion request"))?;
                let mut payload = json!({"operation": "advance"});
                if req.status == RequestStatus::Paused {
                    let why = format!(
                        "the pause ({}) ran out without a person's decision",
                        req.pause_reason.clone().unwrap_or_default()
                    );
                    self.abort(&m, &mut req, (&actor, &why), now).await?;
                } else if req.status == RequestStatus::Rolling {
                    let analysis = self.analysis_of(&m, &req).await?;
                    payload["analysis"] = json!({"verdict": format!("{:?}", analysis.verdict),
                        "reason": analysis.reason});
                    self.act_on(&m, &mut req, &analysis, &actor, now).await?;
                } else {
                    return Ok((false, Record::new("promotion_request", id, payload)));
                }
                req.updated_at = now;
                self.store.save_request(&m.tx, &m.scope, &req).await?;
                let mut p = request_payload(&req);
                p["step"] = payload;
                Ok((true, Record::new("promotion_request", id, p)))
            },
        )
        .await
    }

    /// The analysis of the step under way: the canary's and the champion's windows that ended
    /// since the step began.
    async fn analysis_of(&self, m: &Writes, req: &PromotionRequest) -> ServiceResult<Analysis> {
        let (_, current) = self.current(m, req.endpoint_id).await?;
        let since = req.step_started_at.unwrap_or(req.created_at);
        let recent = |v: ModelVersionId| async move {
            Ok::<_, ServiceError>(
                self.store
                    .windows(&m.scope, v, 50)
                    .await?
                    .into_iter()
                    .filter(|w| w.end > since)
                    .collect::<Vec<_>>(),
            )
        };
        let canary = recent(req.candidate_version_id).await?;
        let champion = recent(current.state.champion.version_id).await?;
        Ok(analyse(&canary, &champion))
    }

    /// Does what the plan says for the step's analysis.
    async fn act_on(
        &self,
        m: &Writes,
        req: &mut PromotionRequest,
        analysis: &Analysis,
        actor: &str,
        now: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let i = usize::try_from(req.step).unwrap_or(0);
        let step = req.plan.steps.get(i).copied();
        let action = match (analysis.verdict, step) {
            (AnalysisVerdict::Pass, _) | (_, None) => OnFailure::Continue,
            (AnalysisVerdict::Fail, Some(s)) => s.on_failure,
            (AnalysisVerdict::Inconclusive, Some(s)) => s.on_inconclusive,
        };
        let why = format!(
            "step {} ({}%): {}",
            i + 1,
            step.map_or(0, |s| s.percent),
            analysis.reason
        );
        req.outcome = Some(why.clone());
        match action {
            OnFailure::Abort => self.abort(m, req, (actor, &why), now).await,
            OnFailure::Pause => {
                req.status = RequestStatus::Paused;
                req.paused_by = Some(actor.to_string());
                req.pause_reason = Some(why);
                req.pause_until = Some(now + self.deployments.pause_timeout);
                Ok(())
            }
            OnFailure::Continue => match req.plan.steps.get(i + 1).copied() {
                Some(next) => {
                    let (_, current) = self.current(m, req.endpoint_id).await?;
                    let mut state = current.state;
                    state.canary = Some(Served {
                        version_id: req.candidate_version_id,
                        version: req.candidate_version,
                        percent: next.percent,
                    });
                    self.change_for(
                        m,
                        req,
                        (state, RevisionChange::CanaryStep),
                        (actor, &why),
                        now,
                    )
                    .await?;
                    req.step += 1;
                    req.step_started_at = Some(now);
                    Ok(())
                }
                None => self.promote_now(m, req, (actor, &why), now).await,
            },
        }
    }
}

/// What an SRE asks of a rollout.
#[derive(Clone, Debug)]
pub enum RolloutOp {
    /// Skip the remaining steps: the candidate becomes the champion now.
    Promote { reason: String },
    /// Stop at this step until resumed (or until `until`, when the rollout is aborted).
    Pause {
        reason: String,
        until: Option<DateTime<Utc>>,
    },
    /// Go on: the step bakes again from now.
    Resume { reason: String },
    /// The canary's traffic goes back to the champion.
    Abort { reason: String },
}

impl RolloutOp {
    fn reason(&self) -> &str {
        match self {
            RolloutOp::Promote { reason }
            | RolloutOp::Pause { reason, .. }
            | RolloutOp::Resume { reason }
            | RolloutOp::Abort { reason } => reason,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            RolloutOp::Promote { .. } => "promote",
            RolloutOp::Pause { .. } => "pause",
            RolloutOp::Resume { .. } => "resume",
            RolloutOp::Abort { .. } => "abort",
        }
    }
}

/// `state` with `cand` as champion, no canary, and a shadow only if it is not the candidate.
fn promoted(state: &DesiredState, cand: Served) -> DesiredState {
    DesiredState {
        champion: cand,
        canary: None,
        shadow: state.shadow.filter(|s| s.version_id != cand.version_id),
    }
}

fn finish(req: &mut PromotionRequest, status: RequestStatus, why: &str, now: DateTime<Utc>) {
    req.status = status;
    req.outcome = Some(why.to_string());
    req.finished_at = Some(now);
    req.pause_until = None;
}
