//! GraphQL input objects and their conversion into domain inputs. Conversion parses what GraphQL
//! cannot (ids, digests, time order); the domain validates the rest.

use std::collections::BTreeMap;

use async_graphql::{ID, InputObject, Json};
use chrono::{DateTime, Utc};
use steward_domain as d;

use super::parse_id;
use super::types::{FeatureType, RiskTier, RunStatus};
use crate::error::invalid;

type R<T> = async_graphql::Result<T>;

fn digest(field: &str, value: &str) -> R<d::Sha256Digest> {
    d::Sha256Digest::parse(field, value).map_err(|e| invalid(e.to_string()))
}

#[derive(InputObject)]
pub struct CreateTenantInput {
    /// Lowercase letters, digits and '-'; appears in tokens as the `tenant` claim.
    pub slug: String,
    pub name: String,
}

#[derive(InputObject)]
pub struct RegisterModelInput {
    pub name: String,
    #[graphql(default)]
    pub description: String,
    pub owner_team: String,
    pub risk_tier: RiskTier,
    #[graphql(default)]
    pub tags: Vec<String>,
}

impl From<RegisterModelInput> for d::NewModel {
    fn from(i: RegisterModelInput) -> Self {
        d::NewModel {
            name: i.name,
            description: i.description,
            owner_team: i.owner_team,
            risk_tier: i.risk_tier.into(),
            tags: i.tags,
        }
    }
}

#[derive(InputObject)]
pub struct UpdateModelInput {
    pub id: ID,
    pub description: Option<String>,
    pub owner_team: Option<String>,
    pub risk_tier: Option<RiskTier>,
    /// Replaces the tag set.
    pub tags: Option<Vec<String>>,
}

impl UpdateModelInput {
    pub fn into_domain(self) -> R<(d::ModelId, d::ModelUpdate)> {
        Ok((
            d::ModelId::from_uuid(parse_id("input.id", &self.id)?),
            d::ModelUpdate {
                description: self.description,
                owner_team: self.owner_team,
                risk_tier: self.risk_tier.map(Into::into),
                tags: self.tags,
            },
        ))
    }
}

#[derive(InputObject)]
pub struct FeatureInput {
    pub name: String,
    #[graphql(name = "type")]
    pub kind: FeatureType,
}

fn schema(f: Vec<FeatureInput>) -> Vec<d::Feature> {
    f.into_iter()
        .map(|f| d::Feature {
            name: f.name,
            kind: f.kind.into(),
        })
        .collect()
}

#[derive(InputObject)]
pub struct MetricInput {
    pub name: String,
    pub value: f64,
}

#[derive(InputObject)]
pub struct TrainingRunInput {
    pub code_commit: String,
    /// A JSON object of hyper-parameters.
    #[graphql(default)]
    pub parameters: Option<Json<serde_json::Value>>,
    #[graphql(default)]
    pub input_dataset_version_ids: Vec<ID>,
    pub parent_model_version_id: Option<ID>,
    pub orchestrator: Option<String>,
    pub orchestrator_run_id: Option<String>,
    #[graphql(default_with = "RunStatus::Succeeded")]
    pub status: RunStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The retraining Steward asked for that this run carries out (the `retrain` action's id,
    /// `steward.action` in the run's parameters): lineage then leads from the incident through
    /// the decision to this run.
    pub retraining_action_id: Option<ID>,
}

impl TrainingRunInput {
    pub fn into_domain(self, at: &str) -> R<d::NewTrainingRun> {
        let parameters = match self.parameters {
            None => serde_json::Map::new(),
            Some(Json(serde_json::Value::Object(m))) => m,
            Some(_) => return Err(invalid(format!("{at}.parameters: must be a JSON object"))),
        };
        let mut inputs = Vec::with_capacity(self.input_dataset_version_ids.len());
        for (i, id) in self.input_dataset_version_ids.iter().enumerate() {
            inputs.push(d::DatasetVersionId::from_uuid(parse_id(
                &format!("{at}.inputDatasetVersionIds[{i}]"),
                id,
            )?));
        }
        let parent = match &self.parent_model_version_id {
            Some(id) => Some(d::ModelVersionId::from_uuid(parse_id(
                &format!("{at}.parentModelVersionId"),
                id,
            )?)),
            None => None,
        };
        let retraining_action = match &self.retraining_action_id {
            Some(id) => Some(d::ActionId::from_uuid(parse_id(
                &format!("{at}.retrainingActionId"),
                id,
            )?)),
            None => None,
        };
        Ok(d::NewTrainingRun {
            retraining_action,
            code_commit: self.code_commit,
            parameters,
            input_dataset_versions: inputs,
            parent_model_version: parent,
            orchestrator: self.orchestrator,
            orchestrator_run_id: self.orchestrator_run_id,
            status: self.status.into(),
            started_at: self.started_at,
            ended_at: self.ended_at,
        })
    }
}

#[derive(InputObject)]
pub struct RegisterModelVersionInput {
    pub model_id: ID,
    pub artifact_uri: String,
    /// SHA-256 of the artifact: 64 hex characters, optionally prefixed `sha256:`.
    pub artifact_digest: String,
    pub framework: String,
    #[graphql(default)]
    pub input_schema: Vec<FeatureInput>,
    /// Holdout metrics.
    #[graphql(default)]
    pub metrics: Vec<MetricInput>,
    #[graphql(default)]
    pub tags: Vec<String>,
    /// An existing training run (from `recordTrainingRun`) that produced this version.
    pub training_run_id: Option<ID>,
    /// Or the training run itself, recorded in the same transaction.
    pub training_run: Option<TrainingRunInput>,
    /// A retry with the same key and input returns the first result instead of a new version.
    pub idempotency_key: Option<String>,
    /// What the version is, in words.
    #[graphql(default)]
    pub description: String,
    /// The producing run's id in its own system (an MLflow run, a pipeline run).
    pub run_id: Option<String>,
    /// A link to that run.
    pub run_link: Option<String>,
}

impl RegisterModelVersionInput {
    pub fn into_domain(self) -> R<steward_service::RegisterModelVersion> {
        let mut metrics = BTreeMap::new();
        for m in self.metrics {
            if metrics.insert(m.name.clone(), m.value).is_some() {
                return Err(invalid(format!(
                    "input.metrics: `{}` appears twice",
                    m.name
                )));
            }
        }
        let training_run = match (self.training_run_id, self.training_run) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "input: give either trainingRunId or trainingRun, not both",
                ));
            }
            (Some(id), None) => Some(d::TrainingRunRef::Existing(d::TrainingRunId::from_uuid(
                parse_id("input.trainingRunId", &id)?,
            ))),
            (None, Some(run)) => Some(d::TrainingRunRef::New(
                run.into_domain("input.trainingRun")?,
            )),
            (None, None) => None,
        };
        Ok(steward_service::RegisterModelVersion {
            version: d::NewModelVersion {
                model_id: d::ModelId::from_uuid(parse_id("input.modelId", &self.model_id)?),
                artifact_uri: self.artifact_uri,
                artifact_digest: digest("input.artifactDigest", &self.artifact_digest)?,
                framework: self.framework,
                input_schema: schema(self.input_schema),
                metrics,
                tags: self.tags,
                training_run,
                notes: d::VersionNotes {
                    description: self.description,
                    run_id: self.run_id,
                    run_link: self.run_link,
                },
            },
            idempotency_key: self.idempotency_key,
        })
    }
}

#[derive(InputObject)]
pub struct RegisterDatasetInput {
    pub name: String,
    #[graphql(default)]
    pub description: String,
}

#[derive(InputObject)]
pub struct RegisterDatasetVersionInput {
    pub dataset_id: ID,
    pub uri: String,
    /// SHA-256 of the data: 64 hex characters, optionally prefixed `sha256:`.
    pub content_hash: String,
    pub row_count: i64,
    #[graphql(default)]
    pub schema: Vec<FeatureInput>,
    /// Which part of the data this version covers, such as "EU customers".
    pub slice: Option<String>,
    pub time_start: Option<DateTime<Utc>>,
    pub time_end: Option<DateTime<Utc>>,
}

impl RegisterDatasetVersionInput {
    pub fn into_domain(self) -> R<d::NewDatasetVersion> {
        Ok(d::NewDatasetVersion {
            dataset_id: d::DatasetId::from_uuid(parse_id("input.datasetId", &self.dataset_id)?),
            uri: self.uri,
            content_hash: digest("input.contentHash", &self.content_hash)?,
            row_count: self.row_count,
            schema: schema(self.schema),
            slice: self.slice,
            time_start: self.time_start,
            time_end: self.time_end,
        })
    }
}
