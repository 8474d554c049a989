//! Closing the retraining loop: a training run names the retraining action it carries out, and
//! reports on a retraining run (status, candidate version, cost) are kept, append-only.

use sea_orm_migration::prelude::*;

use crate::m0001_registry::{id, index, text, text_null, time, uuid, uuid_null};
use crate::m0002_audit::append_only;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0011_retraining"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("training_runs")
                .add_column(uuid_null("retraining_action_id"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("retraining_reports")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(uuid("action_id"))
                .col(text("status"))
                .col(text("message"))
                .col(text_null("external_url"))
                .col(uuid_null("candidate_version_id"))
                .col(ColumnDef::new("cost").double().null().take())
                .col(text_null("cost_currency"))
                .col(text("reported_by"))
                .col(time("reported_at"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "retraining_reports",
            "ix_retraining_reports_action",
            &["tenant_id", "action_id", "reported_at"],
            false,
        ))
        .await?;
        append_only(m, &["retraining_reports"]).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("retraining_reports").take())
            .await?;
        m.alter_table(
            Table::alter()
                .table("training_runs")
                .drop_column("retraining_action_id")
                .take(),
        )
        .await
    }
}
