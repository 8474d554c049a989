//! Steward's tamper-evident audit log core: canonical events, per-tenant RFC 6962 Merkle trees,
//! signed checkpoints, signing-key rotation statements and offline verification of export
//! bundles.
//!
//! The crate is pure and synchronous. It never touches a database: the store asks it which tree
//! nodes to read or write ([`tree::append_plan`], [`tree::inclusion_plan`], ...), fetches them in
//! one query inside its own transaction, and hands the hashes back to the matching `*_from`
//! function. The bundle verifier works on a byte slice so the `steward audit verify` command
//! needs neither server nor database.
//!
//! Conventions shared by every part (documented for auditors in `docs/audit-bundle.md`):
//! - sequence numbers start at 0 and equal the leaf index in the tenant's tree, so a tree of
//!   size `n` holds events `0..n`;
//! - event bytes are RFC 8785 canonical JSON, hashed, stored and exported unchanged;
//! - leaf = SHA-256(0x00 || event bytes), node = SHA-256(0x01 || left || right).

pub mod bundle;
pub mod checkpoint;
pub mod event;
pub mod hash;
pub mod jcs;
pub mod redact;
pub mod rotation;
pub mod tree;
mod verify_error;

pub use bundle::{
    BundleHeader, BundleWriter, Trust, VerifiedSummary, VerifyError, VerifyOptions, verify_bundle,
    verify_bundle_with_progress,
};
pub use checkpoint::{Checkpoint, CheckpointError, PublicKey, SignedCheckpoint, SigningKey};
pub use event::{Actor, AuditEvent, AuditTime, EventError, Outcome, Target, TenantRef};
pub use hash::{Hash, empty_root, leaf_hash, node_hash};
pub use redact::{RedactionKey, Redactor};
pub use rotation::{KeyRotation, RotationError, follow_chain};
pub use tree::{MemoryTree, NodeRef, TreeError};
