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
    generations:
        std::sync::Arc<std::sync::Mutex<std::collections::HashMap<steward_domain::TenantId, u64>>>,
}

impl Service {
    pub fn new(store: Store, auth: AuthConfig, audit: AuditKeys) -> Self {
        let auth = Authenticator::new(auth, store.clone());
        Self {
            store,
            auth,
            audit: std::sync::Arc::new(audit),
            policy: std::sync::Arc::new(policy::PolicyRuntime::new(PolicySettings::default())),
            generations: Default::default(),
        }
    }

    /// Replaces the policy evaluation settings (limits, concurrency).
    pub fn with_policy_settings(mut self, settings: PolicySettings) -> Self {
        self.policy = std::sync::Arc::new(policy::PolicyRuntime::new(settings));
        self
    }

    /// A number that changes whenever this process commits a write to `tenant`'s data (registry
    /// or audit log). Read caches key on it: an answer computed at generation `g` is valid until
    /// the generation moves. Writes by other processes (several replicas on PostgreSQL) do not
    /// move it, so such caches must stay off there.
    pub fn data_generation(&self, tenant: steward_domain::TenantId) -> u64 {
        self.generations
            .lock()
            .map(|g| g.get(&tenant).copied().unwrap_or(0))
            .unwrap_or(u64::MAX)
    }

    /// Called after (never before) a commit, so that no reader can cache pre-commit data under
    /// the new generation.
    pub(crate) fn bump_generation(&self, tenant: steward_domain::TenantId) {
        if let Ok(mut g) = self.generations.lock() {
            *g.entry(tenant).or_insert(0) += 1;
        }
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
            let payload = serde_json::json!({"reason": e.to_string()});
            self.record_attempt(
                principal,
                op,
                Outcome::Denied,
                Record::new(target.0, &target.1, payload),
            )
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
        self.bump_generation(tenant);
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
        let payload =
            serde_json::json!({"error": {"code": err.code(), "message": err.to_string()}});
        self.record_attempt(
            a.principal,
            a.op,
            Outcome::Failed,
            Record::new(a.target.0, &a.target.1, payload),
        )
        .await;
        Err(err)
    }
}
