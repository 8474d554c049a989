//! Business KPIs beside model metrics: tenants post their own per-window numbers for a model
//! (fraud losses, conversion, revenue at risk) through the ingestion path, as rows of `kpi`,
//! `value`, an optional `event_time` and the model's slice columns. Values are summed per
//! (window, slice, name) (the whole window too), shown with the window and given to the policy as
//! `ctx.kpis` and `slice.kpis`, so a rule can weigh a drift against what it costs.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sha2::{Digest, Sha256};
use steward_domain::*;
use steward_ingest::arrow::array::{Array, AsArray};
use steward_ingest::arrow::datatypes::{
    DataType, Field, Float64Type, Schema, TimeUnit, TimestampMicrosecondType,
};
use steward_ingest::{DEFAULT_BATCH_ROWS, Format, Options, Source, UTC};
use steward_policy::Schedule;

use super::columns::invalid;
use super::{Ingested, from_ts, to_ts};
use crate::audit::Record;
use crate::{Service, ServiceError, ServiceResult, Writes, scope_for};

/// One upload of KPI values.
#[derive(Clone, Debug)]
pub struct KpiUpload {
    pub model_version_id: ModelVersionId,
    pub body: Bytes,
    pub format: Option<Format>,
    pub idempotency_key: Option<String>,
}

type Sums = BTreeMap<(DateTime<Utc>, String, String), (DateTime<Utc>, f64, i64)>;

/// Reads and sums an upload: (window end, slice, name) -> (window start, sum, count).
fn sum_kpis(
    body: Bytes,
    format: Option<Format>,
    slice_columns: &[String],
    schedule: &Schedule,
    now: DateTime<Utc>,
) -> ServiceResult<(Sums, i64)> {
    let mut fields = vec![
        Field::new(KPI_COLUMN, DataType::Utf8, true),
        Field::new(VALUE_COLUMN, DataType::Float64, true),
        Field::new(
            EVENT_TIME_COLUMN,
            DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
            true,
        ),
    ];
    let mut optional = vec![EVENT_TIME_COLUMN.to_string()];
    for c in slice_columns {
        fields.push(Field::new(c, DataType::Utf8, true));
        optional.push(c.clone());
    }
    let options = Options {
        format,
        schema: Some(Arc::new(Schema::new(fields))),
        batch_rows: DEFAULT_BATCH_ROWS,
        optional,
    };
    let source = Source::from_bytes("kpis", body, &options).map_err(invalid)?;
    let mut sums = Sums::new();
    let mut rows = 0u64;
    for batch in source.batches(None).map_err(invalid)? {
        let batch = batch.map_err(invalid)?;
        let names = batch.column(0).as_string::<i32>();
        let values = batch.column(1).as_primitive::<Float64Type>();
        let times = batch
            .column_by_name(EVENT_TIME_COLUMN)
            .map(|a| a.as_primitive::<TimestampMicrosecondType>());
        let slices: Vec<Option<_>> = slice_columns
            .iter()
            .map(|c| batch.column_by_name(c).map(|a| a.as_string::<i32>()))
            .collect();
        for row in 0..batch.num_rows() {
            let at = source.locate(rows + row as u64);
            if !names.is_valid(row) || names.value(row).trim().is_empty() {
                return Err(ServiceError::Invalid(format!(
                    "kpis: column \"{KPI_COLUMN}\" is empty at {at}"
                )));
            }
            let name = names.value(row);
            steward_domain::validate::name(KPI_COLUMN, name)
                .map_err(|e| ServiceError::Invalid(format!("kpis: {e} at {at}")))?;
            if !values.is_valid(row) || !values.value(row).is_finite() {
                return Err(ServiceError::Invalid(format!(
                    "kpis: column \"{VALUE_COLUMN}\" needs a finite number at {at}"
                )));
            }
            let t = match times {
                Some(a) if a.is_valid(row) => a.value(row).div_euclid(1_000_000),
                _ => now.timestamp(),
            };
            if t > (now + Duration::hours(24)).timestamp() {
                return Err(ServiceError::Invalid(format!(
                    "kpis: column \"{EVENT_TIME_COLUMN}\" at {at} is more than 24 hours in the future"
                )));
            }
            let (start, end) = schedule
                .window_of(to_ts(DateTime::from_timestamp(t, 0).unwrap_or(now)))
                .ok_or_else(|| {
                    ServiceError::Invalid(format!("kpis: the event time at {at} has no window"))
                })?;
            let (start, end) = (from_ts(start)?, from_ts(end)?);
            let texts: Vec<Option<&str>> = slices
                .iter()
                .map(|s| s.and_then(|a| a.is_valid(row).then(|| a.value(row))))
                .collect();
            let slice = if slice_columns.is_empty() {
                ALL_SLICE.to_string()
            } else {
                slice_name(slice_columns, &texts)
            };
            let value = values.value(row);
            let mut add = |slice: String| {
                let e = sums
                    .entry((end, slice, name.to_string()))
                    .or_insert((start, 0.0, 0));
                e.1 += value;
                e.2 += 1;
            };
            if slice != ALL_SLICE {
                add(slice);
            }
            add(ALL_SLICE.to_string());
        }
        rows += batch.num_rows() as u64;
    }
    if rows == 0 {
        return Err(ServiceError::Invalid("kpis: has no rows".into()));
    }
    Ok((sums, i64::try_from(rows).unwrap_or(i64::MAX)))
}

/// The KPIs of one slice as the policy reads them.
pub(crate) fn kpi_context(
    kpis: &[WindowKpi],
    slice: &str,
) -> serde_json::Map<String, serde_json::Value> {
    kpis.iter()
        .filter(|k| k.slice == slice)
        .map(|k| {
            let mean = if k.count > 0 {
                k.total / k.count as f64
            } else {
                0.0
            };
            (
                k.name.clone(),
                json!({"total": k.total, "count": k.count, "mean": mean}),
            )
        })
        .collect()
}

impl Service {
    /// Adds uploaded KPI values to their windows (see the module docs).
    pub async fn ingest_kpis(
        &self,
        principal: &Principal,
        upload: KpiUpload,
    ) -> ServiceResult<Ingested> {
        let target = ("model_version", upload.model_version_id.to_string());
        let a = self
            .attempt(principal, Operation::IngestObservations, target)
            .await?;
        let prepared = self.prepare_kpis(&a.scope, &upload).await;
        let new = match prepared {
            Ok(Ok(new)) => new,
            Ok(Err(first)) => {
                let done = Ingested::of(&first, true);
                let payload = json!({"kpiBatchId": first.id.to_string(), "duplicate": true});
                let record = Record::new("model_version", upload.model_version_id, payload);
                return self
                    .complete(a, async |_m: Writes| Ok((done, record)))
                    .await;
            }
            Err(e) => return self.reject(a, e).await,
        };
        let by = principal.subject().to_string();
        let now = self.now();
        self.complete(a, async |m: Writes| {
            let b = self
                .store
                .insert_kpi_batch(&m.tx, &m.scope, &new, &by, now)
                .await?;
            let mut payload = b.summary.clone();
            payload["idempotencyKey"] = json!(b.idempotency_key);
            let done = Ingested::of(&b, false);
            Ok((
                done,
                Record::new("model_version", b.model_version_id, payload),
            ))
        })
        .await
    }

    async fn prepare_kpis(
        &self,
        scope: &TenantScope,
        upload: &KpiUpload,
    ) -> ServiceResult<Result<NewKpiBatch, ObservationBatch>> {
        let (version, model) = self
            .version_and_model(scope, upload.model_version_id)
            .await?;
        let hash = hex::encode(Sha256::digest(&upload.body));
        if let Some(key) = &upload.idempotency_key
            && let Some(first) = self
                .earlier_batch(scope, version.id, "kpis", key, &hash)
                .await?
        {
            return Ok(Err(first));
        }
        let config = self.store.monitor_config(scope, model.id).await?;
        let schedule = self.schedule_for(scope, &model).await?;
        let (body, format, now) = (upload.body.clone(), upload.format, self.now());
        let lateness = Duration::seconds(config.lateness_seconds);
        let columns = config.slice_columns.clone();
        let (sums, rows) =
            tokio::task::spawn_blocking(move || sum_kpis(body, format, &columns, &schedule, now))
                .await
                .map_err(|e| ServiceError::Internal(format!("KPI task failed: {e}")))??;
        let sums = sums
            .into_iter()
            .map(|((end, slice, name), (start, total, count))| {
                let part = WindowPart {
                    window_start: start,
                    window_end: end,
                    closes_at: end + lateness,
                    slice,
                    rows: count,
                    profile: Vec::new(),
                };
                (part, name, total, count)
            })
            .collect();
        Ok(Ok(NewKpiBatch {
            model_version_id: version.id,
            model_id: model.id,
            idempotency_key: upload.idempotency_key.clone(),
            payload_hash: hash,
            rows,
            sums,
        }))
    }

    /// A window's KPIs, by slice and name.
    pub async fn window_kpis(
        &self,
        principal: &Principal,
        id: WindowId,
    ) -> ServiceResult<Vec<WindowKpi>> {
        let scope = scope_for(principal, Operation::ReadMonitoring)?;
        self.store
            .window(&scope, id)
            .await?
            .ok_or(ServiceError::NotFound("window"))?;
        Ok(self.store.window_kpis(&scope, id).await?)
    }
}
