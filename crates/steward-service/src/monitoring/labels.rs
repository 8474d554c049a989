//! Delayed labels: `prediction_id -> label` uploads joined to the predictions kept at ingestion,
//! and the performance of a window's labelled rows with its confidence (steward-drift's
//! `estimate`: accuracy with a Wilson interval, ROC AUC with DeLong's, tested against the
//! version's holdout metrics).
//!
//! A label counts in the window of its prediction, whenever it arrives: the window's evaluation
//! uses the labels present then, and `windowPerformance` reads the labels present now.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::json;
use sha2::{Digest, Sha256};
use steward_domain::*;
use steward_drift::FeatureRole;
use steward_drift::concept::ConceptConfig;
use steward_drift::estimate::{MetricEstimate, binary_window, label_window};
use steward_ingest::arrow::array::{Array, AsArray};
use steward_ingest::arrow::datatypes::{DataType, Field, Float64Type, Schema};
use steward_ingest::{DEFAULT_BATCH_ROWS, Format, Options, Source};

use super::columns::invalid;
use crate::audit::Record;
use crate::{Service, ServiceError, ServiceResult, Writes, scope_for};

/// One upload of labels.
#[derive(Clone, Debug)]
pub struct LabelUpload {
    pub model_version_id: ModelVersionId,
    pub body: Bytes,
    pub format: Option<Format>,
    pub idempotency_key: Option<String>,
}

/// The performance of one slice of a window ("" is the whole window).
#[derive(Clone, Debug, PartialEq)]
pub struct SlicePerformance {
    pub slice: String,
    pub labelled_rows: u64,
    pub metrics: Vec<MetricEstimate>,
}

/// Reads `prediction_id` and `label` (a number when the model's prediction is a score, text
/// when it is a label); every row needs both.
fn read_labels(
    body: Bytes,
    format: Option<Format>,
    numeric: bool,
) -> ServiceResult<Vec<(String, String)>> {
    let label_type = if numeric {
        DataType::Float64
    } else {
        DataType::Utf8
    };
    let schema = Schema::new(vec![
        Field::new(PREDICTION_ID_COLUMN, DataType::Utf8, true),
        Field::new(LABEL_COLUMN, label_type, true),
    ]);
    let options = Options {
        format,
        schema: Some(std::sync::Arc::new(schema)),
        batch_rows: DEFAULT_BATCH_ROWS,
        optional: Vec::new(),
    };
    let source = Source::from_bytes("labels", body, &options).map_err(invalid)?;
    let mut out = Vec::new();
    for batch in source.batches(None).map_err(invalid)? {
        let batch = batch.map_err(invalid)?;
        let ids = batch.column(0).as_string::<i32>();
        let labels = batch.column(1);
        for row in 0..batch.num_rows() {
            let at = source.locate(out.len() as u64);
            let missing = |col: &str| {
                ServiceError::Invalid(format!("labels: column \"{col}\" is empty at {at}"))
            };
            if !ids.is_valid(row) {
                return Err(missing(PREDICTION_ID_COLUMN));
            }
            if !labels.is_valid(row) {
                return Err(missing(LABEL_COLUMN));
            }
            let label = if numeric {
                let x = labels.as_primitive::<Float64Type>().value(row);
                if !x.is_finite() {
                    return Err(ServiceError::Invalid(format!(
                        "labels: column \"{LABEL_COLUMN}\" has a non-finite value ({x}) at {at}"
                    )));
                }
                x.to_string()
            } else {
                labels.as_string::<i32>().value(row).to_string()
            };
            out.push((ids.value(row).to_string(), label));
        }
    }
    if out.is_empty() {
        return Err(ServiceError::Invalid("labels: has no rows".into()));
    }
    Ok(out)
}

/// A numeric label as a class: `1`/`true` positive, `0`/`false` negative.
fn positive(label: &str) -> Option<bool> {
    match label {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        other => other.parse::<f64>().ok().map(|x| x >= 0.5),
    }
}

/// The whole window's estimates out of [`performance`]'s answer (none without labels).
pub(crate) fn whole_figures(performance: &[SlicePerformance]) -> Vec<PerformanceFigure> {
    let whole = performance.iter().find(|p| p.slice == ALL_SLICE);
    whole.map_or_else(Vec::new, |p| {
        p.metrics
            .iter()
            .map(|m| PerformanceFigure {
                metric: m.metric.clone(),
                value: m.value,
                lower: m.lower,
                upper: m.upper,
                n: m.n,
            })
            .collect()
    })
}

/// The performance of each slice (and the whole window) of `labelled` rows.
pub(crate) fn performance(
    labelled: &[Labelled],
    holdout: &BTreeMap<String, f64>,
) -> Vec<SlicePerformance> {
    let mut by_slice: BTreeMap<&str, Vec<&Labelled>> = BTreeMap::new();
    for l in labelled {
        by_slice.entry(ALL_SLICE).or_default().push(l);
        if l.slice != ALL_SLICE {
            by_slice.entry(l.slice.as_str()).or_default().push(l);
        }
    }
    let config = ConceptConfig::default();
    by_slice
        .into_iter()
        .map(|(slice, rows)| {
            let scored: Vec<(bool, f64)> = rows
                .iter()
                .filter_map(|r| Some((positive(&r.label)?, r.score?)))
                .collect();
            let metrics = if !scored.is_empty() {
                let (labels, scores): (Vec<bool>, Vec<f64>) = scored.into_iter().unzip();
                binary_window(&labels, &scores, 0.5, holdout, &config)
            } else {
                let judged: Vec<bool> = rows
                    .iter()
                    .filter_map(|r| r.predicted.as_ref().map(|p| *p == r.label))
                    .collect();
                let correct = judged.iter().filter(|c| **c).count() as u64;
                label_window(correct, judged.len() as u64, holdout, &config)
            };
            SlicePerformance {
                slice: slice.to_string(),
                labelled_rows: rows.len() as u64,
                metrics,
            }
        })
        .collect()
}

impl Service {
    /// Joins uploaded labels to the version's predictions (see the module docs). Labels for
    /// unknown prediction ids are counted as unmatched and reported, never an error.
    pub async fn ingest_labels(
        &self,
        principal: &Principal,
        upload: LabelUpload,
    ) -> ServiceResult<super::Ingested> {
        let target = ("model_version", upload.model_version_id.to_string());
        let a = self
            .attempt(principal, Operation::IngestObservations, target)
            .await?;
        let prepared = self.prepare_labels(&a.scope, &upload).await;
        let new = match prepared {
            Ok(Ok(new)) => new,
            Ok(Err(first)) => {
                let record = Record::new(
                    "model_version",
                    upload.model_version_id,
                    json!({"labelBatchId": first.id.to_string(), "duplicate": true}),
                );
                let done = super::Ingested::of(&first, true);
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
                .insert_label_batch(&m.tx, &m.scope, &new, &by, now)
                .await?;
            let mut payload = b.summary.clone();
            payload["idempotencyKey"] = json!(b.idempotency_key);
            let done = super::Ingested::of(&b, false);
            Ok((
                done,
                Record::new("model_version", b.model_version_id, payload),
            ))
        })
        .await
    }

    /// The labels to write, or the batch accepted earlier under the same key and payload.
    async fn prepare_labels(
        &self,
        scope: &TenantScope,
        upload: &LabelUpload,
    ) -> ServiceResult<Result<NewLabelBatch, ObservationBatch>> {
        let version = self
            .store
            .model_version(scope, upload.model_version_id)
            .await?
            .ok_or(ServiceError::NotFound("model version"))?;
        let hash = hex::encode(Sha256::digest(&upload.body));
        if let Some(key) = &upload.idempotency_key
            && let Some(first) = self
                .earlier_batch(scope, version.id, "labels", key, &hash)
                .await?
        {
            return Ok(Err(first));
        }
        // Labels are numbers when the baseline's prediction is a score.
        let numeric = match self.store.active_baseline(scope, version.id).await? {
            Some(baseline) => {
                let refs = self.references(scope, baseline.id).await?;
                refs.whole
                    .features
                    .iter()
                    .find(|f| f.role == FeatureRole::Prediction)
                    .is_none_or(|f| f.kind == steward_drift::FeatureKind::Numeric)
            }
            None => true,
        };
        let (body, format) = (upload.body.clone(), upload.format);
        let labels = tokio::task::spawn_blocking(move || read_labels(body, format, numeric))
            .await
            .map_err(|e| ServiceError::Internal(format!("label task failed: {e}")))??;
        Ok(Ok(NewLabelBatch {
            model_version_id: version.id,
            idempotency_key: upload.idempotency_key.clone(),
            payload_hash: hash,
            labels,
        }))
    }

    /// The performance of a window's labelled rows as they stand now, per slice.
    pub async fn window_performance(
        &self,
        principal: &Principal,
        id: WindowId,
    ) -> ServiceResult<Vec<SlicePerformance>> {
        let scope = scope_for(principal, Operation::ReadMonitoring)?;
        let window = self
            .store
            .window(&scope, id)
            .await?
            .ok_or(ServiceError::NotFound("window"))?;
        let version = self
            .store
            .model_version(&scope, window.model_version_id)
            .await?
            .ok_or(ServiceError::NotFound("model version"))?;
        let labelled = self.store.labelled(&scope, id).await?;
        Ok(performance(&labelled, &version.metrics))
    }
}
