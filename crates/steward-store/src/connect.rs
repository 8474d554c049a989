//! Opening the database: SQLite with durable settings by default, PostgreSQL for production.

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement,
};
use steward_migrations::{Migrator, MigratorTrait};

use crate::StoreResult;

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
}

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://...`).
    ///
    /// SQLite is opened in WAL mode with `synchronous=FULL` (an acknowledged write survives a
    /// power cut, not only a process crash), foreign keys on, and a busy timeout so concurrent
    /// writers wait instead of failing.
    pub async fn connect(url: &str) -> StoreResult<Store> {
        let mut opts = ConnectOptions::new(url.to_string());
        opts.sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(10));
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            // A pooled connection is pinged before use only after sitting idle, when the server
            // may have dropped it; a ping per query would double the round trips.
            opts.max_connections(16)
                .test_before_acquire_if_idle_for(Duration::from_secs(30));
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
        let db = Database::connect(opts).await?;
        Ok(Store { db, backend })
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> StoreResult<()> {
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    /// Names of migrations not yet applied (for `/readyz`).
    pub async fn pending_migrations(&self) -> StoreResult<Vec<String>> {
        Ok(Migrator::get_pending_migrations(&self.db)
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
