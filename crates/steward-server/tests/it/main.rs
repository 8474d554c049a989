//! End-to-end tests of the `steward` binary (one test binary per crate, one module per command).

mod audit;
mod backup;
mod deploy;
mod drift;
mod monitoring;
mod outbox;
mod policy;
mod replicas;
mod rotation;
mod serve;
mod telemetry;
