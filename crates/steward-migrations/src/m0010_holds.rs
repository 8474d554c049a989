//! Holds on a model's automatic retraining and rollback (docs/outbox.md, "Holds"). A hold is
//! placed and later lifted (or expires); rows are never deleted, so the history of holds is the
//! table.

use sea_orm_migration::prelude::*;

use crate::m0001_registry::{id, index, text, text_null, time, time_null, uuid};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0010_holds"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("model_holds")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(uuid("model_id"))
                .col(text("reason"))
                .col(text("placed_by"))
                .col(time("placed_at"))
                .col(time_null("until"))
                .col(text_null("lifted_by"))
                .col(time_null("lifted_at"))
                .col(text_null("lift_reason"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "model_holds",
            "ix_model_holds_model",
            &["tenant_id", "model_id", "placed_at"],
            false,
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("model_holds").take())
            .await
    }
}
