//! The outbox through GraphQL: actions with their delivery attempts, the tenant's delivery
//! targets (secrets go in, never out), `deliverNow` and `replayAction` (SREs).

use async_graphql::{ComplexObject, Context, ID, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;
use steward_domain as d;

use super::monitoring::id_of;
use super::{ctx, parse_id};
use crate::error::gql;

type R<T> = async_graphql::Result<T>;

mirror_enum!(ActionStatus, d::ActionStatus, { Pending, Delivered, Dead, Undeliverable, Suppressed });
mirror_enum!(AttemptOutcome, d::AttemptOutcome, { Delivered, Retry, Dead });
mirror_enum!(DeliveryTargetKind, d::TargetKind, { Slack, PagerDuty, Webhook, Prefect, Airflow, Dagster, GithubActions, Kserve, Seldon });

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct PendingAction {
    pub id: ID,
    pub model_id: ID,
    pub model_version_id: ID,
    /// The policy decision that asked for it; null for a deployment change made by a person or
    /// the rollout scheduler.
    pub decision_record_id: Option<ID>,
    /// The endpoint whose change a deployment action carries.
    pub endpoint_id: Option<ID>,
    pub incident_id: Option<ID>,
    pub window_id: Option<ID>,
    /// `alert`, `retrain`, `rollback`, `incident_acknowledged` or `incident_resolved`.
    pub kind: String,
    /// The decision as the policy made it (or the incident change that follows an alert).
    pub payload: Json<Value>,
    pub status: ActionStatus,
    pub created_at: DateTime<Utc>,
    /// The delivery target's name; none for a rollback (deployments are not built yet).
    pub target: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    #[graphql(skip)]
    pub domain_id: d::ActionId,
}

/// A report on a retraining run (`POST /v1/retraining-runs/{id}/status`).
#[derive(SimpleObject)]
pub struct RetrainingReport {
    /// QUEUED, RUNNING, SUCCEEDED, FAILED or CANCELLED, in lower case as reported.
    pub status: String,
    pub message: String,
    pub external_url: Option<String>,
    /// The candidate version the run registered.
    pub model_version_id: Option<ID>,
    pub cost: Option<f64>,
    pub cost_currency: Option<String>,
    pub reported_by: String,
    pub reported_at: DateTime<Utc>,
}

#[ComplexObject]
impl PendingAction {
    /// For a retrain: what its run reported, oldest first.
    async fn reports(&self, c: &Context<'_>) -> R<Vec<RetrainingReport>> {
        let (svc, p) = ctx(c)?;
        let list = svc
            .retraining_reports(p, self.domain_id)
            .await
            .map_err(gql)?;
        Ok(list
            .into_iter()
            .map(|r| RetrainingReport {
                status: r.status.as_str().to_string(),
                message: r.message,
                external_url: r.external_url,
                model_version_id: r.candidate.map(id_of),
                cost: r.cost,
                cost_currency: r.cost_currency,
                reported_by: r.reported_by,
                reported_at: r.reported_at,
            })
            .collect())
    }

    /// Every delivery attempt, oldest first.
    async fn deliveries(&self, c: &Context<'_>) -> R<Vec<DeliveryAttempt>> {
        let (svc, p) = ctx(c)?;
        let list = svc
            .delivery_attempts(p, self.domain_id)
            .await
            .map_err(gql)?;
        Ok(list.into_iter().map(Into::into).collect())
    }
}

impl From<d::PendingAction> for PendingAction {
    fn from(a: d::PendingAction) -> Self {
        PendingAction {
            id: id_of(a.id),
            model_id: id_of(a.model_id),
            model_version_id: id_of(a.model_version_id),
            decision_record_id: a.decision_record_id.map(id_of),
            endpoint_id: a.endpoint_id.map(id_of),
            incident_id: a.incident_id.map(id_of),
            window_id: a.window_id.map(id_of),
            kind: a.kind,
            payload: Json(a.payload),
            status: a.status.into(),
            created_at: a.created_at,
            target: a.target,
            attempts: a.attempts,
            next_attempt_at: a.next_attempt_at,
            finished_at: a.finished_at,
            last_error: a.last_error,
            domain_id: a.id,
        }
    }
}

/// One delivery attempt.
#[derive(SimpleObject)]
pub struct DeliveryAttempt {
    pub attempt: i64,
    pub at: DateTime<Utc>,
    pub target: String,
    /// The HTTP status; none when no answer came.
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    pub outcome: AttemptOutcome,
    pub detail: String,
    /// The start of the answer (at most 512 characters).
    pub response_excerpt: String,
}

impl From<d::DeliveryAttempt> for DeliveryAttempt {
    fn from(a: d::DeliveryAttempt) -> Self {
        DeliveryAttempt {
            attempt: a.attempt,
            at: a.at,
            target: a.target,
            status_code: a.status_code.map(i32::from),
            latency_ms: a.latency_ms,
            outcome: a.outcome.into(),
            detail: a.detail,
            response_excerpt: a.response_excerpt,
        }
    }
}

/// A delivery target, without its secret.
#[derive(SimpleObject)]
pub struct DeliveryTarget {
    pub id: ID,
    pub name: String,
    pub kind: DeliveryTargetKind,
    /// Scheme and host of the URL only.
    pub endpoint: String,
    pub description: String,
    pub has_secret: bool,
    /// A previous webhook secret still signs (key rotation).
    pub rotating: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

impl From<d::DeliveryTarget> for DeliveryTarget {
    fn from(t: d::DeliveryTarget) -> Self {
        DeliveryTarget {
            id: id_of(t.id),
            name: t.name,
            kind: t.kind.into(),
            endpoint: t.endpoint,
            description: t.description,
            has_secret: t.has_secret,
            rotating: t.rotating,
            created_by: t.created_by,
            created_at: t.created_at,
            updated_at: t.updated_at,
            disabled_at: t.disabled_at,
        }
    }
}

/// What a relay pass did.
#[derive(SimpleObject)]
pub struct RelayPass {
    pub claimed: i64,
    pub delivered: i64,
    pub retrying: i64,
    pub dead: i64,
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[derive(Default)]
pub struct OutboxQuery;

#[Object]
impl OutboxQuery {
    /// The tenant's delivery targets, by name (secrets are never returned).
    async fn delivery_targets(&self, c: &Context<'_>) -> R<Vec<DeliveryTarget>> {
        let (svc, p) = ctx(c)?;
        let list = svc.delivery_targets(p).await.map_err(gql)?;
        Ok(list.into_iter().map(Into::into).collect())
    }

    /// Actions decided by policies, in the outbox, newest first.
    async fn pending_actions(
        &self,
        c: &Context<'_>,
        model_id: Option<ID>,
        status: Option<ActionStatus>,
        first: Option<i32>,
    ) -> R<Vec<PendingAction>> {
        let (svc, p) = ctx(c)?;
        let model = model_id
            .map(|m| parse_id("modelId", &m).map(d::ModelId::from_uuid))
            .transpose()?;
        let list = svc
            .pending_actions(
                p,
                model,
                status.map(Into::into),
                super::monitoring::first_of(first)?,
            )
            .await
            .map_err(gql)?;
        Ok(list.into_iter().map(Into::into).collect())
    }
}

/// A target to create, or to replace by name.
#[derive(InputObject)]
pub struct PutDeliveryTargetInput {
    pub name: String,
    pub kind: DeliveryTargetKind,
    /// Slack: the incoming webhook URL (a secret itself); PagerDuty: the Events API v2 URL
    /// (`https://events.pagerduty.com/v2/enqueue`); webhook: the receiver's URL.
    pub url: String,
    /// PagerDuty: the routing key; webhook: the signing secret (`whsec_...`); Slack: none.
    pub secret: Option<String>,
    #[graphql(default)]
    pub description: String,
    /// Webhooks: keep signing with the current secret too until the next change.
    #[graphql(default)]
    pub rotate: bool,
}

#[derive(Default)]
pub struct OutboxMutation;

#[Object]
impl OutboxMutation {
    /// Creates or replaces a delivery target (governance_officer, platform_admin).
    async fn put_delivery_target(
        &self,
        c: &Context<'_>,
        input: PutDeliveryTargetInput,
    ) -> R<DeliveryTarget> {
        let (svc, p) = ctx(c)?;
        let new = d::NewTarget {
            name: input.name,
            kind: input.kind.into(),
            url: input.url,
            secret: input.secret,
            description: input.description,
        };
        svc.put_delivery_target(p, new, input.rotate)
            .await
            .map(Into::into)
            .map_err(gql)
    }

    /// Disables a delivery target; its actions wait until it is put again.
    async fn disable_delivery_target(&self, c: &Context<'_>, name: String) -> R<DeliveryTarget> {
        let (svc, p) = ctx(c)?;
        svc.disable_delivery_target(p, name)
            .await
            .map(Into::into)
            .map_err(gql)
    }

    /// Runs a relay pass over the tenant's due actions now (sre).
    async fn deliver_now(&self, c: &Context<'_>) -> R<RelayPass> {
        let (svc, p) = ctx(c)?;
        let pass = svc.deliver_now(p).await.map_err(gql)?;
        Ok(RelayPass {
            claimed: count(pass.claimed),
            delivered: count(pass.delivered),
            retrying: count(pass.retrying),
            dead: count(pass.dead),
        })
    }

    /// Puts a dead-lettered action back in line (sre).
    async fn replay_action(&self, c: &Context<'_>, action_id: ID) -> R<PendingAction> {
        let (svc, p) = ctx(c)?;
        let id = d::ActionId::from_uuid(parse_id("actionId", &action_id)?);
        svc.replay_action(p, id).await.map(Into::into).map_err(gql)
    }
}
