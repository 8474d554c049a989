//! Each model's health as of its latest evaluated window, one row per model, written in the
//! window evaluation's own transaction: the worst slice's composite drift score and drifted
//! features, and the whole window's performance estimates with their confidence bounds.
//!
//! It exists so that what is read for every model at once (the `/metrics` scrape, an overview
//! page) costs one row per model instead of a search through every window ever evaluated.
//! Models evaluated before this migration get their row from their latest evaluated window
//! here, without performance (the next evaluation writes it).

use sea_orm_migration::prelude::*;

use crate::m0001_registry::{big, fk, index, text, time, uuid};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0017_model_health"
    }
}

/// The latest evaluated window of each model, its slices' worst composite and drift count.
const BACKFILL: &str = "INSERT INTO model_health \
     (model_id, tenant_id, window_id, window_end, evaluated_at, composite, drifted_features, performance) \
     SELECT w.model_id, w.tenant_id, w.id, w.window_end, w.evaluated_at, \
       COALESCE((SELECT MAX(s.composite) FROM window_slices s WHERE s.window_id = w.id), 0), \
       COALESCE((SELECT MAX(s.drifted_features) FROM window_slices s WHERE s.window_id = w.id), 0), \
       '[]' \
     FROM monitor_windows w \
     WHERE w.status = 'evaluated' AND w.evaluated_at IS NOT NULL AND w.window_end = \
       (SELECT MAX(w2.window_end) FROM monitor_windows w2 \
        WHERE w2.model_id = w.model_id AND w2.status = 'evaluated') \
     ON CONFLICT (model_id) DO NOTHING";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("model_health")
                .col(ColumnDef::new("model_id").uuid().not_null().primary_key())
                .col(uuid("tenant_id"))
                .col(uuid("window_id"))
                .col(time("window_end"))
                .col(time("evaluated_at"))
                .col(ColumnDef::new("composite").double().not_null())
                .col(big("drifted_features"))
                .col(text("performance"))
                .foreign_key(&mut fk("model_health", "model_id", "models"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "model_health",
            "ix_model_health_tenant",
            &["tenant_id"],
            false,
        ))
        .await?;
        m.get_connection().execute_unprepared(BACKFILL).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("model_health").to_owned())
            .await
    }
}
