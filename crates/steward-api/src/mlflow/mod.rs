//! The MLflow-compatible registry REST API (docs/ecosystem.md), for the calls the `mlflow` 3.17
//! Python client makes, mapped onto Steward's registry through the same service layer,
//! permission matrix and audit log as GraphQL. Built so far: `server-info`, `logged-models/{id}`
//! (404, as the client expects), registered models `create`, `get`, `search`, `update`,
//! `rename`, `delete`, `set-tag`, `delete-tag`, `alias` (set, get, delete),
//! `get-latest-versions`, and model versions `create`, `get`, `search`, `update`, `delete`,
//! `set-tag`, `delete-tag`, `get-download-uri`, `transition-stage`.
//!
//! MLflow's shapes: versions are strings, times milliseconds, GET parameters in the query
//! (repeated keys for lists), bodies JSON, success 200 with an object, errors `{error_code,
//! message}` with MLflow's codes and statuses; bad input is never a 5xx (the client retries
//! those). Steward's own fields travel as tags: `steward.owner_team`, `steward.risk_tier`
//! (`low`, `medium`, `high`) on a model, `steward.artifact_digest` (required: Steward records
//! what was built) and `steward.framework` on a version; other tags are kept as key-value tags.

mod filter;
mod lifecycle;
mod registry;
mod shapes;
mod tags;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use steward_domain::Principal;
use steward_service::ServiceError;

use crate::AppState;

pub(crate) fn routes() -> Router<AppState> {
    let m = "/api/2.0/mlflow";
    Router::new()
        .route("/api/3.0/mlflow/server-info", get(server_info))
        .route(&format!("{m}/logged-models/{{id}}"), get(logged_model))
        .route("/api/3.0/mlflow/workspaces", get(workspaces))
        .route("/api/3.0/mlflow/workspaces/{name}", get(workspace))
        .route(
            &format!("{m}/registered-models/create"),
            post(registry::create_model),
        )
        .route(
            &format!("{m}/registered-models/get"),
            get(registry::get_model),
        )
        .route(
            &format!("{m}/registered-models/search"),
            get(registry::search_models),
        )
        .route(
            &format!("{m}/model-versions/create"),
            post(registry::create_version),
        )
        .route(
            &format!("{m}/model-versions/get"),
            get(registry::get_version),
        )
        .route(
            &format!("{m}/model-versions/search"),
            get(registry::search_versions),
        )
        .route(
            &format!("{m}/model-versions/get-download-uri"),
            get(registry::download_uri),
        )
        .route(
            &format!("{m}/registered-models/set-tag"),
            post(tags::set_model_tag),
        )
        .route(
            &format!("{m}/registered-models/delete-tag"),
            axum::routing::delete(tags::delete_model_tag),
        )
        .route(
            &format!("{m}/model-versions/set-tag"),
            post(tags::set_version_tag),
        )
        .route(
            &format!("{m}/model-versions/delete-tag"),
            axum::routing::delete(tags::delete_version_tag),
        )
        .route(
            &format!("{m}/registered-models/alias"),
            post(tags::set_alias)
                .get(tags::get_alias)
                .delete(tags::delete_alias),
        )
        .route(
            &format!("{m}/registered-models/get-latest-versions"),
            post(lifecycle::latest_versions),
        )
        .route(
            &format!("{m}/registered-models/update"),
            axum::routing::patch(lifecycle::update_model),
        )
        .route(
            &format!("{m}/registered-models/rename"),
            post(lifecycle::rename_model),
        )
        .route(
            &format!("{m}/registered-models/delete"),
            axum::routing::delete(lifecycle::delete_model),
        )
        .route(
            &format!("{m}/model-versions/update"),
            axum::routing::patch(lifecycle::update_version),
        )
        .route(
            &format!("{m}/model-versions/delete"),
            axum::routing::delete(lifecycle::delete_version),
        )
        .route(
            &format!("{m}/model-versions/transition-stage"),
            post(lifecycle::transition_stage),
        )
        .route(&format!("{m}/{{*rest}}"), axum::routing::any(not_built))
}

/// An MLflow error answer: `{error_code, message}` with its status.
#[derive(Debug)]
pub(crate) struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = json!({"error_code": self.code, "message": self.message});
        (self.status, axum::Json(body)).into_response()
    }
}

pub(crate) fn error(status: StatusCode, code: &'static str, message: impl Into<String>) -> Failure {
    Failure {
        status,
        code,
        message: message.into(),
    }
}

/// The MLflow code and status of a service error.
pub(crate) fn service_error(e: &ServiceError) -> Failure {
    let (status, code) = match e {
        ServiceError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED"),
        ServiceError::Forbidden { .. } => (StatusCode::FORBIDDEN, "PERMISSION_DENIED"),
        ServiceError::NotFound(_) => (StatusCode::NOT_FOUND, "RESOURCE_DOES_NOT_EXIST"),
        ServiceError::Invalid(_) | ServiceError::Unprocessable(_) => {
            (StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE")
        }
        ServiceError::Conflict(_) => (StatusCode::BAD_REQUEST, "RESOURCE_ALREADY_EXISTS"),
        ServiceError::Precondition(_) => (StatusCode::BAD_REQUEST, "INVALID_STATE"),
        ServiceError::Unavailable(_) | ServiceError::InFlight(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, "TEMPORARILY_UNAVAILABLE")
        }
        ServiceError::Internal(detail) => {
            tracing::error!(%detail, "internal error");
            (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR")
        }
    };
    error(status, code, e.to_string())
}

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Self {
        service_error(&e)
    }
}

/// Runs a handler's body: its answer, or its failure as MLflow's error answer.
pub(crate) async fn run(
    f: impl std::future::Future<Output = Result<Response, Failure>>,
) -> Response {
    f.await.unwrap_or_else(IntoResponse::into_response)
}

pub(crate) fn invalid(message: impl Into<String>) -> Failure {
    error(StatusCode::BAD_REQUEST, "INVALID_PARAMETER_VALUE", message)
}

/// The caller, from `Authorization: Bearer` (the client sends `MLFLOW_TRACKING_TOKEN` so),
/// in the workspace `X-MLFLOW-WORKSPACE` names (the client sends `MLFLOW_WORKSPACE` so): a
/// workspace is a tenant, and a Steward token is for one tenant, so a workspace other than the
/// token's (or MLflow's `default`) is PERMISSION_DENIED.
pub(crate) async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Principal, Failure> {
    let p = authenticated(state, headers).await?;
    let workspace = headers
        .get(WORKSPACE_HEADER)
        .map(|v| v.to_str().unwrap_or("\u{fffd}").trim())
        .filter(|w| !w.is_empty() && *w != DEFAULT_WORKSPACE);
    match workspace {
        Some(w) if w != p.tenant_slug() => Err(error(
            StatusCode::FORBIDDEN,
            "PERMISSION_DENIED",
            format!(
                "workspace `{}`: this token is for tenant `{}`; a Steward token names one tenant, so use a token of the workspace's tenant",
                steward_domain::validate::truncate(w),
                p.tenant_slug()
            ),
        )),
        _ => Ok(p),
    }
}

/// The header the client carries `MLFLOW_WORKSPACE` in, and MLflow's name for no workspace.
const WORKSPACE_HEADER: &str = "x-mlflow-workspace";
const DEFAULT_WORKSPACE: &str = "default";

async fn authenticated(state: &AppState, headers: &HeaderMap) -> Result<Principal, Failure> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| {
            error(
                StatusCode::UNAUTHORIZED,
                "UNAUTHENTICATED",
                "send a Steward token as MLFLOW_TRACKING_TOKEN (Authorization: Bearer)",
            )
        })?;
    state
        .service
        .authenticator()
        .authenticate(token.trim())
        .await
        .map_err(|e| service_error(&e))
}

/// What this server is, as the client asks before anything else (no login needed, no tenant
/// data): workspaces (a workspace is a tenant), no artifact proxy.
async fn server_info() -> Response {
    axum::Json(json!({
        "store_type": null,
        "workspaces_enabled": true,
        "trace_archival_enabled": false,
        "multipart_uploads_enabled": false,
        "multipart_downloads_enabled": false,
        "presigned_upload_run_id_supported": false,
        "presigned_upload_model_id_supported": false,
        "features_enabled": {"gateway": false},
    }))
    .into_response()
}

/// `GET /api/3.0/mlflow/workspaces`: the caller's own tenant, the one workspace its token opens.
async fn workspaces(State(state): State<AppState>, headers: HeaderMap) -> Response {
    run(async {
        let p = caller(&state, &headers).await?;
        Ok(axum::Json(json!({"workspaces": [{"name": p.tenant_slug()}]})).into_response())
    })
    .await
}

/// `GET /api/3.0/mlflow/workspaces/{name}`: the caller's tenant; any other answers as missing.
async fn workspace(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Response {
    run(async {
        let p = caller(&state, &headers).await?;
        if name != p.tenant_slug() && name != DEFAULT_WORKSPACE {
            return Err(error(
                StatusCode::NOT_FOUND,
                "RESOURCE_DOES_NOT_EXIST",
                format!(
                    "no workspace `{}` for this token",
                    steward_domain::validate::truncate(&name)
                ),
            ));
        }
        Ok(axum::Json(json!({"workspace": {"name": p.tenant_slug()}})).into_response())
    })
    .await
}

/// Steward keeps no logged models (the tracking side of MLflow): the client then registers from
/// the source it has.
async fn logged_model() -> Failure {
    error(
        StatusCode::NOT_FOUND,
        "RESOURCE_DOES_NOT_EXIST",
        "Steward keeps no logged models; register model versions from their artifact URI",
    )
}

/// A call of the MLflow API Steward does not answer yet.
async fn not_built(uri: axum::http::Uri) -> Failure {
    error(
        StatusCode::NOT_FOUND,
        "ENDPOINT_NOT_FOUND",
        format!(
            "{} is not part of Steward's MLflow-compatible API yet (docs/ecosystem.md lists what is)",
            uri.path()
        ),
    )
}

/// A value of `pairs` (the query string's).
pub(crate) fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Every value of a repeated key.
pub(crate) fn params<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// `{key, value}` tags of a JSON body.
pub(crate) fn tags_of(body: &Value) -> Result<Vec<(String, String)>, Failure> {
    let Some(list) = body.get("tags") else {
        return Ok(Vec::new());
    };
    let Some(list) = list.as_array() else {
        return Err(invalid("tags: must be a list of {key, value}"));
    };
    list.iter()
        .enumerate()
        .map(|(i, t)| {
            let k = t["key"].as_str();
            let v = t["value"].as_str().unwrap_or_default();
            k.map(|k| (k.to_string(), v.to_string()))
                .ok_or_else(|| invalid(format!("tags[{i}].key: required")))
        })
        .collect()
}
