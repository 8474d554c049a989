//! Monitoring: baselines and which one is active, observation batches (the idempotency record
//! of every accepted upload), windows with the profile parts batches added to them, their
//! evaluated slices, the hysteresis state per model version and slice, incidents with their
//! timeline, and the outbox of pending actions.
//!
//! Baselines, activations, batches and incident events are append-only. A window row changes
//! only to be leased and then marked evaluated; its parts are replaced by the merged slices when
//! it is evaluated (raw rows are never stored, only mergeable profiles).

use sea_orm_migration::prelude::*;

use crate::m0001_registry::{
    big, fk, id, index, text, text_null, time, time_null, uuid, uuid_null,
};
use crate::m0002_audit::append_only;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0004_monitoring"
    }
}

const APPEND_ONLY: [&str; 4] = [
    "baselines",
    "baseline_activations",
    "observation_batches",
    "incident_events",
];

fn blob(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).blob().not_null().take()
}

fn blob_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).blob().null().take()
}

fn double(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).double().not_null().take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("monitor_configs")
                .col(id("model_id"))
                .col(uuid("tenant_id"))
                // JSON array of column names.
                .col(text("slice_columns"))
                .col(big("lateness_seconds"))
                // JSON of the hysteresis settings.
                .col(text("hysteresis"))
                .col(ColumnDef::new("auto_resolve").boolean().not_null())
                .col(text("updated_by"))
                .col(time("updated_at"))
                .foreign_key(&mut fk("monitor_configs", "model_id", "models"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("baselines")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(uuid("model_version_id"))
                .col(text("source"))
                .col(big("rows"))
                .col(big("features"))
                .col(text("fingerprint"))
                .col(blob("profile"))
                // JSON: what the source said beyond the profile (SageMaker constraints ...).
                .col(text("extra"))
                .col(text("note"))
                .col(text("created_by"))
                .col(time("created_at"))
                .foreign_key(&mut fk("baselines", "model_version_id", "model_versions"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "baselines",
            "ix_baselines_version",
            &["tenant_id", "model_version_id", "id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("baseline_activations")
                .col(uuid("tenant_id"))
                .col(uuid("model_version_id"))
                .col(big("seq"))
                .col(uuid("baseline_id"))
                .col(text("activated_by"))
                .col(time("activated_at"))
                .primary_key(Index::create().col("model_version_id").col("seq"))
                .foreign_key(&mut fk("baseline_activations", "baseline_id", "baselines"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("observation_batches")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(uuid("model_version_id"))
                .col(text("kind"))
                .col(text_null("idempotency_key"))
                .col(text("payload_hash"))
                .col(big("rows"))
                .col(big("late_rows"))
                // JSON summary returned to a client that retries.
                .col(text("summary"))
                .col(text("received_by"))
                .col(time("received_at"))
                .foreign_key(&mut fk(
                    "observation_batches",
                    "model_version_id",
                    "model_versions",
                ))
                .take(),
        )
        .await?;
        // NULL keys never collide, on SQLite and PostgreSQL alike.
        m.create_index(index(
            "observation_batches",
            "ux_observation_batches_key",
            &["tenant_id", "model_version_id", "kind", "idempotency_key"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("monitor_windows")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(uuid("model_id"))
                .col(uuid("model_version_id"))
                .col(time("window_start"))
                .col(time("window_end"))
                .col(time("closes_at"))
                .col(text("status"))
                .col(big("late_rows"))
                .col(text_null("lease_owner"))
                .col(time_null("lease_until"))
                .col(time_null("evaluated_at"))
                .col(text_null("evaluated_by"))
                .col(uuid_null("decision_record_id"))
                // JSON: what the evaluation found or why it could not run.
                .col(text_null("evaluation"))
                .col(time("created_at"))
                .foreign_key(&mut fk(
                    "monitor_windows",
                    "model_version_id",
                    "model_versions",
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "monitor_windows",
            "ux_monitor_windows_version_end",
            &["model_version_id", "window_end"],
            true,
        ))
        .await?;
        m.create_index(index(
            "monitor_windows",
            "ix_monitor_windows_due",
            &["status", "closes_at"],
            false,
        ))
        .await?;
        m.create_index(index(
            "monitor_windows",
            "ix_monitor_windows_tenant_version",
            &["tenant_id", "model_version_id", "window_end"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("window_parts")
                .col(uuid("tenant_id"))
                .col(uuid("window_id"))
                .col(uuid("batch_id"))
                .col(text("slice"))
                .col(big("rows"))
                .col(blob("profile"))
                .primary_key(
                    Index::create()
                        .col("window_id")
                        .col("slice")
                        .col("batch_id"),
                )
                .foreign_key(&mut fk("window_parts", "window_id", "monitor_windows"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("window_slices")
                .col(uuid("tenant_id"))
                .col(uuid("window_id"))
                .col(text("slice"))
                .col(big("rows"))
                .col(double("composite"))
                .col(big("drifted_features"))
                .col(blob_null("profile"))
                // JSON of the drift report.
                .col(text("report"))
                .primary_key(Index::create().col("window_id").col("slice"))
                .foreign_key(&mut fk("window_slices", "window_id", "monitor_windows"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("monitor_states")
                .col(uuid("tenant_id"))
                .col(uuid("model_version_id"))
                .col(text("slice"))
                .col(text("state"))
                .col(time("updated_at"))
                .primary_key(Index::create().col("model_version_id").col("slice"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("incidents")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(uuid("model_id"))
                .col(uuid("model_version_id"))
                .col(text("key"))
                // The key while the incident is not resolved, NULL after: one live incident per
                // (model, key), by a unique index that NULLs never trip.
                .col(text_null("open_key"))
                .col(text("summary"))
                .col(text("status"))
                .col(text("opened_by"))
                .col(time("opened_at"))
                .col(uuid_null("window_id"))
                .col(uuid_null("decision_record_id"))
                .col(text_null("acknowledged_by"))
                .col(time_null("acknowledged_at"))
                .col(text_null("resolved_by"))
                .col(time_null("resolved_at"))
                .col(text_null("resolution"))
                .foreign_key(&mut fk("incidents", "model_id", "models"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "incidents",
            "ux_incidents_open_key",
            &["tenant_id", "model_id", "open_key"],
            true,
        ))
        .await?;
        m.create_index(index(
            "incidents",
            "ix_incidents_tenant",
            &["tenant_id", "opened_at"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("incident_events")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(uuid("incident_id"))
                .col(text("kind"))
                .col(text("actor"))
                .col(time("at"))
                .col(uuid_null("window_id"))
                .col(uuid_null("decision_record_id"))
                .col(text("note"))
                .foreign_key(&mut fk("incident_events", "incident_id", "incidents"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "incident_events",
            "ix_incident_events_incident",
            &["incident_id", "at"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("outbox_actions")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(uuid("model_id"))
                .col(uuid("model_version_id"))
                .col(uuid("decision_record_id"))
                .col(uuid_null("incident_id"))
                .col(uuid_null("window_id"))
                .col(text("kind"))
                .col(text("payload"))
                .col(text("status"))
                .col(time("created_at"))
                .foreign_key(&mut fk(
                    "outbox_actions",
                    "decision_record_id",
                    "decision_records",
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "outbox_actions",
            "ix_outbox_actions_tenant",
            &["tenant_id", "status", "created_at"],
            false,
        ))
        .await?;

        append_only(m, &APPEND_ONLY).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "outbox_actions",
            "incident_events",
            "incidents",
            "monitor_states",
            "window_slices",
            "window_parts",
            "monitor_windows",
            "observation_batches",
            "baseline_activations",
            "baselines",
            "monitor_configs",
        ] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
