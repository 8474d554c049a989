//! The right edge of a growing tree: appending leaves and finding the complete nodes they create.

use super::{NodeRef, TreeError, root_plan};
use crate::hash::{Hash, empty_root, node_hash};

/// The complete subtrees that cover the leaves seen so far, left to right.
///
/// After leaves `[0, size)` these are the binary decomposition of `size`: at most 64 nodes, so a
/// verifier streams a million-event bundle in constant memory.
#[derive(Debug, Clone, Default)]
pub struct Frontier {
    size: u64,
    nodes: Vec<(NodeRef, Hash)>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds the frontier at `size` from the hashes of [`append_plan`]`(size)`, in plan order.
    pub fn from_plan(size: u64, hashes: &[Hash]) -> Result<Self, TreeError> {
        let plan = root_plan(size);
        if plan.len() != hashes.len() {
            return Err(TreeError::NodeCount {
                expected: plan.len(),
                got: hashes.len(),
            });
        }
        Ok(Self {
            size,
            nodes: plan.into_iter().zip(hashes.iter().copied()).collect(),
        })
    }

    /// Number of leaves covered.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The nodes of the frontier, left to right.
    pub fn nodes(&self) -> &[(NodeRef, Hash)] {
        &self.nodes
    }

    /// Appends one leaf hash; `created` receives every complete node this completes, the leaf
    /// itself first, then its ancestors bottom-up.
    pub fn push_leaf(&mut self, leaf: Hash, mut created: impl FnMut(NodeRef, Hash)) {
        let node = NodeRef::leaf(self.size);
        created(node, leaf);
        self.nodes.push((node, leaf));
        self.size += 1;
        self.merge(&mut created);
    }

    /// Appends a complete subtree that starts exactly where the frontier ends, such as a node of
    /// a bundle's left or right frontier. Completed parents go to `created`.
    pub fn push_node(
        &mut self,
        node: NodeRef,
        hash: Hash,
        mut created: impl FnMut(NodeRef, Hash),
    ) -> Result<(), TreeError> {
        // A node must begin at the current size and be aligned there, or the tree shape breaks.
        let level = u32::from(node.level);
        let ok = level < 64
            && node.index.checked_mul(1u64 << level) == Some(self.size)
            && self.size.checked_add(1u64 << level).is_some();
        if !ok {
            return Err(TreeError::NotContiguous {
                level: node.level,
                index: node.index,
                size: self.size,
            });
        }
        self.nodes.push((node, hash));
        self.size += node.width();
        self.merge(&mut created);
        Ok(())
    }

    /// Merges the two rightmost nodes while they are siblings.
    fn merge(&mut self, created: &mut impl FnMut(NodeRef, Hash)) {
        while let [.., (left, lh), (right, rh)] = self.nodes[..] {
            if left.level != right.level || left.index % 2 != 0 {
                break;
            }
            let parent = NodeRef {
                level: left.level + 1,
                index: left.index / 2,
            };
            let hash = node_hash(&lh, &rh);
            self.nodes.truncate(self.nodes.len() - 2);
            self.nodes.push((parent, hash));
            created(parent, hash);
        }
    }

    /// RFC 6962 root of the leaves covered so far.
    pub fn root(&self) -> Hash {
        match self.nodes.split_last() {
            None => empty_root(),
            Some(((_, last), rest)) => rest
                .iter()
                .rev()
                .fold(*last, |acc, (_, h)| node_hash(h, &acc)),
        }
    }
}

/// Nodes to read before appending to a tree of `size` leaves: its frontier, at most 64 nodes.
///
/// Every node an append completes has its left sibling among them, which is why no other read
/// is needed however many leaves are appended in one transaction.
pub fn append_plan(size: u64) -> Vec<NodeRef> {
    root_plan(size)
}

/// Result of [`append_from`]: the nodes to insert and the new tree head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Every newly complete node (leaves included), in creation order. Insert them all; none of
    /// them existed before.
    pub nodes: Vec<(NodeRef, Hash)>,
    /// Tree size after the append.
    pub size: u64,
    /// Root after the append.
    pub root: Hash,
}

/// Appends `leaves` to the tree of `size` leaves whose frontier hashes (the result of reading
/// [`append_plan`]`(size)`, in plan order) are `frontier`.
pub fn append_from(size: u64, frontier: &[Hash], leaves: &[Hash]) -> Result<Appended, TreeError> {
    let mut edge = Frontier::from_plan(size, frontier)?;
    let mut nodes = Vec::with_capacity(leaves.len() * 2 + 1);
    for leaf in leaves {
        edge.push_leaf(*leaf, |node, hash| nodes.push((node, hash)));
    }
    Ok(Appended {
        nodes,
        size: edge.size(),
        root: edge.root(),
    })
}
