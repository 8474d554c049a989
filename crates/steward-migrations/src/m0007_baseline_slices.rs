//! A baseline's slices: the reference rows of each slice (`region = EU`) profiled against the
//! baseline's bins, so each slice of production is compared with the same slice of the
//! reference. Append-only, like baselines.

use sea_orm_migration::prelude::*;

use crate::m0001_registry::{big, fk, text, uuid};
use crate::m0002_audit::append_only;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0007_baseline_slices"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("baseline_slices")
                .col(uuid("tenant_id"))
                .col(uuid("baseline_id"))
                .col(text("slice"))
                .col(big("rows"))
                .col(ColumnDef::new("profile").blob().not_null())
                .primary_key(Index::create().col("baseline_id").col("slice"))
                .foreign_key(&mut fk("baseline_slices", "baseline_id", "baselines"))
                .take(),
        )
        .await?;
        append_only(m, &["baseline_slices"]).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("baseline_slices").take())
            .await
    }
}
