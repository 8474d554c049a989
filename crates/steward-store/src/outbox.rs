//! The outbox and its delivery: actions written in the transaction of the decision that caused
//! them, the tenant's delivery targets, the relay's leases and every delivery attempt.
//!
//! A relay claims due actions with a lease committed before it calls anyone (never a row lock
//! held during I/O): one short transaction selects them (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, so replicas take disjoint rows; SQLite's write lock serializes claims) and
//! stamps the lease. An action is due when it is pending, has a target, its next attempt time
//! has come, no live lease holds it, and no earlier action of the same incident to the same
//! target is still undelivered (pending or dead): so a resolve never overtakes its trigger.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LockBehavior, LockType, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde_json::{Value, json};
use steward_domain::*;
use uuid::Uuid;

use crate::codec::corrupt;
use crate::entities::{delivery_attempts, delivery_targets, outbox_actions};
use crate::{Store, StoreError, StoreResult, WriteTx};

pub(crate) fn action(row: outbox_actions::Model) -> StoreResult<PendingAction> {
    Ok(PendingAction {
        id: ActionId::from_uuid(row.id),
        model_id: ModelId::from_uuid(row.model_id),
        model_version_id: ModelVersionId::from_uuid(row.model_version_id),
        decision_record_id: row.decision_record_id.map(DecisionRecordId::from_uuid),
        endpoint_id: row.endpoint_id.map(EndpointId::from_uuid),
        revision_id: row.revision_id.map(DeploymentRevisionId::from_uuid),
        incident_id: row.incident_id.map(IncidentId::from_uuid),
        window_id: row.window_id.map(WindowId::from_uuid),
        kind: row.kind,
        payload: serde_json::from_str(&row.payload).map_err(|e| corrupt("action payload", e))?,
        status: row
            .status
            .parse()
            .map_err(|e| corrupt("action status", e))?,
        created_at: row.created_at,
        target: row.target,
        attempts: row.attempts,
        next_attempt_at: row.next_attempt_at,
        finished_at: row.finished_at,
        last_error: row.last_error,
    })
}

fn target(row: &delivery_targets::Model) -> StoreResult<DeliveryTarget> {
    Ok(DeliveryTarget {
        id: TargetId::from_uuid(row.id),
        name: row.name.clone(),
        kind: row.kind.parse().map_err(|e| corrupt("target kind", e))?,
        endpoint: endpoint_of(&row.url),
        description: row.description.clone(),
        has_secret: row.secret.is_some(),
        rotating: row.previous_secret.is_some(),
        created_by: row.created_by.clone(),
        created_at: row.created_at,
        updated_at: row.updated_at,
        disabled_at: row.disabled_at,
    })
}

fn attempt(row: delivery_attempts::Model) -> StoreResult<DeliveryAttempt> {
    Ok(DeliveryAttempt {
        action_id: ActionId::from_uuid(row.action_id),
        attempt: row.attempt,
        at: row.at,
        target: row.target,
        status_code: row.status_code.and_then(|c| u16::try_from(c).ok()),
        latency_ms: row.latency_ms,
        outcome: row
            .outcome
            .parse()
            .map_err(|e| corrupt("attempt outcome", e))?,
        detail: row.detail,
        response_excerpt: row.response_excerpt,
    })
}

/// An action to write to the outbox.
#[derive(Clone, Debug)]
pub struct NewAction<'a> {
    pub version: (ModelId, ModelVersionId),
    /// The policy decision that asked for it; `None` for a deployment change a person (or the
    /// rollout scheduler) made.
    pub decision: Option<DecisionRecordId>,
    /// The endpoint revision it carries to the endpoint's target (a deployment action).
    pub deployment: Option<(EndpointId, DeploymentRevisionId)>,
    pub incident: Option<IncidentId>,
    pub window: Option<WindowId>,
    /// `alert`, `retrain`, `rollback`, `incident_acknowledged`, `incident_resolved`.
    pub kind: &'a str,
    pub payload: &'a Value,
    pub target: Option<&'a str>,
    /// `Pending`, or `Undeliverable` with the reason in `error`.
    pub status: ActionStatus,
    pub error: Option<String>,
    pub at: DateTime<Utc>,
}

/// What one delivery attempt did to its action.
#[derive(Clone, Debug)]
pub struct Delivered {
    pub attempt: DeliveryAttempt,
    /// The action's status after it: `Delivered`, `Pending` (to retry) or `Dead`.
    pub status: ActionStatus,
    /// When to try again, for `Pending`.
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// A target to write: the name, kind, URL and description of `NewTarget`, and how its secret
/// changes.
#[derive(Clone, Debug)]
pub struct PutTarget<'a> {
    pub new: &'a NewTarget,
    /// Keep the current webhook secret as the previous one, so deliveries carry both signatures
    /// while receivers move to the new secret.
    pub rotate: bool,
    pub actor: &'a str,
    pub at: DateTime<Utc>,
}

impl Store {
    /// Writes an action to the outbox, in the transaction of the decision (or incident change)
    /// that asked for it.
    pub async fn insert_action(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        new: NewAction<'_>,
    ) -> StoreResult<PendingAction> {
        let finished = (new.status != ActionStatus::Pending).then_some(new.at);
        let row = outbox_actions::ActiveModel {
            id: Set(ActionId::generate().as_uuid()),
            tenant_id: Set(scope.tenant_id().as_uuid()),
            model_id: Set(new.version.0.as_uuid()),
            model_version_id: Set(new.version.1.as_uuid()),
            decision_record_id: Set(new.decision.map(|d| d.as_uuid())),
            incident_id: Set(new.incident.map(|i| i.as_uuid())),
            window_id: Set(new.window.map(|w| w.as_uuid())),
            kind: Set(new.kind.to_string()),
            payload: Set(new.payload.to_string()),
            status: Set(new.status.as_str().to_string()),
            created_at: Set(new.at),
            target: Set(new.target.map(str::to_owned)),
            attempts: Set(0),
            next_attempt_at: Set(None),
            lease_owner: Set(None),
            lease_until: Set(None),
            finished_at: Set(finished),
            last_error: Set(new.error),
            endpoint_id: Set(new.deployment.map(|d| d.0.as_uuid())),
            revision_id: Set(new.deployment.map(|d| d.1.as_uuid())),
        }
        .insert(&tx.txn)
        .await?;
        action(row)
    }

    /// Queues an incident's change (`incident_acknowledged`, `incident_resolved`) for every
    /// target that was alerted of the incident, in the transaction of the change; each follows
    /// the alert it completes (its decision record) and is delivered after it.
    pub(crate) async fn follow_incident(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        incident: &Incident,
        kind: &str,
        note: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        use outbox_actions::Column as C;
        let alerts = outbox_actions::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::IncidentId.eq(incident.id.as_uuid()))
            .filter(C::Kind.eq("alert"))
            .filter(C::Status.ne(ActionStatus::Undeliverable.as_str()))
            .filter(C::Target.is_not_null())
            .order_by_asc(C::CreatedAt)
            .all(&tx.txn)
            .await?;
        let mut told = BTreeSet::new();
        for a in alerts {
            let Some(name) = a.target.clone() else {
                continue;
            };
            if !told.insert(name.clone()) {
                continue;
            }
            let payload = json!({
                "incident": incident.id.to_string(),
                "key": incident.key,
                "summary": incident.summary,
                "status": incident.status.as_str(),
                "note": note,
            });
            self.insert_action(
                tx,
                scope,
                NewAction {
                    version: (incident.model_id, incident.model_version_id),
                    decision: a.decision_record_id.map(DecisionRecordId::from_uuid),
                    deployment: None,
                    incident: Some(incident.id),
                    window: None,
                    kind,
                    payload: &payload,
                    target: Some(&name),
                    status: ActionStatus::Pending,
                    error: None,
                    at,
                },
            )
            .await?;
        }
        Ok(())
    }

    /// Actions in the outbox, newest first, optionally of one model or one status, at most
    /// `limit`.
    pub async fn pending_actions(
        &self,
        scope: &TenantScope,
        model: Option<ModelId>,
        status: Option<ActionStatus>,
        limit: u64,
    ) -> StoreResult<Vec<PendingAction>> {
        use outbox_actions::Column as C;
        let mut q =
            outbox_actions::Entity::find().filter(C::TenantId.eq(scope.tenant_id().as_uuid()));
        if let Some(m) = model {
            q = q.filter(C::ModelId.eq(m.as_uuid()));
        }
        if let Some(s) = status {
            q = q.filter(C::Status.eq(s.as_str()));
        }
        q.order_by_desc(C::Id)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(action)
            .collect()
    }

    pub async fn pending_action(
        &self,
        scope: &TenantScope,
        id: ActionId,
    ) -> StoreResult<Option<PendingAction>> {
        outbox_actions::Entity::find_by_id(id.as_uuid())
            .filter(outbox_actions::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .one(&self.db)
            .await?
            .map(action)
            .transpose()
    }

    /// Claims up to `limit` due actions (of one tenant, or of all) for `owner` until `until`,
    /// oldest first, and commits the lease before returning them.
    pub async fn claim_due_actions(
        &self,
        tenant: Option<&TenantScope>,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u64,
    ) -> StoreResult<Vec<(TenantId, PendingAction)>> {
        use outbox_actions::Column as C;
        let tx = self.begin_write().await?;
        let e = Alias::new("earlier");
        let outer = Alias::new("outbox_actions");
        let earlier = Query::select()
            .expr(Expr::val(1))
            .from_as(outbox_actions::Entity, e.clone())
            .and_where(
                Expr::col((e.clone(), C::IncidentId))
                    .equals((outer.clone(), C::IncidentId))
                    .or(Expr::col((e.clone(), C::EndpointId))
                        .equals((outer.clone(), C::EndpointId))),
            )
            .and_where(Expr::col((e.clone(), C::Target)).equals((outer.clone(), C::Target)))
            .and_where(
                Expr::col((e.clone(), C::Status))
                    .is_in([ActionStatus::Pending.as_str(), ActionStatus::Dead.as_str()]),
            )
            .and_where(
                Expr::col((e.clone(), C::CreatedAt))
                    .lt(Expr::col((outer.clone(), C::CreatedAt)))
                    .or(Expr::col((e.clone(), C::CreatedAt))
                        .eq(Expr::col((outer.clone(), C::CreatedAt)))
                        .and(Expr::col((e.clone(), C::Id)).lt(Expr::col((outer.clone(), C::Id))))),
            )
            .to_owned();
        let t = Alias::new("t");
        use delivery_targets::Column as T;
        let enabled = Query::select()
            .expr(Expr::val(1))
            .from_as(delivery_targets::Entity, t.clone())
            .and_where(Expr::col((t.clone(), T::TenantId)).equals((outer.clone(), C::TenantId)))
            .and_where(Expr::col((t.clone(), T::Name)).equals((outer.clone(), C::Target)))
            .and_where(Expr::col((t.clone(), T::DisabledAt)).is_null())
            .to_owned();
        let mut q = outbox_actions::Entity::find()
            .select_only()
            .column(C::Id)
            .filter(C::Status.eq(ActionStatus::Pending.as_str()))
            .filter(C::Target.is_not_null())
            .filter(C::NextAttemptAt.is_null().or(C::NextAttemptAt.lte(now)))
            .filter(C::LeaseUntil.is_null().or(C::LeaseUntil.lt(now)))
            .filter(Expr::exists(enabled))
            .filter(Expr::not_exists(earlier))
            .order_by_asc(C::CreatedAt)
            .order_by_asc(C::Id)
            .limit(limit);
        if let Some(scope) = tenant {
            q = q.filter(C::TenantId.eq(scope.tenant_id().as_uuid()));
        }
        if tx.backend == sea_orm::DbBackend::Postgres {
            q = q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let ids: Vec<Uuid> = q.into_tuple().all(&tx.txn).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        outbox_actions::Entity::update_many()
            .col_expr(C::LeaseOwner, Expr::value(owner))
            .col_expr(C::LeaseUntil, Expr::value(until))
            .filter(C::Id.is_in(ids.clone()))
            .exec(&tx.txn)
            .await?;
        let rows = outbox_actions::Entity::find()
            .filter(C::Id.is_in(ids))
            .order_by_asc(C::CreatedAt)
            .order_by_asc(C::Id)
            .all(&tx.txn)
            .await?;
        tx.commit().await?;
        rows.into_iter()
            .map(|r| Ok((TenantId::from_uuid(r.tenant_id), action(r)?)))
            .collect()
    }

    /// Records a delivery attempt and its action's new state, in the caller's transaction. The
    /// attempt is always kept; the action changes only while `owner` still holds its lease
    /// (false otherwise: another relay took it over after the lease ran out).
    pub async fn record_delivery(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        owner: &str,
        d: &Delivered,
    ) -> StoreResult<bool> {
        use outbox_actions::Column as C;
        let a = &d.attempt;
        delivery_attempts::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(scope.tenant_id().as_uuid()),
            action_id: Set(a.action_id.as_uuid()),
            attempt: Set(a.attempt),
            at: Set(a.at),
            target: Set(a.target.clone()),
            status_code: Set(a.status_code.map(i64::from)),
            latency_ms: Set(a.latency_ms),
            outcome: Set(a.outcome.as_str().to_string()),
            detail: Set(a.detail.clone()),
            response_excerpt: Set(a.response_excerpt.clone()),
        }
        .insert(&tx.txn)
        .await?;
        let finished = (d.status != ActionStatus::Pending).then_some(a.at);
        let error = (a.outcome != AttemptOutcome::Delivered).then(|| a.detail.clone());
        let res = outbox_actions::Entity::update_many()
            .col_expr(C::Status, Expr::value(d.status.as_str()))
            .col_expr(C::Attempts, Expr::value(a.attempt))
            .col_expr(C::NextAttemptAt, Expr::value(d.next_attempt_at))
            .col_expr(C::FinishedAt, Expr::value(finished))
            .col_expr(C::LastError, Expr::value(error))
            .col_expr(C::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(C::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(C::Id.eq(a.action_id.as_uuid()))
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::LeaseOwner.eq(owner))
            .exec(&tx.txn)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Puts an action back in line, due now, its attempts kept: a dead-lettered one, or a
    /// pending one waiting out its backoff (after its receiver was fixed). A delivered action is
    /// not sent twice, and an undeliverable one has nowhere to go: both are a `Conflict`.
    pub async fn replay_action(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        id: ActionId,
    ) -> StoreResult<PendingAction> {
        let row = outbox_actions::Entity::find_by_id(id.as_uuid())
            .filter(outbox_actions::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .one(&tx.txn)
            .await?
            .ok_or(StoreError::NotFound("action"))?;
        let replayable = [ActionStatus::Dead.as_str(), ActionStatus::Pending.as_str()];
        if !replayable.contains(&row.status.as_str()) {
            return Err(StoreError::Conflict(format!(
                "action {id} is {}; only a dead-lettered or pending action is replayed",
                row.status
            )));
        }
        let mut am = row.into_active_model();
        am.status = Set(ActionStatus::Pending.as_str().to_string());
        am.next_attempt_at = Set(None);
        am.finished_at = Set(None);
        am.lease_owner = Set(None);
        am.lease_until = Set(None);
        action(am.update(&tx.txn).await?)
    }

    /// The action's delivery attempts, oldest first.
    pub async fn delivery_attempts(
        &self,
        scope: &TenantScope,
        id: ActionId,
    ) -> StoreResult<Vec<DeliveryAttempt>> {
        use delivery_attempts::Column as C;
        delivery_attempts::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::ActionId.eq(id.as_uuid()))
            .order_by_asc(C::Attempt)
            .order_by_asc(C::At)
            .all(&self.db)
            .await?
            .into_iter()
            .map(attempt)
            .collect()
    }

    /// The tenant's delivery targets (disabled ones too), by name.
    pub async fn delivery_targets(&self, scope: &TenantScope) -> StoreResult<Vec<DeliveryTarget>> {
        use delivery_targets::Column as C;
        delivery_targets::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .order_by_asc(C::Name)
            .all(&self.db)
            .await?
            .iter()
            .map(target)
            .collect()
    }

    /// The names of the tenant's targets (disabled ones too), read in the caller's transaction.
    pub async fn target_names(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
    ) -> StoreResult<BTreeSet<String>> {
        use delivery_targets::Column as C;
        let names: Vec<String> = delivery_targets::Entity::find()
            .select_only()
            .column(C::Name)
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .into_tuple()
            .all(&tx.txn)
            .await?;
        Ok(names.into_iter().collect())
    }

    /// An enabled target with what delivering to it takes; `None` when the tenant has no
    /// enabled target of that name.
    pub async fn target_for_delivery(
        &self,
        scope: &TenantScope,
        name: &str,
    ) -> StoreResult<Option<(DeliveryTarget, TargetSecrets)>> {
        use delivery_targets::Column as C;
        let Some(row) = delivery_targets::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::Name.eq(name))
            .filter(C::DisabledAt.is_null())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let shown = target(&row)?;
        Ok(Some((
            shown,
            TargetSecrets {
                url: row.url,
                secret: row.secret,
                previous_secret: row.previous_secret,
            },
        )))
    }

    /// Creates the target, or replaces the one of that name (enabling it again); true when it
    /// was created.
    pub async fn put_delivery_target(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        put: PutTarget<'_>,
    ) -> StoreResult<(DeliveryTarget, bool)> {
        use delivery_targets::Column as C;
        let new = put.new;
        let existing = delivery_targets::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::Name.eq(new.name.as_str()))
            .one(&tx.txn)
            .await?;
        let Some(row) = existing else {
            let row = delivery_targets::ActiveModel {
                id: Set(TargetId::generate().as_uuid()),
                tenant_id: Set(scope.tenant_id().as_uuid()),
                name: Set(new.name.clone()),
                kind: Set(new.kind.as_str().to_string()),
                url: Set(new.url.clone()),
                secret: Set(new.secret.clone()),
                previous_secret: Set(None),
                description: Set(new.description.clone()),
                created_by: Set(put.actor.to_string()),
                created_at: Set(put.at),
                updated_at: Set(put.at),
                disabled_at: Set(None),
            }
            .insert(&tx.txn)
            .await?;
            return Ok((target(&row)?, true));
        };
        let previous = match (&row.secret, put.rotate) {
            (Some(old), true) if Some(old) != new.secret.as_ref() => Some(old.clone()),
            _ => None,
        };
        let mut am = row.into_active_model();
        am.kind = Set(new.kind.as_str().to_string());
        am.url = Set(new.url.clone());
        am.secret = Set(new.secret.clone());
        am.previous_secret = Set(previous);
        am.description = Set(new.description.clone());
        am.updated_at = Set(put.at);
        am.disabled_at = Set(None);
        let row = am.update(&tx.txn).await?;
        Ok((target(&row)?, false))
    }

    /// Disables a target: actions naming it stay pending, untouched by the relay, until it is
    /// enabled again.
    pub async fn disable_delivery_target(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        name: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<DeliveryTarget> {
        use delivery_targets::Column as C;
        let row = delivery_targets::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::Name.eq(name))
            .one(&tx.txn)
            .await?
            .ok_or(StoreError::NotFound("delivery target"))?;
        if row.disabled_at.is_some() {
            return target(&row);
        }
        let mut am = row.into_active_model();
        am.disabled_at = Set(Some(at));
        am.updated_at = Set(at);
        target(&am.update(&tx.txn).await?)
    }
}
