//! REST routes for data that comes in bulk and in standard formats: a model version's baselines
//! and its production observations. Each maps a content type to a format, hands the body to the
//! service, and answers in JSON; errors go through the one mapping in `error.rs`, so a bad row
//! is a 400 naming the row and column, an unknown version a 404 like any other.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::json;
use steward_domain::ModelVersionId;
use steward_service::ServiceError;
use steward_service::monitoring::{
    BaselineUpload, DataFormat, IngestBatch, Ingested, KpiUpload, LabelUpload, UploadedBaseline,
};
use tower_http::limit::RequestBodyLimitLayer;

use crate::http::{AppState, authenticate, service_error_response};

/// The routes, each accepting bodies up to `limit` bytes (413 beyond).
pub(crate) fn routes(limit: usize) -> Router<AppState> {
    Router::new()
        .route("/v1/model-versions/{id}/baselines", post(upload_baseline))
        .route("/v1/model-versions/{id}/observations", post(observations))
        .route("/v1/model-versions/{id}/labels", post(labels))
        .route("/v1/model-versions/{id}/kpis", post(kpis))
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
}

/// The format a content type names; `Ok(None)`: detect from the content; `Err`: the content
/// type, which names no format Steward reads.
fn data_format(headers: &HeaderMap) -> Result<Option<DataFormat>, String> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(None);
    };
    let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
    let essence = ct.split(';').next().unwrap_or("").trim();
    Ok(Some(match essence {
        "text/csv" => DataFormat::Csv,
        "application/x-ndjson" | "application/jsonl" | "application/json-lines" => {
            DataFormat::JsonLines
        }
        "application/vnd.apache.parquet" | "application/x-parquet" => DataFormat::Parquet,
        "application/vnd.apache.arrow.stream" => DataFormat::ArrowStream,
        "application/vnd.apache.arrow.file" => DataFormat::ArrowFile,
        "application/octet-stream" | "" => return Ok(None),
        other => return Err(other.to_string()),
    }))
}

fn unsupported(ct: &str) -> Response {
    let message = format!(
        "content type {ct:?} is not accepted; send text/csv, application/x-ndjson, application/vnd.apache.parquet, application/vnd.apache.arrow.stream or application/vnd.apache.arrow.file"
    );
    crate::http::error_response(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "UNSUPPORTED_MEDIA_TYPE",
        &message,
    )
}

fn version_id(raw: &str) -> Result<ModelVersionId, ServiceError> {
    raw.parse().map_err(|_| {
        ServiceError::Invalid(format!(
            "model version id {:?} is not a UUID",
            steward_domain::validate::truncate(raw)
        ))
    })
}

#[derive(serde::Deserialize)]
struct ObservationParams {
    /// `sagemaker-capture`: the body is SageMaker data-capture JSON lines.
    format: Option<String>,
    /// The rows are traffic mirrored to a shadow (also the header `X-Steward-Shadow: true`).
    shadow: Option<bool>,
}

/// A SageMaker Model Monitor baseline as one JSON body.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SageMakerBody {
    statistics: serde_json::Value,
    constraints: Option<serde_json::Value>,
}

#[derive(serde::Deserialize)]
struct BaselineParams {
    /// `sagemaker`: the JSON body is `{"statistics": .., "constraints": ..}` of a SageMaker
    /// Model Monitor baseline; otherwise a JSON body is a Steward profile.
    source: Option<String>,
    /// Make the new baseline the active one (default true).
    activate: Option<bool>,
    note: Option<String>,
    /// `categorical` reads the prediction column as labels, `numeric` (default) as scores.
    prediction: Option<String>,
}

/// `POST /v1/model-versions/{id}/baselines`: a reference data set (CSV, JSON lines, Parquet,
/// Arrow IPC) the server profiles, a profile computed elsewhere (`application/json`), or a
/// SageMaker Model Monitor baseline (`?source=sagemaker`).
async fn upload_baseline(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Result<Query<BaselineParams>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let principal = match authenticate(&state, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let id = match version_id(&id) {
        Ok(i) => i,
        Err(e) => return service_error_response(&e),
    };
    let Ok(Query(params)) = params else {
        return service_error_response(&ServiceError::Invalid(
            "query: activate must be true or false; note and prediction are text".into(),
        ));
    };
    let categorical_prediction = match params.prediction.as_deref() {
        None | Some("numeric") => false,
        Some("categorical") => true,
        Some(other) => {
            return service_error_response(&ServiceError::Invalid(format!(
                "prediction: {:?} is neither numeric nor categorical",
                steward_domain::validate::truncate(other)
            )));
        }
    };
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().unwrap_or("").trim() == "application/json");
    let upload = if params.source.as_deref() == Some("sagemaker") {
        match serde_json::from_slice::<SageMakerBody>(&body) {
            Ok(b) => BaselineUpload::SageMaker {
                statistics: b.statistics.to_string(),
                constraints: b.constraints.map(|c| c.to_string()),
            },
            Err(e) => {
                return service_error_response(&ServiceError::Invalid(format!(
                    "body: a SageMaker baseline is {{\"statistics\": <statistics.json>, \"constraints\": <constraints.json>}}: {e}"
                )));
            }
        }
    } else if is_json {
        BaselineUpload::Profile { json: body }
    } else {
        match data_format(&headers) {
            Ok(format) => BaselineUpload::Dataset {
                body,
                format,
                categorical_prediction,
            },
            Err(ct) => return unsupported(&ct),
        }
    };
    let input = UploadedBaseline {
        model_version_id: id,
        upload,
        note: params.note.unwrap_or_default(),
        activate: params.activate.unwrap_or(true),
    };
    let service = state.service.clone();
    let result =
        steward_service::tenancy::spawn(
            async move { service.upload_baseline(&principal, input).await },
        )
        .await;
    match result {
        Ok(Ok(b)) => (
            StatusCode::CREATED,
            axum::Json(json!({"id": b.id.to_string(),
                "modelVersionId": b.model_version_id.to_string(), "source": b.source.as_str(),
                "rows": b.rows, "features": b.features, "fingerprint": b.fingerprint,
                "active": b.active, "note": b.note,
                "createdAt": b.created_at.to_rfc3339()})),
        )
            .into_response(),
        Ok(Err(e)) => service_error_response(&e),
        Err(e) => service_error_response(&ServiceError::Internal(format!("upload task: {e}"))),
    }
}

/// What every keyed upload of rows reads from its request: the caller, the version, the format
/// and the idempotency key; or the answer that refuses it.
struct Keyed {
    principal: steward_domain::Principal,
    version: ModelVersionId,
    format: Option<DataFormat>,
    key: Option<String>,
}

async fn keyed(state: &AppState, id: &str, headers: &HeaderMap) -> Result<Keyed, Response> {
    let principal = authenticate(state, headers).await?;
    let version = version_id(id).map_err(|e| service_error_response(&e))?;
    let format = data_format(headers).map_err(|ct| unsupported(&ct))?;
    let key = match headers.get("idempotency-key").map(|v| v.to_str()) {
        None => None,
        Some(Ok(k)) => Some(k.to_string()),
        Some(Err(_)) => {
            return Err(service_error_response(&ServiceError::Invalid(
                "Idempotency-Key: must be printable ASCII".into(),
            )));
        }
    };
    Ok(Keyed {
        principal,
        version,
        format,
        key,
    })
}

/// Runs an upload in a task of its own (a client that hangs up cannot cancel it between its
/// commit and its answer; it retries with its key and is told the batch was counted) and answers
/// 201 with its summary, or 200 for a retry of a batch accepted earlier.
async fn run_upload<F>(work: F) -> Response
where
    F: std::future::Future<Output = Result<Ingested, ServiceError>> + Send + 'static,
{
    match steward_service::tenancy::spawn(work).await {
        Ok(Ok(done)) => {
            let status = if done.duplicate {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            let mut body = done.summary.clone();
            body["batchId"] = json!(done.batch_id.to_string());
            body["rows"] = json!(done.rows);
            body["lateRows"] = json!(done.late_rows);
            body["duplicate"] = json!(done.duplicate);
            (status, axum::Json(body)).into_response()
        }
        Ok(Err(e)) => service_error_response(&e),
        Err(e) => service_error_response(&ServiceError::Internal(format!("upload task: {e}"))),
    }
}

/// `POST /v1/model-versions/{id}/observations`: production rows (the version's features, the
/// `prediction`, optional `prediction_id`, `event_time` and slice columns), or SageMaker data
/// capture with `?format=sagemaker-capture`. `Idempotency-Key` makes a retry count once.
async fn observations(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Result<Query<ObservationParams>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let k = match keyed(&state, &id, &headers).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let capture = match params.as_ref().map(|p| p.0.format.as_deref()) {
        Ok(None) => false,
        Ok(Some("sagemaker-capture")) => true,
        _ => {
            return service_error_response(&ServiceError::Invalid(
                "format: the only format named in the query is sagemaker-capture; shadow is true or false".into(),
            ));
        }
    };
    let shadow = params.as_ref().is_ok_and(|p| p.0.shadow == Some(true))
        || headers
            .get("x-steward-shadow")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
    let batch = IngestBatch {
        model_version_id: k.version,
        body,
        format: k.format,
        sagemaker_capture: capture,
        shadow,
        idempotency_key: k.key,
    };
    let service = state.service.clone();
    run_upload(async move { service.ingest_observations(&k.principal, batch).await }).await
}

/// `POST /v1/model-versions/{id}/labels`: delayed labels, rows of `prediction_id` and `label`,
/// joined to the predictions sent with those ids. Unknown ids are counted as unmatched and
/// reported, never an error. `Idempotency-Key` makes a retry count once.
async fn labels(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let k = match keyed(&state, &id, &headers).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let upload = LabelUpload {
        model_version_id: k.version,
        body,
        format: k.format,
        idempotency_key: k.key,
    };
    let service = state.service.clone();
    run_upload(async move { service.ingest_labels(&k.principal, upload).await }).await
}

/// `POST /v1/model-versions/{id}/kpis`: business KPIs, rows of `kpi`, `value`, optional
/// `event_time` and slice columns, summed per window and slice. `Idempotency-Key` makes a retry
/// count once.
async fn kpis(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let k = match keyed(&state, &id, &headers).await {
        Ok(k) => k,
        Err(r) => return r,
    };
    let upload = KpiUpload {
        model_version_id: k.version,
        body,
        format: k.format,
        idempotency_key: k.key,
    };
    let service = state.service.clone();
    run_upload(async move { service.ingest_kpis(&k.principal, upload).await }).await
}
