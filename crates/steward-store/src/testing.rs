//! Test support (feature `test-support`): a fresh, migrated database per test.
//!
//! SQLite by default (a file in a temporary directory, so WAL really applies). When
//! `STEWARD_TEST_PG_URL` names a PostgreSQL server (an admin connection URL), every test gets its
//! own new database on it instead. `STEWARD_TEST_BACKEND=postgres` makes a missing or unreachable
//! server a test failure rather than a silent fall-back to SQLite, which is how CI runs it.

use crate::Store;

/// A migrated store plus whatever keeps it alive (the temporary directory for SQLite).
pub struct TestDb {
    /// The database as its owner, which migrated it (on PostgreSQL the superuser the tests were
    /// given, which row security does not bind): the store's own tests and raw fixtures.
    pub store: Store,
    pub url: String,
    /// The database as `steward serve` should reach it: on PostgreSQL as [`APP_ROLE`], which
    /// owns nothing, was granted what [`Store::grant_to`] grants, and is bound by row security;
    /// on SQLite the same file as `url`.
    pub app_url: String,
    _dir: Option<tempfile::TempDir>,
}

/// The PostgreSQL role tests serve as (created on first use, password the same as its name).
pub const APP_ROLE: &str = "steward_app";

impl TestDb {
    pub async fn new() -> TestDb {
        let want_pg = std::env::var("STEWARD_TEST_BACKEND").is_ok_and(|b| b == "postgres");
        match std::env::var("STEWARD_TEST_PG_URL") {
            Ok(admin_url) => Self::postgres(&admin_url).await,
            Err(_) if want_pg => panic!(
                "STEWARD_TEST_BACKEND=postgres but STEWARD_TEST_PG_URL is not set: \
                 set it to an admin URL such as postgres://postgres@127.0.0.1:5432/postgres"
            ),
            Err(_) => Self::sqlite().await,
        }
    }

    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
        let store = Store::connect(&url).await.expect("open SQLite");
        store.migrate().await.expect("migrate SQLite");
        TestDb {
            store,
            app_url: url.clone(),
            url,
            _dir: Some(dir),
        }
    }

    /// Runs raw SQL against the test database (to break things on purpose: fault injection).
    pub async fn execute(&self, sql: &str) -> Result<(), sea_orm::DbErr> {
        use sea_orm::{ConnectionTrait, Statement};
        let backend = self.store.db_backend();
        self.store
            .db
            .execute_raw(Statement::from_string(backend, sql.to_string()))
            .await
            .map(|_| ())
    }

    /// Takes migration `first` and every one after it down and up again: what an upgrade to
    /// them does to the rows already there, whatever migrations come later.
    pub async fn redo_migrations_since(&self, first: &str) -> Result<(), sea_orm::DbErr> {
        use steward_migrations::{Migrator, MigratorTrait};
        let names: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().to_string())
            .collect();
        let at = names
            .iter()
            .position(|n| n == first)
            .ok_or_else(|| sea_orm::DbErr::Custom(format!("no migration {first}")))?;
        let n = u32::try_from(names.len() - at).unwrap_or(u32::MAX);
        self.redo_last_migrations(n).await
    }

    /// Takes the newest `n` migrations down and up again: on a database holding rows, what an
    /// upgrade to them does to them (m0013 rebuilds the outbox on SQLite).
    pub async fn redo_last_migrations(&self, n: u32) -> Result<(), sea_orm::DbErr> {
        use steward_migrations::{Migrator, MigratorTrait};
        Migrator::down(&self.store.db, Some(n)).await?;
        Migrator::up(&self.store.db, None).await
    }

    /// The rows of a raw query as JSON objects (checks of the schema itself).
    pub async fn query(&self, sql: &str) -> Result<Vec<serde_json::Value>, sea_orm::DbErr> {
        query(&self.store, sql).await
    }

    async fn postgres(admin_url: &str) -> TestDb {
        use sea_orm::{ConnectionTrait, Database, Statement};
        let admin = Database::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at STEWARD_TEST_PG_URL: {e}"));
        // Named by creation time, so each new test database drops those left by runs more than
        // six hours old (a test database is never dropped by its own test, for inspection, and
        // thousands of them once slowed the server's start to minutes).
        let now = chrono::Utc::now().timestamp();
        let name = format!("steward_test_{now}_{}", uuid::Uuid::new_v4().simple());
        let backend = admin.get_database_backend();
        let stale = admin
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT datname FROM pg_database WHERE datname LIKE 'steward\\_test\\_%'",
            ))
            .await
            .unwrap_or_default();
        for row in stale {
            let Ok(old) = row.try_get::<String>("", "datname") else {
                continue;
            };
            let made = old
                .strip_prefix("steward_test_")
                .and_then(|r| r.split('_').next())
                .and_then(|t| t.parse::<i64>().ok());
            if made.is_none_or(|t| now - t > 6 * 3600) {
                // In use by a running test: the drop fails and the database stays.
                let _ = admin
                    .execute_raw(Statement::from_string(
                        backend,
                        format!("DROP DATABASE IF EXISTS \"{old}\""),
                    ))
                    .await;
            }
        }
        admin
            .execute_raw(Statement::from_string(
                admin.get_database_backend(),
                format!("CREATE DATABASE {name}"),
            ))
            .await
            .expect("create test database");
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(admin_url);
        let url = format!("{base}/{name}");
        let store = Store::connect(&url).await.expect("open PostgreSQL");
        store.migrate().await.expect("migrate PostgreSQL");
        // A role is the cluster's, not the database's: every test database shares it, and
        // tests racing to create it may see either error.
        admin
            .execute_raw(Statement::from_string(
                backend,
                format!(
                    "DO $$ BEGIN CREATE ROLE {APP_ROLE} LOGIN PASSWORD '{APP_ROLE}'; \
                     EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
                ),
            ))
            .await
            .expect("create the application role");
        store
            .grant_to(APP_ROLE)
            .await
            .expect("grant the application role");
        let host = base
            .split_once('@')
            .map(|(_, h)| h)
            .or_else(|| base.split_once("://").map(|(_, h)| h))
            .unwrap_or(base);
        let app_url = format!("postgres://{APP_ROLE}:{APP_ROLE}@{host}/{name}");
        TestDb {
            store,
            url,
            app_url,
            _dir: None,
        }
    }
}

/// Encoded sizes of a window's stored profiles: its parts (one per batch and slice, until the
/// window is evaluated) and its evaluated slices, as `(slice, rows, bytes)` (benchmarks of
/// profile size).
pub type ProfileBytes = (Vec<(String, i64, usize)>, Vec<(String, i64, usize)>);

impl TestDb {
    pub async fn profile_bytes(
        &self,
        scope: &steward_domain::TenantScope,
        window: steward_domain::WindowId,
    ) -> Result<ProfileBytes, sea_orm::DbErr> {
        use crate::entities::{window_parts as p, window_slices as s};
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        let tenant = scope.tenant_id().as_uuid();
        let parts = p::Entity::find()
            .filter(p::Column::TenantId.eq(tenant))
            .filter(p::Column::WindowId.eq(window.as_uuid()))
            .order_by_asc(p::Column::Slice)
            .all(&self.store.db)
            .await?
            .into_iter()
            .map(|r| (r.slice, r.rows, r.profile.len()))
            .collect();
        let slices = s::Entity::find()
            .filter(s::Column::TenantId.eq(tenant))
            .filter(s::Column::WindowId.eq(window.as_uuid()))
            .order_by_asc(s::Column::Slice)
            .all(&self.store.db)
            .await?
            .into_iter()
            .map(|r| (r.slice, r.rows, r.profile.map_or(0, |b| b.len())))
            .collect();
        Ok((parts, slices))
    }
}

/// The rows of a raw query through `store` as JSON objects (with the running task's tenancy,
/// for checks of row security).
pub async fn query(store: &Store, sql: &str) -> Result<Vec<serde_json::Value>, sea_orm::DbErr> {
    use sea_orm::{ConnectionTrait, FromQueryResult, JsonValue, Statement};
    let rows = store
        .db
        .query_all_raw(Statement::from_string(store.db_backend(), sql.to_string()))
        .await?;
    rows.iter()
        .map(|r| JsonValue::from_query_result(r, ""))
        .collect()
}
