//! Three `steward serve` replicas on one database (PostgreSQL in CI, SQLite in the README's
//! command), under a bounded loopback load of many clients, while one replica after another is
//! killed with SIGKILL and started again:
//! - every acknowledged write is there afterwards (model and version registrations found, every
//!   acknowledged batch recognised as a duplicate when sent again under its key): 0 lost;
//! - the schedulers' leases hold: every closed window evaluated exactly once (one decision
//!   record, one alert per window);
//! - the relays' leases hold: every alert delivered, and a second delivery only for what a
//!   killed relay had in flight (the receiver recognises it by its `webhook-id`);
//! - p50 and p99 per operation are printed (acknowledged operations only).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use steward_loopback::{Contract, Receiver};
use steward_store::testing::TestDb;

use crate::monitoring::{batch, last_hour, monitored, send};
use crate::outbox::{SECRET, delivered, set_up};
use crate::serve::{Deployment, Process, gql};

const REPLICAS: usize = 3;
const LOAD: Duration = Duration::from_secs(20);
const KILL_EVERY: Duration = Duration::from_secs(3);
/// Monitored models; model `m`'s batches all fall in the hour `m` hours before the last one,
/// and its lateness makes that window close `WINDOWS_CLOSE_AFTER + 2m` seconds after the model
/// is set up: the windows close one after another while the load runs and replicas die, and the
/// schedulers race for them.
const MONITORED: usize = 8;
const WINDOWS_CLOSE_AFTER: i64 = 12;
const BATCH: &str = "4";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    RegisterModel,
    RegisterVersion,
    Read,
    Observe,
}

/// What one client saw acknowledged, and how long each acknowledged operation took.
#[derive(Default)]
struct Acked {
    models: Vec<String>,
    versions: Vec<String>,
    /// (version, idempotency key, the body's event time): sent again, the same bytes.
    batches: Vec<(String, String, String)>,
    latencies: BTreeMap<Op, Vec<f64>>,
    refused: usize,
}

/// A GraphQL request to one replica: the data when acknowledged, `None` when the request failed
/// in transit, timed out or answered an error (not acknowledged: it may or may not have
/// committed, and nothing is claimed about it).
async fn try_gql(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    q: &str,
    v: Value,
) -> Option<Value> {
    let resp = client
        .post(format!("{url}/graphql"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(json!({"query": q, "variables": v}).to_string())
        .timeout(Duration::from_secs(15))
        .send()
        .await
        .ok()?;
    if resp.status() != 200 {
        return None;
    }
    let v: Value = serde_json::from_slice(&resp.bytes().await.ok()?).ok()?;
    if v.get("errors").is_some() {
        return None;
    }
    Some(v["data"].clone())
}

struct Load {
    urls: Arc<RwLock<Vec<String>>>,
    owner: String,
    monitored: Vec<String>,
    deadline: Instant,
}

async fn client(n: usize, load: Arc<Load>, acked: Arc<Mutex<Acked>>) {
    let http = reqwest::Client::new();
    let mut last_model: Option<String> = None;
    let mut i = 0usize;
    while Instant::now() < load.deadline {
        i += 1;
        let url = {
            let urls = load.urls.read().unwrap();
            urls[(n + i) % urls.len()].clone()
        };
        let op = match (i + n) % 10 {
            0..=2 => Op::RegisterModel,
            3 | 4 if last_model.is_some() => Op::RegisterVersion,
            3..=6 => Op::Read,
            _ => Op::Observe,
        };
        let started = Instant::now();
        let done = match op {
            Op::RegisterModel => {
                let name = format!("c{n}-m{i}");
                let q = "mutation($n: String!) { registerModel(input: {name: $n, ownerTeam: \"load\", riskTier: LOW}) { id } }";
                let v = try_gql(&http, &url, &load.owner, q, json!({"n": name})).await;
                v.map(|v| {
                    last_model = v["registerModel"]["id"].as_str().map(str::to_string);
                    acked.lock().unwrap().models.push(name);
                })
            }
            Op::RegisterVersion => {
                let q = "mutation($m: ID!, $d: String!) { registerModelVersion(input: {modelId: $m, artifactUri: \"s3://load\", artifactDigest: $d, framework: \"f\"}) { id } }";
                let digest = format!("sha256:{:064x}", n * 1_000_000 + i);
                let v = try_gql(
                    &http,
                    &url,
                    &load.owner,
                    q,
                    json!({"m": last_model, "d": digest}),
                )
                .await;
                v.map(|v| {
                    let id = v["registerModelVersion"]["id"]
                        .as_str()
                        .unwrap()
                        .to_string();
                    acked.lock().unwrap().versions.push(id);
                })
            }
            Op::Read => {
                let q = "{ models(first: 20) { nodes { name latestVersion } } }";
                try_gql(&http, &url, &load.owner, q, json!({}))
                    .await
                    .map(|_| ())
            }
            Op::Observe => {
                let m = (n + i) % load.monitored.len();
                let version = load.monitored[m].clone();
                let at =
                    last_hour() - chrono::Duration::hours(m as i64) + chrono::Duration::minutes(5);
                let key = format!("c{n}-b{i}");
                match send(&url, &load.owner, &version, &key, &batch(&at.to_rfc3339())).await {
                    Some(_) => {
                        acked
                            .lock()
                            .unwrap()
                            .batches
                            .push((version, key, at.to_rfc3339()));
                        Some(())
                    }
                    None => None,
                }
            }
        };
        let mut a = acked.lock().unwrap();
        match done {
            Some(()) => a
                .latencies
                .entry(op)
                .or_default()
                .push(started.elapsed().as_secs_f64() * 1e3),
            None => a.refused += 1,
        }
    }
}

fn percentile(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test]
async fn replicas_killed_under_load_lose_no_acknowledged_write_and_evaluate_and_deliver_once() {
    let db = TestDb::new().await;
    let d = Deployment::on(&db);
    let clients = if db.url.starts_with("postgres") {
        100
    } else {
        50
    };
    let env = [
        ("STEWARD_MONITORING_SCHEDULER_INTERVAL_MS", "200"),
        ("STEWARD_MONITORING_LEASE_SECONDS", "5"),
        ("STEWARD_OUTBOX_INTERVAL_MS", "100"),
        ("STEWARD_OUTBOX_ALLOW_PRIVATE_NETWORKS", "true"),
        ("STEWARD_OUTBOX_LEASE_SECONDS", "3"),
        ("STEWARD_OUTBOX_BATCH", BATCH),
    ];
    let mut procs: Vec<Process> = (0..REPLICAS).map(|_| d.serve_with(&env)).collect();
    let (owner, officer) = d.tenant(&procs[0]).await;
    let sre = d.token("acme", "sre");
    let hook = Receiver::start(Contract::Webhook {
        secrets: vec![SECRET.into()],
    })
    .await
    .unwrap();
    set_up(&d, &procs[0], &officer, &hook).await;
    let mut versions = Vec::new();
    for m in 0..MONITORED {
        // The window [last_hour - m h, + 1 h) ends at last_hour - (m - 1) h.
        let end = last_hour() - chrono::Duration::hours(m as i64 - 1);
        let close =
            chrono::Utc::now() + chrono::Duration::seconds(WINDOWS_CLOSE_AFTER + 2 * m as i64);
        let lateness = (close - end).num_seconds();
        let name = format!("watched{m}");
        versions.push(monitored(&procs[m % REPLICAS], &owner, &name, lateness).await);
    }

    let urls = Arc::new(RwLock::new(procs.iter().map(|p| p.url.clone()).collect()));
    let load = Arc::new(Load {
        urls: Arc::clone(&urls),
        owner: owner.clone(),
        monitored: versions.clone(),
        deadline: Instant::now() + LOAD,
    });
    let acked = Arc::new(Mutex::new(Acked::default()));
    let tasks: Vec<_> = (0..clients)
        .map(|n| tokio::spawn(client(n, Arc::clone(&load), Arc::clone(&acked))))
        .collect();
    let mut kills = 0;
    while Instant::now() + KILL_EVERY < load.deadline {
        tokio::time::sleep(KILL_EVERY).await;
        let victim = kills % REPLICAS;
        procs[victim].child.kill().unwrap();
        procs[victim].child.wait().unwrap();
        kills += 1;
        procs[victim] = d.serve_with(&env);
        urls.write().unwrap()[victim] = procs[victim].url.clone();
    }
    for t in tasks {
        t.await.unwrap();
    }
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    let p = &procs[0];

    // 0 acknowledged writes lost.
    for name in &acked.models {
        let v = gql(
            &p.url,
            &owner,
            "query($n: String!) { modelByName(name: $n) { name } }",
            json!({"n": name}),
        )
        .await;
        assert_eq!(
            v["data"]["modelByName"]["name"],
            name.as_str(),
            "acknowledged model lost: {v}"
        );
    }
    for id in &acked.versions {
        let v = gql(
            &p.url,
            &owner,
            "query($i: ID!) { modelVersion(id: $i) { id } }",
            json!({"i": id}),
        )
        .await;
        assert_eq!(
            v["data"]["modelVersion"]["id"],
            id.as_str(),
            "acknowledged version lost: {v}"
        );
    }
    for (version, key, at) in &acked.batches {
        let again = send(&p.url, &owner, version, key, &batch(at)).await;
        assert_eq!(
            again,
            Some(true),
            "acknowledged batch {key} not recognised: lost"
        );
    }

    // Every closed window evaluated exactly once, every alert delivered, at most the in-flight
    // ones twice.
    let mut evaluated = 0;
    for _ in 0..300 {
        evaluated = 0;
        let mut open = 0;
        for v in &versions {
            let w = gql(&p.url, &owner, "query($v: ID!) { windows(modelVersionId: $v, first: 100) { status decisionRecordId evaluation } }", json!({"v": v})).await;
            for w in w["data"]["windows"].as_array().unwrap() {
                if w["status"] == "EVALUATED" && w["decisionRecordId"].is_string() {
                    evaluated += 1;
                } else if w["status"] == "EVALUATED" {
                    // A window that closed before any row reached it has nothing to decide.
                    assert_eq!(w["evaluation"]["rows"], 0, "{w}");
                } else {
                    open += 1;
                }
            }
        }
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        evaluated, MONITORED,
        "each monitored model's window evaluated by the schedulers"
    );
    let (mut records, mut after) = (0, Value::Null);
    loop {
        let q = "query($a: String) { decisionRecords(first: 100, after: $a, hook: ON_WINDOW) { nodes { id } pageInfo { hasNextPage endCursor } } }";
        let v = gql(&p.url, &owner, q, json!({"a": after})).await;
        let page = &v["data"]["decisionRecords"];
        records += page["nodes"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .len();
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(
        records, evaluated,
        "one decision record per evaluated window, none twice"
    );
    let actions = delivered(p, &sre, evaluated).await;
    assert_eq!(actions.len(), evaluated, "one alert per evaluated window");
    let mut received: BTreeMap<String, usize> = BTreeMap::new();
    for r in hook.accepted() {
        *received
            .entry(r.header("webhook-id").unwrap_or_default().to_string())
            .or_default() += 1;
    }
    let ids: BTreeSet<&String> = actions.keys().collect();
    assert!(
        ids.iter().all(|id| received.contains_key(*id)),
        "every alert reached the receiver"
    );
    let doubled: usize = received.values().map(|n| n - 1).sum();
    assert!(
        doubled <= kills * BATCH.parse::<usize>().unwrap(),
        "a second delivery only for what a killed relay had in flight: {doubled} after {kills} kills"
    );

    let total: usize = acked.latencies.values().map(Vec::len).sum();
    eprintln!(
        "{clients} clients, {REPLICAS} replicas, {kills} SIGKILLs in {} s: {total} acknowledged operations, {} not acknowledged; {} models, {} versions, {} batches acknowledged, 0 lost; {evaluated} windows evaluated once each; {} alerts delivered, {doubled} twice",
        LOAD.as_secs(),
        acked.refused,
        acked.models.len(),
        acked.versions.len(),
        acked.batches.len(),
        actions.len()
    );
    for (op, l) in &acked.latencies {
        eprintln!(
            "  {op:?}: n={} p50={:.1} ms p99={:.1} ms",
            l.len(),
            percentile(l, 0.5),
            percentile(l, 0.99)
        );
    }
    assert!(kills >= 5, "{kills}");
    // A floor that proves the load was real without depending on the machine's speed (CI runs
    // other test binaries beside this one): every client got several operations through.
    assert!(
        total >= 3 * clients,
        "the load was real: {total} acknowledged operations from {clients} clients"
    );
}
