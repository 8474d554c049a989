//! Ingestion: a batch of production observations becomes window profile parts, one per (window,
//! slice) it touches, written in one transaction with its idempotency record and audit event.
//!
//! The batch is read and profiled on the blocking pool before any transaction opens; a bad batch
//! (a missing feature, a value of the wrong type, a NaN, an unreadable file) is refused whole with
//! the row and column to blame, and nothing of it is counted. A retry with the same
//! `Idempotency-Key` and payload answers with the batch stored first; another payload under the
//! same key is unprocessable; a retry while the first is still being processed is a conflict.
//! Raw rows are never stored: only the profiles (counts against the baseline's bins, sketches, a
//! bounded sample).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use steward_domain::registry::Feature;
use steward_domain::*;
use steward_drift::{Column, FeatureRole, WindowProfile};
use steward_ingest::arrow::array::{Array, AsArray};
use steward_ingest::arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use steward_ingest::{DEFAULT_BATCH_ROWS, Format, Options, Source};
use steward_policy::Schedule;

use super::columns::{Values, invalid, non_finite, prediction_type, upload_schema};
use super::context::merge_encoded;
use super::references::References;
use super::{encode, from_ts, to_ts};
use crate::audit::Record;
use crate::{Service, ServiceError, ServiceResult, Writes};

/// Longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;
/// How far in the future an event time may lie (clock skew between clients and Steward).
const MAX_FUTURE: Duration = Duration::hours(24);

/// One upload of observations.
#[derive(Clone, Debug)]
pub struct IngestBatch {
    pub model_version_id: ModelVersionId,
    pub body: Bytes,
    /// The format the content type named; detected from the content when `None`.
    pub format: Option<Format>,
    /// The body is SageMaker data capture (JSON lines of `captureData` events): inputs are the
    /// version's features in schema order (CSV) or by name (JSON), `eventId` the prediction id,
    /// `inferenceTime` the event time.
    pub sagemaker_capture: bool,
    /// Traffic mirrored to a shadow (docs/deployments.md): kept in the batch's summary.
    pub shadow: bool,
    pub idempotency_key: Option<String>,
}

/// What an accepted batch did.
#[derive(Clone, Debug, PartialEq)]
pub struct Ingested {
    pub batch_id: ObservationBatchId,
    pub rows: i64,
    pub late_rows: i64,
    /// True when this was a retry of a batch accepted earlier (nothing was counted again).
    pub duplicate: bool,
    /// Windows, slices and rows as stored with the batch.
    pub summary: Value,
}

impl Ingested {
    pub(crate) fn of(b: &ObservationBatch, duplicate: bool) -> Self {
        Self {
            batch_id: b.id,
            rows: b.rows,
            late_rows: b.late_rows,
            duplicate,
            summary: b.summary.clone(),
        }
    }
}

/// Removes an idempotency key from the in-flight set when the request ends, however it ends.
struct InFlight<'a> {
    set: &'a Mutex<std::collections::HashSet<(ModelId, String)>>,
    key: Option<(ModelId, String)>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let (Some(k), Ok(mut set)) = (self.key.take(), self.set.lock()) {
            set.remove(&k);
        }
    }
}

fn check_key(key: &str) -> ServiceResult<()> {
    let ok = !key.is_empty()
        && key.chars().count() <= MAX_IDEMPOTENCY_KEY_CHARS
        && key.chars().all(|c| c.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(ServiceError::Invalid(format!(
            "Idempotency-Key: must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} printable ASCII characters"
        )))
    }
}

impl Service {
    /// Accepts a batch of observations for a model version (see the module docs).
    pub async fn ingest_observations(
        &self,
        principal: &Principal,
        batch: IngestBatch,
    ) -> ServiceResult<Ingested> {
        let target = ("model_version", batch.model_version_id.to_string());
        let a = self
            .attempt(principal, Operation::IngestObservations, target)
            .await?;
        let mut guard = InFlight {
            set: &self.monitoring.in_flight,
            key: None,
        };
        let prepared = self.prepare(&a.scope, &batch, &mut guard).await;
        let new = match prepared {
            Ok(Prepared::New(new)) => new,
            Ok(Prepared::Duplicate(first)) => {
                let done = Ingested::of(&first, true);
                let payload = json!({"batchId": first.id.to_string(), "duplicate": true,
                    "rows": first.rows});
                let record = Record::new("model_version", batch.model_version_id, payload);
                return self
                    .complete(a, async |_m: Writes| Ok((done, record)))
                    .await;
            }
            Err(e) => return self.reject(a, e).await,
        };
        let by = principal.subject().to_string();
        let now = self.now();
        let result = self
            .complete(a, async |m: Writes| {
                let b = self
                    .store
                    .insert_observation_batch(&m.tx, &m.scope, &new, &by, now, &merge_encoded)
                    .await?;
                let payload = json!({"batchId": b.id.to_string(), "rows": b.rows,
                    "lateRows": b.late_rows, "idempotencyKey": b.idempotency_key,
                    "payloadSha256": b.payload_hash});
                Ok((
                    Ingested::of(&b, false),
                    Record::new("model_version", b.model_version_id, payload),
                ))
            })
            .await;
        drop(guard);
        result
    }

    async fn prepare(
        &self,
        scope: &TenantScope,
        batch: &IngestBatch,
        guard: &mut InFlight<'_>,
    ) -> ServiceResult<Prepared> {
        let (version, model) = self
            .version_and_model(scope, batch.model_version_id)
            .await?;
        if let Some(d) = &version.deleted {
            return Err(ServiceError::Precondition(format!(
                "model version {} was deleted by {} at {}: it takes no observations",
                version.version, d.by, d.at
            )));
        }
        let hash = hex::encode(Sha256::digest(&batch.body));
        if let Some(key) = &batch.idempotency_key {
            let earlier = self
                .earlier_batch(scope, version.id, "observations", key, &hash)
                .await?;
            if let Some(first) = earlier {
                return Ok(Prepared::Duplicate(first));
            }
            let k = (model.id, format!("{}/{key}", version.id));
            let fresh = self
                .monitoring
                .in_flight
                .lock()
                .map(|mut set| set.insert(k.clone()))
                .unwrap_or(false);
            if !fresh {
                return Err(ServiceError::InFlight(
                    "a batch with this Idempotency-Key is being processed; retry when it has finished".into(),
                ));
            }
            guard.key = Some(k);
        }
        let baseline = self
            .store
            .active_baseline(scope, version.id)
            .await?
            .ok_or_else(|| {
                ServiceError::Precondition(format!(
                    "model version {} has no active baseline: upload one (POST /v1/model-versions/{}/baselines) first",
                    version.version, version.id
                ))
            })?;
        let refs = self.references(scope, baseline.id).await?;
        let config = self.store.monitor_config(scope, model.id).await?;
        let schedule = self.schedule_for(scope, &model).await?;
        let now = self.now();
        let plan = Plan {
            features: version.input_schema.clone(),
            refs,
            slice_columns: config.slice_columns,
            schedule,
            lateness: Duration::seconds(config.lateness_seconds),
            now,
        };
        let (body, format, capture) = (batch.body.clone(), batch.format, batch.sagemaker_capture);
        let profiled = tokio::task::spawn_blocking(move || {
            if capture {
                let (body, format) = plan.capture_as_arrow(&body)?;
                plan.profile(body, Some(format))
            } else {
                plan.profile(body, format)
            }
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("profiling task failed: {e}")))??;
        let summary = json!({"rows": profiled.rows, "windows": profiled.windows.len(),
            "format": profiled.format, "baselineId": baseline.id.to_string(),
            "schedule": profiled.schedule, "shadow": batch.shadow});
        Ok(Prepared::New(NewObservationBatch {
            model_version_id: version.id,
            model_id: model.id,
            kind: "observations",
            idempotency_key: batch.idempotency_key.clone(),
            payload_hash: hash,
            rows: profiled.rows,
            summary,
            parts: profiled.parts,
            late: profiled.late,
            predictions: profiled.predictions,
        }))
    }

    /// The version (of the caller's tenant) an upload names, with its model.
    pub(crate) async fn version_and_model(
        &self,
        scope: &TenantScope,
        id: ModelVersionId,
    ) -> ServiceResult<(registry::ModelVersion, Model)> {
        let version = self
            .store
            .model_version(scope, id)
            .await?
            .ok_or(ServiceError::NotFound("model version"))?;
        let model = self
            .store
            .model(scope, version.model_id)
            .await?
            .ok_or(ServiceError::NotFound("model"))?;
        Ok((version, model))
    }

    /// The upload of `kind` accepted earlier under `key`: `Some` when it had this payload (a
    /// retry: answer with it, count nothing), unprocessable when it had another; `None` when the
    /// key is new.
    pub(crate) async fn earlier_batch(
        &self,
        scope: &TenantScope,
        version: ModelVersionId,
        kind: &str,
        key: &str,
        hash: &str,
    ) -> ServiceResult<Option<ObservationBatch>> {
        check_key(key)?;
        let Some(first) = self
            .store
            .observation_batch(scope, version, kind, key)
            .await?
        else {
            return Ok(None);
        };
        if first.payload_hash == hash {
            return Ok(Some(first));
        }
        Err(ServiceError::Unprocessable(format!(
            "Idempotency-Key {:?} was used for another payload (batch {} accepted at {}); send this payload under a new key",
            first.idempotency_key.unwrap_or_default(),
            first.id,
            first.received_at.to_rfc3339()
        )))
    }
}

enum Prepared {
    New(NewObservationBatch),
    Duplicate(ObservationBatch),
}

/// Everything profiling a batch needs, owned, for the blocking pool.
struct Plan {
    features: Vec<Feature>,
    /// The active baseline (its `whole` profile is what batches are counted against).
    refs: Arc<References>,
    slice_columns: Vec<String>,
    schedule: Schedule,
    lateness: Duration,
    now: DateTime<Utc>,
}

/// What profiling a batch produced.
struct Profiled {
    rows: i64,
    format: &'static str,
    schedule: String,
    windows: Vec<DateTime<Utc>>,
    parts: Vec<WindowPart>,
    late: Vec<WindowPart>,
    predictions: Vec<NewPrediction>,
}

/// One window a batch touches: its bounds and, per slice, the profile (None when late).
struct Touched {
    start: DateTime<Utc>,
    closes_at: DateTime<Utc>,
    late: bool,
    slices: BTreeMap<String, (i64, Option<WindowProfile>)>,
}

impl Plan {
    /// SageMaker data capture, read into one Arrow batch and handed on as an Arrow IPC stream,
    /// so it is typed, cast and profiled exactly like any other upload.
    fn capture_as_arrow(&self, body: &[u8]) -> ServiceResult<(Bytes, Format)> {
        use steward_ingest::arrow::ipc::writer::StreamWriter;
        let batch =
            steward_ingest::sagemaker_capture("batch", body, &self.features, PREDICTION_COLUMN)
                .map_err(invalid)?;
        let mut out = Vec::with_capacity(body.len());
        let write = |out: &mut Vec<u8>| {
            let mut w = StreamWriter::try_new(out, batch.schema_ref())?;
            w.write(&batch)?;
            w.finish()
        };
        write(&mut out).map_err(|e| ServiceError::Internal(format!("capture as Arrow: {e}")))?;
        Ok((Bytes::from(out), Format::ArrowStream))
    }

    fn profile(self, body: Bytes, format: Option<Format>) -> ServiceResult<Profiled> {
        let prediction = self
            .refs
            .whole
            .features
            .iter()
            .find(|f| f.role == FeatureRole::Prediction)
            .map(|f| (f.name.clone(), prediction_type(f.kind)));
        let mut extra: Vec<(&str, DataType)> = vec![
            (PREDICTION_ID_COLUMN, DataType::Utf8),
            (
                EVENT_TIME_COLUMN,
                DataType::Timestamp(TimeUnit::Microsecond, Some(steward_ingest::UTC.into())),
            ),
        ];
        if let Some((name, t)) = &prediction {
            extra.push((name.as_str(), t.clone()));
        }
        for c in &self.slice_columns {
            extra.push((c.as_str(), DataType::Utf8));
        }
        let wanted: Vec<&str> = self
            .refs
            .whole
            .features
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        let features: Vec<Feature> = self
            .features
            .iter()
            .filter(|f| wanted.contains(&f.name.as_str()))
            .cloned()
            .collect();
        let mut optional = vec![
            PREDICTION_ID_COLUMN.to_string(),
            EVENT_TIME_COLUMN.to_string(),
        ];
        optional.extend(self.slice_columns.iter().cloned());
        let options = Options {
            format,
            schema: Some(upload_schema(&features, &extra)),
            batch_rows: DEFAULT_BATCH_ROWS,
            optional,
        };
        let source = Source::from_bytes("batch", body, &options).map_err(invalid)?;
        let salt = uuid::Uuid::new_v4().as_u64_pair().0;
        let mut touched: BTreeMap<DateTime<Utc>, Touched> = BTreeMap::new();
        let mut kept = Vec::new();
        let mut rows = 0u64;
        for batch in source.batches(None).map_err(invalid)? {
            let batch = batch.map_err(invalid)?;
            self.observe(&source, &batch, rows, salt, &mut touched, &mut kept)?;
            rows += batch.num_rows() as u64;
        }
        if rows == 0 {
            return Err(ServiceError::Invalid("batch: has no rows".into()));
        }
        let mut parts = Vec::new();
        let mut late = Vec::new();
        for (end, t) in &touched {
            for (slice, (n, profile)) in &t.slices {
                let part = WindowPart {
                    window_start: t.start,
                    window_end: *end,
                    closes_at: t.closes_at,
                    slice: slice.clone(),
                    rows: *n,
                    profile: match profile {
                        Some(p) => encode(p)?,
                        None => Vec::new(),
                    },
                };
                if t.late {
                    late.push(part)
                } else {
                    parts.push(part)
                }
            }
        }
        Ok(Profiled {
            rows: i64::try_from(rows).unwrap_or(i64::MAX),
            format: source.format().name(),
            schedule: self.schedule.to_string(),
            windows: touched.keys().copied().collect(),
            parts,
            late,
            predictions: kept,
        })
    }

    /// Adds one record batch: rows are assigned to windows by event time and to slices by the
    /// slice columns, then each (window, slice) group is counted into its profile.
    fn observe(
        &self,
        source: &Source,
        batch: &steward_ingest::arrow::record_batch::RecordBatch,
        offset: u64,
        salt: u64,
        touched: &mut BTreeMap<DateTime<Utc>, Touched>,
        kept: &mut Vec<NewPrediction>,
    ) -> ServiceResult<()> {
        let column = |name: &str| batch.column_by_name(name);
        let mut values = Vec::with_capacity(self.refs.whole.features.len());
        for f in &self.refs.whole.features {
            let array = column(&f.name).ok_or_else(|| invalid(source.missing_column(&f.name)))?;
            let v = Values::of(array)?;
            if let Some((row, x)) = v.first_non_finite() {
                return Err(non_finite(source, &f.name, offset + row as u64, x));
            }
            values.push(v);
        }
        let n = batch.num_rows();
        let times = column(EVENT_TIME_COLUMN).map(|a| a.as_primitive::<TimestampMicrosecondType>());
        let slice_values: Vec<Option<Values<'_>>> = self
            .slice_columns
            .iter()
            .map(|c| column(c).map(Values::of).transpose())
            .collect::<ServiceResult<_>>()?;
        // Rows with a prediction id keep their prediction for the labels to come.
        let ids = column(PREDICTION_ID_COLUMN).map(|a| a.as_string::<i32>());
        let prediction = self
            .refs
            .whole
            .features
            .iter()
            .position(|f| f.role == FeatureRole::Prediction)
            .map(|i| &values[i]);
        let mut groups: BTreeMap<(DateTime<Utc>, String), Vec<u32>> = BTreeMap::new();
        let mut bounds: Option<(i64, i64)> = None;
        let now = self.now.timestamp();
        let horizon = (self.now + MAX_FUTURE).timestamp();
        for row in 0..n {
            let t = match times {
                Some(a) if a.is_valid(row) => a.value(row).div_euclid(1_000_000),
                _ => now,
            };
            if t > horizon {
                return Err(ServiceError::Invalid(format!(
                    "batch: column \"{EVENT_TIME_COLUMN}\" at {} is more than 24 hours in the future",
                    source.locate(offset + row as u64)
                )));
            }
            let (start, end) = match bounds {
                Some((s, e)) if s <= t && t < e => (s, e),
                _ => {
                    let (s, e) = self
                        .schedule
                        .window_of(to_ts(DateTime::from_timestamp(t, 0).unwrap_or(self.now)))
                        .ok_or_else(|| {
                            ServiceError::Invalid(format!(
                                "batch: the event time at {} has no window under schedule {}",
                                source.locate(offset + row as u64),
                                self.schedule
                            ))
                        })?;
                    bounds = Some((s.0, e.0));
                    (s.0, e.0)
                }
            };
            let end_t = from_ts(steward_policy::time::Timestamp(end))?;
            let slice = slice_of(&self.slice_columns, &slice_values, row);
            let entry = touched.entry(end_t).or_insert_with(|| Touched {
                start: DateTime::from_timestamp(start, 0).unwrap_or(end_t),
                closes_at: end_t + self.lateness,
                late: end_t + self.lateness <= self.now,
                slices: BTreeMap::new(),
            });
            let slice = if entry.slices.contains_key(&slice)
                || entry.slices.len() < MAX_SLICES_PER_WINDOW
            {
                slice
            } else {
                "(other slices)".to_string()
            };
            if let (Some(ids), false) = (ids, entry.late)
                && ids.is_valid(row)
            {
                let (score, predicted) = match prediction {
                    Some(Values::Numeric(v)) => (v[row], None),
                    Some(Values::Categorical(v)) => (None, v[row].map(str::to_owned)),
                    None => (None, None),
                };
                kept.push(NewPrediction {
                    prediction_id: ids.value(row).to_string(),
                    window_end: end_t,
                    slice: slice.clone(),
                    score,
                    predicted,
                    event_time: DateTime::from_timestamp(t, 0).unwrap_or(self.now),
                });
            }
            groups.entry((end_t, slice)).or_default().push(row as u32);
        }
        let whole = groups.len() == 1;
        for ((end, slice), rows) in groups {
            let Some(t) = touched.get_mut(&end) else {
                continue;
            };
            let late = t.late;
            let slot = t.slices.entry(slice).or_insert_with(|| {
                (
                    0,
                    (!late).then(|| WindowProfile::empty(&self.refs.whole, salt)),
                )
            });
            slot.0 += rows.len() as i64;
            let Some(profile) = slot.1.as_mut() else {
                continue;
            };
            let gathered: Vec<Values<'_>>;
            let cols: Vec<Column<'_>> = if whole {
                self.refs
                    .whole
                    .features
                    .iter()
                    .zip(&values)
                    .map(|(f, v)| v.column(&f.name, f.role))
                    .collect()
            } else {
                gathered = values.iter().map(|v| v.gather(&rows)).collect();
                self.refs
                    .whole
                    .features
                    .iter()
                    .zip(&gathered)
                    .map(|(f, v)| v.column(&f.name, f.role))
                    .collect()
            };
            profile
                .observe(&self.refs.whole, &cols)
                .map_err(|e| ServiceError::Invalid(format!("batch: {e}")))?;
        }
        Ok(())
    }
}

/// The slice of row `row`: `col=value` pairs in the configured order.
fn slice_of(columns: &[String], values: &[Option<Values<'_>>], row: usize) -> String {
    if columns.is_empty() {
        return ALL_SLICE.to_string();
    }
    let texts: Vec<Option<String>> = values
        .iter()
        .map(|v| match v {
            Some(Values::Categorical(c)) => c[row].map(str::to_owned),
            Some(Values::Numeric(n)) => n[row].map(|x| x.to_string()),
            None => None,
        })
        .collect();
    let borrowed: Vec<Option<&str>> = texts.iter().map(|t| t.as_deref()).collect();
    slice_name(columns, &borrowed)
}
