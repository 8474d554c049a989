//! Delivering the outbox: the tenant's delivery targets (Slack, PagerDuty, signed webhooks), the
//! relay's bookkeeping on each action (target, attempts, next attempt, lease, outcome), and every
//! delivery attempt (append-only).

use sea_orm_migration::prelude::*;

use crate::m0001_registry::{big, fk, id, index, text, text_null, time, time_null, uuid};
use crate::m0002_audit::append_only;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0008_deliveries"
    }
}

/// The columns the relay adds to `outbox_actions`, one statement each (SQLite adds one column
/// per `ALTER TABLE`).
fn action_columns() -> Vec<ColumnDef> {
    vec![
        text_null("target"),
        ColumnDef::new("attempts")
            .big_integer()
            .not_null()
            .default(0)
            .take(),
        time_null("next_attempt_at"),
        text_null("lease_owner"),
        time_null("lease_until"),
        time_null("finished_at"),
        text_null("last_error"),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for mut c in action_columns() {
            m.alter_table(
                Table::alter()
                    .table("outbox_actions")
                    .add_column(&mut c)
                    .take(),
            )
            .await?;
        }
        m.create_index(index(
            "outbox_actions",
            "ix_outbox_actions_due",
            &["status", "next_attempt_at"],
            false,
        ))
        .await?;
        m.create_index(index(
            "outbox_actions",
            "ix_outbox_actions_incident_target",
            &["incident_id", "target", "created_at"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("delivery_targets")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(text("name"))
                .col(text("kind"))
                .col(text("url"))
                .col(text_null("secret"))
                .col(text_null("previous_secret"))
                .col(text("description"))
                .col(text("created_by"))
                .col(time("created_at"))
                .col(time("updated_at"))
                .col(time_null("disabled_at"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "delivery_targets",
            "ux_delivery_targets_name",
            &["tenant_id", "name"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("delivery_attempts")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(uuid("action_id"))
                .col(big("attempt"))
                .col(time("at"))
                .col(text("target"))
                .col(ColumnDef::new("status_code").big_integer().null())
                .col(big("latency_ms"))
                .col(text("outcome"))
                .col(text("detail"))
                .col(text("response_excerpt"))
                .foreign_key(&mut fk("delivery_attempts", "action_id", "outbox_actions"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "delivery_attempts",
            "ix_delivery_attempts_action",
            &["action_id", "attempt"],
            false,
        ))
        .await?;
        append_only(m, &["delivery_attempts"]).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["delivery_attempts", "delivery_targets"] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        for i in ["ix_outbox_actions_due", "ix_outbox_actions_incident_target"] {
            m.drop_index(Index::drop().name(i).table("outbox_actions").to_owned())
                .await?;
        }
        for c in [
            "target",
            "attempts",
            "next_attempt_at",
            "lease_owner",
            "lease_until",
            "finished_at",
            "last_error",
        ] {
            m.alter_table(Table::alter().table("outbox_actions").drop_column(c).take())
                .await?;
        }
        Ok(())
    }
}
