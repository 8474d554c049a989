//! Which tenant's rows the running task may touch, for PostgreSQL's row-level security (m0019):
//! the second wall behind every query's own `tenant_id` filter.
//!
//! The tenancy lives in a task-local. The API enters the caller's tenant as soon as it has
//! authenticated them; Steward's system actors run their cross-tenant passes (the scheduler's
//! due scan, the relay's claim, the metrics scrape) [`within`] [`Tenancy::System`], and each
//! tenant's share of such a pass within that tenant. The store's pool writes the tenancy into
//! the `steward.tenant` setting of every connection it hands out (`connect.rs`), and the
//! policies compare each row's `tenant_id` with it.
//!
//! A task that declared nothing gets the store's [`Store::unscoped`](crate::Store) tenancy:
//! [`Tenancy::Nobody`] for `steward serve`, so a path that forgot to declare itself reads
//! nothing and writes nothing instead of everything; [`Tenancy::System`] for the command-line
//! tools and test fixtures, which act for the operator. `tokio::spawn` does not carry
//! task-locals: code that spawns work for a request passes [`current`] along (the GraphQL
//! handler does).

use std::cell::Cell;
use std::future::Future;

use steward_domain::TenantId;

/// Whose rows a task may see and write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tenancy {
    /// No tenant's: a request not (yet) authenticated, or a path that declared nothing.
    Nobody,
    /// One tenant's.
    Tenant(TenantId),
    /// Every tenant's: Steward's own system actors, migrations, the operator's tools.
    System,
}

impl Tenancy {
    /// The value of `steward.tenant` the row policies read.
    pub(crate) fn setting(self) -> String {
        match self {
            Tenancy::Nobody => String::new(),
            Tenancy::Tenant(t) => t.to_string(),
            Tenancy::System => "*".to_string(),
        }
    }

    /// The tenancy of a principal's tenant, or nobody's for a principal without one.
    pub fn of(tenant: Option<TenantId>) -> Tenancy {
        tenant.map_or(Tenancy::Nobody, Tenancy::Tenant)
    }
}

tokio::task_local! {
    static CURRENT: Cell<Tenancy>;
}

/// Runs `work` with `tenancy` (nested scopes replace the outer one until they end).
pub async fn within<F: Future>(tenancy: Tenancy, work: F) -> F::Output {
    CURRENT.scope(Cell::new(tenancy), work).await
}

/// Changes the tenancy of the scope the task is running in, from here on: the API's
/// authentication narrows a request's `Nobody` to the caller's tenant. False when the task runs
/// in no scope (nothing changes).
pub fn enter(tenancy: Tenancy) -> bool {
    CURRENT.try_with(|c| c.set(tenancy)).is_ok()
}

/// `tokio::spawn` carrying the running task's tenancy into the new task (task-locals do not
/// cross a spawn by themselves; a task that declared none passes on nobody's).
pub fn spawn<F>(work: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(within(current().unwrap_or(Tenancy::Nobody), work))
}

/// The running task's declared tenancy, if it declared one.
pub fn current() -> Option<Tenancy> {
    CURRENT.try_with(Cell::get).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn scopes_nest_and_authentication_narrows_the_one_it_runs_in() {
        assert_eq!(current(), None);
        assert!(!enter(Tenancy::System), "no scope to change");
        let t = TenantId::generate();
        within(Tenancy::Nobody, async {
            assert_eq!(current(), Some(Tenancy::Nobody));
            assert!(enter(Tenancy::Tenant(t)));
            assert_eq!(current(), Some(Tenancy::Tenant(t)));
            within(Tenancy::System, async {
                assert_eq!(current(), Some(Tenancy::System));
            })
            .await;
            assert_eq!(current(), Some(Tenancy::Tenant(t)));
            // A spawned task carries nothing over, unless spawned through `spawn`.
            let spawned = tokio::spawn(async { current() }).await.unwrap();
            assert_eq!(spawned, None);
            let carried = spawn(async { current() }).await.unwrap();
            assert_eq!(carried, Some(Tenancy::Tenant(t)));
        })
        .await;
        assert_eq!(current(), None);
        assert_eq!(Tenancy::of(None).setting(), "");
        assert_eq!(Tenancy::of(Some(t)).setting(), t.to_string());
        assert_eq!(Tenancy::System.setting(), "*");
    }
}
