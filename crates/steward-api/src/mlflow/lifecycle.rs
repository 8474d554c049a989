//! The lifecycle calls of the MLflow API: `registered-models/update`, `rename`, `delete`,
//! `get-latest-versions`, and `model-versions/update`, `delete`, `transition-stage`. Deletes are
//! Steward's stamps (the record stays for lineage and audit; lists and names skip it), refused
//! while an endpoint serves what they would delete; stages are labels, and moving a served
//! model into or out of `Production` answers PERMISSION_DENIED (promotion requests move what
//! serves).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};
use steward_domain::*;

use super::registry::{Facts, latest, model_json, ok, required, version_json};
use super::tags::{body_version, target};
use super::{Failure, invalid, run};
use crate::AppState;

/// The caller, the model and its live version a body's `name` and `version` name.
async fn version_target(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Principal, Value, Model, ModelVersion), Failure> {
    let (p, b, m) = target(state, headers, body).await?;
    let n = body_version(&b)?;
    let v = state.service.model_version_by_number(&p, m.id, n).await?;
    Ok((p, b, m, v))
}

/// The model's answer after a change: with its latest version, tags and aliases.
async fn model_answer(state: &AppState, p: &Principal, m: &Model) -> Result<Response, Failure> {
    let v = latest(&state.service, p, m).await?;
    let f = Facts::of(&state.service, p, m).await?;
    Ok(ok(
        json!({"registered_model": model_json(m, v.as_ref(), &f)}),
    ))
}

/// A version's answer after a change.
async fn version_answer(
    state: &AppState,
    p: &Principal,
    m: &Model,
    v: &ModelVersion,
) -> Result<Response, Failure> {
    let f = Facts::of(&state.service, p, m).await?;
    Ok(ok(json!({"model_version": version_json(&m.name, v, &f)})))
}

/// `PATCH registered-models/update {name, description}`: the model's description (a model
/// owner's or a governance officer's change, `model.update`).
pub(super) async fn update_model(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(async {
        let (p, b, m) = target(&state, &headers, &body).await?;
        let change = ModelUpdate {
            description: Some(b["description"].as_str().unwrap_or_default().to_string()),
            owner_team: None,
            risk_tier: None,
            tags: None,
        };
        let m = state.service.update_model(&p, m.id, change).await?;
        model_answer(&state, &p, &m).await
    })
    .await
}

/// `POST registered-models/rename {name, new_name}` (`model.update`).
pub(super) async fn rename_model(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(async {
        let (p, b, m) = target(&state, &headers, &body).await?;
        let new_name = required(b["new_name"].as_str(), "new_name")?.to_string();
        let m = state.service.rename_model(&p, m.id, new_name).await?;
        model_answer(&state, &p, &m).await
    })
    .await
}

/// `DELETE registered-models/delete {name}` (`model.delete`).
pub(super) async fn delete_model(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(async {
        let (p, _, m) = target(&state, &headers, &body).await?;
        state.service.delete_model(&p, m.id).await?;
        Ok(ok(json!({})))
    })
    .await
}

/// `PATCH model-versions/update {name, version, description}` (`model.update`).
pub(super) async fn update_version(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(async {
        let (p, b, m, v) = version_target(&state, &headers, &body).await?;
        let description = b["description"].as_str().unwrap_or_default().to_string();
        let v = state
            .service
            .describe_model_version(&p, v.id, description)
            .await?;
        version_answer(&state, &p, &m, &v).await
    })
    .await
}

/// `DELETE model-versions/delete {name, version}` (`model.delete`).
pub(super) async fn delete_version(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(async {
        let (p, _, _, v) = version_target(&state, &headers, &body).await?;
        state.service.delete_model_version(&p, v.id).await?;
        Ok(ok(json!({})))
    })
    .await
}

/// `POST model-versions/transition-stage {name, version, stage, archive_existing_versions}`
/// (`model.alias`).
pub(super) async fn transition_stage(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(async {
        let (p, b, m, v) = version_target(&state, &headers, &body).await?;
        let stage = Stage::parse_any_case("stage", required(b["stage"].as_str(), "stage")?)
            .map_err(|e| invalid(e.to_string()))?;
        let archive = b["archive_existing_versions"].as_bool().unwrap_or(false);
        if archive && matches!(stage, Stage::None | Stage::Archived) {
            return Err(invalid(format!(
                "archive_existing_versions: only with stage Staging or Production, not {stage}"
            )));
        }
        let v = state
            .service
            .transition_stage(&p, v.id, stage, archive)
            .await?;
        version_answer(&state, &p, &m, &v).await
    })
    .await
}

/// `POST registered-models/get-latest-versions {name, stages}`: the newest live version in
/// each stage asked for (every stage when none is named).
pub(super) async fn latest_versions(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(async {
        let (p, b, m) = target(&state, &headers, &body).await?;
        let stages = match b["stages"].as_array() {
            None => Vec::new(),
            Some(list) => list
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let text = s.as_str().unwrap_or_default();
                    Stage::parse_any_case(&format!("stages[{i}]"), text)
                        .map_err(|e| invalid(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let newest = state.service.latest_versions_by_stage(&p, m.id).await?;
        let f = Facts::of(&state.service, &p, &m).await?;
        let list: Vec<Value> = newest
            .iter()
            .filter(|v| stages.is_empty() || stages.contains(&v.stage))
            .map(|v| version_json(&m.name, v, &f))
            .collect();
        Ok(ok(json!({"model_versions": list})))
    })
    .await
}
