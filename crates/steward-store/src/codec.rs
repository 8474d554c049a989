//! Conversions between stored rows (JSON text columns, enum strings) and domain records.
//!
//! Decoding failures become [`StoreError::Corrupt`] naming the column, never a panic: a row edited
//! by hand must not take the server down.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use steward_domain::*;

use crate::StoreError;
use crate::entities::{
    dataset_versions, datasets, decision_records, model_versions, models, policy_bindings, tenants,
    training_runs,
};

pub(crate) fn corrupt(what: &'static str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what,
        detail: detail.to_string(),
    }
}

pub(crate) fn schema_to_json(schema: &[Feature]) -> String {
    Value::Array(
        schema
            .iter()
            .map(|f| json!({"name": f.name, "type": f.kind.as_str()}))
            .collect(),
    )
    .to_string()
}

pub(crate) fn schema_from_json(what: &'static str, text: &str) -> Result<Vec<Feature>, StoreError> {
    let value: Value = serde_json::from_str(text).map_err(|e| corrupt(what, e))?;
    let items = value
        .as_array()
        .ok_or_else(|| corrupt(what, "not an array"))?;
    items
        .iter()
        .map(|item| {
            let name = item["name"]
                .as_str()
                .ok_or_else(|| corrupt(what, "feature without name"))?;
            let kind = item["type"]
                .as_str()
                .ok_or_else(|| corrupt(what, "feature without type"))?
                .parse()
                .map_err(|e| corrupt(what, e))?;
            Ok(Feature {
                name: name.to_string(),
                kind,
            })
        })
        .collect()
}

pub(crate) fn metrics_to_json(metrics: &BTreeMap<String, f64>) -> String {
    serde_json::to_string(metrics).unwrap_or_else(|_| "{}".into())
}

pub(crate) fn metrics_from_json(text: &str) -> Result<BTreeMap<String, f64>, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt("model_versions.metrics", e))
}

pub(crate) fn tags_to_json(tags: &[String]) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".into())
}

pub(crate) fn tags_from_json(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt("model_versions.tags", e))
}

pub(crate) fn params_from_json(text: &str) -> Result<Map<String, Value>, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt("training_runs.parameters", e))
}

fn digest(what: &'static str, hex: &str) -> Result<Sha256Digest, StoreError> {
    Sha256Digest::parse(what, hex).map_err(|e| corrupt(what, e))
}

pub(crate) fn tenant(row: tenants::Model) -> Tenant {
    Tenant {
        id: TenantId::from_uuid(row.id),
        slug: row.slug,
        name: row.name,
        created_at: row.created_at,
    }
}

pub(crate) fn model(row: models::Model, tags: Vec<String>) -> Result<Model, StoreError> {
    Ok(Model {
        id: ModelId::from_uuid(row.id),
        risk_tier: row
            .risk_tier
            .parse()
            .map_err(|e| corrupt("models.risk_tier", e))?,
        name: row.name,
        description: row.description,
        owner_team: row.owner_team,
        tags,
        latest_version: row.latest_version,
        created_by: row.created_by,
        created_at: row.created_at,
        updated_at: row.updated_at,
        deleted: deletion(row.deleted_at, row.deleted_by),
    })
}

fn deletion(at: Option<DateTime<Utc>>, by: Option<String>) -> Option<Deletion> {
    at.map(|at| Deletion {
        by: by.unwrap_or_default(),
        at,
    })
}

pub(crate) fn model_version(row: model_versions::Model) -> Result<ModelVersion, StoreError> {
    Ok(ModelVersion {
        id: ModelVersionId::from_uuid(row.id),
        model_id: ModelId::from_uuid(row.model_id),
        version: row.version,
        artifact_digest: digest("model_versions.artifact_digest", &row.artifact_digest)?,
        input_schema: schema_from_json("model_versions.input_schema", &row.input_schema)?,
        metrics: metrics_from_json(&row.metrics)?,
        tags: tags_from_json(&row.tags)?,
        artifact_uri: row.artifact_uri,
        framework: row.framework,
        training_run_id: row.training_run_id.map(TrainingRunId::from_uuid),
        notes: VersionNotes {
            description: row.description,
            run_id: row.run_id,
            run_link: row.run_link,
        },
        stage: row
            .stage
            .parse()
            .map_err(|e| corrupt("model_versions.stage", e))?,
        created_by: row.created_by,
        updated_at: row.updated_at.unwrap_or(row.created_at),
        created_at: row.created_at,
        deleted: deletion(row.deleted_at, row.deleted_by),
    })
}

pub(crate) fn dataset(row: datasets::Model) -> Dataset {
    Dataset {
        id: DatasetId::from_uuid(row.id),
        name: row.name,
        description: row.description,
        latest_version: row.latest_version,
        created_by: row.created_by,
        created_at: row.created_at,
    }
}

pub(crate) fn dataset_version(row: dataset_versions::Model) -> Result<DatasetVersion, StoreError> {
    Ok(DatasetVersion {
        id: DatasetVersionId::from_uuid(row.id),
        dataset_id: DatasetId::from_uuid(row.dataset_id),
        version: row.version,
        content_hash: digest("dataset_versions.content_hash", &row.content_hash)?,
        schema: schema_from_json("dataset_versions.schema", &row.schema)?,
        uri: row.uri,
        row_count: row.row_count,
        slice: row.slice,
        time_start: row.time_start,
        time_end: row.time_end,
        created_by: row.created_by,
        created_at: row.created_at,
    })
}

pub(crate) fn training_run(
    row: training_runs::Model,
    inputs: Vec<DatasetVersionId>,
) -> Result<TrainingRun, StoreError> {
    Ok(TrainingRun {
        id: TrainingRunId::from_uuid(row.id),
        parameters: params_from_json(&row.parameters)?,
        status: row
            .status
            .parse()
            .map_err(|e| corrupt("training_runs.status", e))?,
        input_dataset_versions: inputs,
        parent_model_version: row.parent_model_version_id.map(ModelVersionId::from_uuid),
        code_commit: row.code_commit,
        orchestrator: row.orchestrator,
        orchestrator_run_id: row.orchestrator_run_id,
        started_at: row.started_at,
        ended_at: row.ended_at,
        retraining_action: row.retraining_action_id.map(ActionId::from_uuid),
        created_by: row.created_by,
        created_at: row.created_at,
    })
}

pub(crate) fn policy_binding(row: policy_bindings::Model) -> Result<PolicyBinding, StoreError> {
    let what = "policy_bindings.kind";
    let target = match row.kind.as_str() {
        "model" => BindingTarget::Model(ModelId::from_uuid(
            row.model_id
                .ok_or_else(|| corrupt(what, "model binding without model_id"))?,
        )),
        "selector" => BindingTarget::Selector {
            tags: serde_json::from_str(&row.tags)
                .map_err(|e| corrupt("policy_bindings.tags", e))?,
            risk_tier: row
                .risk_tier
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e| corrupt("policy_bindings.risk_tier", e))?,
            name_pattern: row.name_pattern,
        },
        "tenant_default" => BindingTarget::TenantDefault,
        other => return Err(corrupt(what, format!("unknown kind `{other}`"))),
    };
    Ok(PolicyBinding {
        id: PolicyBindingId::from_uuid(row.id),
        policy_id: PolicyId::from_uuid(row.policy_id),
        target,
        created_by: row.created_by,
        created_at: row.created_at,
        removed_by: row.removed_by,
        removed_at: row.removed_at,
    })
}

pub(crate) fn decision_record(row: decision_records::Model) -> Result<DecisionRecord, StoreError> {
    Ok(DecisionRecord {
        id: DecisionRecordId::from_uuid(row.id),
        policy_id: PolicyId::from_uuid(row.policy_id),
        revision_number: row.revision_number,
        revision_hash: row.revision_hash,
        binding_id: PolicyBindingId::from_uuid(row.binding_id),
        resolution: row.resolution,
        model_id: ModelId::from_uuid(row.model_id),
        model_version_id: ModelVersionId::from_uuid(row.model_version_id),
        hook: row
            .hook
            .parse()
            .map_err(|e| corrupt("decision_records.hook", e))?,
        input_hash: row.input_hash,
        outcome: serde_json::from_str(&row.outcome)
            .map_err(|e| corrupt("decision_records.outcome", e))?,
        log: serde_json::from_str(&row.log).map_err(|e| corrupt("decision_records.log", e))?,
        duration_us: row.duration_us,
        limit_hit: row.limit_hit,
        evaluated_by: row.evaluated_by,
        created_at: row.created_at,
    })
}
