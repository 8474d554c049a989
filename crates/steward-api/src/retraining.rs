//! `POST /v1/retraining-runs/{id}/status`: the orchestrator's job reports on a retraining Steward
//! asked for (`{id}` is the retrain action's id, `steward.action` in the run's parameters). The
//! body is JSON: `{"status": "queued|running|succeeded|failed|cancelled", "message",
//! "externalUrl", "modelVersionId" (the candidate, on success), "cost", "costCurrency"}`; unknown
//! fields are refused. 201 with the recorded report; errors through `error.rs` like every route.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use steward_domain::{ActionId, ModelVersionId, NewRetrainingReport, RetrainingReport};
use steward_service::ServiceError;

use crate::http::{AppState, authenticate, service_error_response};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct StatusBody {
    status: String,
    #[serde(default)]
    message: String,
    external_url: Option<String>,
    model_version_id: Option<String>,
    cost: Option<f64>,
    cost_currency: Option<String>,
}

fn id(field: &str, value: &str) -> Result<uuid::Uuid, ServiceError> {
    value
        .parse()
        .map_err(|_| ServiceError::Invalid(format!("{field}: {value:?} is not an id")))
}

fn parse(action: &str, body: &[u8]) -> Result<(ActionId, NewRetrainingReport), ServiceError> {
    let action = ActionId::from_uuid(id("id", action)?);
    let b: StatusBody =
        serde_json::from_slice(body).map_err(|e| ServiceError::Invalid(format!("body: {e}")))?;
    let status = b
        .status
        .parse()
        .map_err(|e| ServiceError::Invalid(format!("status: {e}")))?;
    let candidate = match b.model_version_id.as_deref() {
        Some(v) => Some(ModelVersionId::from_uuid(id("modelVersionId", v)?)),
        None => None,
    };
    Ok((
        action,
        NewRetrainingReport {
            status,
            message: b.message,
            external_url: b.external_url,
            candidate,
            cost: b.cost,
            cost_currency: b.cost_currency,
        },
    ))
}

pub(crate) fn report_json(r: &RetrainingReport) -> serde_json::Value {
    json!({"actionId": r.action_id.to_string(), "status": r.status.as_str(),
        "message": r.message, "externalUrl": r.external_url,
        "modelVersionId": r.candidate.map(|c| c.to_string()), "cost": r.cost,
        "costCurrency": r.cost_currency, "reportedBy": r.reported_by,
        "reportedAt": r.reported_at.to_rfc3339()})
}

pub(crate) async fn status(
    State(state): State<AppState>,
    Path(action): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let principal = match authenticate(&state, &headers).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let (action, report) = match parse(&action, &body) {
        Ok(parsed) => parsed,
        Err(e) => return service_error_response(&e),
    };
    let service = state.service.clone();
    // A task of its own: a client hanging up cannot cancel the write between commit and answer.
    let done = steward_service::tenancy::spawn(async move {
        service.report_retraining(&principal, action, report).await
    })
    .await;
    match done {
        Ok(Ok(r)) => (StatusCode::CREATED, axum::Json(report_json(&r))).into_response(),
        Ok(Err(e)) => service_error_response(&e),
        Err(e) => service_error_response(&ServiceError::Internal(format!("report task: {e}"))),
    }
}
