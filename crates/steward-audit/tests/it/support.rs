//! Shared builders: deterministic tenant logs, keys, checkpoints and bundles.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use steward_audit::bundle::{BundleWriter, export_plans};
use steward_audit::checkpoint::{Checkpoint, SignedCheckpoint, SigningKey, origin_for};
use steward_audit::event::{
    Actor, AuditEvent, AuditTime, EVENT_VERSION, Outcome, Target, TenantRef,
};
use steward_audit::{BundleHeader, MemoryTree};

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

pub fn tenant(slug: &str) -> TenantRef {
    TenantRef {
        id: format!("0190f3c2-{slug}"),
        slug: slug.into(),
    }
}

pub fn key() -> SigningKey {
    SigningKey::from_seed([7u8; 32])
}

const ACTIONS: &[&str] = &[
    "model.register",
    "model_version.register",
    "auth.denied",
    "dataset_version.register",
];

/// A plausible event; `salt` varies the payload so events of equal seq differ.
pub fn event(tenant: &TenantRef, seq: u64, salt: u64) -> AuditEvent {
    let mut r = rng(seq.wrapping_mul(31).wrapping_add(salt));
    let action = ACTIONS[r.random_range(0..ACTIONS.len())];
    AuditEvent {
        v: EVENT_VERSION,
        tenant: tenant.clone(),
        seq,
        time: AuditTime::parse(&format!(
            "2026-11-26T08:{:02}:{:02}.{:06}Z",
            seq / 60 % 60,
            seq % 60,
            salt % 1_000_000
        ))
        .expect("fixed layout"),
        actor: Actor {
            sub: format!("user-{}", r.random_range(0..50)),
            roles: vec!["model_owner".into()],
        },
        action: action.into(),
        target: Target {
            kind: "model".into(),
            id: format!("m-{}", r.random_range(0..1000)),
        },
        outcome: if action == "auth.denied" {
            Outcome::Denied
        } else {
            Outcome::Ok
        },
        request_id: Some(format!("req-{seq}-{salt}")),
        payload: json!({
            "before": null,
            "after": {"name": format!("fraud-{}", r.random_range(0..99)), "risk": "high", "auc": 0.91, "n": seq}
        }),
        policy_revision: None,
    }
}

/// A tenant's log: canonical event bytes and the tree over them.
pub struct Log {
    pub tenant: TenantRef,
    pub events: Vec<Vec<u8>>,
    pub tree: MemoryTree,
}

pub fn log(slug: &str, n: u64, salt: u64) -> Log {
    let tenant = tenant(slug);
    let mut tree = MemoryTree::new();
    let mut events = Vec::new();
    for seq in 0..n {
        let bytes = event(&tenant, seq, salt)
            .canonical_bytes()
            .expect("valid event");
        tree.append_event(&bytes).expect("append");
        events.push(bytes);
    }
    Log {
        tenant,
        events,
        tree,
    }
}

pub fn checkpoint(key: &SigningKey, log: &Log, size: u64) -> SignedCheckpoint {
    key.sign(Checkpoint {
        origin: origin_for(&log.tenant.slug),
        tree_size: size,
        root_hash: log.tree.root_at(size).expect("size within log"),
        timestamp: AuditTime::parse("2026-11-26T09:00:00.000000Z").expect("fixed layout"),
    })
    .expect("sign")
}

/// Bundle of events `[first, first + count)` signed at `size`, built exactly as an exporter would.
pub fn bundle(key: &SigningKey, log: &Log, first: u64, count: u64, size: u64) -> Vec<u8> {
    let (left, right) = export_plans(first, count, size).expect("range within size");
    let header = BundleHeader::new(
        log.tenant.clone(),
        first,
        count,
        log.tree.read(&left).expect("stored"),
        log.tree.read(&right).expect("stored"),
        &key.public_key(),
    );
    let mut writer = BundleWriter::new(&header);
    for bytes in &log.events[first as usize..(first + count) as usize] {
        writer.push_event(bytes);
    }
    writer.finish(&checkpoint(key, log, size))
}

pub fn full_bundle(key: &SigningKey, log: &Log) -> Vec<u8> {
    let n = log.events.len() as u64;
    bundle(key, log, 0, n, n)
}

/// Lines of a bundle without their newlines.
pub fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    body.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect()
}

pub fn join(lines: &[Vec<u8>]) -> Vec<u8> {
    let mut out = lines.join(&b'\n');
    out.push(b'\n');
    out
}

/// Options that accept the key the bundle carries: for tests about integrity, not about trust.
pub fn trusting_bundle_key() -> steward_audit::VerifyOptions {
    steward_audit::VerifyOptions {
        trust_bundle_key: true,
        ..Default::default()
    }
}
