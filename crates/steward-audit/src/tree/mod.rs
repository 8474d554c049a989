//! The per-tenant RFC 6962 Merkle tree: node addressing, read plans, proofs and their verification.
//!
//! Storage model: every *complete* (perfect) subtree is stored once, addressed by
//! [`NodeRef`] `(level, index)`, where level 0 holds the leaf hashes and node `(l, i)` covers
//! the leaves `[i * 2^l, (i + 1) * 2^l)`. Nodes never change once written, so the table is
//! append-only like the events. Any root, inclusion proof or consistency proof is then a fold
//! over at most `2 * log2(n)` stored nodes.
//!
//! Every operation comes in two halves so that a store can fetch in one query:
//! a `*_plan` function lists the nodes to read, and the matching `*_from` function assembles the
//! answer from the hashes returned **in plan order**. [`MemoryTree`] uses the same halves.

mod frontier;
mod memory;
mod plan;
mod verify;

pub use frontier::{Appended, Frontier, append_from, append_plan};
pub use memory::MemoryTree;
pub use plan::{
    NodeRef, consistency_plan, consistency_proof_from, inclusion_plan, inclusion_proof_from,
    range_nodes, root_from, root_plan,
};
pub use verify::{root_from_inclusion, verify_consistency, verify_inclusion};

/// Why a tree operation or a proof check was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// An inclusion proof was asked or checked for a leaf the tree does not have.
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// A consistency proof was asked or checked from a larger tree to a smaller one, or a root
    /// was asked beyond the current size.
    #[error("tree size {requested} is out of range: the tree has {size} leaves")]
    SizeOutOfRange { requested: u64, size: u64 },
    /// The caller returned a different number of node hashes than the plan listed.
    #[error("the plan lists {expected} nodes but {got} hashes were given")]
    NodeCount { expected: usize, got: usize },
    /// A node needed by a plan is not stored (a store or memory tree that lost data).
    #[error("node (level {level}, index {index}) is not stored")]
    NodeMissing { level: u8, index: u64 },
    /// A proof has the wrong number of hashes for its sizes.
    #[error("proof has the wrong length for these sizes")]
    ProofLength,
    /// A proof does not lead to the expected root.
    #[error("proof does not match the root")]
    RootMismatch,
    /// A frontier node is not aligned with the frontier it is appended to.
    #[error("node (level {level}, index {index}) does not continue the frontier at size {size}")]
    NotContiguous { level: u8, index: u64, size: u64 },
}
