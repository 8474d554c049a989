//! Audit signing-key rotations: each a statement signed by the outgoing key naming the incoming
//! one (`steward_audit::KeyRotation`), platform-wide (one signing key serves every tenant's log),
//! at most one per outgoing key, append-only like the log itself. Export bundles carry them all.

use sea_orm_migration::prelude::*;

use crate::m0001_registry::{text, time};
use crate::m0002_audit::append_only;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0018_audit_key_rotations"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("audit_key_rotations")
                .col(
                    ColumnDef::new("from_key_id")
                        .text()
                        .not_null()
                        .primary_key(),
                )
                .col(text("to_key_id"))
                .col(text("to_public_key"))
                .col(text("signed_at"))
                .col(text("signature"))
                .col(text("recorded_by"))
                .col(time("recorded_at"))
                .take(),
        )
        .await?;
        append_only(m, &["audit_key_rotations"]).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("audit_key_rotations").to_owned())
            .await
    }
}
