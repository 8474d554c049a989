//! Steward's HTTP interface: GraphQL at `/graphql`, bulk uploads under `/v1/` (baselines and
//! observations of a model version, the audit export), the MLflow-compatible registry API under
//! `/api/2.0/mlflow/` (`mlflow/`), and `/healthz` and `/readyz`.
//!
//! The API knows no storage: it authenticates the bearer token through the service, hands the
//! resulting principal to the GraphQL resolvers, and maps [`ServiceError`] to codes in exactly
//! one place ([`error`]). `router(state)` gives the binary and the tests the same app.

mod cache;
mod error;
pub mod graphql;
mod http;
mod metrics;
mod mlflow;
mod openlineage;
mod retraining;
mod upload;

pub use cache::{
    MAX_ENTRY_BYTES as RESPONSE_CACHE_MAX_ENTRY_BYTES, MAX_TOTAL_BYTES as RESPONSE_CACHE_MAX_BYTES,
};
pub use http::{ApiConfig, AppState, router};
pub use metrics::metrics_router;
