//! Deployments (docs/deployments.md): endpoints and their revisions, rollbacks, and the reads
//! that answer "what served this endpoint at time T". Promotion requests and approvals are in
//! `promotion.rs`, rollouts (steps, analyses, pause, abort) in `rollout.rs`.
//!
//! Every change of an endpoint goes through [`Service::change_endpoint`] inside a mutation: it
//! writes the next revision under the optimistic precondition of the revision the change was
//! decided on (CONFLICT otherwise) and, when the endpoint has a target, the outbox action that
//! carries the new desired state to it, in the same transaction. So the history, the audit
//! event and the delivery stand or fall together.

mod analysis;
mod promotion;
mod read;
mod rollout;
mod shadow;
mod verdict;

pub use analysis::{Analysis, AnalysisVerdict, analyse};
pub use promotion::{PromotionInput, RequestChange};

pub use rollout::{DeploymentSettings, RolloutOp};
pub use shadow::{MetricDelta, ShadowComparison};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use steward_domain::*;
use steward_store::{NewAction, NewRevision};

use crate::audit::Record;
use crate::outbox::DEPLOY;
use crate::{Service, ServiceError, ServiceResult, Writes};

/// An SRE's (or a policy's) rollback.
#[derive(Clone, Debug)]
pub struct RollbackInput {
    pub endpoint: EndpointId,
    pub reason: String,
    pub incident: Option<IncidentId>,
    /// An earlier revision to go back to; by default the last revision whose champion has no
    /// open incident.
    pub to_revision: Option<i64>,
    /// The revision the caller saw; the rollback is refused (CONFLICT) if the endpoint moved.
    pub expected_revision: Option<i64>,
    /// A retried call with the same key returns the rollback it made instead of a second one.
    pub idempotency_key: Option<String>,
}

/// One change of an endpoint, decided on revision `expected`.
pub(crate) struct Change<'a> {
    pub endpoint: &'a Endpoint,
    pub expected: i64,
    pub state: DesiredState,
    pub change: RevisionChange,
    pub actor: &'a str,
    pub reason: &'a str,
    pub request: Option<PromotionRequestId>,
    pub policy_revision: Option<&'a str>,
    pub incident: Option<IncidentId>,
    pub decision: Option<DecisionRecordId>,
    pub key: Option<&'a str>,
}

/// A served version as the deployment action's payload names it.
fn served_json(s: &Served, v: Option<&ModelVersion>) -> Value {
    json!({"versionId": s.version_id.to_string(), "version": s.version, "percent": s.percent,
        "artifactUri": v.map(|v| v.artifact_uri.clone()),
        "artifactDigest": v.map(|v| v.artifact_digest.to_string())})
}

/// The desired state as GraphQL, audit events and the outbox show it (without artifacts).
pub fn state_json(s: &DesiredState) -> Value {
    let one = |x: &Served| json!({"version": x.version, "versionId": x.version_id.to_string(), "percent": x.percent});
    json!({"champion": one(&s.champion), "canary": s.canary.as_ref().map(one),
        "shadow": s.shadow.as_ref().map(one)})
}

impl Service {
    /// Writes `c` as the endpoint's next revision and queues its delivery to the endpoint's
    /// target; returns the revision.
    pub(crate) async fn change_endpoint(
        &self,
        m: &Writes,
        c: Change<'_>,
        at: DateTime<Utc>,
    ) -> ServiceResult<DeploymentRevision> {
        let e = c.endpoint;
        let rev = self
            .store
            .append_revision(
                &m.tx,
                &m.scope,
                e.id,
                c.expected,
                NewRevision {
                    state: c.state,
                    change: c.change,
                    actor: c.actor,
                    reason: c.reason,
                    request: c.request,
                    policy_revision: c.policy_revision,
                    incident: c.incident,
                    decision: c.decision,
                    idempotency_key: c.key,
                    at,
                },
            )
            .await?;
        self.follow_champion(m, e, &rev, at).await?;
        self.queue_revision(m, e, &rev, (c.decision, c.incident), at)
            .await?;
        Ok(rev)
    }

    /// Moves the endpoint's champion alias to the revision's champion, in the same transaction.
    async fn follow_champion(
        &self,
        m: &Writes,
        e: &Endpoint,
        rev: &DeploymentRevision,
        at: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let Some(alias) = e.champion_alias.as_deref() else {
            return Ok(());
        };
        let champion = rev.state.champion.version;
        let now = self
            .store
            .alias_in_force(&m.tx, &m.scope, (e.model_id, alias))
            .await?;
        if now.is_none_or(|a| a.version != champion) {
            self.store
                .set_alias(
                    &m.tx,
                    &m.scope,
                    (e.model_id, alias),
                    champion,
                    (&rev.actor, at),
                )
                .await?;
        }
        Ok(())
    }

    /// Queues the outbox action that carries revision `rev` to the endpoint's target (none
    /// when the endpoint has no target: the serving side reads the desired state).
    async fn queue_revision(
        &self,
        m: &Writes,
        e: &Endpoint,
        rev: &DeploymentRevision,
        (decision, incident): (Option<DecisionRecordId>, Option<IncidentId>),
        at: DateTime<Utc>,
    ) -> ServiceResult<()> {
        let Some(target) = e.target.as_deref() else {
            return Ok(());
        };
        let version = |s: Option<Served>| async move {
            match s {
                Some(s) => self.store.model_version(&m.scope, s.version_id).await,
                None => Ok(None),
            }
        };
        let st = rev.state;
        let model = self.store.model(&m.scope, e.model_id).await?;
        let champion = version(Some(st.champion)).await?;
        let canary = version(st.canary).await?;
        let shadow = version(st.shadow).await?;
        let payload = json!({
            "endpoint": {"id": e.id.to_string(), "name": e.name, "environment": e.environment},
            "model": {"id": e.model_id.to_string(), "name": model.map(|m| m.name)},
            "revision": rev.number,
            "change": rev.change.as_str(),
            "reason": rev.reason,
            "actor": rev.actor,
            "champion": served_json(&st.champion, champion.as_ref()),
            "canary": st.canary.map(|c| served_json(&c, canary.as_ref())),
            "shadow": st.shadow.map(|s| served_json(&s, shadow.as_ref())),
        });
        let known = self.store.target_names(&m.tx, &m.scope).await?;
        let (status, error) = if known.contains(target) {
            (ActionStatus::Pending, None)
        } else {
            (
                ActionStatus::Undeliverable,
                Some(format!(
                    "the tenant has no delivery target named {target:?}"
                )),
            )
        };
        let subject = st.canary.map_or(st.champion.version_id, |c| c.version_id);
        self.store
            .insert_action(
                &m.tx,
                &m.scope,
                NewAction {
                    version: (e.model_id, subject),
                    decision,
                    deployment: Some((e.id, rev.id)),
                    incident,
                    window: None,
                    kind: DEPLOY,
                    payload: &payload,
                    target: Some(target),
                    status,
                    error,
                    at,
                },
            )
            .await?;
        self.wake_relay();
        Ok(())
    }

    /// The version, checked to belong to `model`.
    async fn version_of(
        &self,
        scope: &TenantScope,
        model: ModelId,
        id: ModelVersionId,
        field: &str,
    ) -> ServiceResult<ModelVersion> {
        let v = self
            .store
            .model_version(scope, id)
            .await?
            .ok_or(ServiceError::NotFound("model version"))?;
        if v.model_id != model {
            return Err(ServiceError::Invalid(format!(
                "{field}: version {} belongs to another model than the endpoint's",
                v.version
            )));
        }
        Ok(v)
    }

    /// Checks that `target` names one of the tenant's targets that serves models.
    async fn serving_target(
        &self,
        scope: &TenantScope,
        target: &str,
    ) -> ServiceResult<ServingCapabilities> {
        let targets = self.store.delivery_targets(scope).await?;
        let t = targets.iter().find(|t| t.name == target).ok_or_else(|| {
            ServiceError::Invalid(format!(
                "input.target: the tenant has no delivery target named {target:?}"
            ))
        })?;
        t.kind.serving().ok_or_else(|| {
            ServiceError::Invalid(format!(
                "input.target: {target:?} is a {} target, which does not serve models; use a kserve or webhook target",
                t.kind.as_str()
            ))
        })
    }

    /// Creates an endpoint serving `new.champion` (model_owner, sre).
    pub async fn create_endpoint(
        &self,
        principal: &Principal,
        new: NewEndpoint,
    ) -> ServiceResult<(Endpoint, DeploymentRevision)> {
        let actor = principal.subject().to_string();
        let now = self.now();
        self.mutate(
            principal,
            Operation::ManageEndpoints,
            ("endpoint", new.name.clone()),
            async move |m: Writes| {
                new.validate()?;
                if self.store.model(&m.scope, new.model_id).await?.is_none() {
                    return Err(ServiceError::NotFound("model"));
                }
                let v = self
                    .version_of(
                        &m.scope,
                        new.model_id,
                        new.champion,
                        "input.championVersionId",
                    )
                    .await?;
                if let Some(t) = &new.target {
                    self.serving_target(&m.scope, t).await?;
                }
                let state = DesiredState::champion(v.id, v.version);
                let (e, rev) = self
                    .store
                    .create_endpoint(&m.tx, &m.scope, &new, state, &actor, now)
                    .await?;
                self.follow_champion(&m, &e, &rev, now).await?;
                self.queue_revision(&m, &e, &rev, (None, None), now).await?;
                let payload = json!({"name": e.name, "environment": e.environment,
                    "target": e.target, "revision": rev.number, "state": state_json(&state),
                    "reason": new.reason});
                let id = e.id;
                Ok(((e, rev), Record::new("endpoint", id, payload)))
            },
        )
        .await
    }

    /// Points the endpoint's changes at another serving target, or at none (model_owner, sre).
    pub async fn set_endpoint_target(
        &self,
        principal: &Principal,
        id: EndpointId,
        target: Option<String>,
    ) -> ServiceResult<Endpoint> {
        let now = self.now();
        self.mutate(
            principal,
            Operation::ManageEndpoints,
            ("endpoint", id.to_string()),
            async move |m: Writes| {
                if let Some(t) = &target {
                    validate::name("input.target", t)?;
                    self.serving_target(&m.scope, t).await?;
                }
                let e = self
                    .store
                    .set_endpoint_target(&m.tx, &m.scope, id, target.as_deref(), now)
                    .await?;
                let payload = json!({"target": e.target});
                Ok((e, Record::new("endpoint", id, payload)))
            },
        )
        .await
    }

    /// Rolls the endpoint back in one step (sre): to `to_revision`'s champion, or to the last
    /// champion without an open incident. Skips analysis, removes a canary in flight (its
    /// request is aborted), and writes a revision whose desired state names the version rolled
    /// back to.
    pub async fn rollback(
        &self,
        principal: &Principal,
        input: RollbackInput,
    ) -> ServiceResult<DeploymentRevision> {
        let actor = principal.subject().to_string();
        let now = self.now();
        let id = input.endpoint;
        self.mutate(
            principal,
            Operation::OperateDeployment,
            ("endpoint", id.to_string()),
            async move |m: Writes| {
                validate::required_text("input.reason", &input.reason, MAX_DEPLOY_REASON)?;
                if let Some(k) = &input.idempotency_key {
                    validate::required_text("input.idempotencyKey", k, 256)?;
                    if let Some(done) = self.store.revision_by_key(&m.tx, &m.scope, id, k).await? {
                        let payload = json!({"replayOf": done.number, "idempotencyKey": k});
                        return Ok((done, Record::new("endpoint", id, payload)));
                    }
                }
                let e = self
                    .store
                    .endpoint_in(&m.tx, &m.scope, id)
                    .await?
                    .ok_or(ServiceError::NotFound("endpoint"))?;
                if let Some(i) = input.incident
                    && self.store.incident(&m.scope, i).await?.is_none()
                {
                    return Err(ServiceError::NotFound("incident"));
                }
                let expected = input.expected_revision.unwrap_or(e.revision);
                let step = RollbackStep {
                    to_revision: input.to_revision,
                    reason: &input.reason,
                    incident: input.incident,
                    decision: None,
                    key: input.idempotency_key.as_deref(),
                };
                let (from, rev) = self.roll_back(&m, &e, expected, &actor, step, now).await?;
                let payload = json!({"revision": rev.number, "from": state_json(&from),
                    "to": state_json(&rev.state), "reason": input.reason,
                    "incident": input.incident.map(|i| i.to_string())});
                Ok((rev, Record::new("endpoint", id, payload)))
            },
        )
        .await
    }

    /// Rolls back every endpoint of `model` that serves `version` as champion or canary, for a
    /// policy's `rollback(reason)` decision, in the window evaluation's transaction; the
    /// endpoints rolled back.
    pub(crate) async fn rollback_for_decision(
        &self,
        m: &Writes,
        actor: &str,
        (model, version): (ModelId, ModelVersionId),
        step: RollbackStep<'_>,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<(EndpointId, i64)>> {
        let mut done = Vec::new();
        for (e, current) in self
            .store
            .endpoints_of_model_in(&m.tx, &m.scope, model)
            .await?
        {
            let s = current.state;
            let serving = s.champion.version_id == version
                || s.canary.is_some_and(|c| c.version_id == version);
            if !serving {
                continue;
            }
            match self
                .roll_back(m, &e, e.revision, actor, step.clone(), now)
                .await
            {
                Ok((_, rev)) => done.push((e.id, rev.number)),
                // Nothing earlier to go back to: the decision is reported, the endpoint kept.
                Err(ServiceError::Precondition(why)) => {
                    tracing::warn!(endpoint = %e.name, %why, "policy rollback found no earlier revision");
                }
                Err(other) => return Err(other),
            }
        }
        Ok(done)
    }

    /// The rollback itself, in the caller's mutation: the state before it and the new revision.
    async fn roll_back(
        &self,
        m: &Writes,
        e: &Endpoint,
        expected: i64,
        actor: &str,
        step: RollbackStep<'_>,
        now: DateTime<Utc>,
    ) -> ServiceResult<(DesiredState, DeploymentRevision)> {
        let current = self
            .store
            .deployment_revision(Some(&m.tx), &m.scope, e.id, e.revision)
            .await?
            .ok_or(ServiceError::NotFound("deployment revision"))?;
        let to = self
            .rollback_target(m, e, &current, step.to_revision)
            .await?;
        let mut state = DesiredState::champion(to.version_id, to.version);
        // A shadow keeps mirroring unless it is the version rolled back to.
        state.shadow = current
            .state
            .shadow
            .filter(|s| s.version_id != to.version_id);
        self.end_rollouts(m, e.id, "overridden by a rollback", now)
            .await?;
        let rev = self
            .change_endpoint(
                m,
                Change {
                    endpoint: e,
                    expected,
                    state,
                    change: RevisionChange::RolledBack,
                    actor,
                    reason: step.reason,
                    request: None,
                    policy_revision: None,
                    incident: step.incident,
                    decision: step.decision,
                    key: step.key,
                },
                now,
            )
            .await?;
        Ok((current.state, rev))
    }

    /// The champion a rollback returns to: `to_revision`'s, or, with a canary in flight, the
    /// champion it runs beside, or else the champion of the latest earlier revision that differs
    /// from today's and has no open incident.
    async fn rollback_target(
        &self,
        m: &Writes,
        e: &Endpoint,
        current: &DeploymentRevision,
        to_revision: Option<i64>,
    ) -> ServiceResult<Served> {
        if let Some(n) = to_revision {
            if n < 1 || n >= current.number {
                return Err(ServiceError::Invalid(format!(
                    "input.toRevision: {n} is not an earlier revision (the endpoint is at {})",
                    current.number
                )));
            }
            let r = self
                .store
                .deployment_revision(Some(&m.tx), &m.scope, e.id, n)
                .await?
                .ok_or(ServiceError::NotFound("deployment revision"))?;
            let approved = matches!(
                r.change,
                RevisionChange::Created | RevisionChange::Promoted | RevisionChange::RolledBack
            );
            if !approved {
                return Err(ServiceError::Invalid(format!(
                    "input.toRevision: revision {n} is a {} step, not a state a champion was approved into",
                    r.change.as_str()
                )));
            }
            return Ok(r.state.champion);
        }
        if current.state.canary.is_some() {
            return Ok(current.state.champion);
        }
        let troubled: std::collections::BTreeSet<ModelVersionId> = self
            .store
            .incidents(
                &m.scope,
                &IncidentFilter {
                    model_id: Some(e.model_id),
                    ..IncidentFilter::default()
                },
                1_000,
            )
            .await?
            .into_iter()
            .filter(|i| i.status != IncidentStatus::Resolved)
            .map(|i| i.model_version_id)
            .collect();
        let mut before = Some(current.number);
        while let Some(b) = before {
            let page = self
                .store
                .deployment_revisions(&m.scope, e.id, Some(b), 100)
                .await?;
            before = page.last().map(|r| r.number).filter(|_| page.len() == 100);
            for r in page {
                let c = r.state.champion;
                if c.version_id != current.state.champion.version_id
                    && !troubled.contains(&c.version_id)
                {
                    return Ok(c);
                }
            }
        }
        Err(ServiceError::Precondition(format!(
            "endpoint `{}` has no earlier revision whose champion is free of open incidents; name one with toRevision",
            e.name
        )))
    }
}

/// What a rollback is asked with.
#[derive(Clone)]
pub(crate) struct RollbackStep<'a> {
    pub to_revision: Option<i64>,
    pub reason: &'a str,
    pub incident: Option<IncidentId>,
    pub decision: Option<DecisionRecordId>,
    pub key: Option<&'a str>,
}
