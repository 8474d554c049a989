//! The relay's claim walks pending actions oldest first and stops at its batch: an index on
//! (status, created_at, id) lets it do so without sorting every pending row, which m0008's
//! (status, next_attempt_at) index did not (a 100,000-row backlog drained at a quarter of the
//! rate; docs/performance.md). m0008's index is replaced.

use sea_orm_migration::prelude::*;

use crate::m0001_registry::index;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0009_outbox_queue"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_outbox_actions_due")
                .table("outbox_actions")
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "outbox_actions",
            "ix_outbox_actions_queue",
            &["status", "created_at", "id"],
            false,
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_outbox_actions_queue")
                .table("outbox_actions")
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "outbox_actions",
            "ix_outbox_actions_due",
            &["status", "next_attempt_at"],
            false,
        ))
        .await
    }
}
