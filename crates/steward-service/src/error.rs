//! The service layer's one error type. The API maps each variant once to a GraphQL
//! `extensions.code` or an HTTP status; the `Display` text is what users read, so it never holds
//! SQL, stack traces or secrets. Internal detail goes to the log, not the message.

use steward_domain::{Operation, ValidationError};
use steward_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No credentials, or credentials that do not verify.
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated, but no role of the caller allows the operation, or a rule on the resource
    /// (`rule`, see `steward_domain::allows_on`) forbids it.
    #[error("your roles ({roles}) do not allow {operation}{}", .rule.map(|r| format!(" here: {r}")).unwrap_or_default())]
    Forbidden {
        roles: String,
        operation: Operation,
        rule: Option<&'static str>,
    },
    /// The object does not exist in the caller's tenant.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The input is malformed; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// The input collides with existing state.
    #[error("{0}")]
    Conflict(String),
    /// The same request (its idempotency key) is being processed right now: retrying shortly
    /// gets its result. A conflict for GraphQL clients; REST answers 409 with `Retry-After`.
    #[error("{0}")]
    InFlight(String),
    /// The request repeats an idempotency key with another payload: it can never succeed as
    /// sent.
    #[error("{0}")]
    Unprocessable(String),
    /// The request is well-formed but the state it needs is missing (no policy bound to the
    /// model, a policy with no published revision ...). The message says what to do first.
    #[error("{0}")]
    Precondition(String),
    /// The database or an identity provider is unreachable; retrying may help.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or corrupted data. The detail is logged; users see a generic message.
    #[error("internal error")]
    Internal(String),
}

impl ServiceError {
    /// The stable code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Unauthenticated(_) => "UNAUTHENTICATED",
            ServiceError::Forbidden { .. } => "FORBIDDEN",
            ServiceError::NotFound(_) => "NOT_FOUND",
            ServiceError::Invalid(_) => "INVALID",
            ServiceError::Conflict(_) | ServiceError::InFlight(_) => "CONFLICT",
            ServiceError::Precondition(_) => "FAILED_PRECONDITION",
            ServiceError::Unprocessable(_) => "UNPROCESSABLE",
            ServiceError::Unavailable(_) => "UNAVAILABLE",
            ServiceError::Internal(_) => "INTERNAL",
        }
    }
}

impl From<ValidationError> for ServiceError {
    fn from(e: ValidationError) -> Self {
        ServiceError::Invalid(e.to_string())
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ServiceError::NotFound(what),
            StoreError::Conflict(m) => ServiceError::Conflict(m),
            StoreError::Invalid(m) => ServiceError::Invalid(m),
            e if e.is_unavailable() => {
                tracing::warn!(error = %e, "database unavailable");
                ServiceError::Unavailable("the database is unavailable; retry shortly".into())
            }
            e => {
                tracing::error!(error = %e, "store failure");
                ServiceError::Internal(e.to_string())
            }
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
