//! Policy evaluation through the server: `evaluatePolicy` end to end (resolve the binding,
//! evaluate on the blocking pool, store the decision record and its audit event), and what
//! runaway scripts running at the same time do to other evaluations and to ordinary reads.
//!
//! Prints medians of several rounds, quiet and with 1 and 2 runaway evaluations in flight
//! (each spins to the 100 ms wall-clock budget, over and over), side by side in one run.
//!
//! Run: `cargo bench -p steward-api --bench policy` (SQLite in a temporary directory), or with
//! `STEWARD_TEST_PG_URL=postgres://...` for PostgreSQL.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Bench, Server, cpu_time, median, ms, percentile};
use serde_json::{Value, json};
use steward_api::ApiConfig;
use steward_domain::Role;
use steward_service::PolicySettings;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROUNDS: usize = 5;
const PER_ROUND: usize = 200;

const EVALUATE: &str =
    "mutation($i: EvaluatePolicyInput!) { evaluatePolicy(input: $i) { id limitHit } }";
const READ: &str = "query($id: ID!) { model(id: $id) { name riskTier tags latestVersion } }";
const TENANT_DEFAULT: &str = include_str!("../../../policies/tenant-default.rhai");

fn context(composite: f64) -> Value {
    json!({
        "window": {"start": "2026-03-01T00:00:00Z", "end": "2026-03-02T00:00:00Z", "rows": 5000},
        "drift": {"composite": composite, "features": [
            {"feature": "amount", "statistic": "psi", "value": 0.12, "drifted": false},
            {"feature": "country", "statistic": "chi2", "value": 14.2, "p_value": 0.03, "drifted": true}
        ]},
        "quality": [{"feature": "amount", "kind": "missing_rate", "severity": "warning", "value": 0.01}],
        "baseline": {"id": "b-1", "created_at": "2026-02-01T00:00:00Z"}
    })
}

/// Registers a model with one version; returns (model id, version id).
async fn model(owner: &Bench, name: &str) -> (String, String) {
    let m = owner
        .gql("mutation($n: String!) { registerModel(input: {name: $n, ownerTeam: \"t\", riskTier: HIGH, tags: [\"eu\"]}) { id } }", json!({"n": name}))
        .await["registerModel"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let v = owner
        .gql("mutation($m: ID!) { registerModelVersion(input: {modelId: $m, artifactUri: \"s3://m\", artifactDigest: \"sha256:abababababababababababababababababababababababababababababababab\", framework: \"f\"}) { id } }", json!({"m": m}))
        .await["registerModelVersion"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    (m, v)
}

/// Publishes `source` as policy `name` and binds it (to `model`, or as the tenant default).
async fn publish(author: &Bench, name: &str, source: &str, model: Option<&str>) {
    let p = author
        .gql(
            "mutation($n: String!) { createPolicy(input: {name: $n}) { id } }",
            json!({"n": name}),
        )
        .await["createPolicy"]["id"]
        .clone();
    author
        .gql("mutation($p: ID!, $s: String!) { proposePolicyRevision(input: {policyId: $p, source: $s}) { created } }", json!({"p": p, "s": source}))
        .await;
    author
        .gql("mutation($p: ID!) { publishPolicyRevision(input: {policyId: $p, number: 1}) { number } }", json!({"p": p}))
        .await;
    let bind = match model {
        Some(m) => json!({"policyId": p, "modelId": m}),
        None => json!({"policyId": p, "tenantDefault": true}),
    };
    author
        .gql(
            "mutation($i: BindPolicyInput!) { bindPolicy(input: $i) { id } }",
            json!({"i": bind}),
        )
        .await;
}

struct Figures {
    eval_p50: f64,
    eval_p99: f64,
    read_p50: f64,
    read_p99: f64,
    /// Evaluations per second from 8 concurrent clients.
    eval_rate: f64,
    /// CPU per evaluation (server + client), from the concurrent run.
    eval_cpu: f64,
}

/// Latencies of `n` sequential calls.
async fn sequential(n: usize, mut call: impl AsyncFnMut()) -> Vec<Duration> {
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        call().await;
        lat.push(t.elapsed());
    }
    lat.sort();
    lat
}

async fn measure(service: &Arc<Bench>, reader: &Bench, version: &str, model: &str) -> Figures {
    let (mut e50, mut e99, mut r50, mut r99, mut rate, mut cpu) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let input =
        json!({"i": {"modelVersionId": version, "hook": "ON_WINDOW", "context": context(0.35)}});
    for _ in 0..ROUNDS {
        let lat = sequential(PER_ROUND, async || {
            let v = service.gql(EVALUATE, input.clone()).await;
            assert!(v["evaluatePolicy"]["limitHit"].is_null(), "{v}");
        })
        .await;
        e50.push(ms(percentile(&lat, 0.5)));
        e99.push(ms(percentile(&lat, 0.99)));
        let lat = sequential(PER_ROUND, async || {
            reader.gql(READ, json!({"id": model})).await;
        })
        .await;
        r50.push(ms(percentile(&lat, 0.5)));
        r99.push(ms(percentile(&lat, 0.99)));

        let clients = 8;
        let start = Instant::now();
        let c0 = cpu_time();
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let b = Arc::clone(service);
            let input = input.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..PER_ROUND / clients {
                    b.gql(EVALUATE, input.clone()).await;
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let done = (PER_ROUND / clients * clients) as f64;
        rate.push(done / start.elapsed().as_secs_f64());
        cpu.push((cpu_time() - c0).as_secs_f64() * 1e3 / done);
    }
    Figures {
        eval_p50: median(e50),
        eval_p99: median(e99),
        read_p50: median(r50),
        read_p99: median(r99),
        eval_rate: median(rate),
        eval_cpu: median(cpu),
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let api = ApiConfig {
            response_cache_entries: 0,
            ..ApiConfig::default()
        };
        // The worst case: runaways that only the wall clock stops (in release builds an empty
        // loop reaches the operation limit sooner).
        let mut settings = PolicySettings::default();
        settings.limits.max_operations = u64::MAX;
        let permits = settings.max_concurrent;
        let budget = settings.limits.wall_clock;
        let server = Server::start(api, settings).await;
        let owner = server.client(&[Role::ModelOwner]);
        let author = server.client(&[Role::PolicyAuthor]);
        let service = Arc::new(server.client(&[Role::Service]));
        let (fraud, fraud_v) = model(&owner, "fraud").await;
        let (spinner, spinner_v) = model(&owner, "spinner").await;
        publish(&author, "default", TENANT_DEFAULT, None).await;
        publish(&author, "spin", "fn on_window(ctx) { loop { } }", Some(&spinner)).await;
        println!(
            "backend: {}; read cache off; {permits} evaluation permits; budget {} ms; medians of {ROUNDS} rounds of {PER_ROUND}",
            server.backend(),
            budget.as_millis()
        );
        println!(
            "{:<38} {:>14} {:>14} {:>12} {:>12} {:>16} {:>12}",
            "", "eval p50 ms", "eval p99 ms", "read p50 ms", "read p99 ms", "evals/s (8 cl.)", "CPU/eval ms"
        );
        for runaways in [0usize, 1, 2] {
            let stop = Arc::new(AtomicBool::new(false));
            let stopped = Arc::new(AtomicU64::new(0));
            let mut spinners = Vec::new();
            for _ in 0..runaways {
                let (b, stop, stopped) = (Arc::clone(&service), Arc::clone(&stop), Arc::clone(&stopped));
                let input = json!({"i": {"modelVersionId": spinner_v, "hook": "ON_WINDOW", "context": context(0.1)}});
                spinners.push(tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        let v = b.gql(EVALUATE, input.clone()).await;
                        assert_eq!(v["evaluatePolicy"]["limitHit"], "wall_clock", "{v}");
                        stopped.fetch_add(1, Ordering::Relaxed);
                    }
                }));
            }
            let f = measure(&service, &owner, &fraud_v, &fraud).await;
            stop.store(true, Ordering::Relaxed);
            for s in spinners {
                s.await.unwrap();
            }
            let label = match runaways {
                0 => "quiet".to_string(),
                n => format!("{n} runaway(s) in flight ({} stopped)", stopped.load(Ordering::Relaxed)),
            };
            println!(
                "{label:<38} {:>14.2} {:>14.2} {:>12.2} {:>12.2} {:>16.0} {:>12.3}",
                f.eval_p50, f.eval_p99, f.read_p50, f.read_p99, f.eval_rate, f.eval_cpu
            );
        }
    });
}
