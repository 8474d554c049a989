//! Schema migrations, written once with sea-query's builders so that SQLite and PostgreSQL get the
//! same tables from the same code.
//!
//! Migrations are append-only: a released migration is never edited; a change is a new file.

use sea_orm_migration::prelude::*;

mod m0001_registry;
mod m0002_audit;
mod m0003_policies;
mod m0004_monitoring;
mod m0005_predictions;
mod m0006_kpis;
mod m0007_baseline_slices;
mod m0008_deliveries;
mod m0009_outbox_queue;
mod m0010_holds;
mod m0011_retraining;
mod m0012_retraining_budgets;
mod m0013_deployments;
mod m0014_tags_aliases;
mod m0015_registry_lifecycle;
mod m0016_openlineage;
mod m0017_model_health;
mod m0018_audit_key_rotations;
mod m0019_row_security;
mod m0020_web_sessions;
mod m0021_model_documentation;

pub use m0019_row_security::{TENANT_TABLES, row_security};

/// Every table with a `tenant_id` column, each under row security: m0019's and those added
/// since (a migration that adds one lists it here too).
pub fn tenant_tables() -> Vec<&'static str> {
    [
        TENANT_TABLES,
        m0020_web_sessions::TABLES,
        m0021_model_documentation::TABLES,
    ]
    .concat()
}
pub use sea_orm_migration::MigratorTrait;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_registry::Migration),
            Box::new(m0002_audit::Migration),
            Box::new(m0003_policies::Migration),
            Box::new(m0004_monitoring::Migration),
            Box::new(m0005_predictions::Migration),
            Box::new(m0006_kpis::Migration),
            Box::new(m0007_baseline_slices::Migration),
            Box::new(m0008_deliveries::Migration),
            Box::new(m0009_outbox_queue::Migration),
            Box::new(m0010_holds::Migration),
            Box::new(m0011_retraining::Migration),
            Box::new(m0012_retraining_budgets::Migration),
            Box::new(m0013_deployments::Migration),
            Box::new(m0014_tags_aliases::Migration),
            Box::new(m0015_registry_lifecycle::Migration),
            Box::new(m0016_openlineage::Migration),
            Box::new(m0017_model_health::Migration),
            Box::new(m0018_audit_key_rotations::Migration),
            Box::new(m0019_row_security::Migration),
            Box::new(m0020_web_sessions::Migration),
            Box::new(m0021_model_documentation::Migration),
        ]
    }
}
