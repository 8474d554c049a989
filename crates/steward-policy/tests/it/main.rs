//! Integration tests of steward-policy: one binary, one module per concept.

mod evaluate;
mod examples;
mod safety;
mod support;
