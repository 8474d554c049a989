//! Baselines: a model version's reference profile per input feature and for the prediction,
//! computed by the server from an uploaded reference data set or uploaded pre-computed
//! (`steward profile`). Immutable; uploading again makes a new baseline, and which one is active
//! is explicit (`activate`, or `activate_baseline` later).

use bytes::Bytes;
use serde_json::json;
use steward_domain::registry::ModelVersion;
use steward_domain::*;
use steward_drift::{FeatureKind, FeatureRole, Profile, WindowProfile};
use steward_ingest::arrow::array::{Array, AsArray};
use steward_ingest::arrow::datatypes::DataType;
use steward_ingest::{DEFAULT_BATCH_ROWS, Format, Options, Source};

use super::columns::{Values, invalid, kind_of, reference_profile, upload_schema};
use super::encode;
use crate::audit::Record;
use crate::{Service, ServiceError, ServiceResult, Writes};

/// What a baseline is made from.
#[derive(Clone, Debug)]
pub enum BaselineUpload {
    /// A reference data set (CSV, JSON lines, Parquet, Arrow IPC) holding the version's input
    /// features and, optionally, a `prediction` column; the server profiles it.
    Dataset {
        body: Bytes,
        format: Option<Format>,
        /// Read the prediction as a category (a label) rather than a number (a score).
        categorical_prediction: bool,
    },
    /// A profile computed elsewhere (`steward profile ... -o profile.json`), as JSON.
    Profile { json: Bytes },
    /// A SageMaker Model Monitor baseline: its `statistics.json` and, optionally, its
    /// `constraints.json`. The column `prediction` becomes the prediction.
    SageMaker {
        statistics: String,
        constraints: Option<String>,
    },
}

/// A request to store a baseline.
#[derive(Clone, Debug)]
pub struct UploadedBaseline {
    pub model_version_id: ModelVersionId,
    pub upload: BaselineUpload,
    pub note: String,
    /// Make it the active baseline at once (the usual case).
    pub activate: bool,
}

/// Checks that an uploaded profile describes this version: every input feature it profiles is
/// in the version's input schema with the same kind, and its prediction is called `prediction`.
fn check_profile(version: &ModelVersion, profile: &Profile) -> ServiceResult<()> {
    profile
        .validate()
        .map_err(|e| ServiceError::Invalid(format!("profile: {e}")))?;
    if profile.features.is_empty() {
        return Err(ServiceError::Invalid("profile: profiles no feature".into()));
    }
    for (i, f) in profile.features.iter().enumerate() {
        let at = format!("profile.features[{i}] ({:?})", f.name);
        match f.role {
            FeatureRole::Input => {
                let Some(schema) = version.input_schema.iter().find(|s| s.name == f.name) else {
                    return Err(ServiceError::Invalid(format!(
                        "{at}: not in the input schema of version {}",
                        version.version
                    )));
                };
                if kind_of(schema.kind) != f.kind {
                    return Err(ServiceError::Invalid(format!(
                        "{at}: profiled as {:?} but the input schema types it {}",
                        f.kind,
                        schema.kind.as_str()
                    )));
                }
            }
            FeatureRole::Prediction if f.name == PREDICTION_COLUMN => {}
            FeatureRole::Prediction => {
                return Err(ServiceError::Invalid(format!(
                    "{at}: the prediction must be called \"{PREDICTION_COLUMN}\""
                )));
            }
            FeatureRole::Target => {
                return Err(ServiceError::Invalid(format!(
                    "{at}: a baseline profiles inputs and the prediction, not the target"
                )));
            }
        }
        if f.kind == FeatureKind::Numeric && f.numeric.is_none()
            || f.kind == FeatureKind::Categorical && f.categorical.is_none()
        {
            return Err(ServiceError::Invalid(format!(
                "{at}: has no statistics for its kind"
            )));
        }
    }
    Ok(())
}

/// A dataset baseline: its profile and, per slice of its rows, the slice's profile.
type Profiled = (Profile, Vec<(String, i64, Vec<u8>)>);

/// Profiles a reference data set: the version's input features (all required), the prediction
/// when the file has one, and each slice when it has the model's slice columns.
fn profile_dataset(
    version: &ModelVersion,
    body: Bytes,
    format: Option<Format>,
    categorical_prediction: bool,
    slice_columns: &[String],
) -> ServiceResult<Profiled> {
    let options = reference_options(
        &version.input_schema,
        format,
        categorical_prediction,
        slice_columns,
    );
    let source = Source::from_bytes("reference", body, &options).map_err(invalid)?;
    let profile = profile_source(&source, &version.input_schema)?;
    let slices = slice_profiles(&source, &profile, slice_columns)?;
    Ok((profile, slices))
}

/// The profile `steward profile` writes where the data lives: what the server would compute from
/// the same file for a version with this input schema, as the JSON it accepts as a baseline
/// (`application/json`).
pub fn profile_file(
    path: &std::path::Path,
    schema: &[steward_domain::registry::Feature],
    categorical_prediction: bool,
) -> ServiceResult<String> {
    let options = reference_options(schema, None, categorical_prediction, &[]);
    let source = Source::open(path, &options).map_err(invalid)?;
    let profile = profile_source(&source, schema)?;
    serde_json::to_string_pretty(&profile)
        .map_err(|e| ServiceError::Internal(format!("profile as JSON: {e}")))
}

fn reference_options(
    schema: &[steward_domain::registry::Feature],
    format: Option<Format>,
    categorical_prediction: bool,
    slice_columns: &[String],
) -> Options {
    let prediction_type = if categorical_prediction {
        DataType::Utf8
    } else {
        DataType::Float64
    };
    let mut extra: Vec<(&str, DataType)> = vec![(PREDICTION_COLUMN, prediction_type)];
    let mut optional = vec![PREDICTION_COLUMN.to_string()];
    for c in slice_columns {
        extra.push((c.as_str(), DataType::Utf8));
        optional.push(c.clone());
    }
    Options {
        format,
        schema: Some(upload_schema(schema, &extra)),
        batch_rows: DEFAULT_BATCH_ROWS,
        optional,
    }
}

/// The reference rows of each slice, counted against `reference`'s bins, when the reference
/// data has the model's slice columns: (slice, rows, encoded window profile).
fn slice_profiles(
    source: &Source,
    reference: &Profile,
    slice_columns: &[String],
) -> ServiceResult<Vec<(String, i64, Vec<u8>)>> {
    if !slice_columns.iter().any(|c| source.has_column(c)) {
        return Ok(Vec::new());
    }
    let mut slices: std::collections::BTreeMap<String, WindowProfile> = Default::default();
    for batch in source.batches(None).map_err(invalid)? {
        let batch = batch.map_err(invalid)?;
        let mut values = Vec::with_capacity(reference.features.len());
        for f in &reference.features {
            let array = batch
                .column_by_name(&f.name)
                .ok_or_else(|| invalid(source.missing_column(&f.name)))?;
            values.push(Values::of(array)?);
        }
        let keys: Vec<Option<&steward_ingest::arrow::array::StringArray>> = slice_columns
            .iter()
            .map(|c| batch.column_by_name(c).map(|a| a.as_string::<i32>()))
            .collect();
        let mut groups: std::collections::BTreeMap<String, Vec<u32>> = Default::default();
        for row in 0..batch.num_rows() {
            let texts: Vec<Option<&str>> = keys
                .iter()
                .map(|k| k.and_then(|a| a.is_valid(row).then(|| a.value(row))))
                .collect();
            groups
                .entry(slice_name(slice_columns, &texts))
                .or_default()
                .push(row as u32);
        }
        for (name, rows) in groups {
            if !slices.contains_key(&name) && slices.len() >= MAX_SLICES_PER_WINDOW {
                continue;
            }
            let gathered: Vec<Values<'_>> = values.iter().map(|v| v.gather(&rows)).collect();
            let cols: Vec<steward_drift::Column<'_>> = reference
                .features
                .iter()
                .zip(&gathered)
                .map(|(f, v)| v.column(&f.name, f.role))
                .collect();
            slices
                .entry(name)
                .or_insert_with(|| WindowProfile::empty(reference, 0))
                .observe(reference, &cols)
                .map_err(|e| ServiceError::Invalid(format!("{}: {e}", source.name())))?;
        }
    }
    slices
        .into_iter()
        .map(|(name, w)| {
            let rows = i64::try_from(w.rows).unwrap_or(i64::MAX);
            Ok((name, rows, encode(&w)?))
        })
        .collect()
}

/// The input features (all required) and the prediction when the source has one.
fn profile_source(
    source: &Source,
    schema: &[steward_domain::registry::Feature],
) -> ServiceResult<Profile> {
    let mut columns: Vec<(String, FeatureRole)> = schema
        .iter()
        .map(|f| (f.name.clone(), FeatureRole::Input))
        .collect();
    if source.has_column(PREDICTION_COLUMN) && !schema.iter().any(|f| f.name == PREDICTION_COLUMN) {
        columns.push((PREDICTION_COLUMN.to_string(), FeatureRole::Prediction));
    }
    if columns.is_empty() {
        return Err(ServiceError::Invalid(format!(
            "{}: the input schema is empty and there is no prediction column: nothing to profile",
            source.name()
        )));
    }
    reference_profile(source, &columns)
}

impl Service {
    /// Stores a baseline for a model version (see the module docs).
    pub async fn upload_baseline(
        &self,
        principal: &Principal,
        input: UploadedBaseline,
    ) -> ServiceResult<Baseline> {
        let target = ("model_version", input.model_version_id.to_string());
        let a = self
            .attempt(principal, Operation::WriteBaseline, target)
            .await?;
        let prepared = self.prepare_baseline(&a.scope, &input).await;
        let (new, profile_rows) = match prepared {
            Ok(p) => p,
            Err(e) => return self.reject(a, e).await,
        };
        let by = principal.subject().to_string();
        self.complete(a, async |m: Writes| {
            let b = self
                .store
                .insert_baseline(&m.tx, &m.scope, new, &by)
                .await?;
            let payload = json!({"modelVersionId": b.model_version_id.to_string(),
                "source": b.source.as_str(), "rows": profile_rows, "features": b.features,
                "fingerprint": b.fingerprint, "active": b.active, "note": b.note});
            let record = Record::new("baseline", b.id, payload);
            Ok((b, record))
        })
        .await
    }

    async fn prepare_baseline(
        &self,
        scope: &TenantScope,
        input: &UploadedBaseline,
    ) -> ServiceResult<(NewBaseline, i64)> {
        steward_domain::validate::text(
            "note",
            &input.note,
            steward_domain::validate::MAX_TEXT_LEN,
        )?;
        let version = self
            .store
            .model_version(scope, input.model_version_id)
            .await?
            .ok_or(ServiceError::NotFound("model version"))?;
        let upload = input.upload.clone();
        let columns = self
            .store
            .monitor_config(scope, version.model_id)
            .await?
            .slice_columns;
        let mut slices = Vec::new();
        let (profile, source, extra) = tokio::task::spawn_blocking(move || match upload {
            BaselineUpload::Dataset {
                body,
                format,
                categorical_prediction,
            } => {
                let bytes = body.len();
                let (profile, sliced) =
                    profile_dataset(&version, body, format, categorical_prediction, &columns)?;
                let names: Vec<&str> = sliced.iter().map(|(n, ..)| n.as_str()).collect();
                let extra = json!({"bytes": bytes, "slices": names});
                Ok::<_, ServiceError>(((profile, sliced), BaselineSource::Dataset, extra))
            }
            BaselineUpload::Profile { json } => {
                let profile: Profile = serde_json::from_slice(&json).map_err(|e| {
                    ServiceError::Invalid(format!("profile: not a Steward profile: {e}"))
                })?;
                check_profile(&version, &profile)?;
                Ok(((profile, Vec::new()), BaselineSource::Profile, json!({})))
            }
            BaselineUpload::SageMaker {
                statistics,
                constraints,
            } => {
                // The baseline's `prediction` column, when it has one, is the prediction.
                let names_prediction = serde_json::from_str::<serde_json::Value>(&statistics)
                    .ok()
                    .and_then(|v| v.get("features").and_then(|f| f.as_array()).cloned())
                    .is_some_and(|fs| {
                        fs.iter().any(|f| {
                            f.get("name").and_then(|n| n.as_str()) == Some(PREDICTION_COLUMN)
                        })
                    });
                let predictions: &[&str] = if names_prediction {
                    &[PREDICTION_COLUMN]
                } else {
                    &[]
                };
                let imported = steward_drift::sagemaker::import_baseline(
                    &statistics,
                    constraints.as_deref(),
                    predictions,
                )
                .map_err(|e| ServiceError::Invalid(e.to_string()))?;
                check_profile(&version, &imported.profile)?;
                let extra = json!({"constraints": imported.constraints,
                    "skippedFeatures": imported.skipped});
                Ok((
                    (imported.profile, Vec::new()),
                    BaselineSource::SageMaker,
                    extra,
                ))
            }
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("baseline task failed: {e}")))??;
        let (profile, sliced) = profile;
        slices.extend(sliced);
        let rows = i64::try_from(profile.rows).unwrap_or(i64::MAX);
        let new = NewBaseline {
            model_version_id: input.model_version_id,
            source,
            rows,
            features: profile.features.len() as i64,
            fingerprint: format!("{:016x}", profile.fingerprint()),
            profile: encode(&profile)?,
            extra,
            note: input.note.clone(),
            activate: input.activate,
            slices,
        };
        Ok((new, rows))
    }

    /// Makes a stored baseline its version's active one. Windows already counted against
    /// another baseline keep their parts; parts of another baseline are left out of an
    /// evaluation and reported.
    pub async fn activate_baseline(
        &self,
        principal: &Principal,
        id: BaselineId,
    ) -> ServiceResult<Baseline> {
        let by = principal.subject().to_string();
        self.mutate(
            principal,
            Operation::WriteBaseline,
            ("baseline", id.to_string()),
            async move |m: Writes| {
                let b = self
                    .store
                    .activate_baseline(&m.tx, &m.scope, id, &by)
                    .await?;
                let payload = json!({"modelVersionId": b.model_version_id.to_string(),
                    "activated": true});
                Ok((b, Record::new("baseline", id, payload)))
            },
        )
        .await
    }
}
