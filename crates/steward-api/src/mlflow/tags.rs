//! Tags and aliases through the MLflow API: `registered-models/set-tag`, `delete-tag`,
//! `model-versions/set-tag`, `delete-tag` and `registered-models/alias` (POST, GET, DELETE).
//! An alias an endpoint serves as its champion answers PERMISSION_DENIED with the reason: it
//! moves only through a promotion request.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};
use steward_domain::*;

use super::registry::{Facts, body_json, number, ok, required, version_json};
use super::{Failure, caller, param, run, service_error};
use crate::AppState;

/// The model a body's `name` names.
async fn model(state: &AppState, p: &Principal, b: &Value) -> Result<Model, Failure> {
    let name = required(b["name"].as_str(), "name")?;
    state
        .service
        .model_by_name(p, name)
        .await
        .map_err(|e| service_error(&e))
}

/// The version number of a body (a string in MLflow's requests; a number accepted too).
pub(super) fn body_version(b: &Value) -> Result<i64, Failure> {
    let text = b["version"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| b["version"].as_i64().map(|n| n.to_string()));
    number(text.as_deref())
}

/// The caller, the JSON body and the model its `name` names: what every write here starts from.
pub(super) async fn target(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Principal, Value, Model), Failure> {
    let p = caller(state, headers).await?;
    let b = body_json(body)?;
    let m = model(state, &p, &b).await?;
    Ok((p, b, m))
}

/// `POST registered-models/set-tag {name, key, value}`.
pub(super) async fn set_model_tag(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(async {
        let (p, b, m) = target(&state, &headers, &body).await?;
        let key = required(b["key"].as_str(), "key")?.to_string();
        let value = b["value"].as_str().unwrap_or_default().to_string();
        state
            .service
            .set_registry_tag(&p, (m.id, 0), key, value)
            .await?;
        Ok(ok(json!({})))
    })
    .await
}

/// `DELETE registered-models/delete-tag {name, key}`.
pub(super) async fn delete_model_tag(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(async {
        let (p, b, m) = target(&state, &headers, &body).await?;
        let key = required(b["key"].as_str(), "key")?.to_string();
        state
            .service
            .delete_registry_tag(&p, (m.id, 0), key)
            .await?;
        Ok(ok(json!({})))
    })
    .await
}

/// `POST model-versions/set-tag {name, version, key, value}`.
pub(super) async fn set_version_tag(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(async {
        let (p, b, m) = target(&state, &headers, &body).await?;
        let version = body_version(&b)?;
        let key = required(b["key"].as_str(), "key")?.to_string();
        let value = b["value"].as_str().unwrap_or_default().to_string();
        state
            .service
            .set_registry_tag(&p, (m.id, version), key, value)
            .await?;
        Ok(ok(json!({})))
    })
    .await
}

/// `DELETE model-versions/delete-tag {name, version, key}`.
pub(super) async fn delete_version_tag(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(async {
        let (p, b, m) = target(&state, &headers, &body).await?;
        let version = body_version(&b)?;
        let key = required(b["key"].as_str(), "key")?.to_string();
        state
            .service
            .delete_registry_tag(&p, (m.id, version), key)
            .await?;
        Ok(ok(json!({})))
    })
    .await
}

/// `POST registered-models/alias {name, alias, version}`.
pub(super) async fn set_alias(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(async {
        let (p, b, m) = target(&state, &headers, &body).await?;
        let alias = required(b["alias"].as_str(), "alias")?.to_string();
        let version = body_version(&b)?;
        state
            .service
            .set_model_alias(&p, m.id, alias, version)
            .await?;
        Ok(ok(json!({})))
    })
    .await
}

/// `DELETE registered-models/alias {name, alias}`.
pub(super) async fn delete_alias(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(async {
        let (p, b, m) = target(&state, &headers, &body).await?;
        let alias = required(b["alias"].as_str(), "alias")?.to_string();
        state.service.delete_model_alias(&p, m.id, alias).await?;
        Ok(ok(json!({})))
    })
    .await
}

/// `GET registered-models/alias?name=&alias=`: the version the alias names.
pub(super) async fn get_alias(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    run(async {
        let p = caller(&state, &headers).await?;
        let name = required(param(&q, "name"), "name")?;
        let alias = required(param(&q, "alias"), "alias")?;
        let m = state.service.model_by_name(&p, name).await?;
        let f = Facts::of(&state.service, &p, &m).await?;
        let placed = f
            .aliases
            .iter()
            .find(|a| a.alias == alias)
            .ok_or_else(|| service_error(&steward_service::ServiceError::NotFound("alias")))?;
        let v = state
            .service
            .model_version_by_number(&p, m.id, placed.version)
            .await?;
        Ok(ok(json!({"model_version": version_json(&m.name, &v, &f)})))
    })
    .await
}
