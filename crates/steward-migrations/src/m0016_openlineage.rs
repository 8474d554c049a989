//! OpenLineage ingestion (docs/ecosystem.md): the jobs events name (and the model each is bound
//! to), the runs (by OpenLineage's run id, with the training run a bound job's run became),
//! every event as received, and which Steward dataset version each OpenLineage dataset version
//! is.

use sea_orm_migration::prelude::*;

use crate::m0001_registry::{id, index, text, text_null, time, time_null, uuid, uuid_null};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0016_openlineage"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("ol_jobs")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(text("namespace"))
                .col(text("name"))
                .col(uuid_null("model_id"))
                .col(text_null("bound_by"))
                .col(time_null("bound_at"))
                .col(time("created_at"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ol_jobs",
            "ux_ol_jobs_name",
            &["tenant_id", "namespace", "name"],
            true,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("ol_runs")
                .col(uuid("tenant_id"))
                .col(uuid("run_id"))
                .col(uuid("job_id"))
                .col(text("state"))
                .col(time_null("started_at"))
                .col(time_null("ended_at"))
                // JSON lists of dataset version ids, every one the run's events named.
                .col(text("inputs"))
                .col(text("outputs"))
                .col(uuid_null("training_run_id"))
                .col(time("updated_at"))
                .primary_key(Index::create().col("tenant_id").col("run_id"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("ol_events")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(uuid_null("run_id"))
                .col(text("kind"))
                .col(text_null("event_type"))
                .col(time("event_time"))
                .col(text("body"))
                .col(text("received_by"))
                .col(time("received_at"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "ol_events",
            "ix_ol_events_run",
            &["tenant_id", "run_id"],
            false,
        ))
        .await?;
        m.create_table(
            Table::create()
                .table("ol_datasets")
                .col(uuid("tenant_id"))
                .col(text("namespace"))
                .col(text("name"))
                // SHA-256 of the version key (the version facet, or the schema and statistics).
                .col(text("version_hash"))
                .col(uuid("dataset_id"))
                .col(uuid("dataset_version_id"))
                .primary_key(
                    Index::create()
                        .col("tenant_id")
                        .col("namespace")
                        .col("name")
                        .col("version_hash"),
                )
                .take(),
        )
        .await?;
        m.create_index(index(
            "ol_datasets",
            "ix_ol_datasets_dataset",
            &["tenant_id", "dataset_id"],
            false,
        ))
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["ol_datasets", "ol_events", "ol_runs", "ol_jobs"] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
