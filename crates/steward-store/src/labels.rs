//! Predictions kept for delayed labels, and label uploads joined to them by prediction id.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use steward_domain::*;
use uuid::Uuid;

use crate::batches::{BatchRow, batch, insert_batch_row};
use crate::{Store, StoreResult, WriteTx};

/// Rows of one multi-row insert: well under SQLite's bound on variables per statement.
const INSERT_CHUNK: usize = 500;

impl Store {
    /// Keeps the predictions of an accepted batch for their labels, in the batch's transaction;
    /// `windows` maps a window end to its (open) window. A prediction id seen before for the
    /// version keeps its first row.
    pub(crate) async fn insert_predictions(
        &self,
        tx: &WriteTx,
        tenant: Uuid,
        version: ModelVersionId,
        predictions: &[NewPrediction],
        windows: &BTreeMap<DateTime<Utc>, Uuid>,
    ) -> StoreResult<()> {
        use crate::entities::predictions as p;
        let rows: Vec<p::ActiveModel> = predictions
            .iter()
            .filter_map(|r| {
                let window = windows.get(&r.window_end)?;
                Some(p::ActiveModel {
                    tenant_id: Set(tenant),
                    model_version_id: Set(version.as_uuid()),
                    prediction_id: Set(r.prediction_id.clone()),
                    window_id: Set(*window),
                    slice: Set(r.slice.clone()),
                    score: Set(r.score),
                    predicted: Set(r.predicted.clone()),
                    event_time: Set(r.event_time),
                    label: Set(None),
                    labelled_at: Set(None),
                })
            })
            .collect();
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<p::ActiveModel> = rows.by_ref().take(INSERT_CHUNK).collect();
            p::Entity::insert_many(chunk)
                .on_conflict(
                    OnConflict::columns([p::Column::ModelVersionId, p::Column::PredictionId])
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(&tx.txn)
                .await?;
        }
        Ok(())
    }

    /// Joins labels to the version's kept predictions in the caller's transaction and records the
    /// upload with its idempotency key. A label for an unknown prediction id is counted as
    /// unmatched, one for a prediction already labelled as a repeat (the first label stays);
    /// neither is an error. The summary reports the counts and the label delay (receipt minus
    /// event time, seconds: median and maximum).
    pub async fn insert_label_batch(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        new: &NewLabelBatch,
        received_by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<ObservationBatch> {
        use crate::entities::predictions as p;
        let tenant = scope.tenant_id().as_uuid();
        let version = new.model_version_id.as_uuid();
        let (mut matched, mut repeated) = (0i64, 0i64);
        let mut delays: Vec<i64> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        for chunk in new.labels.chunks(INSERT_CHUNK) {
            let ids: Vec<String> = chunk.iter().map(|(id, _)| id.clone()).collect();
            let found: BTreeMap<String, p::Model> = p::Entity::find()
                .filter(p::Column::TenantId.eq(tenant))
                .filter(p::Column::ModelVersionId.eq(version))
                .filter(p::Column::PredictionId.is_in(ids))
                .all(&tx.txn)
                .await?
                .into_iter()
                .map(|r| (r.prediction_id.clone(), r))
                .collect();
            for (id, label) in chunk {
                let Some(row) = found.get(id) else { continue };
                if row.label.is_some() || !seen.insert(id.as_str()) {
                    repeated += 1;
                    continue;
                }
                p::Entity::update_many()
                    .col_expr(p::Column::Label, Expr::value(label.clone()))
                    .col_expr(p::Column::LabelledAt, Expr::value(now))
                    .filter(p::Column::ModelVersionId.eq(version))
                    .filter(p::Column::PredictionId.eq(id.as_str()))
                    .filter(p::Column::Label.is_null())
                    .exec(&tx.txn)
                    .await?;
                matched += 1;
                delays.push((now - row.event_time).num_seconds());
            }
        }
        let total = new.labels.len() as i64;
        delays.sort_unstable();
        let median = delays.get(delays.len() / 2).copied();
        let id = ObservationBatchId::generate();
        let summary = json!({"batchId": id.to_string(), "labels": total, "matched": matched,
            "unmatched": total - matched - repeated, "alreadyLabelled": repeated,
            "labelDelaySeconds": {"median": median, "max": delays.last()}});
        let row = insert_batch_row(
            tx,
            BatchRow {
                id,
                tenant,
                version: new.model_version_id,
                kind: "labels",
                idempotency_key: &new.idempotency_key,
                payload_hash: &new.payload_hash,
                rows: total,
                late_rows: 0,
                summary: &summary,
                received_by,
                received_at: now,
            },
        )
        .await?;
        batch(row)
    }

    /// The labelled predictions of a window, by slice.
    pub async fn labelled(
        &self,
        scope: &TenantScope,
        window: WindowId,
    ) -> StoreResult<Vec<Labelled>> {
        use crate::entities::predictions as p;
        Ok(p::Entity::find()
            .filter(p::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(p::Column::WindowId.eq(window.as_uuid()))
            .filter(p::Column::Label.is_not_null())
            .all(&self.db)
            .await?
            .into_iter()
            .filter_map(|r| {
                Some(Labelled {
                    slice: r.slice,
                    score: r.score,
                    predicted: r.predicted,
                    label: r.label?,
                })
            })
            .collect())
    }
}

/// A row of the shadow comparison: the shadow's and the champion's prediction of one request.
#[derive(Debug, sea_orm::FromQueryResult)]
struct PairRow {
    s_score: Option<f64>,
    s_predicted: Option<String>,
    c_score: Option<f64>,
    c_predicted: Option<String>,
    c_label: Option<String>,
    c_slice: String,
}

impl Store {
    /// The predictions of `shadow` paired with `champion`'s of the same `prediction_id`, for
    /// requests since `since`, at most `limit` (the shadow comparison).
    pub async fn prediction_pairs(
        &self,
        scope: &TenantScope,
        (champion, shadow): (ModelVersionId, ModelVersionId),
        since: DateTime<Utc>,
        limit: u64,
    ) -> StoreResult<Vec<PredictionPair>> {
        use sea_orm::FromQueryResult;
        use sea_orm::sea_query::{Alias, ExprTrait, JoinType, Query};

        use crate::entities::predictions::{Column as P, Entity as Predictions};
        let (s, c) = (Alias::new("s"), Alias::new("c"));
        let tenant = scope.tenant_id().as_uuid();
        let q = Query::select()
            .expr_as(Expr::col((s.clone(), P::Score)), Alias::new("s_score"))
            .expr_as(
                Expr::col((s.clone(), P::Predicted)),
                Alias::new("s_predicted"),
            )
            .expr_as(Expr::col((c.clone(), P::Score)), Alias::new("c_score"))
            .expr_as(
                Expr::col((c.clone(), P::Predicted)),
                Alias::new("c_predicted"),
            )
            .expr_as(Expr::col((c.clone(), P::Label)), Alias::new("c_label"))
            .expr_as(Expr::col((c.clone(), P::Slice)), Alias::new("c_slice"))
            .from_as(Predictions, s.clone())
            .join_as(
                JoinType::InnerJoin,
                Predictions,
                c.clone(),
                Expr::col((c.clone(), P::PredictionId))
                    .equals((s.clone(), P::PredictionId))
                    .and(Expr::col((c.clone(), P::ModelVersionId)).eq(champion.as_uuid()))
                    .and(Expr::col((c.clone(), P::TenantId)).eq(tenant)),
            )
            .and_where(Expr::col((s.clone(), P::TenantId)).eq(tenant))
            .and_where(Expr::col((s.clone(), P::ModelVersionId)).eq(shadow.as_uuid()))
            .and_where(Expr::col((s.clone(), P::EventTime)).gte(since))
            .limit(limit)
            .to_owned();
        let stmt = self.db.get_database_backend().build(&q);
        Ok(PairRow::find_by_statement(stmt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| PredictionPair {
                shadow_score: r.s_score,
                shadow_predicted: r.s_predicted,
                champion_score: r.c_score,
                champion_predicted: r.c_predicted,
                label: r.c_label,
                slice: r.c_slice,
            })
            .collect())
    }
}
