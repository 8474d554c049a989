//! Online backups of an SQLite database (`steward backup`): `VACUUM INTO` copies a consistent
//! snapshot — one read transaction — into a new file while the server keeps writing, compacted
//! and with no WAL beside it. PostgreSQL is backed up with its own tools (`pg_dump`,
//! docs/operations.md).

use std::path::Path;

use sea_orm::ConnectionTrait;

use crate::sql::stmt;
use crate::{Backend, Store, StoreError, StoreResult};

impl Store {
    /// Writes a consistent copy of the database to `target`, which must not exist; its size in
    /// bytes.
    pub async fn backup_to(&self, target: &Path) -> StoreResult<u64> {
        if self.backend() != Backend::Sqlite {
            return Err(StoreError::Invalid(
                "steward backup copies SQLite databases; back PostgreSQL up with pg_dump (docs/operations.md)".into(),
            ));
        }
        if target.exists() {
            return Err(StoreError::Invalid(format!(
                "{} exists: a backup never overwrites a file",
                target.display()
            )));
        }
        let path = target.to_str().ok_or_else(|| {
            StoreError::Invalid(format!("{}: not a UTF-8 path", target.display()))
        })?;
        self.db
            .execute_raw(stmt(self.db_backend(), "VACUUM INTO $1", vec![path.into()]))
            .await?;
        let size = std::fs::metadata(target)
            .map_err(|e| StoreError::Invalid(format!("{}: {e}", target.display())))?
            .len();
        Ok(size)
    }
}
