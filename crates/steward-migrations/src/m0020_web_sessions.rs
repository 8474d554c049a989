//! Sessions of the web frontend: a browser signed in with a verified token keeps a random
//! secret in an HttpOnly cookie; this table keeps its SHA-256, who signed in (subject, tenant,
//! roles, as the token said), the session's CSRF token and when it expires. A tenant's rows,
//! under row security like every other.

use sea_orm_migration::prelude::*;

use crate::m0001_registry::{fk, index, text, time, uuid};
use crate::m0019_row_security::row_security;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0020_web_sessions"
    }
}

/// The tenant tables this migration adds.
pub const TABLES: &[&str] = &["web_sessions"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("web_sessions")
                .col(
                    ColumnDef::new("secret_hash")
                        .text()
                        .not_null()
                        .primary_key(),
                )
                .col(uuid("tenant_id"))
                .col(text("subject"))
                .col(text("tenant_slug"))
                .col(text("roles"))
                .col(text("csrf"))
                .col(time("created_at"))
                .col(time("expires_at"))
                .foreign_key(&mut fk("web_sessions", "tenant_id", "tenants"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "web_sessions",
            "ix_web_sessions_expiry",
            &["expires_at"],
            false,
        ))
        .await?;
        row_security(m, TABLES).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("web_sessions").to_owned())
            .await
    }
}
