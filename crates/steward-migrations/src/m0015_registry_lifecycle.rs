//! The registry's lifecycle beyond registration (the MLflow-compatible API, docs/ecosystem.md):
//! renaming a model, deleting models and versions without losing their records, and what MLflow
//! keeps on a version (description, stage, the run it came from).
//!
//! A delete stamps `deleted_at` and `deleted_by`: the row stays for lineage, decisions and the
//! audit log, reads of lists and names skip it, and a deleted model's name is free again (the
//! unique name index covers live models only). Version numbers are never reused: they come from
//! `models.latest_version`, which a delete does not lower.

use sea_orm_migration::prelude::*;

use crate::m0001_registry::{text_null, time_null};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0015_registry_lifecycle"
    }
}

fn text_default(name: &'static str, value: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().not_null().default(value).take()
}

/// One column per statement: SQLite alters one thing at a time.
async fn add(m: &SchemaManager<'_>, table: &'static str, col: ColumnDef) -> Result<(), DbErr> {
    m.alter_table(Table::alter().table(table).add_column(col).take())
        .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        add(m, "models", time_null("deleted_at")).await?;
        add(m, "models", text_null("deleted_by")).await?;
        add(m, "model_versions", text_default("description", "")).await?;
        add(m, "model_versions", text_default("stage", "None")).await?;
        add(m, "model_versions", text_null("run_id")).await?;
        add(m, "model_versions", text_null("run_link")).await?;
        add(m, "model_versions", time_null("updated_at")).await?;
        add(m, "model_versions", time_null("deleted_at")).await?;
        add(m, "model_versions", text_null("deleted_by")).await?;
        m.get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS ux_models_tenant_name")
            .await?;
        // A partial index: the same statement on SQLite and PostgreSQL. `IF NOT EXISTS`: through
        // sea-orm's unprepared execution on SQLite the statement reached the database twice
        // (observed with 2.0; the second answered "already exists").
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS ux_models_tenant_name ON models (tenant_id, name) WHERE deleted_at IS NULL",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS ux_models_tenant_name")
            .await?;
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS ux_models_tenant_name ON models (tenant_id, name)",
            )
            .await?;
        for c in [
            "description",
            "stage",
            "run_id",
            "run_link",
            "updated_at",
            "deleted_at",
            "deleted_by",
        ] {
            m.alter_table(Table::alter().table("model_versions").drop_column(c).take())
                .await?;
        }
        for c in ["deleted_at", "deleted_by"] {
            m.alter_table(Table::alter().table("models").drop_column(c).take())
                .await?;
        }
        Ok(())
    }
}
