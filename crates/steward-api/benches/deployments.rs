//! Deployments benchmark: the real service and router on loopback. Prints medians and p99s:
//! - rollback to effect: from sending the `rollback` mutation (GraphQL over HTTP) to the KServe
//!   stand-in of crate `steward-loopback` receiving the merge patch that carries it, with the
//!   relay loop `steward serve` runs (its default 1 s interval, woken in-process when the
//!   mutation writes the deployment action); rollbacks one after another, alternating between
//!   two earlier revisions;
//! - `servedAt` on an endpoint with 10,000 revisions: the GraphQL query at random instants of
//!   its history, and the service call alone.
//!
//! Run: `cargo bench -p steward-api --bench deployments` (SQLite in a temporary directory), or
//! with `STEWARD_TEST_PG_URL=postgres://...` for PostgreSQL. `BENCH_QUICK=1` is a smoke run.

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::{Server, ms, percentile};
use serde_json::{Value, json};
use steward_api::ApiConfig;
use steward_domain::{EndpointId, Role};
use steward_loopback::{Contract, Receiver};
use steward_service::{KeySource, OutboxSettings, PolicySettings, RollbackInput};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const REGISTER_MODEL: &str =
    "mutation($i: RegisterModelInput!) { registerModel(input: $i) { id } }";
const REGISTER_VERSION: &str =
    "mutation($i: RegisterModelVersionInput!) { registerModelVersion(input: $i) { id } }";
const CREATE_ENDPOINT: &str =
    "mutation($i: CreateEndpointInput!) { createEndpoint(input: $i) { id } }";
const REQUEST: &str =
    "mutation($i: RequestPromotionInput!) { requestPromotion(input: $i) { status } }";
const ROLLBACK: &str = "mutation($i: RollbackInputGql!) { rollback(input: $i) { number } }";
const SERVED_AT: &str = "query($e: ID!, $t: DateTime!) { servedAt(endpointId: $e, at: $t) { number champion { version } } }";

fn digest() -> String {
    format!("sha256:{}", "ab".repeat(32))
}

fn summary(name: &str, mut xs: Vec<Duration>) {
    xs.sort();
    println!(
        "{name:<44} n={:<6} p50 {:>8.2} ms   p99 {:>8.2} ms   max {:>8.2} ms",
        xs.len(),
        ms(percentile(&xs, 0.50)),
        ms(percentile(&xs, 0.99)),
        ms(*xs.last().unwrap_or(&Duration::ZERO)),
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = std::env::var("BENCH_QUICK").is_ok();
    let (rollbacks, revisions, queries) = if quick {
        (20, 500, 200)
    } else {
        (300, 10_000, 2_000)
    };
    let server = Server::start_with(
        ApiConfig::default(),
        PolicySettings::default(),
        KeySource::Hs256 {
            secret: vec![7; 32],
        },
        |s| {
            s.with_outbox_settings(OutboxSettings {
                allow_private_networks: true,
                ..OutboxSettings::default()
            })
        },
    )
    .await;
    println!("deployments benchmark on {}", server.backend());
    let owner = server.client(&[Role::ModelOwner]);
    let sre = server.client(&[Role::Sre]);
    let officer = server.client(&[Role::GovernanceOfficer]);
    let model = owner
        .gql(
            REGISTER_MODEL,
            json!({"i": {"name": "scorer", "ownerTeam": "t", "riskTier": "LOW"}}),
        )
        .await["registerModel"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut versions = Vec::new();
    for i in 1..=2 {
        let v = owner
            .gql(
                REGISTER_VERSION,
                json!({"i": {"modelId": model, "artifactUri": format!("s3://m/{i}"),
                    "artifactDigest": digest(), "framework": "sklearn",
                    "metrics": [{"name": "auc", "value": 0.8}]}}),
            )
            .await;
        versions.push(
            v["registerModelVersion"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let kserve = Receiver::start(Contract::Kserve {
        namespace: "bench".into(),
        name: "scorer".into(),
        storage_uri: "s3://m/1".into(),
        token: None,
    })
    .await
    .unwrap();
    officer
        .gql(
            "mutation($i: PutDeliveryTargetInput!) { putDeliveryTarget(input: $i) { name } }",
            json!({"i": {"name": "kserve", "kind": "KSERVE", "url": kserve.url()}}),
        )
        .await;
    let endpoint = |name: &str, target: Value| {
        json!({"i": {"modelId": model, "name": name, "environment": "prod", "target": target,
            "championVersionId": versions[0], "reason": "bench"}})
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let relay = {
        let svc = server.state.service.clone();
        tokio::spawn(async move { svc.run_relay_loop(Duration::from_secs(1), stopped).await })
    };

    // Rollback to effect, with a KServe target.
    let e = sre
        .gql(CREATE_ENDPOINT, endpoint("scorer-kserve", json!("kserve")))
        .await["createEndpoint"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let promoted = owner
        .gql(
            REQUEST,
            json!({"i": {"endpointId": e, "candidateVersionId": versions[1],
            "artifactDigest": digest(), "reason": "bench"}}),
        )
        .await;
    assert_eq!(promoted["requestPromotion"]["status"], "PROMOTED");
    let wait_for = |n: usize| {
        let kserve = &kserve;
        async move {
            let deadline = Instant::now() + Duration::from_secs(10);
            while kserve.accepted_count() < n {
                assert!(
                    Instant::now() < deadline,
                    "the rollback never reached KServe"
                );
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
        }
    };
    // Each delivery is a GET and a PATCH.
    wait_for(4).await;
    let mut effect = Vec::with_capacity(rollbacks);
    for i in 0..rollbacks {
        let before = kserve.accepted_count();
        let sent = SystemTime::now();
        sre.gql(
            ROLLBACK,
            json!({"i": {"endpointId": e, "reason": "bench", "toRevision": 1 + i % 2}}),
        )
        .await;
        wait_for(before + 2).await;
        let patch = kserve
            .received()
            .into_iter()
            .rev()
            .find(|r| {
                r.accepted() && r.header("content-type") == Some("application/merge-patch+json")
            })
            .unwrap();
        effect.push(patch.at.duration_since(sent).unwrap_or_default());
    }
    summary("rollback mutation -> KServe merge patch", effect);
    let _ = stop.send(true);
    let _ = relay.await;

    // servedAt on an endpoint with `revisions` revisions (no target: nothing to deliver).
    let e = sre
        .gql(CREATE_ENDPOINT, endpoint("scorer-history", Value::Null))
        .await["createEndpoint"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    owner
        .gql(
            REQUEST,
            json!({"i": {"endpointId": e, "candidateVersionId": versions[1],
            "artifactDigest": digest(), "reason": "bench"}}),
        )
        .await;
    let svc = server.state.service.clone();
    let principal = svc.authenticator().authenticate(&sre.token).await.unwrap();
    let id = EndpointId::from_uuid(e.parse().unwrap());
    let first = chrono::Utc::now();
    let seeding = Instant::now();
    for i in 2..revisions {
        svc.rollback(
            &principal,
            RollbackInput {
                endpoint: id,
                reason: "history".into(),
                incident: None,
                to_revision: Some(1 + (i % 2) as i64),
                expected_revision: None,
                idempotency_key: None,
            },
        )
        .await
        .unwrap();
    }
    let last = chrono::Utc::now();
    println!(
        "seeded {revisions} revisions in {:.1} s ({:.2} ms per rollback through the service)",
        seeding.elapsed().as_secs_f64(),
        ms(seeding.elapsed()) / revisions as f64
    );
    let span = (last - first).num_microseconds().unwrap_or(1).max(1);
    let mut seed: u64 = 42;
    let mut instant = || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        first + chrono::Duration::microseconds(((seed >> 11) % span as u64) as i64)
    };
    let mut over_http = Vec::with_capacity(queries);
    let mut in_service = Vec::with_capacity(queries);
    for _ in 0..queries {
        let t = instant();
        let started = Instant::now();
        let v = sre
            .gql(SERVED_AT, json!({"e": e, "t": t.to_rfc3339()}))
            .await;
        over_http.push(started.elapsed());
        assert!(v["servedAt"]["number"].as_i64().is_some());
        let t = instant();
        let started = Instant::now();
        let r = svc.served_at(&principal, id, t).await.unwrap();
        in_service.push(started.elapsed());
        assert!(r.is_some());
    }
    summary(
        &format!("servedAt over GraphQL ({revisions} revisions)"),
        over_http,
    );
    summary(
        &format!("servedAt in the service ({revisions} revisions)"),
        in_service,
    );
}
