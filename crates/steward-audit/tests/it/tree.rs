//! Tree plans, proofs and verification against the naive RFC 6962 oracle, and refusals.

use rand::Rng;
use steward_audit::tree::{
    Frontier, NodeRef, append_from, append_plan, consistency_plan, inclusion_plan,
    verify_consistency, verify_inclusion,
};
use steward_audit::{Hash, MemoryTree, TreeError, empty_root, leaf_hash};

use crate::naive;
use crate::support::rng;

fn data(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("event {i}").into_bytes()).collect()
}

fn tree_of(d: &[Vec<u8>]) -> MemoryTree {
    let mut t = MemoryTree::new();
    for e in d {
        t.append_event(e).expect("append");
    }
    t
}

fn hashes(v: &[naive::H]) -> Vec<Hash> {
    v.iter().map(|h| Hash(*h)).collect()
}

/// Checks every root, inclusion proof and consistency proof of the first `n` leaves.
fn check_all(d: &[Vec<u8>], t: &MemoryTree, n: usize, ms: impl Iterator<Item = usize> + Clone) {
    let root = t.root_at(n as u64).expect("root");
    assert_eq!(root, Hash(naive::mth(&d[..n])), "root at {n}");
    for m in ms.clone().filter(|m| *m < n) {
        let proof = t.inclusion_proof(m as u64, n as u64).expect("inclusion");
        assert_eq!(proof, hashes(&naive::path(m, &d[..n])), "path {m} of {n}");
        let leaf = leaf_hash(&d[m]);
        verify_inclusion(&leaf, m as u64, n as u64, &proof, &root).expect("verifies");
        // The same proof for another leaf or another root must fail.
        let other = leaf_hash(b"forged");
        assert!(verify_inclusion(&other, m as u64, n as u64, &proof, &root).is_err());
        if n > 1 {
            let wrong_index = (m + 1) % n;
            assert!(verify_inclusion(&leaf, wrong_index as u64, n as u64, &proof, &root).is_err());
        }
        assert!(inclusion_plan(m as u64, n as u64).expect("plan").len() <= 2 * 64);
    }
    for m in ms.filter(|m| *m <= n) {
        let proof = t
            .consistency_proof(m as u64, n as u64)
            .expect("consistency");
        let expected = if m == 0 || m == n {
            Vec::new()
        } else {
            hashes(&naive::proof(m, &d[..n]))
        };
        assert_eq!(proof, expected, "consistency {m} -> {n}");
        let old = t.root_at(m as u64).expect("old root");
        verify_consistency(m as u64, n as u64, &proof, &old, &root).expect("consistent");
        if m > 0 && m < n {
            let forged = leaf_hash(b"forged root");
            assert!(verify_consistency(m as u64, n as u64, &proof, &forged, &root).is_err());
            assert!(verify_consistency(m as u64, n as u64, &proof, &old, &forged).is_err());
        }
    }
}

#[test]
fn every_proof_up_to_70_leaves_matches_the_naive_tree() {
    let d = data(70);
    let t = tree_of(&d);
    for n in 0..=70 {
        check_all(&d, &t, n, 0..=n);
    }
}

#[test]
fn random_larger_trees_match_the_naive_tree() {
    let mut r = rng(11);
    let d = data(2600);
    let t = tree_of(&d);
    for _ in 0..12 {
        let n = r.random_range(71..=2600);
        let ms: Vec<usize> = (0..10)
            .map(|_| r.random_range(0..=n))
            .chain([0, 1, n - 1, n])
            .collect();
        check_all(&d, &t, n, ms.into_iter());
    }
}

#[test]
fn batched_appends_write_the_same_nodes_as_single_ones() {
    let d = data(300);
    let single = tree_of(&d);
    let mut size = 0u64;
    let mut batched = MemoryTree::new();
    let mut r = rng(3);
    while size < 300 {
        let k = r.random_range(1..=17).min(300 - size as usize);
        let leaves: Vec<Hash> = d[size as usize..size as usize + k]
            .iter()
            .map(|e| leaf_hash(e))
            .collect();
        let root = batched.append_leaves(&leaves).expect("append");
        size += k as u64;
        assert_eq!(root, single.root_at(size).expect("root"));
    }
    assert_eq!(batched.stored_nodes(), single.stored_nodes());
    // Roughly 2n nodes: each leaf plus each completed parent, nothing else.
    assert_eq!(single.stored_nodes(), 300 + 299 - 3);
}

#[test]
fn append_reads_only_the_frontier_and_writes_each_node_once() {
    let mut store: std::collections::HashMap<NodeRef, Hash> = std::collections::HashMap::new();
    let mut size = 0u64;
    for i in 0..200u64 {
        let plan = append_plan(size);
        assert_eq!(plan.len(), size.count_ones() as usize);
        let frontier: Vec<Hash> = plan.iter().map(|n| store[n]).collect();
        let appended =
            append_from(size, &frontier, &[leaf_hash(&i.to_be_bytes())]).expect("append");
        for (node, hash) in appended.nodes {
            assert!(
                store.insert(node, hash).is_none(),
                "node {node:?} written twice"
            );
        }
        size = appended.size;
        assert_eq!(
            appended.root,
            Frontier::from_plan(
                size,
                &append_plan(size)
                    .iter()
                    .map(|n| store[n])
                    .collect::<Vec<_>>()
            )
            .expect("frontier")
            .root()
        );
    }
    assert_eq!(size, 200);
}

#[test]
fn out_of_range_requests_are_refused() {
    let t = tree_of(&data(10));
    assert_eq!(
        t.inclusion_proof(10, 10),
        Err(TreeError::IndexOutOfRange {
            index: 10,
            size: 10
        })
    );
    assert!(matches!(
        t.inclusion_proof(3, 11),
        Err(TreeError::SizeOutOfRange { .. })
    ));
    assert!(matches!(
        t.inclusion_proof(0, 0),
        Err(TreeError::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        t.consistency_proof(5, 4),
        Err(TreeError::SizeOutOfRange { .. })
    ));
    assert!(matches!(
        t.consistency_proof(5, 11),
        Err(TreeError::SizeOutOfRange { .. })
    ));
    assert!(matches!(
        t.root_at(11),
        Err(TreeError::SizeOutOfRange { .. })
    ));
    assert!(inclusion_plan(7, 7).is_err());
    assert!(consistency_plan(8, 7).is_err());

    let root = t.root();
    let leaf = leaf_hash(b"event 3");
    let proof = t.inclusion_proof(3, 10).expect("proof");
    assert!(matches!(
        verify_inclusion(&leaf, 10, 10, &proof, &root),
        Err(TreeError::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        verify_consistency(6, 5, &[], &root, &root),
        Err(TreeError::SizeOutOfRange { .. })
    ));
    // A proof with a hash added or removed is refused, not misread.
    let mut long = proof.clone();
    long.push(root);
    assert!(verify_inclusion(&leaf, 3, 10, &long, &root).is_err());
    assert!(verify_inclusion(&leaf, 3, 10, &proof[1..], &root).is_err());
    // The wrong number of node hashes for a plan is an error, not a panic.
    assert!(matches!(
        steward_audit::tree::inclusion_proof_from(3, 10, &[root]),
        Err(TreeError::NodeCount { .. })
    ));
}

#[test]
fn empty_tree_has_the_rfc_root() {
    let t = MemoryTree::new();
    assert_eq!(
        t.root().to_hex(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(t.root(), empty_root());
    verify_consistency(0, 0, &[], &empty_root(), &empty_root()).expect("empty");
}
