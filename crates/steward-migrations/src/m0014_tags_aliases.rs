//! Key-value tags of models and versions, and aliases with their history (the MLflow-compatible
//! API and GraphQL). A tag is metadata that changes (its history is the audit log); an alias is
//! a name for a version whose every move is kept: set, moved and removed rows, never updated but
//! to record the removal. An endpoint may name the alias that follows its champion.

use sea_orm_migration::prelude::*;

use crate::m0001_registry::{big, id, index, text, text_null, time, time_null, uuid};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0014_tags_aliases"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("registry_tags")
                .col(uuid("tenant_id"))
                .col(uuid("model_id"))
                // 0 for a tag of the model itself.
                .col(big("version"))
                .col(text("key"))
                .col(text("value"))
                .col(text("updated_by"))
                .col(time("updated_at"))
                .primary_key(Index::create().col("model_id").col("version").col("key"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("model_aliases")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(uuid("model_id"))
                .col(text("alias"))
                .col(big("version"))
                .col(text("set_by"))
                .col(time("set_at"))
                .col(text_null("removed_by"))
                .col(time_null("removed_at"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "model_aliases",
            "ix_model_aliases_model",
            &["tenant_id", "model_id", "alias", "set_at"],
            false,
        ))
        .await?;
        m.alter_table(
            Table::alter()
                .table("endpoints")
                .add_column(text_null("champion_alias"))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("endpoints")
                .drop_column("champion_alias")
                .take(),
        )
        .await?;
        for t in ["model_aliases", "registry_tags"] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
