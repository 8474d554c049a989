//! Outbox relay benchmark: the real service and router on loopback, delivering to the loopback
//! receivers of crate `steward-loopback` (which check each contract: Block Kit, the Events API
//! v2 schema, Standard Webhooks signatures), in this process. Prints medians:
//! - throughput: pending alerts seeded in bulk, then relay passes back to back
//!   (`Service::run_relay_pass`, batch 256, 32 requests in flight) until the outbox is empty;
//!   deliveries per second per kind of target, side by side in each round;
//! - latency: from the scheduler pass that closes a window (whose policy alerts `slack`) to the
//!   Slack receiver getting the request, with the relay loop `steward serve` runs (its default
//!   1 s interval, woken when the pass writes actions); 10 models' windows close per pass;
//! - backlog: 100,000 pending alerts drained by that relay loop with the default settings
//!   while 8 clients read over GraphQL; the read's p50 and p99 before the backlog and during
//!   its drain, and the drain's rate; with the API's read cache on and off.
//!
//! Run: `cargo bench -p steward-api --bench outbox` (SQLite in a temporary directory), or with
//! `STEWARD_TEST_PG_URL=postgres://...` for PostgreSQL. `BENCH_QUICK=1` is a smoke run;
//! `BENCH_ONLY=throughput,latency,backlog` runs only the parts named.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Utc};
use common::{Bench, Server, median, ms, percentile};
use serde_json::{Value, json};
use steward_api::ApiConfig;
use steward_domain::{DecisionRecordId, ModelId, ModelVersionId, Principal, Role, SystemActor};
use steward_loopback::{Contract, Receiver};
use steward_service::monitoring::ManualClock;
use steward_service::{KeySource, OutboxSettings, PolicySettings};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROUTING_KEY: &str = "BENCHROUTINGKEY0123456789abcdefg";
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const START: &str = "2026-03-01T00:00:00Z";
const POLICY: &str = r#"
fn schedule() { "hourly" }
fn on_window(ctx) { [alert("warning", `${ctx.model.name}: window evaluated`, "slack")] }
"#;

struct Plan {
    rounds: usize,
    per_kind: usize,
    latency_hours: usize,
    latency_models: usize,
    backlog: usize,
    readers: usize,
    baseline_reads: Duration,
}

impl Plan {
    fn from_env() -> Plan {
        if std::env::var("BENCH_QUICK").is_ok() {
            Plan {
                rounds: 1,
                per_kind: 500,
                latency_hours: 3,
                latency_models: 3,
                backlog: 2_000,
                readers: 2,
                baseline_reads: Duration::from_secs(1),
            }
        } else {
            Plan {
                rounds: 3,
                per_kind: 5_000,
                latency_hours: 30,
                latency_models: 10,
                backlog: 100_000,
                readers: 8,
                baseline_reads: Duration::from_secs(10),
            }
        }
    }
}

struct World {
    server: Server,
    clock: Arc<ManualClock>,
    owner: Bench,
    sre: Bench,
    relay: Principal,
    slack: Receiver,
    pagerduty: Receiver,
    webhook: Receiver,
}

async fn world(outbox: OutboxSettings) -> World {
    world_with(ApiConfig::default(), outbox).await
}

async fn world_with(api: ApiConfig, outbox: OutboxSettings) -> World {
    let clock = Arc::new(ManualClock::new(START.parse().unwrap()));
    let c = clock.clone();
    let server = Server::start_with(
        api,
        PolicySettings::default(),
        KeySource::Hs256 {
            secret: vec![7; 32],
        },
        move |s| s.with_clock(c).with_outbox_settings(outbox),
    )
    .await;
    let owner = server.client(&[Role::ModelOwner]);
    let officer = server.client(&[Role::GovernanceOfficer]);
    let author = server.client(&[Role::PolicyAuthor]);
    let sre = server.client(&[Role::Sre]);
    let p = author
        .gql(
            "mutation { createPolicy(input: {name: \"bench\"}) { id } }",
            json!({}),
        )
        .await["createPolicy"]["id"]
        .clone();
    author.gql("mutation($p: ID!, $s: String!) { proposePolicyRevision(input: {policyId: $p, source: $s}) { created } }", json!({"p": p, "s": POLICY})).await;
    author
        .gql(
            "mutation($p: ID!) { publishPolicyRevision(input: {policyId: $p, number: 1}) { number } }",
            json!({"p": p}),
        )
        .await;
    author
        .gql(
            "mutation($p: ID!) { bindPolicy(input: {policyId: $p, tenantDefault: true}) { id } }",
            json!({"p": p}),
        )
        .await;
    let slack = Receiver::start(Contract::Slack).await.unwrap();
    let pagerduty = Receiver::start(Contract::PagerDuty {
        routing_key: ROUTING_KEY.into(),
    })
    .await
    .unwrap();
    let webhook = Receiver::start(Contract::Webhook {
        secrets: vec![SECRET.into()],
    })
    .await
    .unwrap();
    for (name, kind, url, secret) in [
        ("slack", "SLACK", slack.url(), None),
        (
            "pagerduty",
            "PAGER_DUTY",
            pagerduty.url(),
            Some(ROUTING_KEY),
        ),
        ("webhook", "WEBHOOK", webhook.url(), Some(SECRET)),
    ] {
        officer
            .gql(
                "mutation($i: PutDeliveryTargetInput!) { putDeliveryTarget(input: $i) { name } }",
                json!({"i": {"name": name, "kind": kind, "url": url, "secret": secret}}),
            )
            .await;
    }
    let tenant = server.owner.tenant_id().unwrap();
    World {
        relay: Principal::system(SystemActor::OutboxRelay, "bench", Some(tenant)),
        server,
        clock,
        owner,
        sre,
        slack,
        pagerduty,
        webhook,
    }
}

/// A model and version with a baseline of one numeric feature; its ids.
async fn monitored(w: &World, name: &str) -> (String, String) {
    let model = w
        .owner
        .gql(
            "mutation($n: String!) { registerModel(input: {name: $n, ownerTeam: \"t\", riskTier: LOW}) { id } }",
            json!({"n": name}),
        )
        .await["registerModel"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let version = w.owner.gql("mutation($m: ID!) { registerModelVersion(input: {modelId: $m, artifactUri: \"s3://m\", artifactDigest: \"sha256:abababababababababababababababababababababababababababababababab\", framework: \"f\", inputSchema: [{name: \"x\", type: FLOAT}]}) { id } }", json!({"m": model})).await["registerModelVersion"]["id"].as_str().unwrap().to_string();
    w.owner
        .gql(
            "mutation($m: ID!) { configureMonitoring(input: {modelId: $m, latenessSeconds: 0}) { latenessSeconds } }",
            json!({"m": model}),
        )
        .await;
    let csv: String = std::iter::once("x\n".to_string())
        .chain((0..200).map(|i| format!("{}\n", i as f64 / 200.0)))
        .collect();
    post(w, &format!("/v1/model-versions/{version}/baselines"), csv).await;
    (model, version)
}

async fn post(w: &World, path: &str, body: String) -> Value {
    let resp = w
        .server
        .client
        .post(w.server.route(path))
        .bearer_auth(&w.owner.token)
        .header("content-type", "text/csv")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let v: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(status.as_u16(), 201, "{path}: {v}");
    v
}

/// A decision record of `version` to hang seeded alerts on.
async fn decision(w: &World, version: &str) -> DecisionRecordId {
    let author = w.server.client(&[Role::PolicyAuthor]);
    let v = author
        .gql(
            "mutation($i: EvaluatePolicyInput!) { evaluatePolicy(input: $i) { id } }",
            json!({"i": {"modelVersionId": version, "hook": "ON_WINDOW", "context": {
                "window": {"start": START, "end": START, "rows": 1},
                "drift": {"composite": 0.1},
                "baseline": {"id": "b", "created_at": START}}}}),
        )
        .await;
    DecisionRecordId::from_uuid(v["evaluatePolicy"]["id"].as_str().unwrap().parse().unwrap())
}

fn ids(model: &str, version: &str) -> (ModelId, ModelVersionId) {
    (
        ModelId::from_uuid(model.parse().unwrap()),
        ModelVersionId::from_uuid(version.parse().unwrap()),
    )
}

/// Relay passes back to back until nothing is claimed; the deliveries and the time taken.
async fn drain(w: &World) -> (usize, Duration) {
    let svc = &w.server.state.service;
    let started = Instant::now();
    let mut delivered = 0;
    loop {
        let p = svc.run_relay_pass().await.unwrap();
        if p.claimed == 0 {
            break;
        }
        assert_eq!(p.delivered, p.claimed, "{p:?}");
        delivered += p.delivered;
    }
    (delivered, started.elapsed())
}

async fn throughput(plan: &Plan) {
    let w = world(OutboxSettings {
        allow_private_networks: true,
        batch: 256,
        concurrency: 32,
        ..OutboxSettings::default()
    })
    .await;
    let (model, version) = monitored(&w, "throughput").await;
    let record = decision(&w, &version).await;
    let mut rates: Vec<(&str, Vec<f64>)> = vec![
        ("Slack", Vec::new()),
        ("PagerDuty", Vec::new()),
        ("webhook", Vec::new()),
    ];
    for _ in 0..plan.rounds {
        for (i, target) in ["slack", "pagerduty", "webhook"].iter().enumerate() {
            w.server
                .db
                .import_alerts(
                    &w.relay,
                    ids(&model, &version),
                    record,
                    target,
                    plan.per_kind,
                )
                .await
                .unwrap();
            let (n, took) = drain(&w).await;
            assert_eq!(n, plan.per_kind);
            rates[i].1.push(n as f64 / took.as_secs_f64());
        }
    }
    let accepted =
        w.slack.accepted_count() + w.pagerduty.accepted_count() + w.webhook.accepted_count();
    assert_eq!(
        accepted,
        3 * plan.rounds * plan.per_kind,
        "every contract held"
    );
    println!(
        "\nthroughput ({} per kind per round, {} rounds; batch 256, 32 in flight; {}):",
        plan.per_kind,
        plan.rounds,
        w.server.backend()
    );
    for (kind, r) in rates {
        let each: Vec<String> = r.iter().map(|x| format!("{x:.0}")).collect();
        println!(
            "  {kind:<9} median {:>6.0} deliveries/s   (rounds: {})",
            median(r.clone()),
            each.join(", ")
        );
    }
}

async fn latency(plan: &Plan) {
    let w = world(OutboxSettings {
        allow_private_networks: true,
        ..OutboxSettings::default()
    })
    .await;
    let mut versions = Vec::new();
    for m in 0..plan.latency_models {
        versions.push(monitored(&w, &format!("latency-{m}")).await.1);
    }
    let svc = w.server.state.service.clone();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let relay = tokio::spawn(async move {
        svc.run_relay_loop(Duration::from_secs(1), stopped).await;
    });
    let start: DateTime<Utc> = START.parse().unwrap();
    let mut waits = Vec::new();
    for h in 0..plan.latency_hours {
        let hour = start + chrono::Duration::hours(h as i64 + 1);
        w.clock.set(hour + chrono::Duration::minutes(30));
        let at = (hour + chrono::Duration::minutes(10)).to_rfc3339();
        let body: String = std::iter::once("x,event_time\n".to_string())
            .chain((0..50).map(|i| format!("{},{at}\n", i as f64 / 50.0)))
            .collect();
        for v in &versions {
            post(
                &w,
                &format!("/v1/model-versions/{v}/observations"),
                body.clone(),
            )
            .await;
        }
        let before = w.slack.received_count();
        w.clock
            .set(hour + chrono::Duration::hours(1) + chrono::Duration::seconds(1));
        let closed = SystemTime::now();
        let tick = w.server.state.service.run_scheduler_tick().await.unwrap();
        assert_eq!(tick.evaluated, versions.len(), "{tick:?}");
        let want = before + versions.len();
        let deadline = Instant::now() + Duration::from_secs(30);
        while w.slack.received_count() < want {
            assert!(Instant::now() < deadline, "alerts not delivered");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        for r in &w.slack.received()[before..] {
            waits.push(r.at.duration_since(closed).unwrap_or_default());
        }
    }
    let _ = stop.send(true);
    let _ = relay.await;
    waits.sort();
    println!(
        "\nlatency, window closed -> Slack request ({} windows, {} closing per scheduler pass; relay loop at 1 s, woken by the pass): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        waits.len(),
        plan.latency_models,
        ms(percentile(&waits, 0.5)),
        ms(percentile(&waits, 0.99)),
        ms(*waits.last().unwrap())
    );
}

/// Reads as `readers` clients until `stop`; the latencies.
async fn read_load(b: &Bench, readers: usize, stop: Arc<AtomicBool>) -> Vec<Duration> {
    let mut tasks = Vec::new();
    for _ in 0..readers {
        let b = b.with_token(b.token.clone());
        let stop = Arc::clone(&stop);
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let v = b
                    .send(
                        "{ models(first: 20) { nodes { name latestVersion } } }",
                        json!({}),
                    )
                    .await;
                assert!(v.get("errors").is_none(), "{v}");
                out.push(t.elapsed());
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    all
}

/// The backlog drained under read load, with the API's read cache on (the default) or off.
/// Each relay pass records its attempts in an audited transaction, which moves the tenant's
/// data version and so empties its cached reads: with the cache on, the comparison is cached
/// reads before against reads that mostly miss during the drain; with it off, both sides query.
async fn backlog(plan: &Plan, cache: bool) {
    let api = ApiConfig {
        response_cache_entries: if cache {
            ApiConfig::default().response_cache_entries
        } else {
            0
        },
        ..ApiConfig::default()
    };
    let w = world_with(
        api,
        OutboxSettings {
            allow_private_networks: true,
            ..OutboxSettings::default()
        },
    )
    .await;
    let (model, version) = monitored(&w, "backlog").await;
    for m in 0..20 {
        monitored(&w, &format!("reader-{m}")).await;
    }
    let record = decision(&w, &version).await;
    let reader = w.server.client(&[Role::Viewer]);
    // Before: the API alone.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (r, n, s) = (
            reader.with_token(reader.token.clone()),
            plan.readers,
            stop.clone(),
        );
        tokio::spawn(async move { read_load(&r, n, s).await })
    };
    tokio::time::sleep(plan.baseline_reads).await;
    stop.store(true, Ordering::Relaxed);
    let quiet = load.await.unwrap();
    let seeded = Instant::now();
    w.server
        .db
        .import_alerts(
            &w.relay,
            ids(&model, &version),
            record,
            "webhook",
            plan.backlog,
        )
        .await
        .unwrap();
    let seeding = seeded.elapsed();
    // During: the relay loop drains the backlog while the same clients read.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (r, n, s) = (
            reader.with_token(reader.token.clone()),
            plan.readers,
            stop.clone(),
        );
        tokio::spawn(async move { read_load(&r, n, s).await })
    };
    let svc = w.server.state.service.clone();
    let (halt, halted) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let relay = tokio::spawn(async move {
        svc.run_relay_loop(Duration::from_secs(1), halted).await;
    });
    // Counted, not copied: copying 100,000 records every poll would hold the receiver's lock.
    while w.webhook.accepted_count() < plan.backlog {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let _ = halt.send(true);
    let _ = relay.await;
    let busy = load.await.unwrap();
    let left = w
        .sre
        .gql(
            "{ pendingActions(status: PENDING, first: 10) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(left["pendingActions"], json!([]), "the backlog is drained");
    let (q50, q99) = (ms(percentile(&quiet, 0.5)), ms(percentile(&quiet, 0.99)));
    let (b50, b99) = (ms(percentile(&busy, 0.5)), ms(percentile(&busy, 0.99)));
    println!(
        "\nbacklog of {} alerts (seeded in {:.1} s) drained by the relay loop (defaults: batch 64, 16 in flight, at most {}/s) in {:.1} s: {:.0} deliveries/s; {}; read cache {}",
        plan.backlog,
        seeding.as_secs_f64(),
        OutboxSettings::default().max_per_second,
        drained.as_secs_f64(),
        plan.backlog as f64 / drained.as_secs_f64(),
        w.server.backend(),
        if cache { "on" } else { "off" }
    );
    println!(
        "  API read `models(first: 20)` by {} clients: before p50 {q50:.2} ms p99 {q99:.2} ms ({} reads); during the drain p50 {b50:.2} ms p99 {b99:.2} ms ({} reads); p99 ratio {:.2}x",
        plan.readers,
        quiet.len(),
        busy.len(),
        b99 / q99
    );
}

fn main() {
    let plan = Plan::from_env();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // `BENCH_ONLY=throughput,latency,backlog` runs only the parts named.
    let only = std::env::var("BENCH_ONLY").ok();
    let runs = |part: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|p| p.trim() == part))
    };
    rt.block_on(async {
        if runs("throughput") {
            throughput(&plan).await;
        }
        if runs("latency") {
            latency(&plan).await;
        }
        if runs("backlog") {
            backlog(&plan, true).await;
            backlog(&plan, false).await;
        }
    });
}
