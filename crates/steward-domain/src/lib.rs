//! Steward's vocabulary: typed ids, registry records, validation, roles and the permission matrix.
//!
//! This crate knows nothing of storage, HTTP or async runtimes. Every other crate speaks in its
//! types, so that a `ModelId` can never be passed where a `TenantId` is expected and a tenant's
//! data can only be reached through a [`TenantScope`].

pub mod auth;
pub mod ids;
pub mod lineage;
pub mod registry;
pub mod validate;

pub use auth::{Operation, Principal, Role, TenantScope};
pub use ids::*;
pub use lineage::{
    EdgeRelation, LineageDirection, LineageEdge, LineageGraph, LineageNode, MAX_LINEAGE_DEPTH,
    NodeKind,
};
pub use registry::*;
pub use validate::ValidationError;
