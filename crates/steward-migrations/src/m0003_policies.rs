//! Policies: named policies, their immutable revisions and activation history, bindings to
//! models, and decision records with their content-addressed input contexts.
//!
//! Revisions, activations, inputs and decision records are append-only (the same triggers as the
//! audit log). A policy row changes only to point at its active revision; a binding only to be
//! marked removed, so old decision records still name the binding that applied.

use sea_orm_migration::prelude::*;

use crate::m0001_registry::{
    big, fk, id, index, text, text_null, time, time_null, uuid, uuid_null,
};
use crate::m0002_audit::{append_only, exec};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0003_policies"
    }
}

const APPEND_ONLY: [&str; 4] = [
    "policy_revisions",
    "policy_activations",
    "policy_inputs",
    "decision_records",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("policies")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(text("name"))
                .col(text("description"))
                .col(ColumnDef::new("active_revision").big_integer().null())
                .col(text("created_by"))
                .col(time("created_at"))
                .col(time("updated_at"))
                .foreign_key(&mut fk("policies", "tenant_id", "tenants"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "policies",
            "ux_policies_tenant_name",
            &["tenant_id", "name"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("policy_revisions")
                .col(uuid("tenant_id"))
                .col(uuid("policy_id"))
                .col(big("number"))
                .col(text("hash"))
                .col(text("source"))
                .col(text("note"))
                .col(text("created_by"))
                .col(time("created_at"))
                .primary_key(Index::create().col("policy_id").col("number"))
                .foreign_key(&mut fk("policy_revisions", "policy_id", "policies"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "policy_revisions",
            "ux_policy_revisions_policy_hash",
            &["policy_id", "hash"],
            true,
        ))
        .await?;

        m.create_table(
            Table::create()
                .table("policy_activations")
                .col(uuid("tenant_id"))
                .col(uuid("policy_id"))
                .col(big("seq"))
                .col(big("revision_number"))
                .col(text("published_by"))
                .col(time("published_at"))
                .primary_key(Index::create().col("policy_id").col("seq"))
                .foreign_key(&mut fk("policy_activations", "policy_id", "policies"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("policy_bindings")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(uuid("policy_id"))
                .col(text("kind"))
                .col(uuid_null("model_id"))
                // JSON array of tags, sorted.
                .col(text("tags"))
                .col(text_null("risk_tier"))
                .col(text_null("name_pattern"))
                .col(text("created_by"))
                .col(time("created_at"))
                .col(text_null("removed_by"))
                .col(time_null("removed_at"))
                .foreign_key(&mut fk("policy_bindings", "policy_id", "policies"))
                .foreign_key(&mut fk("policy_bindings", "model_id", "models"))
                .take(),
        )
        .await?;
        m.create_index(index(
            "policy_bindings",
            "ix_policy_bindings_tenant_policy",
            &["tenant_id", "policy_id"],
            false,
        ))
        .await?;
        // At most one live model binding per model and one live tenant default per tenant: two
        // would make "which policy governs this model" a coin toss. Partial indexes read the same
        // on SQLite and PostgreSQL.
        exec(
            m,
            "CREATE UNIQUE INDEX ux_policy_bindings_model ON policy_bindings (tenant_id, model_id)
             WHERE kind = 'model' AND removed_at IS NULL",
        )
        .await?;
        exec(
            m,
            "CREATE UNIQUE INDEX ux_policy_bindings_default ON policy_bindings (tenant_id)
             WHERE kind = 'tenant_default' AND removed_at IS NULL",
        )
        .await?;

        m.create_table(
            Table::create()
                .table("policy_inputs")
                .col(uuid("tenant_id"))
                .col(text("hash"))
                // The canonical JSON of the context, as hashed.
                .col(text("body"))
                .primary_key(Index::create().col("tenant_id").col("hash"))
                .take(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("decision_records")
                .col(id("id"))
                .col(uuid("tenant_id"))
                .col(uuid("policy_id"))
                .col(big("revision_number"))
                .col(text("revision_hash"))
                .col(uuid("binding_id"))
                .col(text("resolution"))
                .col(uuid("model_id"))
                .col(uuid("model_version_id"))
                .col(text("hook"))
                .col(text("input_hash"))
                .col(text("outcome"))
                .col(text("log"))
                .col(big("duration_us"))
                .col(text_null("limit_hit"))
                .col(text("evaluated_by"))
                .col(time("created_at"))
                .foreign_key(&mut fk("decision_records", "policy_id", "policies"))
                .foreign_key(&mut fk("decision_records", "binding_id", "policy_bindings"))
                .foreign_key(&mut fk(
                    "decision_records",
                    "model_version_id",
                    "model_versions",
                ))
                .take(),
        )
        .await?;
        for (name, col) in [
            ("ix_decision_records_tenant", None),
            ("ix_decision_records_model", Some("model_id")),
            ("ix_decision_records_policy", Some("policy_id")),
        ] {
            let mut cols = vec!["tenant_id"];
            cols.extend(col);
            cols.push("id");
            m.create_index(index("decision_records", name, &cols, false))
                .await?;
        }

        // steward_append_only() comes from m0002_audit.
        append_only(m, &APPEND_ONLY).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "decision_records",
            "policy_inputs",
            "policy_bindings",
            "policy_activations",
            "policy_revisions",
            "policies",
        ] {
            m.drop_table(Table::drop().table(t).take()).await?;
        }
        Ok(())
    }
}
