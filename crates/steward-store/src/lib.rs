//! Persistence for Steward: sea-orm entities (private) behind repository methods that take a
//! [`TenantScope`] and return domain records.
//!
//! Invariants kept here:
//! - every query on tenant-owned data filters by the scope's tenant, so an id of another tenant
//!   reads exactly like an id that does not exist;
//! - every mutation runs in one [`WriteTx`]; nothing is written outside it, so a failure leaves
//!   nothing half-written (the audit issue extends `WriteTx::commit` with the audit append);
//! - versions, dataset versions, training runs, policy revisions and decision records are
//!   insert-only.

mod audit;
mod backup;
mod baselines;
mod batches;
mod bulk;
mod codec;
mod compliance;
mod connect;
mod datasets;
mod deployments;
mod documentation;
mod entities;
mod error;
mod health;
mod holds;
mod incidents;
mod key_rotations;
mod kpis;
mod labels;
mod lifecycle;
mod lineage;
mod models;
mod openlineage;
mod outbox;
mod policies;
mod promotions;
mod retraining;
mod runs;
mod sql;
mod tags;
pub mod tenancy;
mod tenants;
#[cfg(feature = "test-support")]
pub mod testing;
mod tx;
mod versions;
mod web_sessions;
mod windows;

pub use audit::AuditFilter;
pub use compliance::GapFacts;
pub use connect::{Backend, Store, role_of};
pub use deployments::NewRevision;
pub use error::StoreError;
pub use incidents::{Cause, Opened};
pub use openlineage::{OlEventRow, OlRun};
pub use outbox::{Delivered, NewAction, PutTarget};
pub use policies::Activation;
pub use retraining::Spent;
pub use steward_domain::TenantScope;
pub use tags::NewTag;
pub use tx::WriteTx;
pub use versions::IdempotencyKey;
pub use windows::{MergePart, PartsRead};

pub type StoreResult<T> = Result<T, StoreError>;
