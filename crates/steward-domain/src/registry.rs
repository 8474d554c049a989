//! Registry records (tenants, models, versions, datasets, training runs) and the inputs that
//! create them, each with its validation.
//!
//! Dataset versions and training runs are immutable once written, and so is what a model version
//! is (artifact, digest, schema, metrics, training run): a correction is a new version. Only a
//! version's notes (description), its stage and its deletion change, each change audited.
//! Deleting keeps the record (lineage, decisions and the audit log still name it): a
//! [`Deletion`] stamp hides it from lists and names.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::ids::*;
use crate::validate::{self, Validated, ValidationError};

text_enum!(
    /// How much harm a wrong prediction of this model can do; drives approval requirements.
    RiskTier, "risk_tier", "risk tier", { High => "high", Medium => "medium", Low => "low" }
);

text_enum!(
    /// The type of one column of a model's input or of a dataset.
    FeatureType, "type", "feature type", {
        Float => "float",
        Integer => "integer",
        Boolean => "boolean",
        String => "string",
        Categorical => "categorical",
        Timestamp => "timestamp",
    }
);

/// One named, typed column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feature {
    pub name: String,
    pub kind: FeatureType,
}

/// Checks a schema: valid, unique feature names, bounded size.
pub fn validate_schema(field: &str, features: &[Feature]) -> Validated {
    if features.len() > validate::MAX_FEATURES {
        return Err(ValidationError::new(
            field,
            format!("at most {} features are allowed", validate::MAX_FEATURES),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, f) in features.iter().enumerate() {
        validate::name(&format!("{field}[{i}].name"), &f.name)?;
        if !seen.insert(f.name.as_str()) {
            return Err(ValidationError::new(
                format!("{field}[{i}].name"),
                format!("feature `{}` appears twice", f.name),
            ));
        }
    }
    Ok(())
}

/// A SHA-256 digest, stored as 64 lowercase hex characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Sha256Digest(String);

impl Sha256Digest {
    /// Accepts `sha256:<hex>` or bare hex, in either case.
    pub fn parse(field: &str, value: &str) -> Validated<Self> {
        let hex = value.strip_prefix("sha256:").unwrap_or(value);
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(ValidationError::new(
                field,
                "must be a SHA-256 digest: 64 hexadecimal characters, optionally prefixed by `sha256:`",
            ));
        }
        Ok(Self(hex.to_ascii_lowercase()))
    }

    pub fn as_hex(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewTenant {
    pub slug: String,
    pub name: String,
}

impl NewTenant {
    pub fn validate(&self) -> Validated {
        validate::slug("input.slug", &self.slug)?;
        validate::required_text("input.name", &self.name, validate::MAX_NAME_LEN)
    }
}

text_enum!(
    /// MLflow's stage of a version (deprecated there in favour of aliases, kept for the clients
    /// that still move versions through stages). A label: what an endpoint serves moves only
    /// through promotion requests (docs/deployments.md).
    Stage, "stage", "stage", {
        None => "None",
        Staging => "Staging",
        Production => "Production",
        Archived => "Archived",
    }
);

impl Stage {
    /// Parses a stage in any case, as MLflow does (`production` is `Production`).
    pub fn parse_any_case(field: &str, value: &str) -> Validated<Self> {
        [Self::None, Self::Staging, Self::Production, Self::Archived]
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(value))
            .ok_or_else(|| {
                ValidationError::new(
                    field,
                    format!(
                        "unknown stage `{}` (expected None, Staging, Production or Archived)",
                        validate::truncate(value)
                    ),
                )
            })
    }
}

/// Who deleted a model or version, and when. The record stays; lists and names skip it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deletion {
    pub by: String,
    pub at: DateTime<Utc>,
}

/// What a version's registrant says about it beside the artifact: a description and the run
/// (of an MLflow tracking server, or any system) it came from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionNotes {
    pub description: String,
    /// The producing run's id in its own system (MLflow's `run_id`).
    pub run_id: Option<String>,
    /// A link to that run (MLflow's `run_link`).
    pub run_link: Option<String>,
}

impl VersionNotes {
    pub fn validate_at(&self, field: &str) -> Validated {
        validate::text(
            &format!("{field}.description"),
            &self.description,
            validate::MAX_TEXT_LEN,
        )?;
        if let Some(r) = &self.run_id {
            validate::required_text(&format!("{field}.runId"), r, validate::MAX_NAME_LEN)?;
        }
        if let Some(l) = &self.run_link {
            validate::uri(&format!("{field}.runLink"), l)?;
        }
        Ok(())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub id: ModelId,
    pub name: String,
    pub description: String,
    pub owner_team: String,
    pub risk_tier: RiskTier,
    pub tags: Vec<String>,
    /// The highest version number handed out so far (0 before the first version).
    pub latest_version: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted: Option<Deletion>,
}

#[derive(Clone, Debug)]
pub struct NewModel {
    pub name: String,
    pub description: String,
    pub owner_team: String,
    pub risk_tier: RiskTier,
    pub tags: Vec<String>,
}

impl NewModel {
    /// Validates and normalises (tags sorted and deduplicated).
    pub fn validate(mut self) -> Validated<Self> {
        validate::name("input.name", &self.name)?;
        validate::text(
            "input.description",
            &self.description,
            validate::MAX_TEXT_LEN,
        )?;
        validate::required_text("input.ownerTeam", &self.owner_team, validate::MAX_NAME_LEN)?;
        self.tags = validate::tags("input.tags", &self.tags)?;
        Ok(self)
    }
}

/// A change to a model's metadata; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ModelUpdate {
    pub description: Option<String>,
    pub owner_team: Option<String>,
    pub risk_tier: Option<RiskTier>,
    pub tags: Option<Vec<String>>,
}

impl ModelUpdate {
    pub fn validate(mut self) -> Validated<Self> {
        if let Some(d) = &self.description {
            validate::text("input.description", d, validate::MAX_TEXT_LEN)?;
        }
        if let Some(o) = &self.owner_team {
            validate::required_text("input.ownerTeam", o, validate::MAX_NAME_LEN)?;
        }
        if let Some(t) = &self.tags {
            self.tags = Some(validate::tags("input.tags", t)?);
        }
        if self.description.is_none()
            && self.owner_team.is_none()
            && self.risk_tier.is_none()
            && self.tags.is_none()
        {
            return Err(ValidationError::new("input", "names no field to change"));
        }
        Ok(self)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ModelVersion {
    pub id: ModelVersionId,
    pub model_id: ModelId,
    pub version: i64,
    pub artifact_uri: String,
    pub artifact_digest: Sha256Digest,
    pub framework: String,
    pub input_schema: Vec<Feature>,
    pub metrics: BTreeMap<String, f64>,
    pub tags: Vec<String>,
    pub training_run_id: Option<TrainingRunId>,
    pub notes: VersionNotes,
    pub stage: Stage,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The last change of its notes or stage (its creation before any).
    pub updated_at: DateTime<Utc>,
    pub deleted: Option<Deletion>,
}

/// Where a new version's training run comes from.
#[derive(Clone, Debug)]
pub enum TrainingRunRef {
    /// A run recorded earlier with `recordTrainingRun`.
    Existing(TrainingRunId),
    /// A run recorded together with the version, in the same transaction.
    New(NewTrainingRun),
}

#[derive(Clone, Debug)]
pub struct NewModelVersion {
    pub model_id: ModelId,
    pub artifact_uri: String,
    pub artifact_digest: Sha256Digest,
    pub framework: String,
    pub input_schema: Vec<Feature>,
    pub metrics: BTreeMap<String, f64>,
    pub tags: Vec<String>,
    pub training_run: Option<TrainingRunRef>,
    pub notes: VersionNotes,
}

impl NewModelVersion {
    pub fn validate(mut self) -> Validated<Self> {
        validate::uri("input.artifactUri", &self.artifact_uri)?;
        validate::required_text("input.framework", &self.framework, validate::MAX_NAME_LEN)?;
        validate_schema("input.inputSchema", &self.input_schema)?;
        validate::metrics("input.metrics", &self.metrics)?;
        self.tags = validate::tags("input.tags", &self.tags)?;
        if let Some(TrainingRunRef::New(run)) = &self.training_run {
            run.validate_at("input.trainingRun")?;
        }
        self.notes.validate_at("input")?;
        Ok(self)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    pub id: DatasetId,
    pub name: String,
    pub description: String,
    pub latest_version: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewDataset {
    pub name: String,
    pub description: String,
}

impl NewDataset {
    pub fn validate(&self) -> Validated {
        validate::name("input.name", &self.name)?;
        validate::text(
            "input.description",
            &self.description,
            validate::MAX_TEXT_LEN,
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetVersion {
    pub id: DatasetVersionId,
    pub dataset_id: DatasetId,
    pub version: i64,
    pub uri: String,
    pub content_hash: Sha256Digest,
    pub row_count: i64,
    pub schema: Vec<Feature>,
    /// Which part of the data this version covers ("EU customers", "region = 'eu'").
    pub slice: Option<String>,
    pub time_start: Option<DateTime<Utc>>,
    pub time_end: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewDatasetVersion {
    pub dataset_id: DatasetId,
    pub uri: String,
    pub content_hash: Sha256Digest,
    pub row_count: i64,
    pub schema: Vec<Feature>,
    pub slice: Option<String>,
    pub time_start: Option<DateTime<Utc>>,
    pub time_end: Option<DateTime<Utc>>,
}

impl NewDatasetVersion {
    pub fn validate(&self) -> Validated {
        validate::uri("input.uri", &self.uri)?;
        if self.row_count < 0 {
            return Err(ValidationError::new(
                "input.rowCount",
                "must not be negative",
            ));
        }
        validate_schema("input.schema", &self.schema)?;
        if let Some(s) = &self.slice {
            validate::required_text("input.slice", s, validate::MAX_TEXT_LEN)?;
        }
        if let (Some(start), Some(end)) = (self.time_start, self.time_end)
            && end < start
        {
            return Err(ValidationError::new(
                "input.timeEnd",
                "must not be before timeStart",
            ));
        }
        Ok(())
    }
}

text_enum!(
    /// Where a training run stands.
    RunStatus, "status", "run status", {
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
        Cancelled => "cancelled",
    }
);

#[derive(Clone, Debug, PartialEq)]
pub struct TrainingRun {
    pub id: TrainingRunId,
    pub code_commit: String,
    pub parameters: serde_json::Map<String, serde_json::Value>,
    pub input_dataset_versions: Vec<DatasetVersionId>,
    /// The version this run fine-tuned, if any.
    pub parent_model_version: Option<ModelVersionId>,
    pub orchestrator: Option<String>,
    pub orchestrator_run_id: Option<String>,
    pub status: RunStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The retraining action this run carries out, when Steward asked for it.
    pub retraining_action: Option<ActionId>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewTrainingRun {
    pub code_commit: String,
    pub parameters: serde_json::Map<String, serde_json::Value>,
    pub input_dataset_versions: Vec<DatasetVersionId>,
    pub parent_model_version: Option<ModelVersionId>,
    pub orchestrator: Option<String>,
    pub orchestrator_run_id: Option<String>,
    pub status: RunStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The retraining (a `retrain` action in the outbox) this run carries out: lineage then
    /// leads from the incident through the decision to the run and the version it produced.
    pub retraining_action: Option<ActionId>,
}

impl NewTrainingRun {
    pub fn validate_at(&self, at: &str) -> Validated {
        validate::required_text(&format!("{at}.codeCommit"), &self.code_commit, 256)?;
        let params_len = serde_json::Value::Object(self.parameters.clone())
            .to_string()
            .len();
        if params_len > validate::MAX_PARAMS_BYTES {
            return Err(ValidationError::new(
                format!("{at}.parameters"),
                format!(
                    "must be at most {} bytes of JSON",
                    validate::MAX_PARAMS_BYTES
                ),
            ));
        }
        if self.input_dataset_versions.len() > 1000 {
            return Err(ValidationError::new(
                format!("{at}.inputDatasetVersions"),
                "at most 1000 dataset versions",
            ));
        }
        if let Some(o) = &self.orchestrator {
            validate::name(&format!("{at}.orchestrator"), o)?;
        }
        if let Some(r) = &self.orchestrator_run_id {
            validate::required_text(&format!("{at}.orchestratorRunId"), r, 256)?;
        }
        if let (Some(start), Some(end)) = (self.started_at, self.ended_at)
            && end < start
        {
            return Err(ValidationError::new(
                format!("{at}.endedAt"),
                "must not be before startedAt",
            ));
        }
        Ok(())
    }
}

/// A page request for keyset pagination. `after` is an opaque cursor from a previous page.
#[derive(Clone, Debug, Default)]
pub struct PageRequest {
    pub first: u32,
    pub after: Option<String>,
}

/// A page of results with the cursor to continue from.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct ModelFilter {
    pub name_prefix: Option<String>,
    pub tag: Option<String>,
    pub risk_tier: Option<RiskTier>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests() {
        let hex = "AB".repeat(32);
        let d = Sha256Digest::parse("d", &format!("sha256:{hex}")).unwrap();
        assert_eq!(d.as_hex(), "ab".repeat(32));
        assert!(Sha256Digest::parse("d", "abc").is_err());
        assert!(Sha256Digest::parse("d", &"g".repeat(64)).is_err());
        assert!(Sha256Digest::parse("d", &format!("md5:{hex}")).is_err());
    }

    #[test]
    fn schema_rejects_duplicates() {
        let f = |n: &str| Feature {
            name: n.into(),
            kind: FeatureType::Float,
        };
        assert!(validate_schema("s", &[f("a"), f("b")]).is_ok());
        let err = validate_schema("s", &[f("a"), f("a")]).unwrap_err();
        assert_eq!(err.field, "s[1].name");
    }
}
