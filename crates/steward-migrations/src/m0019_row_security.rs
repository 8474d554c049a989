//! PostgreSQL row-level security on every tenant-owned table, as defence in depth behind the
//! store's own `tenant_id` filters: a row is visible, and may be written, only when the
//! connection's `steward.tenant` setting names its tenant, or is `*` (Steward's system actors,
//! which work across tenants: the scheduler's due scan, the relay's claim, the metrics scrape).
//! A connection that never set it sees nothing.
//!
//! The store sets `steward.tenant` on every connection it hands out
//! (`steward-store/src/tenancy.rs`). The policies are FORCEd, so they bind the tables' owner
//! too; only a superuser or a role with BYPASSRLS escapes them (`steward serve` warns when it
//! runs as one). SQLite has no row security: nothing happens there.
//!
//! A later migration that creates a table with a `tenant_id` column calls [`row_security`] on
//! it; a test in the store's suite fails on any tenant table left out.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

use crate::m0002_audit::exec;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m0019_row_security"
    }
}

/// Every table with a `tenant_id` column when this migration was written.
pub const TENANT_TABLES: &[&str] = &[
    "audit_events",
    "audit_heads",
    "audit_nodes",
    "baseline_activations",
    "baseline_slices",
    "baselines",
    "dataset_versions",
    "datasets",
    "decision_records",
    "delivery_attempts",
    "delivery_targets",
    "deployment_revisions",
    "endpoints",
    "idempotency_keys",
    "incident_events",
    "incidents",
    "lineage_edges",
    "lineage_nodes",
    "model_aliases",
    "model_health",
    "model_holds",
    "model_tags",
    "model_versions",
    "models",
    "monitor_configs",
    "monitor_states",
    "monitor_windows",
    "observation_batches",
    "ol_datasets",
    "ol_events",
    "ol_jobs",
    "ol_runs",
    "outbox_actions",
    "policies",
    "policy_activations",
    "policy_bindings",
    "policy_inputs",
    "policy_revisions",
    "predictions",
    "promotion_approvals",
    "promotion_requests",
    "registry_tags",
    "retraining_budgets",
    "retraining_reports",
    "training_run_inputs",
    "training_runs",
    "window_kpis",
    "window_parts",
    "window_slices",
];

/// Turns row security on, and forces it, for `tables` (PostgreSQL; nothing on SQLite): one
/// policy, `steward_tenant`, for every command, reading and writing alike.
pub async fn row_security(m: &SchemaManager<'_>, tables: &[&str]) -> Result<(), DbErr> {
    if m.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for t in tables {
        exec(m, &format!("ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")).await?;
        exec(m, &format!("ALTER TABLE {t} FORCE ROW LEVEL SECURITY")).await?;
        exec(
            m,
            &format!(
                "CREATE POLICY steward_tenant ON {t}
                     USING (steward_tenant_visible(tenant_id))
                     WITH CHECK (steward_tenant_visible(tenant_id))"
            ),
        )
        .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        // A plain SQL function: the planner inlines it into each query. Unset (NULL) and empty
        // both mean no tenant, so both match nothing.
        exec(
            m,
            "CREATE FUNCTION steward_tenant_visible(row_tenant uuid) RETURNS boolean
             LANGUAGE sql STABLE PARALLEL SAFE AS $$
                 SELECT current_setting('steward.tenant', true) = '*'
                     OR row_tenant::text = current_setting('steward.tenant', true)
             $$",
        )
        .await?;
        row_security(m, TENANT_TABLES).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        for t in TENANT_TABLES {
            exec(m, &format!("DROP POLICY IF EXISTS steward_tenant ON {t}")).await?;
            exec(m, &format!("ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY")).await?;
            exec(m, &format!("ALTER TABLE {t} DISABLE ROW LEVEL SECURITY")).await?;
        }
        exec(m, "DROP FUNCTION IF EXISTS steward_tenant_visible(uuid)").await
    }
}
