//! Workspace-wide checks that belong to no single crate but guard the architecture.

mod layering;
mod tidy;
