//! Monitoring windows with their profile parts and evaluated slices, leases that keep one
//! evaluator per window across replicas, and the hysteresis state per slice.
//!
//! A window row is created by the first batch that reaches it (see `batches.rs`) and is locked by every batch that writes to it (the SQLite write lock,
//! `FOR UPDATE` on PostgreSQL). A window holds one part per slice: each batch's profile is
//! merged into it as the batch arrives (the caller's [`MergePart`] does the merging, so this
//! crate never decodes a profile); a second part of a slice appears only when the profiles
//! cannot merge (the active baseline changed mid-window). The evaluation stores the slices and
//! marks the window evaluated, guarded by its lease, so two replicas never both evaluate it.
//! Rows merged while an evaluation ran are counted as late rows.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::Value;
use steward_domain::*;
use uuid::Uuid;

use crate::entities::{monitor_states, monitor_windows, window_parts, window_slices};
use crate::{Store, StoreError, StoreResult, WriteTx};

/// Merges a batch's encoded window profile (second argument) into a part stored earlier (first):
/// the merged encoding, or `None` when the two cannot merge (profiled against different
/// baselines); an error means a stored part cannot be read.
pub type MergePart<'a> = &'a (dyn Fn(&[u8], &[u8]) -> Result<Option<Vec<u8>>, String> + Sync);

/// Rows of each part (slice, first batch) an evaluation read.
pub type PartsRead = HashMap<(String, ObservationBatchId), i64>;

pub(crate) fn corrupt(what: &'static str, detail: impl ToString) -> StoreError {
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

impl Store {
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
    /// twice), stores its slices and hysteresis states, and deletes the parts. Rows the parts
    /// gained after the evaluation `read` them (batches merged meanwhile) become late rows.
    pub async fn complete_window(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        outcome: &WindowOutcome,
        read: &PartsRead,
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
        // The update above locked the window, so no batch changes its parts from here on.
        let stragglers: i64 = window_parts::Entity::find()
            .select_only()
            .columns([
                window_parts::Column::Slice,
                window_parts::Column::BatchId,
                window_parts::Column::Rows,
            ])
            .filter(window_parts::Column::WindowId.eq(wid))
            .into_tuple::<(String, Uuid, i64)>()
            .all(&tx.txn)
            .await?
            .into_iter()
            .map(|(slice, batch, rows)| {
                let seen = read.get(&(slice, ObservationBatchId::from_uuid(batch)));
                Ord::max(rows - seen.copied().unwrap_or(0), 0)
            })
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
        let row = monitor_windows::Entity::find_by_id(wid)
            .one(&tx.txn)
            .await?
            .ok_or(StoreError::NotFound("window"))?;
        let version = row.model_version_id;
        crate::health::record_health(
            tx,
            crate::health::HealthRow {
                tenant,
                model: row.model_id,
                window: wid,
                window_end: row.window_end,
                outcome,
            },
        )
        .await?;
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
