//! `/metrics` for Prometheus, and the request accounting behind it.
//!
//! The exposition spans every tenant, so no tenant's token reaches it: on the main listener it
//! answers only the operator's `metrics_token` (a bearer token compared by digest) and is a
//! plain 404 when none is configured; the binary can serve it instead on a listener of its own
//! (`metrics.listen`, [`metrics_router`]), where the network is the boundary.

use std::sync::Arc;
use std::time::Instant;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection,
};
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use steward_service::Service;
use tracing::Instrument;

use crate::http::AppState;

/// The OpenMetrics text format's content type.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Counts every routed request by its route template, method and status, with its latency, and
/// runs it in a span of its own continuing the caller's trace (`traceparent`).
pub(crate) async fn track(State(service): State<Service>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let span = tracing::info_span!(
        "http.request",
        otel.name = format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
    );
    let headers = req.headers();
    steward_service::propagation::adopt(&span, &|name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    });
    let response = next.run(req).instrument(span.clone()).await;
    span.record("http.response.status_code", response.status().as_u16());
    service.metrics().http_request(
        method.as_str(),
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// The operation a GraphQL request ran: its kind and first root field. `name` picks the
/// operation of a document holding several, as GraphQL's `operationName` does.
pub(crate) fn operation(doc: &ExecutableDocument, name: Option<&str>) -> (&'static str, String) {
    let op = match &doc.operations {
        DocumentOperations::Single(op) => Some(op),
        DocumentOperations::Multiple(ops) => match name {
            Some(n) => ops.iter().find(|(k, _)| k.as_str() == n).map(|(_, op)| op),
            None if ops.len() == 1 => ops.values().next(),
            None => None,
        },
    };
    let Some(op) = op else {
        return ("invalid", "-".into());
    };
    let kind = match op.node.ty {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    };
    let field = op
        .node
        .selection_set
        .node
        .items
        .iter()
        .find_map(|s| match &s.node {
            Selection::Field(f) => Some(f.node.name.node.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| "-".into());
    (kind, field)
}

/// Whether the operation was refused before it ran (parse, validation, limits): those errors
/// carry no path, and their field names are the client's, not the schema's.
pub(crate) fn refused(errors: &[async_graphql::ServerError]) -> bool {
    errors.iter().any(|e| e.path.is_empty())
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

/// `GET /metrics` on the main listener: the operator's token, else 404.
async fn guarded(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(expected) = state.config.metrics_token.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    // Digests of equal length compared whole: the time taken says nothing about the token.
    if given.map(digest) != Some(digest(expected)) {
        let mut resp = (
            StatusCode::UNAUTHORIZED,
            "/metrics needs the operator's metrics token (Authorization: Bearer <metrics.token>)",
        )
            .into_response();
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return resp;
    }
    exposition(&state.service, state.config.metrics_max_models).await
}

/// The exposition itself.
async fn exposition(service: &Service, max_models: usize) -> Response {
    match service.render_metrics(max_models).await {
        Ok(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS))],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering /metrics failed");
            (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response()
        }
    }
}

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(guarded))
}

/// `/metrics` (no token) with `/healthz`, for a listener of its own that only the scraper
/// reaches.
pub fn metrics_router(service: Service, max_models: usize) -> Router {
    let service = Arc::new(service);
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let service = Arc::clone(&service);
                async move { exposition(&service, max_models).await }
            }),
        )
        .route("/healthz", get(|| async { "ok" }))
}
