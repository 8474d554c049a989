//! Integration tests of steward-audit: one binary, one module per concept.

mod bundle;
mod checkpoint;
mod event;
mod jcs;
mod naive;
mod redact;
mod support;
mod tamper;
mod tree;
