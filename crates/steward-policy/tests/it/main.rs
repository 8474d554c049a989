//! Integration tests of steward-policy: one binary, one module per concept.

mod binding;
mod check;
mod evaluate;
mod examples;
mod replay;
mod runner;
mod safety;
mod support;
