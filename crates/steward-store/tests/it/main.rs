//! Integration tests of the store against a real database (SQLite, or PostgreSQL when
//! `STEWARD_TEST_PG_URL` is set; see `steward_store::testing`).

mod files;
mod fixtures;
mod isolation;
mod lineage;
mod policies;
mod registry;
mod row_security;
mod windows;
