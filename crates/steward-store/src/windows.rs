//! Observation batches, monitoring windows with their profile parts and evaluated slices, leases
//! that keep one evaluator per window across replicas, and the hysteresis state per slice.
//!
//! A batch is written in one transaction with its idempotency record: a retried batch collides
//! on `(tenant, version, kind, key)` and is counted once. A window row is created by the first
//! batch that reaches it; batches add parts (one per slice); the evaluation merges the parts,
//! stores the slices and marks the window evaluated, guarded by its lease, so two replicas never
//! both evaluate it. Parts that land while an evaluation runs are counted as late rows.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use serde_json::{Value, json};
use steward_domain::*;
use uuid::Uuid;

use crate::entities::{
    monitor_states, monitor_windows, observation_batches, window_parts, window_slices,
};
use crate::{Store, StoreError, StoreResult, WriteTx};

fn corrupt(what: &'static str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what,
        detail: detail.to_string(),
    }
}

fn window(row: monitor_windows::Model) -> StoreResult<Window> {
    Ok(Window {
        id: WindowId::from_uuid(row.id),
        model_id: ModelId::from_uuid(row.model_id),
        model_version_id: ModelVersionId::from_uuid(row.model_version_id),
        start: row.window_start,
        end: row.window_end,
        closes_at: row.closes_at,
        status: row
            .status
            .parse()
            .map_err(|e| corrupt("window status", e))?,
        late_rows: row.late_rows,
        evaluated_at: row.evaluated_at,
        evaluated_by: row.evaluated_by,
        decision_record_id: row.decision_record_id.map(DecisionRecordId::from_uuid),
        evaluation: row
            .evaluation
            .map(|t| serde_json::from_str(&t))
            .transpose()
            .map_err(|e| corrupt("window evaluation", e))?,
    })
}

fn slice(row: window_slices::Model) -> StoreResult<WindowSlice> {
    Ok(WindowSlice {
        window_id: WindowId::from_uuid(row.window_id),
        slice: row.slice,
        rows: row.rows,
        composite: row.composite,
        drifted_features: row.drifted_features,
        report: serde_json::from_str(&row.report).map_err(|e| corrupt("window report", e))?,
    })
}

pub(crate) fn batch(row: observation_batches::Model) -> StoreResult<ObservationBatch> {
    Ok(ObservationBatch {
        id: ObservationBatchId::from_uuid(row.id),
        model_version_id: ModelVersionId::from_uuid(row.model_version_id),
        idempotency_key: row.idempotency_key,
        payload_hash: row.payload_hash,
        rows: row.rows,
        late_rows: row.late_rows,
        summary: serde_json::from_str(&row.summary).map_err(|e| corrupt("batch summary", e))?,
        received_by: row.received_by,
        received_at: row.received_at,
    })
}

/// The window row for `(version, end)` in the caller's transaction, created when missing (as
/// `status` with `evaluation`), locked against a concurrent evaluation on PostgreSQL (SQLite's
/// write transaction already excludes one).
/// Whose windows a batch writes: the tenant, the model and the version.
#[derive(Clone, Copy)]
pub(crate) struct Owner {
    pub tenant: Uuid,
    pub model: ModelId,
    pub version: ModelVersionId,
}

pub(crate) async fn ensure_window(
    tx: &WriteTx,
    owner: Owner,
    part: &WindowPart,
    status: WindowStatus,
    evaluation: Option<Value>,
    now: DateTime<Utc>,
) -> StoreResult<monitor_windows::Model> {
    use monitor_windows::Column as C;
    let Owner {
        tenant,
        model,
        version,
    } = owner;
    monitor_windows::Entity::insert(monitor_windows::ActiveModel {
        id: Set(WindowId::generate().as_uuid()),
        tenant_id: Set(tenant),
        model_id: Set(model.as_uuid()),
        model_version_id: Set(version.as_uuid()),
        window_start: Set(part.window_start),
        window_end: Set(part.window_end),
        closes_at: Set(part.closes_at),
        status: Set(status.as_str().to_string()),
        late_rows: Set(0),
        lease_owner: Set(None),
        lease_until: Set(None),
        evaluated_at: Set((status == WindowStatus::Evaluated).then_some(now)),
        evaluated_by: Set(None),
        decision_record_id: Set(None),
        evaluation: Set(evaluation.map(|v| v.to_string())),
        created_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([C::ModelVersionId, C::WindowEnd])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&tx.txn)
    .await?;
    let mut q = monitor_windows::Entity::find()
        .filter(C::ModelVersionId.eq(version.as_uuid()))
        .filter(C::WindowEnd.eq(part.window_end));
    if tx.backend == DbBackend::Postgres {
        q = q.lock_exclusive();
    }
    q.one(&tx.txn)
        .await?
        .filter(|w| w.tenant_id == tenant)
        .ok_or(StoreError::NotFound("window"))
}

impl Store {
    /// The batch accepted earlier under this idempotency key, if any.
    pub async fn observation_batch(
        &self,
        scope: &TenantScope,
        version: ModelVersionId,
        kind: &str,
        key: &str,
    ) -> StoreResult<Option<ObservationBatch>> {
        use observation_batches::Column as C;
        observation_batches::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::ModelVersionId.eq(version.as_uuid()))
            .filter(C::Kind.eq(kind))
            .filter(C::IdempotencyKey.eq(key))
            .one(&self.db)
            .await?
            .map(batch)
            .transpose()
    }

    /// Records an accepted batch with its window parts and late rows, in the caller's
    /// transaction. A reused idempotency key is a `Conflict` (the caller answers with the batch
    /// stored first). Parts for a window evaluated meanwhile are counted as its late rows.
    pub async fn insert_observation_batch(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        new: &NewObservationBatch,
        received_by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<ObservationBatch> {
        let tenant = scope.tenant_id().as_uuid();
        let owner = Owner {
            tenant,
            model: new.model_id,
            version: new.model_version_id,
        };
        let id = ObservationBatchId::generate();
        let mut late_total: i64 = new.late.iter().map(|p| p.rows).sum();
        let mut parts = Vec::with_capacity(new.parts.len());
        let mut late_by_window: BTreeMap<Uuid, i64> = BTreeMap::new();
        let mut windows: BTreeMap<DateTime<Utc>, monitor_windows::Model> = BTreeMap::new();
        for part in &new.parts {
            let w = match windows.get(&part.window_end) {
                Some(w) => w.clone(),
                None => {
                    let w = ensure_window(tx, owner, part, WindowStatus::Open, None, now).await?;
                    windows.insert(part.window_end, w.clone());
                    w
                }
            };
            if w.status == WindowStatus::Open.as_str() {
                parts.push(window_parts::ActiveModel {
                    tenant_id: Set(tenant),
                    window_id: Set(w.id),
                    batch_id: Set(id.as_uuid()),
                    slice: Set(part.slice.clone()),
                    rows: Set(part.rows),
                    profile: Set(part.profile.clone()),
                });
            } else {
                *late_by_window.entry(w.id).or_default() += part.rows;
                late_total += part.rows;
            }
        }
        for part in &new.late {
            let note = json!({"rows": 0, "note": "closed before any row arrived"});
            let w =
                ensure_window(tx, owner, part, WindowStatus::Evaluated, Some(note), now).await?;
            *late_by_window.entry(w.id).or_default() += part.rows;
        }
        let mut summary = new.summary.clone();
        if let Value::Object(m) = &mut summary {
            m.insert("lateRows".into(), json!(late_total));
            m.insert("batchId".into(), json!(id.to_string()));
        }
        let row = observation_batches::ActiveModel {
            id: Set(id.as_uuid()),
            tenant_id: Set(tenant),
            model_version_id: Set(new.model_version_id.as_uuid()),
            kind: Set(new.kind.to_string()),
            idempotency_key: Set(new.idempotency_key.clone()),
            payload_hash: Set(new.payload_hash.clone()),
            rows: Set(new.rows),
            late_rows: Set(late_total),
            summary: Set(summary.to_string()),
            received_by: Set(received_by.to_string()),
            received_at: Set(now),
        }
        .insert(&tx.txn)
        .await
        .map_err(|e| {
            StoreError::unique(e, || {
                "a batch with this Idempotency-Key was accepted already".to_string()
            })
        })?;
        if !parts.is_empty() {
            window_parts::Entity::insert_many(parts)
                .exec_without_returning(&tx.txn)
                .await?;
        }
        let open: BTreeMap<DateTime<Utc>, Uuid> = windows
            .iter()
            .filter(|(_, w)| w.status == WindowStatus::Open.as_str())
            .map(|(end, w)| (*end, w.id))
            .collect();
        self.insert_predictions(tx, tenant, new.model_version_id, &new.predictions, &open)
            .await?;
        for (w, n) in late_by_window {
            monitor_windows::Entity::update_many()
                .col_expr(
                    monitor_windows::Column::LateRows,
                    Expr::col(monitor_windows::Column::LateRows).add(n),
                )
                .filter(monitor_windows::Column::Id.eq(w))
                .exec(&tx.txn)
                .await?;
        }
        batch(row)
    }

    /// Windows of any tenant that are open and closed by `now` and not leased, oldest first:
    /// ids only, for the scheduler to act on with a scope of the window's tenant.
    pub async fn due_windows(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> StoreResult<Vec<(TenantId, WindowId)>> {
        use monitor_windows::Column as C;
        let rows: Vec<(Uuid, Uuid)> = monitor_windows::Entity::find()
            .select_only()
            .columns([C::TenantId, C::Id])
            .filter(C::Status.eq(WindowStatus::Open.as_str()))
            .filter(C::ClosesAt.lte(now))
            .filter(C::LeaseUntil.is_null().or(C::LeaseUntil.lt(now)))
            .order_by_asc(C::ClosesAt)
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(t, w)| (TenantId::from_uuid(t), WindowId::from_uuid(w)))
            .collect())
    }

    /// The version's open windows that ended by `now` (lateness not awaited), oldest first.
    pub async fn ended_windows(
        &self,
        scope: &TenantScope,
        version: ModelVersionId,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<WindowId>> {
        use monitor_windows::Column as C;
        let rows: Vec<Uuid> = monitor_windows::Entity::find()
            .select_only()
            .column(C::Id)
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::ModelVersionId.eq(version.as_uuid()))
            .filter(C::Status.eq(WindowStatus::Open.as_str()))
            .filter(C::WindowEnd.lte(now))
            .order_by_asc(C::WindowEnd)
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(rows.into_iter().map(WindowId::from_uuid).collect())
    }

    /// Takes the evaluation lease of an open window until `until`, unless another evaluator
    /// holds a lease that has not expired. One statement, committed at once: the lease is
    /// operational state, not a change anyone audits, and it must be visible to other replicas
    /// before the evaluation starts. `None` when the window is not (or no longer) to be taken.
    pub async fn lease_window(
        &self,
        scope: &TenantScope,
        id: WindowId,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<Option<Window>> {
        use monitor_windows::Column as C;
        let res = monitor_windows::Entity::update_many()
            .col_expr(C::LeaseOwner, Expr::value(owner))
            .col_expr(C::LeaseUntil, Expr::value(until))
            .filter(C::Id.eq(id.as_uuid()))
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::Status.eq(WindowStatus::Open.as_str()))
            .filter(
                C::LeaseUntil
                    .is_null()
                    .or(C::LeaseUntil.lt(now))
                    .or(C::LeaseOwner.eq(owner)),
            )
            .exec(&self.db)
            .await?;
        if res.rows_affected != 1 {
            return Ok(None);
        }
        self.window(scope, id).await
    }

    pub async fn window(&self, scope: &TenantScope, id: WindowId) -> StoreResult<Option<Window>> {
        monitor_windows::Entity::find_by_id(id.as_uuid())
            .filter(monitor_windows::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .one(&self.db)
            .await?
            .map(window)
            .transpose()
    }

    /// The version's windows, newest first, at most `limit`.
    pub async fn windows(
        &self,
        scope: &TenantScope,
        version: ModelVersionId,
        limit: u64,
    ) -> StoreResult<Vec<Window>> {
        use monitor_windows::Column as C;
        monitor_windows::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::ModelVersionId.eq(version.as_uuid()))
            .order_by_desc(C::WindowEnd)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(window)
            .collect()
    }

    /// The profile parts batches added to a window: (slice, batch, rows, encoded profile).
    pub async fn window_parts(
        &self,
        scope: &TenantScope,
        id: WindowId,
    ) -> StoreResult<Vec<(String, ObservationBatchId, i64, Vec<u8>)>> {
        use window_parts::Column as C;
        Ok(window_parts::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::WindowId.eq(id.as_uuid()))
            .order_by_asc(C::Slice)
            .order_by_asc(C::BatchId)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|p| {
                (
                    p.slice,
                    ObservationBatchId::from_uuid(p.batch_id),
                    p.rows,
                    p.profile,
                )
            })
            .collect())
    }

    /// Writes a window's evaluation in the caller's transaction: marks it evaluated (only while
    /// `outcome.lease_owner` holds it: a `Conflict` otherwise, so a window is never evaluated
    /// twice), stores its slices and hysteresis states, and replaces the merged parts. Parts of
    /// batches not in `merged` (they landed after the evaluation read the parts) become late rows.
    pub async fn complete_window(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        outcome: &WindowOutcome,
        merged: &HashSet<ObservationBatchId>,
    ) -> StoreResult<()> {
        use monitor_windows::Column as C;
        let tenant = scope.tenant_id().as_uuid();
        let wid = outcome.window_id.as_uuid();
        let res = monitor_windows::Entity::update_many()
            .col_expr(C::Status, Expr::value(WindowStatus::Evaluated.as_str()))
            .col_expr(C::EvaluatedAt, Expr::value(outcome.evaluated_at))
            .col_expr(C::EvaluatedBy, Expr::value(outcome.evaluated_by.clone()))
            .col_expr(
                C::DecisionRecordId,
                Expr::value(outcome.decision_record_id.map(|d| d.as_uuid())),
            )
            .col_expr(C::Evaluation, Expr::value(outcome.evaluation.to_string()))
            .filter(C::Id.eq(wid))
            .filter(C::TenantId.eq(tenant))
            .filter(C::Status.eq(WindowStatus::Open.as_str()))
            .filter(C::LeaseOwner.eq(outcome.lease_owner.as_str()))
            .exec(&tx.txn)
            .await?;
        if res.rows_affected != 1 {
            return Err(StoreError::Conflict(
                "the window was evaluated by another evaluator, or its lease was lost".into(),
            ));
        }
        let stragglers: i64 = window_parts::Entity::find()
            .filter(window_parts::Column::WindowId.eq(wid))
            .all(&tx.txn)
            .await?
            .into_iter()
            .filter(|p| !merged.contains(&ObservationBatchId::from_uuid(p.batch_id)))
            .map(|p| p.rows)
            .sum();
        if stragglers > 0 {
            monitor_windows::Entity::update_many()
                .col_expr(C::LateRows, Expr::col(C::LateRows).add(stragglers))
                .filter(C::Id.eq(wid))
                .exec(&tx.txn)
                .await?;
        }
        window_parts::Entity::delete_many()
            .filter(window_parts::Column::WindowId.eq(wid))
            .exec(&tx.txn)
            .await?;
        let rows: Vec<window_slices::ActiveModel> = outcome
            .slices
            .iter()
            .map(|(s, profile)| window_slices::ActiveModel {
                tenant_id: Set(tenant),
                window_id: Set(wid),
                slice: Set(s.slice.clone()),
                rows: Set(s.rows),
                composite: Set(s.composite),
                drifted_features: Set(s.drifted_features),
                profile: Set(profile.clone()),
                report: Set(s.report.to_string()),
            })
            .collect();
        if !rows.is_empty() {
            window_slices::Entity::insert_many(rows)
                .exec_without_returning(&tx.txn)
                .await?;
        }
        let version = monitor_windows::Entity::find_by_id(wid)
            .one(&tx.txn)
            .await?
            .ok_or(StoreError::NotFound("window"))?
            .model_version_id;
        for (slice_name, state) in &outcome.states {
            use monitor_states::Column as S;
            monitor_states::Entity::insert(monitor_states::ActiveModel {
                tenant_id: Set(tenant),
                model_version_id: Set(version),
                slice: Set(slice_name.clone()),
                state: Set(state.to_string()),
                updated_at: Set(outcome.evaluated_at),
            })
            .on_conflict(
                OnConflict::columns([S::ModelVersionId, S::Slice])
                    .update_columns([S::State, S::UpdatedAt])
                    .to_owned(),
            )
            .exec_without_returning(&tx.txn)
            .await?;
        }
        Ok(())
    }

    /// The evaluated slices of a window, the whole window (slice "") first.
    pub async fn window_slices(
        &self,
        scope: &TenantScope,
        id: WindowId,
    ) -> StoreResult<Vec<WindowSlice>> {
        use window_slices::Column as C;
        window_slices::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::WindowId.eq(id.as_uuid()))
            .order_by_asc(C::Slice)
            .all(&self.db)
            .await?
            .into_iter()
            .map(slice)
            .collect()
    }

    /// One slice's results over the version's evaluated windows, oldest first, at most `limit`
    /// (the newest ones).
    pub async fn slice_timeline(
        &self,
        scope: &TenantScope,
        version: ModelVersionId,
        slice_name: &str,
        limit: u64,
    ) -> StoreResult<Vec<(Window, WindowSlice)>> {
        let windows = self.windows(scope, version, limit).await?;
        let ids: Vec<Uuid> = windows.iter().map(|w| w.id.as_uuid()).collect();
        let mut slices: BTreeMap<Uuid, WindowSlice> = BTreeMap::new();
        for chunk in ids.chunks(500) {
            let rows = window_slices::Entity::find()
                .filter(window_slices::Column::TenantId.eq(scope.tenant_id().as_uuid()))
                .filter(window_slices::Column::WindowId.is_in(chunk.to_vec()))
                .filter(window_slices::Column::Slice.eq(slice_name))
                .all(&self.db)
                .await?;
            for r in rows {
                slices.insert(r.window_id, slice(r)?);
            }
        }
        let mut out: Vec<(Window, WindowSlice)> = windows
            .into_iter()
            .filter_map(|w| slices.remove(&w.id.as_uuid()).map(|s| (w, s)))
            .collect();
        out.reverse();
        Ok(out)
    }

    /// The stored hysteresis state per slice of a version.
    pub async fn monitor_states(
        &self,
        scope: &TenantScope,
        version: ModelVersionId,
    ) -> StoreResult<Vec<(String, Value)>> {
        use monitor_states::Column as C;
        monitor_states::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::ModelVersionId.eq(version.as_uuid()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| {
                serde_json::from_str(&r.state)
                    .map(|v| (r.slice, v))
                    .map_err(|e| corrupt("monitor state", e))
            })
            .collect()
    }
}
