//! The one mutation path. Every use case that changes state goes through
//! [`Service::mutate`] (authorize, open the write transaction, run the change, append the audit
//! event, commit; or audit the denial or the failure), or, when it must do slow work before
//! writing (a policy evaluation, a compilation), through [`Service::attempt`] then
//! [`Service::complete`]. The transaction, the commit and the failure path are private to this
//! module, so no other code of the crate can commit a change without its audit event.
//! (`create_tenant` is the one exception: its event opens the new tenant's own log, so it
//! appends in its own transaction in `registry.rs`.)

use std::sync::Arc;

use steward_audit::Outcome;
use steward_domain::{Operation, Principal, TenantScope};
use steward_store::WriteTx;

use crate::audit::Record;
use crate::{Service, ServiceError, ServiceResult, authorize};

/// An authorized mutation not yet holding a transaction: what its audit event needs. Use cases
/// that must do slow work before writing (a policy evaluation) hold an `Attempt` while they work,
/// so no write lock is held meanwhile, then [`Service::open`] it.
pub(crate) struct Attempt<'p> {
    pub scope: TenantScope,
    principal: &'p Principal,
    op: Operation,
    target: (&'static str, String),
}

/// What the change of a [`Service::mutate`] gets: the mutation's write transaction and the
/// caller's tenant scope. The handle must not outlive the change (the commit takes the
/// transaction back).
pub(crate) struct Writes {
    pub tx: Arc<WriteTx>,
    pub scope: TenantScope,
}

/// An authorized mutation in progress: the transaction every write of one use case shares, and
/// what its audit event needs.
///
/// Every mutation ends in exactly one audit event: `Service::commit` appends it (outcome ok) in
/// the same transaction, so the change and its record stand or fall together; `Service::fail`
/// drops the transaction and records the failure; `Service::begin` records a denial.
struct Mutation<'p> {
    pub tx: Arc<WriteTx>,
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
    async fn open<'p>(&self, attempt: Attempt<'p>) -> ServiceResult<Mutation<'p>> {
        let tx = self.store.begin_write().await?;
        Ok(Mutation {
            tx: Arc::new(tx),
            scope: attempt.scope,
            attempt,
        })
    }

    async fn begin<'p>(
        &self,
        principal: &'p Principal,
        op: Operation,
        target: (&'static str, String),
    ) -> ServiceResult<Mutation<'p>> {
        let attempt = self.attempt(principal, op, target).await?;
        self.open(attempt).await
    }

    /// The one mutation path: authorizes `op` (a denial is audited), opens the write
    /// transaction, runs `change` in it, and either appends the audit event `change` returns and
    /// commits (outcome ok), or drops the transaction and audits the failure. Every mutation of
    /// a use case goes through here or, when it must do slow work before writing (a policy
    /// evaluation), through [`Service::attempt`] / [`Service::open`] and the same commit.
    pub(crate) async fn mutate<T, F, Fut>(
        &self,
        principal: &Principal,
        op: Operation,
        target: (&'static str, String),
        change: F,
    ) -> ServiceResult<T>
    where
        F: FnOnce(Writes) -> Fut,
        Fut: std::future::Future<Output = ServiceResult<(T, Record)>>,
    {
        let m = self.begin(principal, op, target).await?;
        self.finish(m, change).await
    }

    /// Opens the write transaction of an authorized attempt, runs `change` in it and commits or
    /// fails it, as [`Service::mutate`] does.
    pub(crate) async fn complete<T, F, Fut>(&self, a: Attempt<'_>, change: F) -> ServiceResult<T>
    where
        F: FnOnce(Writes) -> Fut,
        Fut: std::future::Future<Output = ServiceResult<(T, Record)>>,
    {
        let m = self.open(a).await?;
        self.finish(m, change).await
    }

    /// Runs `change` in an opened mutation and commits or fails it (see [`Service::mutate`]).
    async fn finish<T, F, Fut>(&self, m: Mutation<'_>, change: F) -> ServiceResult<T>
    where
        F: FnOnce(Writes) -> Fut,
        Fut: std::future::Future<Output = ServiceResult<(T, Record)>>,
    {
        let writes = Writes {
            tx: Arc::clone(&m.tx),
            scope: m.scope,
        };
        match change(writes).await {
            Ok((value, record)) => {
                self.commit(m, record).await?;
                Ok(value)
            }
            Err(e) => self.fail(m, e).await,
        }
    }

    /// Appends the mutation's audit event and commits. If the audit write fails, nothing of the
    /// mutation remains (fail closed).
    async fn commit(&self, m: Mutation<'_>, record: Record) -> ServiceResult<()> {
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
        let tx = Arc::try_unwrap(m.tx).map_err(|_| {
            ServiceError::Internal("a write transaction outlived its mutation".into())
        })?;
        tx.commit().await?;
        self.metrics.mutation(m.attempt.op.as_str(), "ok");
        Ok(())
    }

    /// Abandons the mutation and records why; returns the error for the caller to propagate. A
    /// rule on the resource that refused the change (checked once the resource is loaded) is a
    /// denial, recorded as such.
    async fn fail<T>(&self, m: Mutation<'_>, err: ServiceError) -> ServiceResult<T> {
        let Mutation { tx, attempt, .. } = m;
        drop(tx);
        if matches!(err, ServiceError::Forbidden { .. }) {
            let (kind, id) = (attempt.target.0, attempt.target.1.as_str());
            self.record_denial(
                attempt.principal,
                attempt.op,
                Record::denial(kind, id, &err),
            )
            .await;
            return Err(err);
        }
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
