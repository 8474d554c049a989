//! Test support (feature `test-support`): a fresh, migrated database per test, seen only through
//! the service, so the crates above (the API, its benchmarks) need not reach the store.
//!
//! SQLite in a temporary directory by default; PostgreSQL when `STEWARD_TEST_PG_URL` is set (see
//! `steward_store::testing`).

use steward_domain::{
    ActionStatus, DecisionRecordId, EdgeRelation, ModelId, ModelVersionId, NodeKind, Principal,
    WindowId,
};
use steward_store::Store;
use steward_store::testing::{ProfileBytes, TestDb};
use uuid::Uuid;

use crate::audit::AuditKeys;
use crate::{AuthConfig, Service, ServiceError, ServiceResult};

/// A database for one test, and services over it.
pub struct TestBackend {
    db: TestDb,
    /// The database as served: on PostgreSQL a role that row security binds.
    app: Store,
}

impl TestBackend {
    /// As `steward serve` runs: work that declared no tenancy sees no tenant's rows, so a
    /// request path that loses its tenant (a spawn that does not carry it) fails the test. A
    /// test calling the service directly declares the tenancy the caller would run in
    /// (`tenancy::within`).
    pub async fn new() -> TestBackend {
        Self::open(false).await
    }

    /// For benchmarks that seed through the service directly: work that declared no tenancy
    /// acts as the system.
    pub async fn seeding() -> TestBackend {
        Self::open(true).await
    }

    async fn open(system: bool) -> TestBackend {
        let db = TestDb::new().await;
        let app = if system {
            Store::connect(&db.app_url).await
        } else {
            Store::connect_serving(&db.app_url).await
        };
        let app = app.expect("open the database as the application role");
        TestBackend { db, app }
    }

    /// A service over this database. Called twice, it gives two services that share nothing but
    /// the database, as two replicas would.
    pub fn service(&self, auth: AuthConfig, audit: AuditKeys) -> Service {
        Service::new(self.app.clone(), auth, audit)
    }

    /// The database URL (a `sqlite://` file or a `postgres://` database of its own).
    pub fn url(&self) -> &str {
        &self.db.url
    }

    pub fn is_postgres(&self) -> bool {
        self.db.url.starts_with("postgres")
    }

    /// Takes migration `first` and every one after it down and up again over the rows the
    /// test wrote.
    pub async fn redo_migrations_since(&self, first: &str) -> ServiceResult<()> {
        self.db
            .redo_migrations_since(first)
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// A raw query's rows as JSON (checks of the schema itself).
    pub async fn query(&self, sql: &str) -> ServiceResult<Vec<serde_json::Value>> {
        self.db
            .query(sql)
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// Seeds a large lineage graph in the principal's tenant in bulk, bypassing the registry
    /// (benchmarks of the lineage walk on 100,000 nodes; nothing is audited).
    pub async fn import_lineage(
        &self,
        principal: &Principal,
        nodes: &[(Uuid, NodeKind, String)],
        edges: &[(Uuid, Uuid, EdgeRelation)],
    ) -> ServiceResult<()> {
        let scope = principal
            .scope()
            .ok_or_else(|| ServiceError::Invalid("seeding lineage needs a tenant".into()))?;
        Ok(self.db.store.import_lineage(&scope, nodes, edges).await?)
    }

    /// Seeds `hours` evaluated hourly windows of a model version in bulk, with drift reports of
    /// `features` per slice and performance estimates (benchmarks of the drift page at 90 days;
    /// nothing is audited).
    pub async fn import_windows(
        &self,
        principal: &Principal,
        version: (ModelId, ModelVersionId),
        first_end: chrono::DateTime<chrono::Utc>,
        hours: usize,
        slices: &[&str],
        features: &[&str],
    ) -> ServiceResult<()> {
        let scope = principal
            .scope()
            .ok_or_else(|| ServiceError::Invalid("seeding windows needs a tenant".into()))?;
        Ok(self
            .db
            .store
            .import_windows(&scope, version, first_end, hours, slices, features)
            .await?)
    }

    /// Seeds `n` pending alerts of a model version for `target` in the principal's tenant in
    /// bulk, bypassing the policy that would decide them (benchmarks of the relay on a backlog;
    /// nothing is audited). Each alert stands alone (no incident), as many models' would.
    pub async fn import_alerts(
        &self,
        principal: &Principal,
        version: (ModelId, ModelVersionId),
        decision: DecisionRecordId,
        target: &str,
        n: usize,
    ) -> ServiceResult<()> {
        let scope = principal
            .scope()
            .ok_or_else(|| ServiceError::Invalid("seeding actions needs a tenant".into()))?;
        let payload = serde_json::json!({"severity": "warning", "summary": "bench alert",
            "channel": target});
        let at = chrono::Utc::now();
        let store = &self.db.store;
        for chunk in 0..n.div_ceil(1_000) {
            let tx = store.begin_write().await?;
            for _ in 0..(n - chunk * 1_000).min(1_000) {
                let new = steward_store::NewAction {
                    version,
                    decision: Some(decision),
                    deployment: None,
                    incident: None,
                    window: None,
                    kind: "alert",
                    payload: &payload,
                    target: Some(target),
                    status: ActionStatus::Pending,
                    error: None,
                    at,
                };
                store.insert_action(&tx, &scope, new).await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    /// Encoded sizes of a window's stored profiles in the principal's tenant: its parts (one per
    /// batch and slice, until it is evaluated) and its evaluated slices, as `(slice, rows, bytes)`
    /// (benchmarks of what a profile costs to store).
    pub async fn profile_bytes(
        &self,
        principal: &Principal,
        window: WindowId,
    ) -> ServiceResult<ProfileBytes> {
        let scope = principal
            .scope()
            .ok_or_else(|| ServiceError::Invalid("profile sizes need a tenant".into()))?;
        self.db
            .profile_bytes(&scope, window)
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// Runs raw SQL against the database (to break things on purpose: fault injection).
    pub async fn execute(&self, sql: &str) -> Result<(), String> {
        self.db.execute(sql).await.map_err(|e| e.to_string())
    }
}
