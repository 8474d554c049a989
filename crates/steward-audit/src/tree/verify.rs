//! Proof verification as specified by RFC 9162 sections 2.1.3.2 and 2.1.4.2 (compatible with
//! the proofs of RFC 6962).

use super::TreeError;
use crate::hash::{Hash, empty_root, node_hash};

/// Recomputes the root that an inclusion proof leads to (RFC 9162 section 2.1.3.2).
///
/// Useful when the root is checked elsewhere, for example against a signed checkpoint.
pub fn root_from_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, TreeError> {
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s == 0 {
            return Err(TreeError::ProofLength);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            // Skip the levels where this node is the last one and has no right sibling.
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(TreeError::ProofLength);
    }
    Ok(r)
}

/// Checks that `leaf_hash` is leaf `index` of the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), TreeError> {
    if root_from_inclusion(leaf_hash, index, size, proof)? == *root {
        Ok(())
    } else {
        Err(TreeError::RootMismatch)
    }
}

/// Checks that the tree of `m` leaves with root `old_root` is a prefix of the tree of `n`
/// leaves with root `new_root` (RFC 9162 section 2.1.4.2).
///
/// `m == 0` (any tree extends the empty one) and `m == n` (same root) take an empty proof.
pub fn verify_consistency(
    m: u64,
    n: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), TreeError> {
    if m > n {
        return Err(TreeError::SizeOutOfRange {
            requested: m,
            size: n,
        });
    }
    if m == 0 || m == n {
        if !proof.is_empty() {
            return Err(TreeError::ProofLength);
        }
        let ok = if m == 0 {
            *old_root == empty_root()
        } else {
            old_root == new_root
        };
        return if ok {
            Ok(())
        } else {
            Err(TreeError::RootMismatch)
        };
    }
    // When the old tree is a perfect subtree its root is the first node of the path; RFC 9162
    // leaves it out of the proof, so put it back.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if m.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return Err(TreeError::ProofLength);
    };
    let (mut f, mut s) = (m - 1, n - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s == 0 {
            return Err(TreeError::ProofLength);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(TreeError::ProofLength);
    }
    if fr == *old_root && sr == *new_root {
        Ok(())
    } else {
        Err(TreeError::RootMismatch)
    }
}
