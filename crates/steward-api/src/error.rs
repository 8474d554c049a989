//! The one mapping from service errors to what clients see: a GraphQL error with
//! `extensions.code`, or an HTTP status for the few REST routes.

use async_graphql::ErrorExtensions;
use axum::http::StatusCode;
use steward_service::ServiceError;

/// Converts a service error for a GraphQL resolver. Internal detail is logged here, once, and
/// replaced by a generic message.
pub fn gql(err: ServiceError) -> async_graphql::Error {
    if let ServiceError::Internal(detail) = &err {
        tracing::error!(%detail, "internal error");
    }
    let code = err.code();
    async_graphql::Error::new(err.to_string()).extend_with(|_, e| e.set("code", code))
}

/// An input that could not even be parsed (a malformed id, say).
pub fn invalid(message: impl Into<String>) -> async_graphql::Error {
    gql(ServiceError::Invalid(message.into()))
}

/// What a REST client receives for `err`: the status, the code and the public message.
/// Internal detail is logged here, once, and replaced by a generic message.
pub fn rest(err: &ServiceError) -> (StatusCode, &'static str, String) {
    if let ServiceError::Internal(detail) = err {
        tracing::error!(%detail, "internal error");
    }
    (status(err), err.code(), err.to_string())
}

pub fn status(err: &ServiceError) -> StatusCode {
    match err {
        ServiceError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        ServiceError::Forbidden { .. } => StatusCode::FORBIDDEN,
        ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
        ServiceError::Invalid(_) => StatusCode::BAD_REQUEST,
        ServiceError::Conflict(_) | ServiceError::InFlight(_) => StatusCode::CONFLICT,
        ServiceError::Precondition(_) => StatusCode::PRECONDITION_FAILED,
        ServiceError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
        ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
