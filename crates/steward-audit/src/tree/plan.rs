//! Read plans: which stored complete subtrees a root, inclusion proof or consistency proof needs,
//! and how to assemble the answer from their hashes.

use super::TreeError;
use crate::hash::{Hash, empty_root, node_hash};

/// Address of a stored complete subtree: it covers leaves `[index << level, (index + 1) << level)`.
///
/// Level 0 nodes are the leaf hashes themselves, so `(0, seq)` is the leaf of event `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeRef {
    pub level: u8,
    pub index: u64,
}

impl NodeRef {
    /// The node of leaf `index`.
    pub fn leaf(index: u64) -> Self {
        Self { level: 0, index }
    }

    /// First leaf the node covers.
    pub fn first_leaf(&self) -> u64 {
        self.index << self.level
    }

    /// Number of leaves the node covers.
    pub fn width(&self) -> u64 {
        1u64 << self.level
    }

    /// One past the last leaf the node covers.
    pub fn end_leaf(&self) -> u64 {
        self.first_leaf() + self.width()
    }
}

/// A contiguous leaf range `[start, end)` whose hash is one element of a proof.
type Range = (u64, u64);

/// Appends the complete subtrees covering `[start, end)` to `out`, left to right.
///
/// Each piece is the largest aligned power of two that fits, so for a range that starts at 0
/// (or at a multiple of a power of two at least as large as the range) the pieces have strictly
/// decreasing sizes: exactly the subtrees whose right-to-left fold is the RFC 6962 hash of the
/// range. For other ranges (a bundle's right frontier) sizes first grow, then shrink.
pub fn range_nodes(start: u64, end: u64, out: &mut Vec<NodeRef>) {
    let mut pos = start;
    while pos < end {
        let fits = 63 - (end - pos).leading_zeros();
        let aligned = if pos == 0 { 63 } else { pos.trailing_zeros() };
        let level = fits.min(aligned) as u8;
        out.push(NodeRef {
            level,
            index: pos >> level,
        });
        pos += 1u64 << level;
    }
}

/// Largest power of two strictly less than `n` (the split point `k` of RFC 6962); `n >= 2`.
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// RFC 6962 hash of an aligned range from its decomposition: fold right to left.
fn fold(hashes: &[Hash]) -> Hash {
    match hashes.split_last() {
        None => empty_root(),
        Some((last, rest)) => rest.iter().rev().fold(*last, |acc, h| node_hash(h, &acc)),
    }
}

/// Flattens proof elements into one read plan.
fn flatten(ranges: &[Range]) -> Vec<NodeRef> {
    let mut out = Vec::with_capacity(ranges.len() * 2);
    for &(start, end) in ranges {
        range_nodes(start, end, &mut out);
    }
    out
}

/// Folds the hashes of a flattened plan back into one hash per proof element.
fn assemble(ranges: &[Range], nodes: &[Hash]) -> Result<Vec<Hash>, TreeError> {
    let mut counts = Vec::with_capacity(ranges.len());
    let mut scratch = Vec::new();
    for &(start, end) in ranges {
        scratch.clear();
        range_nodes(start, end, &mut scratch);
        counts.push(scratch.len());
    }
    let expected: usize = counts.iter().sum();
    if expected != nodes.len() {
        return Err(TreeError::NodeCount {
            expected,
            got: nodes.len(),
        });
    }
    let mut rest = nodes;
    let mut proof = Vec::with_capacity(ranges.len());
    for count in counts {
        let (group, tail) = rest.split_at(count);
        proof.push(fold(group));
        rest = tail;
    }
    Ok(proof)
}

/// Nodes whose fold is the root of the first `size` leaves: the binary decomposition of `size`,
/// largest subtree first (at most `log2(size) + 1` nodes; none for the empty tree).
pub fn root_plan(size: u64) -> Vec<NodeRef> {
    let mut out = Vec::with_capacity(64);
    range_nodes(0, size, &mut out);
    out
}

/// Root of the first `size` leaves from the hashes of [`root_plan`]`(size)`, in plan order.
pub fn root_from(size: u64, nodes: &[Hash]) -> Result<Hash, TreeError> {
    let expected = root_plan(size).len();
    if nodes.len() != expected {
        return Err(TreeError::NodeCount {
            expected,
            got: nodes.len(),
        });
    }
    Ok(fold(nodes))
}

/// Proof elements of RFC 6962 `PATH(index, D[0:size])`, deepest first.
fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<Range>, TreeError> {
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size });
    }
    // Walk down from the root; every sibling is a perfect subtree except possibly one suffix
    // of the tree on the right edge, which is why the plan stays O(log n).
    let mut ranges = Vec::new();
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let mid = lo + split(hi - lo);
        if index < mid {
            ranges.push((mid, hi));
            hi = mid;
        } else {
            ranges.push((lo, mid));
            lo = mid;
        }
    }
    ranges.reverse();
    Ok(ranges)
}

/// Nodes to read for the inclusion proof of leaf `index` in the tree of `size` leaves.
pub fn inclusion_plan(index: u64, size: u64) -> Result<Vec<NodeRef>, TreeError> {
    Ok(flatten(&inclusion_ranges(index, size)?))
}

/// Audit path (RFC 6962 section 2.1.1) from the hashes of [`inclusion_plan`], in plan order.
pub fn inclusion_proof_from(index: u64, size: u64, nodes: &[Hash]) -> Result<Vec<Hash>, TreeError> {
    assemble(&inclusion_ranges(index, size)?, nodes)
}

/// Proof elements of RFC 6962 `PROOF(m, D[0:n])`, deepest first.
fn consistency_ranges(m: u64, n: u64) -> Result<Vec<Range>, TreeError> {
    if m > n {
        return Err(TreeError::SizeOutOfRange {
            requested: m,
            size: n,
        });
    }
    // Every tree is consistent with the empty tree and with itself: the proof is empty.
    if m == 0 || m == n {
        return Ok(Vec::new());
    }
    // SUBPROOF(m, D[lo:hi], b) unrolled; `m` stays an absolute leaf count.
    let mut ranges = Vec::new();
    let (mut lo, mut hi, mut whole) = (0u64, n, true);
    loop {
        if m == hi {
            if !whole {
                ranges.push((lo, hi));
            }
            break;
        }
        let mid = lo + split(hi - lo);
        if m <= mid {
            ranges.push((mid, hi));
            hi = mid;
        } else {
            ranges.push((lo, mid));
            lo = mid;
            whole = false;
        }
    }
    ranges.reverse();
    Ok(ranges)
}

/// Nodes to read for the consistency proof from size `m` to size `n` (`m <= n`).
pub fn consistency_plan(m: u64, n: u64) -> Result<Vec<NodeRef>, TreeError> {
    Ok(flatten(&consistency_ranges(m, n)?))
}

/// Consistency proof (RFC 6962 section 2.1.2) from the hashes of [`consistency_plan`].
pub fn consistency_proof_from(m: u64, n: u64, nodes: &[Hash]) -> Result<Vec<Hash>, TreeError> {
    assemble(&consistency_ranges(m, n)?, nodes)
}
