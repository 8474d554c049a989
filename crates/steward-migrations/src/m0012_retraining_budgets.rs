//! Retraining budgets per model: runs per period, a cooldown, and a cost ceiling.

use sea_orm_migration::prelude::*;

use crate::m0001_registry::{text, text_null, time, uuid};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0012_retraining_budgets"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("retraining_budgets")
                .col(uuid("model_id").primary_key().take())
                .col(uuid("tenant_id"))
                .col(ColumnDef::new("max_runs").big_integer().null().take())
                .col(
                    ColumnDef::new("period_hours")
                        .big_integer()
                        .not_null()
                        .take(),
                )
                .col(ColumnDef::new("cooldown_hours").big_integer().null().take())
                .col(ColumnDef::new("max_cost").double().null().take())
                .col(text_null("cost_currency"))
                .col(text("updated_by"))
                .col(time("updated_at"))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("retraining_budgets").take())
            .await
    }
}
