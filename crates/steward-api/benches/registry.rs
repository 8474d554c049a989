//! Registry benchmark: the real router on a loopback port, driven over HTTP.
//!
//! Prints medians of several rounds (this machine is shared and noisy):
//! - `registerModelVersion` through GraphQL from one client (versions/s), and the same straight
//!   through the service, to separate the API's share from the write path's;
//! - the model page (a model with 50 versions and their metrics) under 50 concurrent clients
//!   (requests/s, p50, p99);
//! - lineage at depth 10 in a graph of 100,000 nodes (through GraphQL and at the service).
//!
//! Run: `cargo bench -p steward-api --bench registry` (SQLite in a temporary directory), or with
//! `STEWARD_TEST_PG_URL=postgres://...` for PostgreSQL.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Bench, Server, cpu_time, median, percentile};
use serde_json::{Value, json};
use steward_api::ApiConfig;
use steward_domain::{EdgeRelation, LineageDirection, NodeKind, Role};
use steward_service::PolicySettings;

// The same allocator as the `steward` binary: glibc malloc spent a third of the CPU here under
// many threads.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROUNDS: usize = 5;

const VERSION: &str =
    "mutation($i: RegisterModelVersionInput!) { registerModelVersion(input: $i) { id version } }";
const PAGE: &str = "query($id: ID!) { model(id: $id) { name riskTier tags latestVersion versions(first: 50) { nodes { id version artifactUri artifactDigest framework metrics { name value } createdAt } pageInfo { hasNextPage } } } }";

fn version_input(model: &str, i: usize) -> Value {
    json!({"i": {"modelId": model, "artifactUri": format!("s3://models/fraud/{i}/model.ubj"),
        "artifactDigest": format!("{:064x}", i), "framework": "xgboost",
        "inputSchema": [{"name": "amount", "type": "FLOAT"}, {"name": "country", "type": "CATEGORICAL"}],
        "metrics": [{"name": "auc", "value": 0.91}, {"name": "precision", "value": 0.8}, {"name": "recall", "value": 0.7}]}})
}

async fn register_throughput(b: &Bench) -> (f64, Duration, String) {
    let model = b
        .gql("mutation { registerModel(input: {name: \"throughput\", ownerTeam: \"t\", riskTier: HIGH}) { id } }", json!({}))
        .await["registerModel"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut rates = Vec::new();
    let mut cpu = Vec::new();
    let n = 500;
    for round in 0..ROUNDS {
        let start = Instant::now();
        let c0 = cpu_time();
        for i in 0..n {
            b.gql(VERSION, version_input(&model, round * n + i)).await;
        }
        rates.push(n as f64 / start.elapsed().as_secs_f64());
        cpu.push((cpu_time() - c0).as_secs_f64() / n as f64);
    }
    (median(rates), Duration::from_secs_f64(median(cpu)), model)
}

/// The same registrations straight through the service (no HTTP, no GraphQL): what the write
/// path itself costs, to tell it apart from the API's share.
async fn register_at_service(server: &Server, model: &str) -> (f64, Duration) {
    use steward_domain::{Feature, FeatureType, NewModelVersion, Sha256Digest};
    let service = server.state.service.clone();
    let model = steward_domain::ModelId::from_uuid(model.parse().unwrap());
    let (mut rates, mut cpu) = (Vec::new(), Vec::new());
    let n = 500;
    for round in 0..ROUNDS {
        let start = Instant::now();
        let c0 = cpu_time();
        for i in 0..n {
            let k = 1_000_000 + round * n + i;
            let input = steward_service::RegisterModelVersion {
                version: NewModelVersion {
                    model_id: model,
                    artifact_uri: format!("s3://models/fraud/{k}/model.ubj"),
                    artifact_digest: Sha256Digest::parse("d", &format!("{k:064x}")).unwrap(),
                    framework: "xgboost".into(),
                    input_schema: vec![
                        Feature {
                            name: "amount".into(),
                            kind: FeatureType::Float,
                        },
                        Feature {
                            name: "country".into(),
                            kind: FeatureType::Categorical,
                        },
                    ],
                    metrics: [("auc".to_string(), 0.91), ("precision".to_string(), 0.8)]
                        .into_iter()
                        .collect(),
                    tags: vec![],
                    training_run: None,
                    notes: Default::default(),
                },
                idempotency_key: None,
            };
            service
                .register_model_version(&server.owner, input)
                .await
                .unwrap();
        }
        rates.push(n as f64 / start.elapsed().as_secs_f64());
        cpu.push((cpu_time() - c0).as_secs_f64() / n as f64);
    }
    (median(rates), Duration::from_secs_f64(median(cpu)))
}

async fn model_page(b: Arc<Bench>) -> (f64, Duration, Duration, Duration) {
    let model = b
        .gql("mutation { registerModel(input: {name: \"page\", ownerTeam: \"t\", riskTier: HIGH, tags: [\"fraud\"]}) { id } }", json!({}))
        .await["registerModel"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    for i in 0..50 {
        b.gql(VERSION, version_input(&model, 10_000 + i)).await;
    }
    let clients = 50;
    let per_client = 100;
    let (mut rates, mut p50s, mut p99s, mut cpu) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let c0 = cpu_time();
        let mut tasks = Vec::new();
        for _ in 0..clients {
            let b = b.clone();
            let model = model.clone();
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::with_capacity(per_client);
                for _ in 0..per_client {
                    let t = Instant::now();
                    let v = b.gql(PAGE, json!({"id": model})).await;
                    assert_eq!(
                        v["model"]["versions"]["nodes"].as_array().unwrap().len(),
                        50
                    );
                    lat.push(t.elapsed());
                }
                lat
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let elapsed = start.elapsed();
        all.sort();
        rates.push(all.len() as f64 / elapsed.as_secs_f64());
        cpu.push((cpu_time() - c0).as_secs_f64() / all.len() as f64);
        p50s.push(percentile(&all, 0.50).as_secs_f64());
        p99s.push(percentile(&all, 0.99).as_secs_f64());
    }
    wrk(&b, &model).await;
    (
        median(rates),
        Duration::from_secs_f64(median(p50s)),
        Duration::from_secs_f64(median(p99s)),
        Duration::from_secs_f64(median(cpu)),
    )
}

/// The model page again, with the load generated by `wrk` in a separate process (when installed),
/// so that the client's own CPU does not count against the server's.
async fn wrk(b: &Bench, model: &str) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let script = dir.path().join("page.lua");
    let body = json!({"query": PAGE, "variables": {"id": model}}).to_string();
    let lua = format!(
        "wrk.method = \"POST\"\nwrk.body = {body:?}\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.headers[\"Authorization\"] = \"Bearer {}\"\n",
        b.token
    );
    if std::fs::write(&script, lua).is_err() {
        return;
    }
    let out = tokio::process::Command::new("wrk")
        .args(["-t1", "-c50", "-d10s", "--latency", "-s"])
        .arg(&script)
        .arg(&b.url)
        .output()
        .await;
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let pick = |key: &str| {
                text.lines()
                    .find(|l| l.trim_start().starts_with(key))
                    .map(|l| l.trim().to_string())
                    .unwrap_or_default()
            };
            println!(
                "model page via wrk (1 thread, 50 connections, 10 s): {} | latency {} | {}",
                pick("Requests/sec"),
                pick("50%"),
                pick("99%")
            );
        }
        _ => println!("(wrk not installed: skipping the separate-process load test)"),
    }
}

/// A lineage graph of `n` nodes shaped like a busy registry: 200 datasets and 200 models own their
/// versions; each training run reads two recent dataset versions and usually fine-tunes a recent
/// version of its model, which produces the next version. Walks upstream from a late version go
/// deep through fine-tune generations; walks downstream from a dataset fan out widely.
type Nodes = Vec<(uuid::Uuid, NodeKind, String)>;
type Edges = Vec<(uuid::Uuid, uuid::Uuid, EdgeRelation)>;

fn lineage_graph(n: usize) -> (Nodes, Edges, uuid::Uuid) {
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move |m: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % m as u64) as usize
    };
    let mut nodes: Nodes = Vec::with_capacity(n);
    let mut edges = Vec::new();
    let owners = 200;
    let datasets: Vec<uuid::Uuid> = (0..owners).map(|_| uuid::Uuid::now_v7()).collect();
    let models: Vec<uuid::Uuid> = (0..owners).map(|_| uuid::Uuid::now_v7()).collect();
    for i in 0..owners {
        nodes.push((datasets[i], NodeKind::Dataset, format!("dataset {i}")));
        nodes.push((models[i], NodeKind::Model, format!("model {i}")));
    }
    let mut data: Vec<uuid::Uuid> = Vec::new();
    let mut latest: Vec<Option<uuid::Uuid>> = vec![None; owners];
    while nodes.len() + 3 <= n {
        let dv = uuid::Uuid::now_v7();
        edges.push((datasets[next(owners)], dv, EdgeRelation::HasVersion));
        nodes.push((
            dv,
            NodeKind::DatasetVersion,
            format!("data v{}", nodes.len()),
        ));
        data.push(dv);
        let run = uuid::Uuid::now_v7();
        nodes.push((run, NodeKind::TrainingRun, format!("run {}", nodes.len())));
        for _ in 0..2 {
            edges.push((
                data[data.len() - 1 - next(data.len().min(500))],
                run,
                EdgeRelation::InputTo,
            ));
        }
        let m = next(owners);
        if let Some(base) = latest[m].filter(|_| next(10) < 9) {
            edges.push((base, run, EdgeRelation::BaseOf));
        }
        let mv = uuid::Uuid::now_v7();
        nodes.push((
            mv,
            NodeKind::ModelVersion,
            format!("model {m} v{}", nodes.len()),
        ));
        edges.push((run, mv, EdgeRelation::Produced));
        edges.push((models[m], mv, EdgeRelation::HasVersion));
        latest[m] = Some(mv);
    }
    edges.sort();
    edges.dedup();
    let start = latest.iter().flatten().next_back().copied().unwrap();
    (nodes, edges, start)
}

async fn lineage(server: &Server, b: &Bench) -> (Duration, Duration, usize, usize) {
    let (nodes, edges, start) = lineage_graph(100_000);
    let service = server.state.service.clone();
    let owner = &server.owner;
    server
        .db
        .import_lineage(owner, &nodes, &edges)
        .await
        .unwrap();
    let (mut http, mut direct) = (Vec::new(), Vec::new());
    let mut sizes = (0, 0);
    let t = Instant::now();
    for _ in 0..20 {
        service.ready().await.unwrap();
    }
    println!(
        "(database round trip: {:.3} ms)",
        t.elapsed().as_secs_f64() * 1e3 / 20.0
    );
    let t = Instant::now();
    for _ in 0..20 {
        service
            .lineage(owner, start, LineageDirection::Upstream, 1)
            .await
            .unwrap();
    }
    println!(
        "(lineage depth 1: {:.3} ms)",
        t.elapsed().as_secs_f64() * 1e3 / 20.0
    );
    for _ in 0..ROUNDS * 4 {
        let t = Instant::now();
        let g = service
            .lineage(owner, start, LineageDirection::Upstream, 10)
            .await
            .unwrap();
        direct.push(t.elapsed().as_secs_f64());
        sizes = (g.nodes.len(), g.edges.len());
        let t = Instant::now();
        let v = b
            .gql("query($id: ID!) { lineage(nodeId: $id, direction: UPSTREAM, depth: 10) { nodes { id kind label depth } edges { from to relation } } }", json!({"id": start.to_string()}))
            .await;
        http.push(t.elapsed().as_secs_f64());
        assert_eq!(v["lineage"]["nodes"].as_array().unwrap().len(), sizes.0);
    }
    (
        Duration::from_secs_f64(median(http)),
        Duration::from_secs_f64(median(direct)),
        sizes.0,
        sizes.1,
    )
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // BENCH_NO_CACHE=1 measures GraphQL execution itself, with the read cache off.
        let cache_off = std::env::var("BENCH_NO_CACHE").is_ok();
        let api = ApiConfig {
            response_cache_entries: if cache_off { 0 } else { 1024 },
            ..ApiConfig::default()
        };
        let server = Server::start(api, PolicySettings::default()).await;
        let b = Arc::new(server.client(&[Role::ModelOwner]));
        let backend = server.backend();
        let cache = if cache_off { "off" } else { "on" };
        println!("backend: {backend}; read cache {cache}; medians of {ROUNDS} rounds");

        let (rate, cpu, model) = register_throughput(&b).await;
        println!(
            "registerModelVersion, 1 client:        {rate:>8.0} versions/s   {:.3} ms CPU each (server + client)   (goal >= 1,000/s)",
            cpu.as_secs_f64() * 1e3
        );
        let (rate, cpu) = register_at_service(&server, &model).await;
        println!(
            "  the same at the service (no HTTP):   {rate:>8.0} versions/s   {:.3} ms CPU each",
            cpu.as_secs_f64() * 1e3
        );
        let (rps, p50, p99, cpu) = model_page(b.clone()).await;
        println!(
            "model page (50 versions), 50 clients:   {rps:>8.0} requests/s   p50 {:.2} ms   p99 {:.2} ms   {:.3} ms CPU each   (goal >= 5,000/s, p99 < 10 ms)",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            cpu.as_secs_f64() * 1e3
        );
        let (http, direct, n, e) = lineage(&server, &b).await;
        println!(
            "lineage depth 10, 100,000-node graph:   {:.2} ms via GraphQL, {:.2} ms at the service ({n} nodes, {e} edges returned)   (goal < 50 ms)",
            http.as_secs_f64() * 1e3,
            direct.as_secs_f64() * 1e3
        );
    });
}
