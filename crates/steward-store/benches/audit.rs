//! Audit log storage benchmark (SQLite by default; PostgreSQL with `STEWARD_TEST_PG_URL`):
//! appending events inside transactions, and proofs read from a log of 1,000,000 events.
//!
//! Run: `cargo bench -p steward-store --bench audit`. Prints medians.

use std::time::{Duration, Instant};

use steward_audit::{Actor, AuditEvent, AuditTime, Outcome, Target, TenantRef, tree};
use steward_domain::{NewTenant, TenantId};
use steward_store::Store;
use steward_store::testing::TestDb;

fn event(tenant: &TenantRef, i: u64) -> AuditEvent {
    AuditEvent {
        v: steward_audit::event::EVENT_VERSION,
        tenant: tenant.clone(),
        seq: 0,
        time: AuditTime::now(),
        actor: Actor {
            sub: "ci-pipeline".into(),
            roles: vec!["service".into()],
        },
        action: "model_version.register".into(),
        target: Target {
            kind: "model_version".into(),
            id: format!("01a2{i:028}"),
        },
        outcome: Outcome::Ok,
        request_id: Some(format!("req-{i}")),
        payload: serde_json::json!({"after": {"version": i, "artifactUri": format!("s3://models/fraud/{i}"), "metrics": {"auc": 0.91}}}),
        policy_revision: None,
    }
}

async fn append(
    store: &Store,
    tenant: TenantId,
    r: &TenantRef,
    per_tx: u64,
    txs: u64,
    base: u64,
) -> Duration {
    let start = Instant::now();
    for t in 0..txs {
        let tx = store.begin_write().await.unwrap();
        for i in 0..per_tx {
            store
                .append_audit(&tx, tenant, event(r, base + t * per_tx + i))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    start.elapsed()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = TestDb::new().await;
        let store = &db.store;
        let tx = store.begin_write().await.unwrap();
        let t = store
            .create_tenant(
                &tx,
                &NewTenant {
                    slug: "bench".into(),
                    name: "Bench".into(),
                },
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let r = TenantRef {
            id: t.id.to_string(),
            slug: t.slug.clone(),
        };
        let backend = if db.url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        };
        println!("backend: {backend}");
        let mut n = 0u64;
        for (per_tx, txs) in [(1u64, 1000u64), (10, 200), (100, 40)] {
            let mut rates = Vec::new();
            for _ in 0..3 {
                let d = append(store, t.id, &r, per_tx, txs, n).await;
                n += per_tx * txs;
                rates.push((per_tx * txs) as f64 / d.as_secs_f64());
            }
            println!(
                "append, {per_tx:>3} event(s) per transaction: {:>8.0} events/s (median of 3)",
                median(rates)
            );
        }
        let target: u64 = std::env::var("AUDIT_BENCH_EVENTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let grow = Instant::now();
        while n < target {
            let batch = (target - n).min(5000);
            append(store, t.id, &r, batch, 1, n).await;
            n += batch;
        }
        println!(
            "grew the log to {n} events in {:.1} s (5,000 per transaction)",
            grow.elapsed().as_secs_f64()
        );
        assert_eq!(store.audit_size(t.id).await.unwrap(), n);

        let mut lat = Vec::new();
        let mut reads = 0;
        for k in 0..200u64 {
            let seq = (k * 7_919_993) % n;
            let s = Instant::now();
            let plan = tree::inclusion_plan(seq, n).unwrap();
            reads = plan.len();
            let nodes = store.audit_nodes(t.id, &plan).await.unwrap();
            let proof = tree::inclusion_proof_from(seq, n, &nodes).unwrap();
            lat.push(s.elapsed().as_secs_f64());
            assert!(!proof.is_empty());
        }
        println!(
            "inclusion proof at {n} events: {:.3} ms median ({reads} node rows in one query)",
            median(lat) * 1e3
        );
        let mut lat = Vec::new();
        for k in 1..100u64 {
            let m = (k * 9_973) % n + 1;
            let s = Instant::now();
            let plan = tree::consistency_plan(m, n).unwrap();
            let nodes = store.audit_nodes(t.id, &plan).await.unwrap();
            tree::consistency_proof_from(m, n, &nodes).unwrap();
            lat.push(s.elapsed().as_secs_f64());
        }
        println!(
            "consistency proof to {n} events: {:.3} ms median",
            median(lat) * 1e3
        );
        let s = Instant::now();
        let plan = tree::root_plan(n);
        let nodes = store.audit_nodes(t.id, &plan).await.unwrap();
        tree::root_from(n, &nodes).unwrap();
        println!(
            "root at {n} events: {:.3} ms ({} node rows)",
            s.elapsed().as_secs_f64() * 1e3,
            plan.len()
        );
    });
}
