//! What row-level security costs on PostgreSQL: the same reads and writes through the store
//! as it was before (no pool hooks, the tests' superuser: no policy applies), with the hooks
//! only (the superuser: `set_config` on each acquire, policies bypassed), and as served (the
//! application role: hooks and policies). Needs `STEWARD_TEST_PG_URL`; fails without it.
//!
//! Run: `STEWARD_TEST_PG_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres
//! cargo bench -p steward-store --bench tenancy`. Prints medians of interleaved rounds.

use std::time::{Duration, Instant};

use steward_domain::{NewModel, NewTenant, Principal, RiskTier, Role, TenantScope};
use steward_store::Store;
use steward_store::tenancy::{Tenancy, within};
use steward_store::testing::TestDb;

const ROUNDS: usize = 7;
const OPS: usize = 300;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn model(name: String) -> NewModel {
    NewModel {
        name,
        description: "bench".into(),
        owner_team: "risk".into(),
        risk_tier: RiskTier::Low,
        tags: vec![],
    }
}

/// Median time of one read (a model by name) and one write (a model created in its own
/// transaction) over `OPS` of each.
async fn run(store: &Store, scope: &TenantScope, tag: &str, round: usize) -> (Duration, Duration) {
    let mut reads = Vec::with_capacity(OPS);
    let mut writes = Vec::with_capacity(OPS);
    for i in 0..OPS {
        let t = Instant::now();
        let found = store.model_by_name(scope, "seed").await.unwrap();
        reads.push(t.elapsed());
        assert!(found.is_some(), "{tag}: the seeded model is visible");
        let t = Instant::now();
        let tx = store.begin_write().await.unwrap();
        store
            .create_model(&tx, scope, "bench", &model(format!("{tag}-{round}-{i}")))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        writes.push(t.elapsed());
    }
    (median(reads), median(writes))
}

#[tokio::main]
async fn main() {
    assert!(
        std::env::var("STEWARD_TEST_PG_URL").is_ok(),
        "STEWARD_TEST_PG_URL must name a PostgreSQL server: row-level security is PostgreSQL's"
    );
    let db = TestDb::new().await;
    let tx = db.store.begin_write().await.unwrap();
    let t = db
        .store
        .create_tenant(
            &tx,
            &NewTenant {
                slug: "bench".into(),
                name: "bench".into(),
            },
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let scope = Principal::authenticated("b".into(), t.slug, Some(t.id), vec![Role::ModelOwner])
        .scope()
        .unwrap();
    let tx = db.store.begin_write().await.unwrap();
    db.store
        .create_model(&tx, &scope, "bench", &model("seed".into()))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let before = Store::connect_without_tenancy_hooks(&db.url).await.unwrap();
    let hooks = Store::connect(&db.url).await.unwrap();
    let served = Store::connect_serving(&db.app_url).await.unwrap();
    let configs = [
        ("before (no hooks, no policy)", &before),
        ("hooks only (superuser)", &hooks),
        ("as served (hooks + policies)", &served),
    ];
    let mut results = vec![(Vec::new(), Vec::new()); configs.len()];
    for round in 0..ROUNDS {
        for (k, (name, store)) in configs.iter().enumerate() {
            let tag = name.split(' ').next().unwrap_or("x");
            let (r, w) = within(Tenancy::Tenant(t.id), run(store, &scope, tag, round)).await;
            results[k].0.push(r);
            results[k].1.push(w);
        }
    }
    let base = (median(results[0].0.clone()), median(results[0].1.clone()));
    println!("row-level security on PostgreSQL: medians of {ROUNDS} interleaved rounds of {OPS}");
    println!(
        "{:<32} {:>12} {:>8} {:>12} {:>8}",
        "", "read", "ratio", "write tx", "ratio"
    );
    for (k, (name, _)) in configs.iter().enumerate() {
        let r = median(results[k].0.clone());
        let w = median(results[k].1.clone());
        println!(
            "{:<32} {:>10.0}µs {:>8.2} {:>10.0}µs {:>8.2}",
            name,
            r.as_secs_f64() * 1e6,
            r.as_secs_f64() / base.0.as_secs_f64(),
            w.as_secs_f64() * 1e6,
            w.as_secs_f64() / base.1.as_secs_f64()
        );
    }
}
