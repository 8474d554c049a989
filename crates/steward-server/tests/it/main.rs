//! End-to-end tests of the `steward` binary (one test binary per crate, one module per command).

mod drift;
mod policy;
