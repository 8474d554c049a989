//! The registry and lineage tables: tenants, models, versions, datasets, training runs, the
//! lineage graph and idempotency keys.
//!
//! Every tenant-owned table carries `tenant_id`, and every unique key that a user can collide with
//! starts with it, so one tenant's names never clash with another's.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0001_registry"
    }
}

pub(crate) fn id(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).uuid().not_null().primary_key().take()
}
pub(crate) fn uuid(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).uuid().not_null().take()
}
pub(crate) fn uuid_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).uuid().null().take()
}
pub(crate) fn text(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().not_null().take()
}
pub(crate) fn text_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).text().null().take()
}
pub(crate) fn big(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).big_integer().not_null().take()
}
pub(crate) fn time(name: &'static str) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .not_null()
        .take()
}
pub(crate) fn time_null(name: &'static str) -> ColumnDef {
    ColumnDef::new(name)
        .timestamp_with_time_zone()
        .null()
        .take()
}
pub(crate) fn fk(
    from: &'static str,
    col: &'static str,
    to: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{from}_{col}"))
        .from(from, col)
        .to(to, "id")
        .on_delete(ForeignKeyAction::Restrict)
        .take()
}
pub(crate) fn index(
    table: &'static str,
    name: &str,
    cols: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(name).table(table);
    for c in cols {
        idx.col(*c);
    }
    if unique {
        idx.unique();
    }
    idx.take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("tenants")
                .col(id("id"))
                .col(text("slug").unique_key().take())
                .col(text("name"))
                .col(time("created_at"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("models")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(text("name"))
                .col(text("description"))
                .col(text("owner_team"))
                .col(text("risk_tier"))
                .col(big("latest_version"))
                .col(text("created_by"))
                .col(time("created_at"))
                .col(time("updated_at"))
                .foreign_key(&mut fk("models", "tenant_id", "tenants"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "models",
            "ux_models_tenant_name",
            &["tenant_id", "name"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("model_tags")
                .col(uuid("model_id"))
                .col(uuid("tenant_id"))
                .col(text("tag"))
                .primary_key(Index::create().col("model_id").col("tag"))
                .foreign_key(&mut fk("model_tags", "model_id", "models"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "model_tags",
            "ix_model_tags_tenant_tag",
            &["tenant_id", "tag"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("datasets")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(text("name"))
                .col(text("description"))
                .col(big("latest_version"))
                .col(text("created_by"))
                .col(time("created_at"))
                .foreign_key(&mut fk("datasets", "tenant_id", "tenants"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "datasets",
            "ux_datasets_tenant_name",
            &["tenant_id", "name"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("dataset_versions")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(uuid("dataset_id"))
                .col(big("version"))
                .col(text("uri"))
                .col(text("content_hash"))
                .col(big("row_count"))
                .col(text("schema"))
                .col(text_null("slice"))
                .col(time_null("time_start"))
                .col(time_null("time_end"))
                .col(text("created_by"))
                .col(time("created_at"))
                .foreign_key(&mut fk("dataset_versions", "dataset_id", "datasets"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "dataset_versions",
            "ux_dataset_versions_dataset_version",
            &["dataset_id", "version"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("model_versions")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(uuid("model_id"))
                .col(big("version"))
                .col(text("artifact_uri"))
                .col(text("artifact_digest"))
                .col(text("framework"))
                .col(text("input_schema"))
                .col(text("metrics"))
                .col(text("tags"))
                .col(uuid_null("training_run_id"))
                .col(text("created_by"))
                .col(time("created_at"))
                .foreign_key(&mut fk("model_versions", "model_id", "models"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "model_versions",
            "ux_model_versions_model_version",
            &["model_id", "version"],
            true,
        ))
        .await?;
        // A training run produces at most one model version.
        m.create_index(index(
            "model_versions",
            "ux_model_versions_training_run",
            &["training_run_id"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("training_runs")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(text("code_commit"))
                .col(text("parameters"))
                .col(uuid_null("parent_model_version_id"))
                .col(text_null("orchestrator"))
                .col(text_null("orchestrator_run_id"))
                .col(text("status"))
                .col(time_null("started_at"))
                .col(time_null("ended_at"))
                .col(text("created_by"))
                .col(time("created_at"))
                .foreign_key(&mut fk("training_runs", "tenant_id", "tenants"))
                .foreign_key(&mut fk(
                    "training_runs",
                    "parent_model_version_id",
                    "model_versions",
                ))
                .take(),
        )
        .await?;
        m.create_index(index(
            "training_runs",
            "ix_training_runs_tenant",
            &["tenant_id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("training_run_inputs")
                .col(uuid("training_run_id"))
                .col(uuid("dataset_version_id"))
                .col(uuid("tenant_id"))
                .col(ColumnDef::new("position").integer().not_null())
                .primary_key(
                    Index::create()
                        .col("training_run_id")
                        .col("dataset_version_id"),
                )
                .foreign_key(&mut fk(
                    "training_run_inputs",
                    "training_run_id",
                    "training_runs",
                ))
                .foreign_key(&mut fk(
                    "training_run_inputs",
                    "dataset_version_id",
                    "dataset_versions",
                ))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("lineage_nodes")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(text("kind"))
                .col(text("label"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("lineage_edges")
                .col(uuid("tenant_id"))
                .col(uuid("src_id"))
                .col(uuid("dst_id"))
                .col(text("relation"))
                .primary_key(Index::create().col("src_id").col("dst_id").col("relation"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "lineage_edges",
            "ix_lineage_edges_dst",
            &["dst_id"],
            false,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("idempotency_keys")
                .col(uuid("tenant_id"))
                .col(text("operation"))
                .col(text("key"))
                .col(text("request_hash"))
                .col(uuid("result_id"))
                .col(time("created_at"))
                .primary_key(Index::create().col("tenant_id").col("operation").col("key"))
                .take(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "idempotency_keys",
            "lineage_edges",
            "lineage_nodes",
            "training_run_inputs",
            "training_runs",
            "model_versions",
            "dataset_versions",
            "datasets",
            "model_tags",
            "models",
            "tenants",
        ] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
