//! Predictions kept for delayed labels: per model version and prediction id, the window and
//! slice the prediction fell in, its score or label, its event time, and the true label once it
//! arrives. Only what the join needs is kept, never the features of the row.

use sea_orm_migration::prelude::*;

use crate::m0001_registry::{fk, index, text, text_null, time, time_null, uuid};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0005_predictions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("predictions")
                .col(uuid("tenant_id"))
                .col(uuid("model_version_id"))
                .col(text("prediction_id"))
                .col(uuid("window_id"))
                .col(text("slice"))
                .col(ColumnDef::new("score").double().null())
                .col(text_null("predicted"))
                .col(time("event_time"))
                .col(text_null("label"))
                .col(time_null("labelled_at"))
                .primary_key(Index::create().col("model_version_id").col("prediction_id"))
                .foreign_key(&mut fk("predictions", "window_id", "monitor_windows"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "predictions",
            "ix_predictions_window",
            &["window_id", "slice"],
            false,
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("predictions").take())
            .await
    }
}
