//! MLflow's shapes of Steward's records: a registered model and a model version as the client
//! reads them (versions as strings, times in milliseconds, tags as `{key, value}`, aliases), with
//! the tags and aliases in force beside them (`Facts`).

use serde_json::{Value, json};
use steward_domain::*;
use steward_service::Service;

use super::Failure;

fn ms(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_millis()
}

/// What a model's answers carry beside the registry's record: its tags and aliases in force.
#[derive(Default)]
pub(super) struct Facts {
    pub tags: Vec<RegistryTag>,
    pub aliases: Vec<ModelAlias>,
}

impl Facts {
    pub(crate) async fn of(svc: &Service, p: &Principal, m: &Model) -> Result<Facts, Failure> {
        let tags = svc.registry_tags(p, m.id).await?;
        let aliases = svc.model_aliases(p, m.id, false).await?;
        Ok(Facts { tags, aliases })
    }

    pub(super) fn tag(&self, version: i64, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.version == version && t.key == key)
            .map(|t| t.value.as_str())
    }

    fn tags_of(&self, version: i64) -> impl Iterator<Item = Value> + '_ {
        self.tags
            .iter()
            .filter(move |t| t.version == version)
            .map(|t| json!({"key": t.key, "value": t.value}))
    }
}

pub(super) fn version_json(model: &str, v: &ModelVersion, f: &Facts) -> Value {
    let mut tags = vec![
        json!({"key": "steward.artifact_digest", "value": v.artifact_digest.to_string()}),
        json!({"key": "steward.framework", "value": v.framework}),
    ];
    tags.extend(f.tags_of(v.version));
    let aliases: Vec<&str> = f
        .aliases
        .iter()
        .filter(|a| a.version == v.version)
        .map(|a| a.alias.as_str())
        .collect();
    json!({
        "name": model,
        "version": v.version.to_string(),
        "creation_timestamp": ms(v.created_at),
        "last_updated_timestamp": ms(v.updated_at),
        "user_id": v.created_by,
        "current_stage": v.stage.as_str(),
        "description": v.notes.description,
        "source": v.artifact_uri,
        "run_id": v.notes.run_id.as_deref().unwrap_or_default(),
        "status": "READY",
        "tags": tags,
        "run_link": v.notes.run_link.as_deref().unwrap_or_default(),
        "aliases": aliases,
    })
}

pub(super) fn model_json(m: &Model, latest: Option<&ModelVersion>, f: &Facts) -> Value {
    let mut tags = vec![
        json!({"key": "steward.owner_team", "value": m.owner_team}),
        json!({"key": "steward.risk_tier", "value": m.risk_tier.as_str()}),
    ];
    tags.extend(f.tags_of(0));
    let aliases: Vec<Value> = f
        .aliases
        .iter()
        .map(|a| json!({"alias": a.alias, "version": a.version.to_string()}))
        .collect();
    json!({
        "name": m.name,
        "creation_timestamp": ms(m.created_at),
        "last_updated_timestamp": ms(m.updated_at),
        "user_id": m.created_by,
        "description": m.description,
        "latest_versions": latest.map(|v| vec![version_json(&m.name, v, f)]).unwrap_or_default(),
        "tags": tags,
        "aliases": aliases,
    })
}
