//! The store's error type. Database details stay inside `Db`; the service layer shows users only
//! the kind of failure, never SQL.

use sea_orm::{DbErr, SqlErr};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The record does not exist in the caller's tenant (or at all: the two are not told apart).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The write collides with existing data (a duplicate name, a reused idempotency key ...).
    #[error("{0}")]
    Conflict(String),
    /// The request is malformed in a way only the store can see (an unreadable page cursor).
    #[error("{0}")]
    Invalid(String),
    /// A stored value could not be decoded; points at corrupted or hand-edited data.
    #[error("stored {what} is unreadable: {detail}")]
    Corrupt { what: &'static str, detail: String },
    /// The database file or its directory could not be created or made private.
    #[error("database file {path}: {detail}")]
    File { path: String, detail: String },
    /// The database refused or failed.
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

impl StoreError {
    /// Turns a unique-key violation into a `Conflict` with a message for people; other database
    /// errors pass through.
    pub(crate) fn unique(err: DbErr, message: impl FnOnce() -> String) -> StoreError {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => StoreError::Conflict(message()),
            _ => StoreError::Db(err),
        }
    }

    pub(crate) fn is_unique_violation(err: &DbErr) -> bool {
        matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
    }

    /// True when the failure is the database being unreachable or busy rather than a bug.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Db(DbErr::ConnectionAcquire(_) | DbErr::Conn(_))
        )
    }
}
