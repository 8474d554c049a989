//! Observation batches: a batch is written in one transaction with its idempotency record (a
//! retried batch collides on `(tenant, version, kind, key)` and is counted once), creating the
//! windows it reaches and merging its profile into each window's part per slice; rows for a
//! window that was evaluated meanwhile are counted as its late rows.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use serde_json::{Value, json};
use steward_domain::*;
use uuid::Uuid;

use crate::entities::{monitor_windows, observation_batches, window_parts};
use crate::windows::{MergePart, corrupt};
use crate::{Store, StoreError, StoreResult, WriteTx};

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

/// Whose windows a batch writes: the tenant, the model and the version.
#[derive(Clone, Copy)]
pub(crate) struct Owner {
    pub tenant: Uuid,
    pub model: ModelId,
    pub version: ModelVersionId,
}

/// The window row for `(version, end)` in the caller's transaction, created when missing (as
/// `status` with `evaluation`), locked against a concurrent evaluation on PostgreSQL (SQLite's
/// write transaction already excludes one).
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

/// The record an accepted upload of any kind (observations, labels, KPIs) leaves.
pub(crate) struct BatchRow<'a> {
    pub id: ObservationBatchId,
    pub tenant: Uuid,
    pub version: ModelVersionId,
    pub kind: &'a str,
    pub idempotency_key: &'a Option<String>,
    pub payload_hash: &'a str,
    pub rows: i64,
    pub late_rows: i64,
    pub summary: &'a Value,
    pub received_by: &'a str,
    pub received_at: DateTime<Utc>,
}

/// Inserts an upload's record in the caller's transaction; a reused idempotency key is a
/// `Conflict` (its unique index is the guard, so two concurrent retries cannot both count).
pub(crate) async fn insert_batch_row(
    tx: &WriteTx,
    b: BatchRow<'_>,
) -> StoreResult<observation_batches::Model> {
    let what = match b.kind {
        "kpis" => "a KPI batch",
        "labels" => "a label batch",
        _ => "a batch",
    };
    observation_batches::ActiveModel {
        id: Set(b.id.as_uuid()),
        tenant_id: Set(b.tenant),
        model_version_id: Set(b.version.as_uuid()),
        kind: Set(b.kind.to_string()),
        idempotency_key: Set(b.idempotency_key.clone()),
        payload_hash: Set(b.payload_hash.to_string()),
        rows: Set(b.rows),
        late_rows: Set(b.late_rows),
        summary: Set(b.summary.to_string()),
        received_by: Set(b.received_by.to_string()),
        received_at: Set(b.received_at),
    }
    .insert(&tx.txn)
    .await
    .map_err(|e| {
        StoreError::unique(e, || {
            format!("{what} with this Idempotency-Key was accepted already")
        })
    })
}

/// Adds a batch's part to window `w` (locked by the caller's transaction): merged into the
/// slice's part when one can take it, a new part otherwise.
async fn add_part(
    tx: &WriteTx,
    tenant: Uuid,
    w: Uuid,
    batch: ObservationBatchId,
    part: &WindowPart,
    merge: MergePart<'_>,
) -> StoreResult<()> {
    use window_parts::Column as C;
    let existing = window_parts::Entity::find()
        .filter(C::TenantId.eq(tenant))
        .filter(C::WindowId.eq(w))
        .filter(C::Slice.eq(part.slice.as_str()))
        .order_by_asc(C::BatchId)
        .all(&tx.txn)
        .await?;
    for row in existing {
        let merged = merge(&row.profile, &part.profile).map_err(|e| corrupt("window part", e))?;
        if let Some(profile) = merged {
            window_parts::Entity::update_many()
                .col_expr(C::Rows, Expr::col(C::Rows).add(part.rows))
                .col_expr(C::Profile, Expr::value(profile))
                .filter(C::WindowId.eq(w))
                .filter(C::Slice.eq(row.slice.as_str()))
                .filter(C::BatchId.eq(row.batch_id))
                .exec(&tx.txn)
                .await?;
            return Ok(());
        }
    }
    window_parts::ActiveModel {
        tenant_id: Set(tenant),
        window_id: Set(w),
        batch_id: Set(batch.as_uuid()),
        slice: Set(part.slice.clone()),
        rows: Set(part.rows),
        profile: Set(part.profile.clone()),
    }
    .insert(&tx.txn)
    .await?;
    Ok(())
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
        merge: MergePart<'_>,
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
                parts.push((w.id, part));
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
        let row = insert_batch_row(
            tx,
            BatchRow {
                id,
                tenant,
                version: new.model_version_id,
                kind: new.kind,
                idempotency_key: &new.idempotency_key,
                payload_hash: &new.payload_hash,
                rows: new.rows,
                late_rows: late_total,
                summary: &summary,
                received_by,
                received_at: now,
            },
        )
        .await?;
        for (w, part) in parts {
            add_part(tx, tenant, w, id, part, merge).await?;
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
}
