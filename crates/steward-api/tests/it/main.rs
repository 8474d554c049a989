//! Integration tests of the HTTP/GraphQL API, through the real router with a real database
//! (SQLite, or PostgreSQL when `STEWARD_TEST_PG_URL` is set).

mod actors;
mod app;
mod audit;
mod auth;
mod cache;
mod deployments;
mod hardening;
mod holds;
mod isolation;
mod lifecycle;
mod matrix;
mod metrics;
mod monitoring;
mod openlineage;
mod outbox;
mod policy;
mod registry;
mod retraining;
