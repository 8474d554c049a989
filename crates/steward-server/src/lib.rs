//! The Steward server as a library: configuration, start-up and the [`app::Application`] that
//! `steward serve` runs and the tests build on port 0, so configuration -> start-up -> router is
//! one tested path. The offline commands (`drift`, `policy`, `audit`) and the API client `deploy` live in
//! the binary.

pub mod app;
pub mod config;
mod demo;
mod demo_deploy;
mod demo_lineage;
mod demo_monitoring;
mod demo_outbox;
pub mod startup;
pub mod telemetry;
