//! Deployments (docs/deployments.md): endpoints, their append-only deployment revisions (the
//! desired state after every change: champion, canary and its traffic percent, shadow and its
//! mirror percent), promotion requests and their approvals.
//!
//! Changes to an endpoint reach its serving target through the outbox, so an outbox action may
//! now belong to an endpoint revision instead of a policy decision: `decision_record_id` becomes
//! nullable and `endpoint_id`, `revision_id` are added. PostgreSQL drops the NOT NULL in place;
//! SQLite cannot, so the outbox and its attempts are rebuilt in this migration's transaction
//! (child table first, so no foreign key is ever left dangling), their rows copied unchanged.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m0001_registry::{
    big, fk, id, index, text, text_null, time, time_null, uuid, uuid_null,
};
use crate::m0002_audit::{append_only, exec};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0013_deployments"
    }
}

/// The outbox's columns after this migration, in order.
fn outbox_columns() -> Vec<ColumnDef> {
    vec![
        id("id"),
        uuid("tenant_id"),
        uuid("model_id"),
        uuid("model_version_id"),
        uuid_null("decision_record_id"),
        uuid_null("incident_id"),
        uuid_null("window_id"),
        text("kind"),
        text("payload"),
        text("status"),
        time("created_at"),
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
        uuid_null("endpoint_id"),
        uuid_null("revision_id"),
    ]
}

const OUTBOX_COPIED: &str = "id, tenant_id, model_id, model_version_id, decision_record_id, \
    incident_id, window_id, kind, payload, status, created_at, target, attempts, \
    next_attempt_at, lease_owner, lease_until, finished_at, last_error";

fn attempt_columns() -> Vec<ColumnDef> {
    vec![
        id("id"),
        uuid("tenant_id"),
        uuid("action_id"),
        big("attempt"),
        time("at"),
        text("target"),
        ColumnDef::new("status_code").big_integer().null().take(),
        big("latency_ms"),
        text("outcome"),
        text("detail"),
        text("response_excerpt"),
    ]
}

const ATTEMPTS_COPIED: &str = "id, tenant_id, action_id, attempt, at, target, status_code, \
    latency_ms, outcome, detail, response_excerpt";

/// SQLite: rebuilds `outbox_actions` (with the nullable decision and the endpoint columns) and
/// `delivery_attempts`, rows, indexes and the append-only triggers included.
async fn rebuild_outbox_sqlite(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    exec(
        m,
        "CREATE TABLE tmp_outbox_actions AS SELECT * FROM outbox_actions",
    )
    .await?;
    exec(
        m,
        "CREATE TABLE tmp_delivery_attempts AS SELECT * FROM delivery_attempts",
    )
    .await?;
    exec(m, "DROP TABLE delivery_attempts").await?;
    exec(m, "DROP TABLE outbox_actions").await?;
    let mut outbox = Table::create();
    outbox.table("outbox_actions");
    for mut c in outbox_columns() {
        outbox.col(&mut c);
    }
    outbox.foreign_key(&mut fk(
        "outbox_actions",
        "decision_record_id",
        "decision_records",
    ));
    m.create_table(outbox).await?;
    let mut attempts = Table::create();
    attempts.table("delivery_attempts");
    for mut c in attempt_columns() {
        attempts.col(&mut c);
    }
    attempts.foreign_key(&mut fk("delivery_attempts", "action_id", "outbox_actions"));
    m.create_table(attempts).await?;
    exec(
        m,
        &format!(
            "INSERT INTO outbox_actions ({OUTBOX_COPIED}) SELECT {OUTBOX_COPIED} FROM tmp_outbox_actions"
        ),
    )
    .await?;
    exec(
        m,
        &format!(
            "INSERT INTO delivery_attempts ({ATTEMPTS_COPIED}) SELECT {ATTEMPTS_COPIED} FROM tmp_delivery_attempts"
        ),
    )
    .await?;
    exec(m, "DROP TABLE tmp_delivery_attempts").await?;
    exec(m, "DROP TABLE tmp_outbox_actions").await?;
    for (name, cols) in [
        (
            "ix_outbox_actions_tenant",
            &["tenant_id", "status", "created_at"][..],
        ),
        (
            "ix_outbox_actions_incident_target",
            &["incident_id", "target", "created_at"][..],
        ),
        (
            "ix_outbox_actions_queue",
            &["status", "created_at", "id"][..],
        ),
    ] {
        m.create_index(index("outbox_actions", name, cols, false))
            .await?;
    }
    m.create_index(index(
        "delivery_attempts",
        "ix_delivery_attempts_action",
        &["action_id", "attempt"],
        false,
    ))
    .await?;
    append_only(m, &["delivery_attempts"]).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// The SQLite rebuild must be all or nothing.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() == DbBackend::Postgres {
            exec(
                m,
                "ALTER TABLE outbox_actions ALTER COLUMN decision_record_id DROP NOT NULL",
            )
            .await?;
            for c in ["endpoint_id", "revision_id"] {
                m.alter_table(
                    Table::alter()
                        .table("outbox_actions")
                        .add_column(uuid_null(c))
                        .take(),
                )
                .await?;
            }
        } else {
            rebuild_outbox_sqlite(m).await?;
        }
        m.create_index(index(
            "outbox_actions",
            "ix_outbox_actions_endpoint",
            &["endpoint_id", "target", "created_at"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("endpoints")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(uuid("model_id"))
                .col(text("name"))
                .col(text("environment"))
                .col(text_null("target"))
                .col(text("description"))
                .col(big("revision"))
                .col(text("created_by"))
                .col(time("created_at"))
                .col(time("updated_at"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "endpoints",
            "ux_endpoints_name",
            &["tenant_id", "name"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("deployment_revisions")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(uuid("endpoint_id"))
                .col(big("number"))
                .col(uuid("champion_version_id"))
                .col(big("champion_version"))
                .col(uuid_null("canary_version_id"))
                .col(ColumnDef::new("canary_version").big_integer().null().take())
                .col(big("canary_percent"))
                .col(uuid_null("shadow_version_id"))
                .col(ColumnDef::new("shadow_version").big_integer().null().take())
                .col(big("shadow_percent"))
                .col(text("change"))
                .col(text("actor"))
                .col(text("reason"))
                .col(uuid_null("request_id"))
                .col(text_null("policy_revision"))
                .col(uuid_null("incident_id"))
                .col(uuid_null("decision_record_id"))
                .col(text_null("idempotency_key"))
                .col(time("at"))
                .foreign_key(&mut fk("deployment_revisions", "endpoint_id", "endpoints"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "deployment_revisions",
            "ux_deployment_revisions_number",
            &["endpoint_id", "number"],
            true,
        ))
        .await?;
        m.create_index(index(
            "deployment_revisions",
            "ix_deployment_revisions_at",
            &["endpoint_id", "at"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("promotion_requests")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(uuid("endpoint_id"))
                .col(uuid("candidate_version_id"))
                .col(big("candidate_version"))
                .col(text("candidate_digest"))
                .col(text("mode"))
                .col(text("plan"))
                .col(text("requester"))
                .col(text("reason"))
                .col(text("status"))
                .col(text("verdict"))
                .col(uuid_null("decision_record_id"))
                .col(text_null("policy_revision"))
                .col(big("step"))
                .col(time_null("step_started_at"))
                .col(text_null("paused_by"))
                .col(text_null("pause_reason"))
                .col(time_null("pause_until"))
                .col(big("base_revision"))
                .col(text_null("outcome"))
                .col(time("created_at"))
                .col(time("updated_at"))
                .col(time_null("finished_at"))
                .foreign_key(&mut fk("promotion_requests", "endpoint_id", "endpoints"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "promotion_requests",
            "ix_promotion_requests_endpoint",
            &["tenant_id", "endpoint_id", "created_at"],
            false,
        ))
        .await?;
        m.create_index(index(
            "promotion_requests",
            "ix_promotion_requests_status",
            &["status", "updated_at"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("promotion_approvals")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(uuid("request_id"))
                .col(text("approver"))
                .col(text("role"))
                .col(text("verdict"))
                .col(text("reason"))
                .col(time("at"))
                .col(time("expires_at"))
                .col(time_null("cancelled_at"))
                .col(text_null("cancel_reason"))
                .foreign_key(&mut fk(
                    "promotion_approvals",
                    "request_id",
                    "promotion_requests",
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "promotion_approvals",
            "ix_promotion_approvals_request",
            &["request_id", "at"],
            false,
        ))
        .await?;
        append_only(m, &["deployment_revisions"]).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "promotion_approvals",
            "promotion_requests",
            "deployment_revisions",
            "endpoints",
        ] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
