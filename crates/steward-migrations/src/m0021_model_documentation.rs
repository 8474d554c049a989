//! A model's documentation as its owners write it for the compliance report: intended use,
//! limitations, human oversight. Versioned like everything else: every edit is a new revision
//! (append-only; the report shows the latest and lists the others), under row security.

use sea_orm_migration::prelude::*;

use crate::m0001_registry::{big, fk, text, time, uuid};
use crate::m0002_audit::append_only;
use crate::m0019_row_security::row_security;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0021_model_documentation"
    }
}

/// The tenant tables this migration adds.
pub const TABLES: &[&str] = &["model_documentation"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("model_documentation")
                .col(uuid("tenant_id"))
                .col(uuid("model_id"))
                .col(big("revision"))
                .col(text("intended_use"))
                .col(text("limitations"))
                .col(text("human_oversight"))
                .col(text("note"))
                .col(text("created_by"))
                .col(time("created_at"))
                .primary_key(Index::create().col("model_id").col("revision"))
                .foreign_key(&mut fk("model_documentation", "tenant_id", "tenants"))
                .foreign_key(&mut fk("model_documentation", "model_id", "models"))
                .take(),
        )
        .await?;
        append_only(m, TABLES).await?;
        row_security(m, TABLES).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("model_documentation").to_owned())
            .await
    }
}
