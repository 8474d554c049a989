//! Steward's use cases: authentication, authorization, the registry with its lineage, the audit
//! log, and policies (revisions, bindings, evaluations with their decision records).
//!
//! Every public method takes the caller's [`Principal`], checks the permission matrix next to
//! the action, derives the [`TenantScope`](steward_domain::TenantScope) from the principal (never
//! from input), and runs each mutation in one store transaction. Nothing here knows HTTP or
//! GraphQL; the API maps [`ServiceError`] once at the edge.

pub mod audit;
pub mod auth;
mod error;
mod policy;
mod registry;

pub use auth::{AuthConfig, Authenticator, Claims, KeySource};
pub use error::{ServiceError, ServiceResult};
pub use policy::{EvaluatePolicy, PolicySettings, ProposedRevision};
pub use registry::{MAX_PAGE_SIZE, RegisterModelVersion};
pub use steward_store::AuditFilter;

use steward_audit::Outcome;
use steward_domain::{Operation, Principal, TenantScope};
use steward_store::{Store, WriteTx};

use crate::audit::{AuditKeys, Record};

/// The service facade the API and the binary hold. Cheap to clone.
#[derive(Clone)]
pub struct Service {
    store: Store,
    auth: Authenticator,
    audit: std::sync::Arc<AuditKeys>,
    policy: std::sync::Arc<policy::PolicyRuntime>,
    /// Per tenant, a counter bumped after every committed write (see [`Service::data_generation`]).
    denials: std::sync::Arc<audit::DenialLimiter>,
}

impl Service {
    pub fn new(store: Store, auth: AuthConfig, audit: AuditKeys) -> Self {
        let auth = Authenticator::new(auth, store.clone());
        Self {
            store,
            auth,
            audit: std::sync::Arc::new(audit),
            policy: std::sync::Arc::new(policy::PolicyRuntime::new(PolicySettings::default())),
            denials: Default::default(),
        }
    }

    /// Replaces the policy evaluation settings (limits, concurrency).
    pub fn with_policy_settings(mut self, settings: PolicySettings) -> Self {
        self.policy = std::sync::Arc::new(policy::PolicyRuntime::new(settings));
        self
    }

    /// The version of `tenant`'s data as the database holds it: the size of its audit log,
    /// which every write moves inside its own transaction (every mutation, allowed, denied or
    /// failed, appends one event). Read caches key on it, so an answer computed at version `v`
    /// is never served after a write has committed, whichever process or replica wrote. One
    /// primary-key read.
    ///
    /// A future write that is not audited one event at a time (an ingested batch) must move
    /// this version in its transaction too.
    pub async fn data_version(&self, tenant: steward_domain::TenantId) -> ServiceResult<u64> {
        Ok(self.store.audit_size(tenant).await?)
    }

    /// Policy evaluations (and compilations) running right now, in either lane. An operational
    /// figure, and what tests wait on instead of sleeping.
    pub fn policy_evaluations_in_flight(&self) -> usize {
        self.policy.in_flight()
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

impl Service {
    /// Records a denied attempt, coalescing a principal's repeated denials (at most
    /// [`audit::MAX_DENIALS_PER_WINDOW`] events a minute per operation; the next recorded one
    /// carries how many were not).
    pub(crate) async fn record_denial(
        &self,
        principal: &Principal,
        op: Operation,
        mut record: Record,
    ) {
        if let Some(tenant) = principal.tenant_id() {
            match self.denials.admit(tenant, principal.subject(), op) {
                None => return,
                Some(0) => {}
                Some(n) => record.payload["suppressedSinceLast"] = serde_json::json!(n),
            }
        }
        self.record_attempt(principal, op, Outcome::Denied, record)
            .await;
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

/// The caller's tenant scope, after checking `op` is allowed (for reads: denied reads are not
/// audited, only logged).
pub(crate) fn scope_for(principal: &Principal, op: Operation) -> ServiceResult<TenantScope> {
    authorize(principal, op)?;
    principal.scope().ok_or(ServiceError::NotFound("tenant"))
}

/// An authorized mutation not yet holding a transaction: what its audit event needs. Use cases
/// that must do slow work before writing (a policy evaluation) hold an `Attempt` while they work,
/// so no write lock is held meanwhile, then [`Service::open`] it.
pub(crate) struct Attempt<'p> {
    pub scope: TenantScope,
    principal: &'p Principal,
    op: Operation,
    target: (&'static str, String),
}

/// An authorized mutation in progress: the transaction every write of one use case shares, and
/// what its audit event needs.
///
/// Every mutation ends in exactly one audit event: `Service::commit` appends it (outcome ok) in
/// the same transaction, so the change and its record stand or fall together; `Service::fail`
/// drops the transaction and records the failure; `Service::begin` records a denial.
pub(crate) struct Mutation<'p> {
    pub tx: WriteTx,
    pub scope: TenantScope,
    attempt: Attempt<'p>,
}

impl Service {
    /// Checks `op` for `principal`; a denial is recorded in the audit log and returned.
    pub(crate) async fn attempt<'p>(
        &self,
        principal: &'p Principal,
        op: Operation,
        target: (&'static str, String),
    ) -> ServiceResult<Attempt<'p>> {
        if let Err(e) = authorize(principal, op) {
            self.record_denial(principal, op, Record::denial(target.0, &target.1, &e))
                .await;
            return Err(e);
        }
        let scope = principal.scope().ok_or(ServiceError::NotFound("tenant"))?;
        Ok(Attempt {
            scope,
            principal,
            op,
            target,
        })
    }

    /// Opens the write transaction of an authorized attempt.
    pub(crate) async fn open<'p>(&self, attempt: Attempt<'p>) -> ServiceResult<Mutation<'p>> {
        let tx = self.store.begin_write().await?;
        Ok(Mutation {
            tx,
            scope: attempt.scope,
            attempt,
        })
    }

    pub(crate) async fn begin<'p>(
        &self,
        principal: &'p Principal,
        op: Operation,
        target: (&'static str, String),
    ) -> ServiceResult<Mutation<'p>> {
        let attempt = self.attempt(principal, op, target).await?;
        self.open(attempt).await
    }

    /// Appends the mutation's audit event and commits. If the audit write fails, nothing of the
    /// mutation remains (fail closed).
    pub(crate) async fn commit(&self, m: Mutation<'_>, record: Record) -> ServiceResult<()> {
        let tenant = m.scope.tenant_id();
        let principal = m.attempt.principal;
        let event = self.event(
            principal,
            (tenant, principal.tenant_slug()),
            m.attempt.op,
            Outcome::Ok,
            record,
        )?;
        self.append(&m.tx, tenant, event).await?;
        m.tx.commit().await?;
        Ok(())
    }

    /// Abandons the mutation and records why; returns the error for the caller to propagate.
    pub(crate) async fn fail<T>(&self, m: Mutation<'_>, err: ServiceError) -> ServiceResult<T> {
        let Mutation { tx, attempt, .. } = m;
        drop(tx);
        self.reject(attempt, err).await
    }

    /// Records why an attempt failed (before or without its transaction); returns the error.
    pub(crate) async fn reject<T>(&self, a: Attempt<'_>, err: ServiceError) -> ServiceResult<T> {
        let record = Record::failure(a.target.0, &a.target.1, &err);
        self.record_attempt(a.principal, a.op, Outcome::Failed, record)
            .await;
        Err(err)
    }
}
