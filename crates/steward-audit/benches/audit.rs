//! Criterion benchmarks: leaf hashing, appends, an inclusion proof at 1,000,000 events, and
//! verifying a 1,000,000-event bundle (and a strict 10,000-event one). Run with
//! `CARGO_TARGET_DIR=/work/target-audit cargo bench -p steward-audit --bench audit`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use steward_audit::bundle::{BundleWriter, VerifyOptions, export_plans, verify_bundle};
use steward_audit::checkpoint::{Checkpoint, SigningKey, origin_for};
use steward_audit::event::{
    Actor, AuditEvent, AuditTime, EVENT_VERSION, Outcome, Target, TenantRef,
};
use steward_audit::tree::inclusion_plan;
use steward_audit::{BundleHeader, MemoryTree, leaf_hash};

const BIG: u64 = 1_000_000;

fn tenant() -> TenantRef {
    TenantRef {
        id: "0190f3c2-7a1e-7c4b-9d2f-3b8e1f0a6c55".into(),
        slug: "acme".into(),
    }
}

/// A realistic event: an update of a model version with before/after, about 500 bytes.
fn event(seq: u64) -> Vec<u8> {
    AuditEvent {
        v: EVENT_VERSION,
        tenant: tenant(),
        seq,
        time: AuditTime::parse(&format!("2026-11-26T08:{:02}:{:02}.{:06}Z", seq / 60 % 60, seq % 60, seq % 1_000_000))
            .expect("fixed layout"),
        actor: Actor {
            sub: format!("svc-ci-{}", seq % 7),
            roles: vec!["model_owner".into(), "service".into()],
        },
        action: "model_version.register".into(),
        target: Target {
            kind: "model_version".into(),
            id: format!("0190f3c2-0000-7000-8000-{seq:012}"),
        },
        outcome: Outcome::Ok,
        request_id: Some(format!("req-{seq:016x}")),
        payload: json!({
            "before": {"stage": "candidate", "metrics": {"auc": 0.912, "f1": 0.71}},
            "after": {"stage": "shadow", "metrics": {"auc": 0.915, "f1": 0.72}, "dataset_version": format!("dv-{}", seq % 100)}
        }),
        policy_revision: Some("sha256:4c1f0a9e".into()),
    }
    .canonical_bytes()
    .expect("valid event")
}

fn build(n: u64) -> (Vec<Vec<u8>>, MemoryTree) {
    let mut tree = MemoryTree::new();
    let events: Vec<Vec<u8>> = (0..n).map(event).collect();
    let leaves: Vec<_> = events.iter().map(|e| leaf_hash(e)).collect();
    tree.append_leaves(&leaves).expect("append");
    (events, tree)
}

fn bundle(events: &[Vec<u8>], tree: &MemoryTree, key: &SigningKey) -> Vec<u8> {
    let n = events.len() as u64;
    let (left, right) = export_plans(0, n, n).expect("plans");
    let header = BundleHeader::new(
        tenant(),
        0,
        n,
        tree.read(&left).expect("stored"),
        tree.read(&right).expect("stored"),
        &key.public_key(),
    );
    let mut writer = BundleWriter::new(&header);
    for e in events {
        writer.push_event(e);
    }
    let checkpoint = key
        .sign(Checkpoint {
            origin: origin_for("acme"),
            tree_size: n,
            root_hash: tree.root(),
            timestamp: AuditTime::now(),
        })
        .expect("sign");
    writer.finish(&checkpoint)
}

fn benches(c: &mut Criterion) {
    let sample = event(123_456);
    let mut g = c.benchmark_group("event");
    g.throughput(Throughput::Elements(1));
    g.bench_function(format!("leaf_hash ({} bytes)", sample.len()), |b| {
        b.iter(|| leaf_hash(black_box(&sample)))
    });
    let parsed = AuditEvent::from_canonical(&sample).expect("decodes");
    g.bench_function("canonical_bytes", |b| {
        b.iter(|| black_box(&parsed).canonical_bytes())
    });
    g.finish();

    let mut g = c.benchmark_group("append");
    g.throughput(Throughput::Elements(1));
    let mut grown = build(100_000).1;
    g.bench_function("hash + append one event (tree of 100k+)", |b| {
        b.iter(|| grown.append_event(black_box(&sample)))
    });
    g.finish();

    let (events, tree) = build(BIG);
    let mut g = c.benchmark_group("proof at 1M");
    for index in [0, 314_159, BIG - 1] {
        let reads = inclusion_plan(index, BIG).expect("plan").len();
        eprintln!("inclusion proof of leaf {index} at size {BIG}: {reads} node reads");
        g.bench_function(
            format!("inclusion proof leaf {index} ({reads} node reads)"),
            |b| b.iter(|| tree.inclusion_proof(black_box(index), BIG)),
        );
    }
    g.bench_function("consistency proof 999_999 -> 1_000_000", |b| {
        b.iter(|| tree.consistency_proof(black_box(999_999), BIG))
    });
    g.finish();

    let key = SigningKey::from_seed([7; 32]);
    let bytes = bundle(&events, &tree, &key);
    drop(events);
    drop(tree);
    eprintln!("bundle of {BIG} events: {} MB", bytes.len() / 1_000_000);
    let mut g = c.benchmark_group("verify bundle");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    let fast = VerifyOptions {
        trusted_key: Some(key.public_key()),
        ..Default::default()
    };
    g.bench_function("1M events", |b| {
        b.iter(|| verify_bundle(black_box(&bytes), &fast).expect("verifies"))
    });
    drop(bytes);
    // Strict mode re-canonicalises every event; measured on 10k events to keep the run short.
    let (events, tree) = build(10_000);
    let small = bundle(&events, &tree, &key);
    let strict = VerifyOptions {
        strict_events: true,
        ..fast.clone()
    };
    g.bench_function("10k events, strict", |b| {
        b.iter(|| verify_bundle(black_box(&small), &strict).expect("verifies"))
    });
    g.finish();
}

criterion_group!(audit, benches);
criterion_main!(audit);
