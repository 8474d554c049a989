//! Opening the database: SQLite with durable settings by default, PostgreSQL for production.

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};
use steward_migrations::{Migrator, MigratorTrait};

use crate::StoreResult;
use crate::tenancy::{self, Tenancy};

/// Which engine a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The handle every repository method hangs off. Cheap to clone (a pool inside).
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: DatabaseConnection,
    pub(crate) backend: Backend,
    unscoped: Tenancy,
}

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://...`) for the operator's tools
    /// and test fixtures: work that declared no [`Tenancy`] acts as the system, across tenants.
    ///
    /// SQLite is opened in WAL mode with `synchronous=FULL` (an acknowledged write survives a
    /// power cut, not only a process crash), foreign keys on, and a busy timeout so concurrent
    /// writers wait instead of failing.
    pub async fn connect(url: &str) -> StoreResult<Store> {
        Self::open(url, Tenancy::System, true).await
    }

    /// Connects to `url` for serving requests: work that declared no [`Tenancy`] sees no
    /// tenant's rows on PostgreSQL (row-level security), so a path that forgot to declare
    /// itself fails closed.
    pub async fn connect_serving(url: &str) -> StoreResult<Store> {
        Self::open(url, Tenancy::Nobody, true).await
    }

    /// Without the pool hooks that set `steward.tenant`: the store as it was before row-level
    /// security, for the benchmark that measures what the hooks cost (`benches/tenancy.rs`).
    #[cfg(feature = "test-support")]
    pub async fn connect_without_tenancy_hooks(url: &str) -> StoreResult<Store> {
        Self::open(url, Tenancy::System, false).await
    }

    async fn open(url: &str, unscoped: Tenancy, hooks: bool) -> StoreResult<Store> {
        let mut opts = ConnectOptions::new(url.to_string());
        opts.sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(10));
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            opts.max_connections(16);
            if hooks {
                // Setting the tenant is a round trip on every acquire already: a connection the
                // server dropped fails it and is replaced, so no ping is needed besides.
                opts.test_before_acquire(false);
                tenancy_hooks(&mut opts, unscoped);
            } else {
                // Pinged before use only after sitting idle, when the server may have dropped
                // it; a ping per query would double the round trips.
                opts.test_before_acquire_if_idle_for(Duration::from_secs(30));
            }
            Backend::Postgres
        } else {
            prepare_sqlite_file(url)?;
            // A local file cannot drop a connection: no ping before each use.
            opts.max_connections(8)
                .test_before_acquire(false)
                .map_sqlx_sqlite_opts(|o| {
                    o.journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Full)
                        .foreign_keys(true)
                        .busy_timeout(Duration::from_secs(10))
                        .create_if_missing(true)
                });
            Backend::Sqlite
        };
        let db = tenancy::within(unscoped, Database::connect(opts)).await?;
        Ok(Store {
            db,
            backend,
            unscoped,
        })
    }

    /// What work that declared no tenancy may see (see [`tenancy`](crate::tenancy)).
    pub fn unscoped(&self) -> Tenancy {
        self.unscoped
    }

    /// Applies every pending migration (across every tenant's rows: a migration that moves data
    /// must see all of them).
    pub async fn migrate(&self) -> StoreResult<()> {
        tenancy::within(Tenancy::System, Migrator::up(&self.db, None)).await?;
        Ok(())
    }

    /// Lets PostgreSQL role `role` (the one `steward serve` connects as, when migrations run as
    /// the tables' owner) read and write every table, and read which migrations ran. It may not
    /// change the schema, and row security binds it like everyone. Nothing on SQLite.
    pub async fn grant_to(&self, role: &str) -> StoreResult<()> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        let role = quote_ident(role)?;
        for sql in [
            format!("GRANT USAGE ON SCHEMA public TO {role}"),
            format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"
            ),
            format!("REVOKE INSERT, UPDATE, DELETE ON seaql_migrations FROM {role}"),
            format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"),
        ] {
            self.db
                .execute_raw(Statement::from_string(DbBackend::Postgres, sql))
                .await?;
        }
        Ok(())
    }

    /// True when the connected PostgreSQL role escapes row-level security (a superuser, or a
    /// role with BYPASSRLS): tenant isolation then rests on the store's filters alone.
    pub async fn row_security_bypassed(&self) -> StoreResult<bool> {
        if self.backend != Backend::Postgres {
            return Ok(false);
        }
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT rolsuper OR rolbypassrls AS bypass FROM pg_roles WHERE rolname = current_user",
            ))
            .await?;
        Ok(match row {
            Some(r) => r.try_get::<bool>("", "bypass")?,
            None => false,
        })
    }

    /// Names of migrations not yet applied (for `/readyz`, and `steward serve` deciding whether
    /// to migrate). Reads only: a role without rights on the schema may ask.
    pub async fn pending_migrations(&self) -> StoreResult<Vec<String>> {
        Ok(Migrator::get_pending_migrations_read_only(&self.db)
            .await?
            .iter()
            .map(|m| m.name().to_string())
            .collect())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> StoreResult<()> {
        self.db.ping().await?;
        Ok(())
    }

    /// Reads a SQLite pragma back (`journal_mode`, `synchronous`, `foreign_keys`), so tests and
    /// `/readyz` can prove the durability settings are really in force. `None` on PostgreSQL.
    pub async fn sqlite_pragma(&self, name: &str) -> StoreResult<Option<String>> {
        if self.backend != Backend::Sqlite
            || !name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        {
            return Ok(None);
        }
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                format!("PRAGMA {name}"),
            ))
            .await?;
        let Some(row) = row else { return Ok(None) };
        let value = row
            .try_get_by_index::<String>(0)
            .or_else(|_| row.try_get_by_index::<i64>(0).map(|v| v.to_string()))?;
        Ok(Some(value))
    }

    pub(crate) fn db_backend(&self) -> DbBackend {
        match self.backend {
            Backend::Sqlite => DbBackend::Sqlite,
            Backend::Postgres => DbBackend::Postgres,
        }
    }
}

/// Every connection handed out carries the acquiring task's tenancy: a pooled one is told
/// before it is handed out, a new one as it opens. Both hooks run in the acquiring task, so
/// they read its task-local.
fn tenancy_hooks(opts: &mut ConnectOptions, unscoped: Tenancy) {
    opts.map_sqlx_postgres_before_acquire(move |conn, _| {
        let setting = tenancy_setting(unscoped);
        Box::pin(async move { set_tenancy(conn, setting).await.map(|()| true) })
    });
    opts.map_sqlx_postgres_pool_opts(move |pool| {
        pool.after_connect(move |conn, _| {
            let setting = tenancy_setting(unscoped);
            Box::pin(set_tenancy(conn, setting))
        })
    });
}

/// The `steward.tenant` setting for the running task: its declared tenancy, else `unscoped`.
fn tenancy_setting(unscoped: Tenancy) -> String {
    tenancy::current().unwrap_or(unscoped).setting()
}

async fn set_tenancy(
    conn: &mut sea_orm::sqlx::PgConnection,
    setting: String,
) -> Result<(), sea_orm::sqlx::Error> {
    sea_orm::sqlx::query("SELECT set_config('steward.tenant', $1, false)")
        .bind(setting)
        .execute(conn)
        .await
        .map(|_| ())
}

/// The role a PostgreSQL URL connects as (`postgres://role:secret@host/db`).
pub fn role_of(url: &str) -> StoreResult<String> {
    use std::str::FromStr;
    let opts = sea_orm::sqlx::postgres::PgConnectOptions::from_str(url).map_err(|e| {
        crate::StoreError::Invalid(format!("database URL is not a PostgreSQL URL: {e}"))
    })?;
    Ok(opts.get_username().to_string())
}

/// `name` as a quoted PostgreSQL identifier; only plain role names are accepted.
fn quote_ident(name: &str) -> StoreResult<String> {
    let plain = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !plain {
        return Err(crate::StoreError::Invalid(format!(
            "{name:?} is not a role name Steward grants to (letters, digits, '_' and '-', at most 63)"
        )));
    }
    Ok(format!("\"{name}\""))
}

/// Makes the SQLite database file private before SQLite opens it: created empty with mode 0600
/// (SQLite gives its `-wal`, `-shm` and `-journal` files the database file's mode), in a
/// directory created 0700 when it does not exist yet. An existing database, or one of its side
/// files, readable by group or others is narrowed to 0600 with a warning. In-memory databases
/// have no file.
fn prepare_sqlite_file(url: &str) -> StoreResult<()> {
    use std::str::FromStr;
    let opts = sea_orm::sqlx::sqlite::SqliteConnectOptions::from_str(url).map_err(|e| {
        crate::StoreError::Invalid(format!("database URL is not a SQLite URL: {e}"))
    })?;
    let path = opts.get_filename();
    if url.contains("mode=memory")
        || path.as_os_str().is_empty()
        || path == std::path::Path::new(":memory:")
    {
        return Ok(());
    }
    private_file(path).map_err(|e| crate::StoreError::File {
        path: path.display().to_string(),
        detail: e.to_string(),
    })
}

#[cfg(unix)]
fn private_file(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let name = path.as_os_str().to_os_string();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = name.clone();
        file.push(suffix);
        let file = std::path::PathBuf::from(file);
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & 0o700))?;
            tracing::warn!(
                file = %file.display(),
                was = format!("{:o}", mode & 0o777),
                "database file was readable by other users; narrowed to owner only"
            );
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn private_file(_path: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}
