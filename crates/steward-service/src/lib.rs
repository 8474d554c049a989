//! Steward's use cases: authentication, authorization and the registry with its lineage.
//!
//! Every public method takes the caller's [`Principal`], checks the permission matrix next to
//! the action, derives the [`TenantScope`](steward_domain::TenantScope) from the principal (never
//! from input), and runs each mutation in one store transaction. Nothing here knows HTTP or
//! GraphQL; the API maps [`ServiceError`] once at the edge.

pub mod auth;
mod error;
mod registry;

pub use auth::{AuthConfig, Authenticator, Claims, KeySource};
pub use error::{ServiceError, ServiceResult};
pub use registry::{MAX_PAGE_SIZE, RegisterModelVersion};

use steward_domain::{Operation, Principal, TenantScope};
use steward_store::{Store, WriteTx};

/// The service facade the API and the binary hold. Cheap to clone.
#[derive(Clone)]
pub struct Service {
    store: Store,
    auth: Authenticator,
}

impl Service {
    pub fn new(store: Store, auth: AuthConfig) -> Self {
        let auth = Authenticator::new(auth, store.clone());
        Self { store, auth }
    }

    pub fn authenticator(&self) -> &Authenticator {
        &self.auth
    }

    /// The store, for health checks and start-up; use cases go through the methods here.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Readiness: the database answers and no migration is pending.
    pub async fn ready(&self) -> ServiceResult<()> {
        self.store.ping().await?;
        let pending = self.store.pending_migrations().await?;
        if pending.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::Unavailable(format!(
                "migrations pending: {}",
                pending.join(", ")
            )))
        }
    }
}

/// Checks the permission matrix for `op`.
pub(crate) fn authorize(principal: &Principal, op: Operation) -> ServiceResult<()> {
    if principal.may(op) {
        return Ok(());
    }
    let roles = principal
        .roles()
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    tracing::info!(sub = principal.subject(), tenant = principal.tenant_slug(), operation = %op, "denied");
    Err(ServiceError::Forbidden {
        roles,
        operation: op,
    })
}

/// The caller's tenant scope, after checking `op` is allowed.
pub(crate) fn scope_for(principal: &Principal, op: Operation) -> ServiceResult<TenantScope> {
    authorize(principal, op)?;
    principal.scope().ok_or(ServiceError::NotFound("tenant"))
}

/// An authorized mutation in progress: the transaction every write of one use case shares.
///
/// This is the seam for the audit log: `commit` is where the audit event of the mutation will be
/// appended inside the same transaction, so that a mutation and its record stand or fall together.
pub(crate) struct Mutation {
    pub tx: WriteTx,
    pub scope: TenantScope,
}

impl Service {
    pub(crate) async fn begin(
        &self,
        principal: &Principal,
        op: Operation,
    ) -> ServiceResult<Mutation> {
        let scope = scope_for(principal, op)?;
        let tx = self.store.begin_write().await?;
        Ok(Mutation { tx, scope })
    }
}

impl Mutation {
    pub(crate) async fn commit(self) -> ServiceResult<()> {
        self.tx.commit().await?;
        Ok(())
    }
}
