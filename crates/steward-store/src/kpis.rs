//! Business KPIs per window and slice, summed as uploads arrive (each upload recorded with its
//! idempotency key, so a retry is summed once).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use steward_domain::*;

use crate::batches::{BatchRow, Owner, batch, ensure_window, insert_batch_row};
use crate::entities::window_kpis;
use crate::{Store, StoreResult, WriteTx};

impl Store {
    /// Adds an upload's KPI sums to their windows (created when missing; a window that closed
    /// before any row arrived is created evaluated) and records the upload, in the caller's
    /// transaction. KPIs are added also to evaluated windows: they show beside the window's
    /// results; the policy saw those present when the window was evaluated.
    pub async fn insert_kpi_batch(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        new: &NewKpiBatch,
        received_by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<ObservationBatch> {
        use window_kpis::Column as C;
        let tenant = scope.tenant_id().as_uuid();
        let owner = Owner {
            tenant,
            model: new.model_id,
            version: new.model_version_id,
        };
        for (part, name, total, count) in &new.sums {
            let (status, note) = if part.closes_at <= now {
                let note = json!({"rows": 0, "note": "closed before any row arrived"});
                (WindowStatus::Evaluated, Some(note))
            } else {
                (WindowStatus::Open, None)
            };
            let w = ensure_window(tx, owner, part, status, note, now).await?;
            window_kpis::Entity::insert(window_kpis::ActiveModel {
                tenant_id: Set(tenant),
                window_id: Set(w.id),
                slice: Set(part.slice.clone()),
                name: Set(name.clone()),
                total: Set(*total),
                count: Set(*count),
            })
            .on_conflict(
                OnConflict::columns([C::WindowId, C::Slice, C::Name])
                    .value(C::Total, Expr::cust("window_kpis.total + excluded.total"))
                    .value(C::Count, Expr::cust("window_kpis.count + excluded.count"))
                    .to_owned(),
            )
            .exec_without_returning(&tx.txn)
            .await?;
        }
        let id = ObservationBatchId::generate();
        let windows: std::collections::BTreeSet<_> =
            new.sums.iter().map(|(p, ..)| p.window_end).collect();
        let summary = json!({"batchId": id.to_string(), "rows": new.rows,
            "windows": windows.len(), "sums": new.sums.len()});
        let row = insert_batch_row(
            tx,
            BatchRow {
                id,
                tenant,
                version: new.model_version_id,
                kind: "kpis",
                idempotency_key: &new.idempotency_key,
                payload_hash: &new.payload_hash,
                rows: new.rows,
                late_rows: 0,
                summary: &summary,
                received_by,
                received_at: now,
            },
        )
        .await?;
        batch(row)
    }

    /// A window's KPIs, by slice and name.
    pub async fn window_kpis(
        &self,
        scope: &TenantScope,
        window: WindowId,
    ) -> StoreResult<Vec<WindowKpi>> {
        use window_kpis::Column as C;
        Ok(window_kpis::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::WindowId.eq(window.as_uuid()))
            .order_by_asc(C::Slice)
            .order_by_asc(C::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|k| WindowKpi {
                window_id: WindowId::from_uuid(k.window_id),
                slice: k.slice,
                name: k.name,
                total: k.total,
                count: k.count,
            })
            .collect())
    }
}
