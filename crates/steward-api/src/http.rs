//! The axum router: the GraphQL endpoint with its hardening, and health checks.
//!
//! The GraphQL handler reads the body itself (as bytes, under an explicit limit) instead of using
//! async-graphql's extractor, which reads the body on its own and so escapes axum's
//! `DefaultBodyLimit`. Reading it here also lets us refuse batched requests before parsing them.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use steward_domain::Principal;
use steward_service::tenancy::{self, Tenancy};
use steward_service::{Service, ServiceError};
use tower_http::limit::RequestBodyLimitLayer;

use crate::cache::{DocumentCache, ResponseCache};
use crate::error::rest;
use crate::graphql::{StewardSchema, build_schema};

/// Limits and switches of the API; defaults are the hardened ones.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Deepest selection set accepted.
    pub max_depth: usize,
    /// Highest query complexity accepted (each field 1, lists multiplied by `first`).
    pub max_complexity: usize,
    /// Schema introspection (off in production: it maps the attack surface for free).
    pub introspection: bool,
    /// "Did you mean" hints on misspelt fields (off: they leak the schema like introspection).
    pub suggestions: bool,
    /// Largest upload (baselines, observations) accepted, in bytes.
    pub max_upload_bytes: usize,
    /// Entries of the read-response cache; 0 turns it off. Safe with several replicas: it is
    /// keyed on the tenant's data version in the database.
    pub response_cache_entries: usize,
    /// The bearer token `/metrics` on this listener answers; `None` keeps it closed (404).
    pub metrics_token: Option<String>,
    /// Most models given per-model series in `/metrics`.
    pub metrics_max_models: usize,
    /// Count and time every request by route for `/metrics` and run it in a span of its own
    /// (on by default; the benchmarks turn it off to measure what it costs).
    pub request_metrics: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_upload_bytes: 64 * 1024 * 1024,
            max_depth: 12,
            max_complexity: 2_000,
            introspection: false,
            suggestions: false,
            response_cache_entries: 1024,
            metrics_token: None,
            metrics_max_models: 2_000,
            request_metrics: true,
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub service: Service,
    pub schema: StewardSchema,
    pub config: Arc<ApiConfig>,
    cache: Arc<ResponseCache>,
    documents: Arc<DocumentCache>,
}

impl AppState {
    pub fn new(service: Service, config: ApiConfig) -> Self {
        let schema = build_schema(service.clone(), &config);
        Self {
            service,
            schema,
            cache: Arc::new(ResponseCache::new(config.response_cache_entries)),
            documents: Arc::new(DocumentCache::new()),
            config: Arc::new(config),
        }
    }

    /// Bytes of responses the read cache holds now (for tests and figures).
    pub fn cached_bytes(&self) -> usize {
        self.cache.bytes()
    }
}

pub fn router(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let uploads = crate::upload::routes(state.config.max_upload_bytes);
    let router = Router::new()
        .route("/graphql", post(graphql))
        .route("/v1/audit/export", get(audit_export))
        .route(
            "/v1/retraining-runs/{id}/status",
            post(crate::retraining::status),
        )
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
        .merge(uploads)
        .merge(crate::mlflow::routes().layer(DefaultBodyLimit::max(limit)))
        .merge(crate::openlineage::routes(state.config.max_upload_bytes))
        .merge(crate::metrics::routes());
    // Every request runs in a tenancy scope of its own, nobody's until authentication names
    // the caller's tenant (`Authenticator::authenticate`).
    let router = router.layer(axum::middleware::from_fn(request_tenancy));
    let router = if state.config.request_metrics {
        router.route_layer(axum::middleware::from_fn_with_state(
            state.service.clone(),
            crate::metrics::track,
        ))
    } else {
        router
    };
    router.with_state(state)
}

async fn request_tenancy(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    tenancy::within(Tenancy::Nobody, next.run(req)).await
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.service.ready().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

/// A GraphQL-shaped error response for failures before execution.
pub(crate) fn error_response(code: StatusCode, gql_code: &str, message: &str) -> Response {
    let body = json!({"errors": [{"message": message, "extensions": {"code": gql_code}}]});
    let mut resp = (code, axum::Json(body)).into_response();
    if code == StatusCode::UNAUTHORIZED {
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    resp
}

pub(crate) fn service_error_response(err: &ServiceError) -> Response {
    let (status, code, message) = rest(err);
    let mut resp = error_response(status, code, &message);
    if matches!(err, ServiceError::InFlight(_)) {
        // The first request is still being processed: a retry in a second gets its result.
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    resp
}

fn bearer(headers: &HeaderMap) -> Result<&str, ServiceError> {
    let value = headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ServiceError::Unauthenticated("missing Authorization: Bearer token".into())
    })?;
    value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ServiceError::Unauthenticated(
                "the Authorization header must be `Bearer <token>`".into(),
            )
        })
}

/// The request's id: the caller's `x-request-id` when it is a sane token, else a new UUID. It is
/// recorded in audit events, so a client can find the events its request caused.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c))
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

pub(crate) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Principal, Response> {
    let token = bearer(headers).map_err(|e| service_error_response(&e))?;
    let principal = state
        .service
        .authenticator()
        .authenticate(token)
        .await
        .map_err(|e| service_error_response(&e))?;
    Ok(principal.with_request_id(request_id(headers)))
}

#[derive(serde::Deserialize)]
struct ExportRange {
    from: Option<u64>,
    to: Option<u64>,
}

/// `GET /v1/audit/export?from=&to=`: a bundle of the tenant's audit events `[from, to)` (default:
/// all), streamed page by page: a header line, the events as NDJSON, the signed checkpoint.
async fn audit_export(
    State(state): State<AppState>,
    headers: HeaderMap,
    range: Result<Query<ExportRange>, QueryRejection>,
) -> Response {
    let principal = match authenticate(&state, &headers).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    let Ok(Query(range)) = range else {
        return service_error_response(&ServiceError::Invalid(
            "from and to must be non-negative integers (sequence numbers)".into(),
        ));
    };
    let export = match state
        .service
        .audit_export(&principal, range.from, range.to)
        .await
    {
        Ok(e) => e,
        Err(e) => return service_error_response(&e),
    };
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        )],
        axum::body::Body::from_stream(export.into_stream()),
    )
        .into_response()
}

async fn graphql(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let started = Instant::now();
    let principal = match authenticate(&state, &headers).await {
        Ok(p) => p,
        Err(resp) => return resp,
    };
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return service_error_response(&ServiceError::Invalid(
            "batched requests are not accepted; send one operation per request".into(),
        ));
    }
    let mut request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return service_error_response(&ServiceError::Invalid(format!(
                "the request body is not a GraphQL request in JSON: {e}"
            )));
        }
    };
    let tenant = principal.tenant_slug().to_string();
    // Parsed once (or taken from the document cache) and handed to execution as parsed.
    let document = state.documents.parse(&request.query);
    let (kind, field) = document.as_ref().map_or(("invalid", "-".into()), |d| {
        crate::metrics::operation(d, request.operation_name.as_deref())
    });
    let metrics = state.service.metrics();
    let cache_key = state
        .cache
        .key(
            &state.service,
            &principal,
            (&request.query, document.as_ref()),
            &body,
        )
        .await;
    if let Some(doc) = document {
        request.set_parsed_query(doc);
    }
    if let Some(bytes) = cache_key.as_ref().and_then(|k| state.cache.get(k)) {
        metrics.graphql_operation(kind, &field, true, started.elapsed().as_secs_f64());
        tracing::info!(
            tenant,
            errors = 0,
            cached = true,
            duration_ms = started.elapsed().as_millis() as u64,
            "graphql"
        );
        return json_bytes(bytes);
    }
    // The operation runs in a task of its own, so a client that hangs up mid-mutation (a
    // killed CI job, a proxy timeout) cannot cancel it between its commit and its response:
    // what was committed is whole, audited, and visible to the next read.
    let schema = state.schema.clone();
    let span = tracing::info_span!(
        "graphql.operation",
        otel.name = format!("{kind} {field}"),
        graphql.operation.type = kind,
        graphql.operation.name = %field,
        steward.tenant = %tenant,
    );
    let run = async move { schema.execute(request.data(principal)).await };
    let run = tracing::Instrument::instrument(run, span);
    let response = match tenancy::spawn(run).await {
        Ok(r) => r,
        Err(e) => {
            return service_error_response(&ServiceError::Internal(format!(
                "a GraphQL task failed: {e}"
            )));
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    if crate::metrics::refused(&response.errors) {
        metrics.graphql_operation("invalid", "-", false, seconds);
    } else {
        metrics.graphql_operation(kind, &field, response.errors.is_empty(), seconds);
    }
    tracing::info!(
        tenant,
        errors = response.errors.len(),
        cached = false,
        duration_ms = started.elapsed().as_millis() as u64,
        "graphql"
    );
    // The common case serialises straight to bytes; only responses with errors take the detour
    // through a JSON value to add default codes.
    let out = if response.errors.is_empty() {
        serde_json::to_vec(&response)
    } else {
        serde_json::to_value(&response).and_then(|mut value| {
            default_error_codes(&mut value);
            serde_json::to_vec(&value)
        })
    };
    match out {
        Ok(bytes) => {
            let bytes = Bytes::from(bytes);
            if let Some(key) = cache_key
                && response.errors.is_empty()
            {
                state.cache.put(key, bytes.clone());
            }
            json_bytes(bytes)
        }
        Err(e) => service_error_response(&ServiceError::Internal(format!(
            "serialising a response: {e}"
        ))),
    }
}

fn json_bytes(bytes: Bytes) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response()
}

/// Errors raised by GraphQL itself (parse, validation, depth or complexity limits, input
/// coercion) carry no code; they are all the client's input, so they get `INVALID`.
fn default_error_codes(value: &mut serde_json::Value) {
    let Some(errors) = value.get_mut("errors").and_then(|e| e.as_array_mut()) else {
        return;
    };
    for e in errors {
        let Some(obj) = e.as_object_mut() else {
            continue;
        };
        let ext = obj.entry("extensions").or_insert_with(|| json!({}));
        if let Some(ext) = ext.as_object_mut() {
            let code = ServiceError::Invalid(String::new()).code();
            ext.entry("code").or_insert_with(|| json!(code));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_in_flight_is_a_conflict_to_retry_after_a_second() {
        let r = service_error_response(&ServiceError::InFlight("being processed".into()));
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert_eq!(r.headers().get(header::RETRY_AFTER).unwrap(), "1");
        let r = service_error_response(&ServiceError::Conflict("a duplicate name".into()));
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert!(
            r.headers().get(header::RETRY_AFTER).is_none(),
            "a plain conflict is final"
        );
    }
}
