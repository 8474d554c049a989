//! An in-memory node store that serves roots and proofs through the same read plans as a
//! database would: the reference implementation for stores and the engine of tests and benches.

use std::collections::HashMap;

use super::{
    NodeRef, TreeError, append_from, append_plan, consistency_plan, consistency_proof_from,
    inclusion_plan, inclusion_proof_from, root_from, root_plan,
};
use crate::hash::{Hash, leaf_hash};

/// A Merkle tree kept as a map from [`NodeRef`] to hash, exactly the rows a store keeps.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    size: u64,
    nodes: HashMap<NodeRef, Hash>,
}

impl MemoryTree {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Number of stored complete nodes (leaves included): about twice the size.
    pub fn stored_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// The stored hash of one node, if complete.
    pub fn node(&self, node: NodeRef) -> Option<Hash> {
        self.nodes.get(&node).copied()
    }

    /// Reads the listed nodes in order: the one query a store makes per plan.
    pub fn read(&self, plan: &[NodeRef]) -> Result<Vec<Hash>, TreeError> {
        plan.iter()
            .map(|n| {
                self.node(*n).ok_or(TreeError::NodeMissing {
                    level: n.level,
                    index: n.index,
                })
            })
            .collect()
    }

    /// Appends canonical event bytes as the next leaf; returns the leaf index (the event's seq).
    pub fn append_event(&mut self, bytes: &[u8]) -> Result<u64, TreeError> {
        let index = self.size;
        self.append_leaves(&[leaf_hash(bytes)])?;
        Ok(index)
    }

    /// Appends leaf hashes in one step, the way a store appends the events of one transaction;
    /// returns the new root.
    pub fn append_leaves(&mut self, leaves: &[Hash]) -> Result<Hash, TreeError> {
        let frontier = self.read(&append_plan(self.size))?;
        let appended = append_from(self.size, &frontier, leaves)?;
        self.nodes.extend(appended.nodes);
        self.size = appended.size;
        Ok(appended.root)
    }

    fn check_size(&self, size: u64) -> Result<(), TreeError> {
        if size > self.size {
            return Err(TreeError::SizeOutOfRange {
                requested: size,
                size: self.size,
            });
        }
        Ok(())
    }

    /// Current root.
    pub fn root(&self) -> Hash {
        // The plan of the current size only lists stored nodes, so this cannot fail; fall back
        // to the proof-free path anyway rather than panic.
        self.root_at(self.size)
            .unwrap_or_else(|_| crate::hash::empty_root())
    }

    /// Root of the tree as it was at `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, TreeError> {
        self.check_size(size)?;
        root_from(size, &self.read(&root_plan(size))?)
    }

    /// Inclusion proof of leaf `index` in the tree of `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, TreeError> {
        self.check_size(size)?;
        let plan = inclusion_plan(index, size)?;
        inclusion_proof_from(index, size, &self.read(&plan)?)
    }

    /// Consistency proof from the tree of `m` leaves to the tree of `n` leaves.
    pub fn consistency_proof(&self, m: u64, n: u64) -> Result<Vec<Hash>, TreeError> {
        self.check_size(n)?;
        let plan = consistency_plan(m, n)?;
        consistency_proof_from(m, n, &self.read(&plan)?)
    }
}
