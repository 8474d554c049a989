//! Incidents with their timeline. Every change of an incident that delivery targets were
//! alerted of is queued for them too (`outbox.rs`).
//!
//! One live incident per (model, key): the row carries its key in `open_key` until it is
//! resolved, and a unique index on `(tenant, model, open_key)` (which NULLs never trip) makes a
//! second live incident under the same key impossible, whatever the callers do. Opening under a
//! key that is live returns the live incident with a timeline entry instead.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use steward_domain::*;

use crate::entities::{incident_events, incidents};
use crate::{Store, StoreError, StoreResult, WriteTx};

fn corrupt(what: &'static str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what,
        detail: detail.to_string(),
    }
}

fn incident(row: incidents::Model) -> StoreResult<Incident> {
    Ok(Incident {
        id: IncidentId::from_uuid(row.id),
        model_id: ModelId::from_uuid(row.model_id),
        model_version_id: ModelVersionId::from_uuid(row.model_version_id),
        key: row.key,
        summary: row.summary,
        status: row
            .status
            .parse()
            .map_err(|e| corrupt("incident status", e))?,
        opened_by: row.opened_by,
        opened_at: row.opened_at,
        window_id: row.window_id.map(WindowId::from_uuid),
        decision_record_id: row.decision_record_id.map(DecisionRecordId::from_uuid),
        acknowledged_by: row.acknowledged_by,
        acknowledged_at: row.acknowledged_at,
        resolved_by: row.resolved_by,
        resolved_at: row.resolved_at,
        resolution: row.resolution,
    })
}

/// Where an incident transition comes from: who, when, and the window and decision behind it.
#[derive(Clone, Debug)]
pub struct Cause<'a> {
    pub actor: &'a str,
    pub at: DateTime<Utc>,
    pub window_id: Option<WindowId>,
    pub decision_record_id: Option<DecisionRecordId>,
}

/// What opening an incident did.
#[derive(Clone, Debug)]
pub struct Opened {
    pub incident: Incident,
    /// False when an incident under the key was live already (it got a timeline entry).
    pub created: bool,
}

impl Store {
    pub(crate) async fn add_event(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        incident: IncidentId,
        kind: &str,
        cause: &Cause<'_>,
        note: &str,
    ) -> StoreResult<()> {
        incident_events::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            tenant_id: Set(scope.tenant_id().as_uuid()),
            incident_id: Set(incident.as_uuid()),
            kind: Set(kind.to_string()),
            actor: Set(cause.actor.to_string()),
            at: Set(cause.at),
            window_id: Set(cause.window_id.map(|w| w.as_uuid())),
            decision_record_id: Set(cause.decision_record_id.map(|d| d.as_uuid())),
            note: Set(note.to_string()),
        }
        .insert(&tx.txn)
        .await?;
        Ok(())
    }

    async fn live_incident(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        model: ModelId,
        key: &str,
    ) -> StoreResult<Option<incidents::Model>> {
        use incidents::Column as C;
        Ok(incidents::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::ModelId.eq(model.as_uuid()))
            .filter(C::OpenKey.eq(key))
            .one(&tx.txn)
            .await?)
    }

    /// Opens an incident under `key` for the model, or, when one is live under that key, adds a
    /// timeline entry to it.
    pub async fn open_incident(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        version: (ModelId, ModelVersionId),
        key: &str,
        summary: &str,
        cause: &Cause<'_>,
    ) -> StoreResult<Opened> {
        if let Some(live) = self.live_incident(tx, scope, version.0, key).await? {
            let id = IncidentId::from_uuid(live.id);
            self.add_event(tx, scope, id, "decision", cause, summary)
                .await?;
            return Ok(Opened {
                incident: incident(live)?,
                created: false,
            });
        }
        let row = incidents::ActiveModel {
            id: Set(IncidentId::generate().as_uuid()),
            tenant_id: Set(scope.tenant_id().as_uuid()),
            model_id: Set(version.0.as_uuid()),
            model_version_id: Set(version.1.as_uuid()),
            key: Set(key.to_string()),
            open_key: Set(Some(key.to_string())),
            summary: Set(summary.to_string()),
            status: Set(IncidentStatus::Open.as_str().to_string()),
            opened_by: Set(cause.actor.to_string()),
            opened_at: Set(cause.at),
            window_id: Set(cause.window_id.map(|w| w.as_uuid())),
            decision_record_id: Set(cause.decision_record_id.map(|d| d.as_uuid())),
            acknowledged_by: Set(None),
            acknowledged_at: Set(None),
            resolved_by: Set(None),
            resolved_at: Set(None),
            resolution: Set(None),
        }
        .insert(&tx.txn)
        .await
        .map_err(|e| StoreError::unique(e, || format!("incident `{key}` is open already")))?;
        let id = IncidentId::from_uuid(row.id);
        self.add_event(tx, scope, id, "opened", cause, summary)
            .await?;
        Ok(Opened {
            incident: incident(row)?,
            created: true,
        })
    }

    /// Resolves the model's live incident under `key`; `None` when there is none.
    pub async fn resolve_incident_by_key(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        model: ModelId,
        key: &str,
        cause: &Cause<'_>,
        reason: &str,
    ) -> StoreResult<Option<Incident>> {
        let Some(live) = self.live_incident(tx, scope, model, key).await? else {
            return Ok(None);
        };
        self.resolve_row(tx, scope, live, cause, reason)
            .await
            .map(Some)
    }

    async fn resolve_row(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        row: incidents::Model,
        cause: &Cause<'_>,
        reason: &str,
    ) -> StoreResult<Incident> {
        let id = IncidentId::from_uuid(row.id);
        let mut am = row.into_active_model();
        am.open_key = Set(None);
        am.status = Set(IncidentStatus::Resolved.as_str().to_string());
        am.resolved_by = Set(Some(cause.actor.to_string()));
        am.resolved_at = Set(Some(cause.at));
        am.resolution = Set(Some(reason.to_string()));
        let row = am.update(&tx.txn).await?;
        self.add_event(tx, scope, id, "resolved", cause, reason)
            .await?;
        let incident = incident(row)?;
        self.follow_incident(tx, scope, &incident, "incident_resolved", reason, cause.at)
            .await?;
        Ok(incident)
    }

    /// The incident row of the caller's tenant, for a change in the caller's transaction.
    async fn incident_for_change(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        id: IncidentId,
    ) -> StoreResult<incidents::Model> {
        let mut q = incidents::Entity::find_by_id(id.as_uuid())
            .filter(incidents::Column::TenantId.eq(scope.tenant_id().as_uuid()));
        if tx.backend == sea_orm::DbBackend::Postgres {
            q = q.lock_exclusive();
        }
        q.one(&tx.txn)
            .await?
            .ok_or(StoreError::NotFound("incident"))
    }

    /// Acknowledges an open incident. A resolved one is a `Conflict`; acknowledging twice
    /// changes nothing.
    pub async fn acknowledge_incident(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        id: IncidentId,
        cause: &Cause<'_>,
        note: &str,
    ) -> StoreResult<(Incident, bool)> {
        let row = self.incident_for_change(tx, scope, id).await?;
        match row.status.as_str() {
            "resolved" => Err(StoreError::Conflict(format!(
                "incident {id} is resolved; it cannot be acknowledged"
            ))),
            "acknowledged" => Ok((incident(row)?, false)),
            _ => {
                let mut am = row.into_active_model();
                am.status = Set(IncidentStatus::Acknowledged.as_str().to_string());
                am.acknowledged_by = Set(Some(cause.actor.to_string()));
                am.acknowledged_at = Set(Some(cause.at));
                let row = am.update(&tx.txn).await?;
                self.add_event(tx, scope, id, "acknowledged", cause, note)
                    .await?;
                let incident = incident(row)?;
                self.follow_incident(
                    tx,
                    scope,
                    &incident,
                    "incident_acknowledged",
                    note,
                    cause.at,
                )
                .await?;
                Ok((incident, true))
            }
        }
    }

    /// Resolves an incident by id. Resolving a resolved incident is a `Conflict`.
    pub async fn resolve_incident(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        id: IncidentId,
        cause: &Cause<'_>,
        reason: &str,
    ) -> StoreResult<Incident> {
        let row = self.incident_for_change(tx, scope, id).await?;
        if row.status == IncidentStatus::Resolved.as_str() {
            return Err(StoreError::Conflict(format!(
                "incident {id} is resolved already"
            )));
        }
        self.resolve_row(tx, scope, row, cause, reason).await
    }

    pub async fn incident(
        &self,
        scope: &TenantScope,
        id: IncidentId,
    ) -> StoreResult<Option<Incident>> {
        incidents::Entity::find_by_id(id.as_uuid())
            .filter(incidents::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .one(&self.db)
            .await?
            .map(incident)
            .transpose()
    }

    /// Incidents, newest first, at most `limit`.
    pub async fn incidents(
        &self,
        scope: &TenantScope,
        filter: &IncidentFilter,
        limit: u64,
    ) -> StoreResult<Vec<Incident>> {
        use incidents::Column as C;
        let mut q = incidents::Entity::find().filter(C::TenantId.eq(scope.tenant_id().as_uuid()));
        if let Some(m) = filter.model_id {
            q = q.filter(C::ModelId.eq(m.as_uuid()));
        }
        if let Some(s) = filter.status {
            q = q.filter(C::Status.eq(s.as_str()));
        }
        q.order_by_desc(C::Id)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(incident)
            .collect()
    }

    /// An incident's timeline, oldest first.
    pub async fn incident_events(
        &self,
        scope: &TenantScope,
        id: IncidentId,
    ) -> StoreResult<Vec<IncidentEvent>> {
        use incident_events::Column as C;
        Ok(incident_events::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::IncidentId.eq(id.as_uuid()))
            .order_by_asc(C::At)
            .order_by_asc(C::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| IncidentEvent {
                incident_id: IncidentId::from_uuid(r.incident_id),
                kind: r.kind,
                actor: r.actor,
                at: r.at,
                window_id: r.window_id.map(WindowId::from_uuid),
                decision_record_id: r.decision_record_id.map(DecisionRecordId::from_uuid),
                note: r.note,
            })
            .collect())
    }
}
