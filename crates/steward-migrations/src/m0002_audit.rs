//! The audit log: events, the per-tenant Merkle tree's complete-subtree hashes, and the tree heads
//! that hand out sequence numbers. Events and nodes are append-only: triggers refuse UPDATE and
//! DELETE on both engines. Checkpoints are signed on demand and kept by whoever asked for them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0002_audit"
    }
}

const APPEND_ONLY: [&str; 2] = ["audit_events", "audit_nodes"];

pub(crate) async fn exec(m: &SchemaManager<'_>, sql: &str) -> Result<(), DbErr> {
    let backend = m.get_database_backend();
    m.get_connection()
        .execute_raw(Statement::from_string(backend, sql.to_string()))
        .await
        .map(|_| ())
}

/// Makes `tables` refuse UPDATE and DELETE: a trigger per table on PostgreSQL (calling
/// `steward_append_only()`, created above), one per table and statement kind on SQLite.
pub(crate) async fn append_only(m: &SchemaManager<'_>, tables: &[&str]) -> Result<(), DbErr> {
    for t in tables {
        if m.get_database_backend() == DbBackend::Postgres {
            exec(
                m,
                &format!(
                    "CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t}
                     FOR EACH ROW EXECUTE FUNCTION steward_append_only()"
                ),
            )
            .await?;
        } else {
            for op in ["UPDATE", "DELETE"] {
                exec(
                    m,
                    &format!(
                        "CREATE TRIGGER {t}_no_{} BEFORE {op} ON {t}
                         BEGIN SELECT RAISE(ABORT, '{t} is append-only'); END",
                        op.to_lowercase()
                    ),
                )
                .await?;
            }
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let uuid = |n: &'static str| ColumnDef::new(n).uuid().not_null().take();
        let text = |n: &'static str| ColumnDef::new(n).text().not_null().take();
        let big = |n: &'static str| ColumnDef::new(n).big_integer().not_null().take();
        m.create_table(
            Table::create()
                .table("audit_events")
                .col(uuid("tenant_id"))
                .col(big("seq"))
                .col(ColumnDef::new("time").timestamp_with_time_zone().not_null())
                .col(text("actor_sub"))
                .col(text("action"))
                .col(text("target_kind"))
                .col(text("target_id"))
                .col(text("outcome"))
                // The RFC 8785 canonical JSON of the whole event: what is hashed and exported.
                .col(text("event"))
                .col(text("leaf_hash"))
                .primary_key(Index::create().col("tenant_id").col("seq"))
                .take(),
        )
        .await?;
        for (name, col) in [
            ("ix_audit_events_time", "time"),
            ("ix_audit_events_action", "action"),
            ("ix_audit_events_actor", "actor_sub"),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table("audit_events")
                    .col("tenant_id")
                    .col(col)
                    .take(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table("audit_nodes")
                .col(uuid("tenant_id"))
                .col(ColumnDef::new("level").integer().not_null())
                .col(big("idx"))
                .col(text("hash"))
                .primary_key(Index::create().col("tenant_id").col("level").col("idx"))
                .take(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("audit_heads")
                .col(ColumnDef::new("tenant_id").uuid().not_null().primary_key())
                .col(big("size"))
                .take(),
        )
        .await?;
        if m.get_database_backend() == DbBackend::Postgres {
            exec(
                m,
                "CREATE FUNCTION steward_append_only() RETURNS trigger AS $$
                 BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$ LANGUAGE plpgsql",
            )
            .await?;
        }
        append_only(m, &APPEND_ONLY).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["audit_heads", "audit_nodes", "audit_events"] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        if m.get_database_backend() == DbBackend::Postgres {
            exec(m, "DROP FUNCTION IF EXISTS steward_append_only()").await?;
        }
        Ok(())
    }
}
