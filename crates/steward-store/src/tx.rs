//! The one way to write: a [`WriteTx`] opened by [`Store::begin_write`], committed explicitly,
//! rolled back when dropped.
//!
//! On SQLite the transaction starts `IMMEDIATE`, taking the write lock up front: two deferred
//! transactions that both read and then write would otherwise deadlock and one would fail with
//! SQLITE_BUSY instead of waiting.

use sea_orm::{DatabaseTransaction, SqliteTransactionMode, TransactionOptions, TransactionTrait};

use crate::{Store, StoreResult};

/// An open write transaction. Every mutation of the store goes through one.
pub struct WriteTx {
    pub(crate) txn: DatabaseTransaction,
    pub(crate) backend: sea_orm::DbBackend,
}

impl Store {
    pub async fn begin_write(&self) -> StoreResult<WriteTx> {
        let txn = self
            .db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await?;
        Ok(WriteTx {
            txn,
            backend: self.db_backend(),
        })
    }
}

impl WriteTx {
    /// Makes every write of this transaction durable at once.
    pub async fn commit(self) -> StoreResult<()> {
        self.txn.commit().await?;
        Ok(())
    }
}
