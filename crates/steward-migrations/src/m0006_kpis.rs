//! Business KPIs per window and slice (fraud losses, conversion, revenue at risk): what tenants
//! post beside their observations, summed as it arrives.

use sea_orm_migration::prelude::*;

use crate::m0001_registry::{big, fk, text, uuid};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0006_kpis"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("window_kpis")
                .col(uuid("tenant_id"))
                .col(uuid("window_id"))
                .col(text("slice"))
                .col(text("name"))
                .col(ColumnDef::new("total").double().not_null())
                .col(big("count"))
                .primary_key(Index::create().col("window_id").col("slice").col("name"))
                .foreign_key(&mut fk("window_kpis", "window_id", "monitor_windows"))
                .take(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("window_kpis").take())
            .await
    }
}
