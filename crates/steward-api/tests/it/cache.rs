//! The read cache never serves a read older than a committed write: not when the client hangs
//! up in the middle of its mutation, not when another process (another `Service` with its own
//! cache on the same database) wrote. And a caller without the right cannot grow the audit log
//! with large or endless denied requests.

use std::time::Duration;

use serde_json::{Value, json};
use steward_api::{ApiConfig, AppState, router};
use steward_domain::Role;

use crate::app::*;

const BY_PREFIX: &str = "query($p: String!) { models(namePrefix: $p) { nodes { name } } }";

async fn names(app: &TestApp, token: &str, prefix: &str) -> usize {
    let v = app.ok(token, BY_PREFIX, json!({"p": prefix})).await;
    v["models"]["nodes"].as_array().map_or(0, Vec::len)
}

/// A second app on the same database with its own service and cache, as a second replica.
fn replica(app: &TestApp, cache_entries: usize) -> TestApp {
    let service = app
        .db
        .service(app.auth.clone(), audit_keys())
        .with_clock(app.clock.clone());
    let api = ApiConfig {
        response_cache_entries: cache_entries,
        ..ApiConfig::default()
    };
    let state = AppState::new(service.clone(), api);
    TestApp {
        clock: app.clock.clone(),
        router: router(state.clone()),
        state,
        service,
        db: app.db.clone(),
        auth: app.auth.clone(),
    }
}

/// The client gives up at a random point of each registration (its request future is dropped,
/// as when a CI job is killed). Whatever the database holds before a cached read, the cached
/// read shows; whatever the cached read shows, the database holds.
#[tokio::test]
async fn a_client_that_hangs_up_mid_mutation_never_leaves_a_stale_read() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let truth = replica(&app, 0);
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let (mut committed, mut dropped) = (0, 0);
    for i in 0..200 {
        let prefix = format!("hangup-{i:03}-");
        // Prime the cache with the empty answer.
        assert_eq!(names(&app, &owner, &prefix).await, 0);
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let give_up_after = Duration::from_micros((seed >> 33) % 4_000);
        let body = json!({"query": REGISTER_MODEL, "variables": {"i": {"name": format!("{prefix}m"), "ownerTeam": "risk", "riskTier": "LOW"}}}).to_string();
        if tokio::time::timeout(give_up_after, app.raw(Some(&owner), body))
            .await
            .is_err()
        {
            dropped += 1;
        }
        let before = names(&truth, &owner, &prefix).await;
        let cached = names(&app, &owner, &prefix).await;
        let after = names(&truth, &owner, &prefix).await;
        assert!(
            before <= cached && cached <= after,
            "trial {i}: database {before}..{after}, cached read {cached}"
        );
        committed += after;
    }
    // Wait for mutations still running (their tasks outlive the dropped requests).
    for _ in 0..10_000 {
        let all = names(&truth, &owner, "hangup-").await;
        if all == 200 || all == names(&app, &owner, "hangup-").await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(
        names(&app, &owner, "hangup-").await,
        names(&truth, &owner, "hangup-").await.min(100)
    );
    assert!(
        dropped > 0,
        "no request was dropped: the test proves nothing"
    );
    eprintln!("{dropped} of 200 requests dropped; {committed} seen committed right after");
}

/// Two replicas on one database, each with its own cache: each sees the other's writes at once.
#[tokio::test]
async fn replicas_with_their_own_caches_agree_after_each_others_writes() {
    let a = TestApp::new().await;
    a.tenant("acme").await;
    let b = replica(&a, 1024);
    let owner = a.token("acme", &[Role::ModelOwner]);
    for i in 0..10 {
        let (writer, reader) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        assert_eq!(names(reader, &owner, "rep-").await, i);
        assert_eq!(names(writer, &owner, "rep-").await, i);
        writer
            .ok(
                &owner,
                REGISTER_MODEL,
                json!({"i": {"name": format!("rep-{i}"), "ownerTeam": "t", "riskTier": "LOW"}}),
            )
            .await;
        assert_eq!(names(reader, &owner, "rep-").await, i + 1, "round {i}");
    }
}

async fn audit_events(app: &TestApp, officer: &str) -> Vec<Value> {
    let v = app
        .ok(officer, "{ auditEvents(first: 100) { nodes { action outcome target { id } payload canonical } } }", json!({}))
        .await;
    v["auditEvents"]["nodes"].as_array().unwrap().clone()
}

/// A viewer sending huge names again and again: each denial is recorded small, and at most ten
/// a minute are recorded; the next recorded one says how many were not.
#[tokio::test]
async fn denied_attempts_cannot_bloat_the_audit_log() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let viewer = app.token("acme", &[Role::Viewer]);
    let officer = app.token("acme", &[Role::GovernanceOfficer]);
    let huge = "A".repeat(900_000);
    for _ in 0..20 {
        let v = app
            .gql(
                &viewer,
                REGISTER_MODEL,
                json!({"i": {"name": huge, "ownerTeam": "t", "riskTier": "LOW"}}),
            )
            .await;
        assert_eq!(code(&v), "FORBIDDEN", "{v}");
    }
    let denied: Vec<Value> = audit_events(&app, &officer)
        .await
        .into_iter()
        .filter(|e| e["outcome"] == "DENIED" || e["outcome"] == "denied")
        .collect();
    assert_eq!(denied.len(), 10, "{denied:?}");
    let largest = denied
        .iter()
        .map(|e| e["canonical"].as_str().unwrap_or_default().len())
        .max()
        .unwrap();
    assert!(largest < 2_048, "a denied event takes {largest} bytes");
    eprintln!("largest denied event: {largest} bytes (the request carried 900,000)");
}

/// The attack of the security review: versions with 10,000-feature schemas, then 60 viewer
/// requests that differ only in whitespace (each a new cache key), asking for every feature of
/// many versions. The unbounded form is refused by the complexity limit; what is allowed is
/// paged, and the cache never holds more than its byte bound.
#[tokio::test]
async fn large_responses_cannot_exhaust_the_read_cache() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let viewer = app.token("acme", &[Role::Viewer]);
    let model = str_at(
        &app.ok(
            &owner,
            REGISTER_MODEL,
            json!({"i": {"name": "wide", "ownerTeam": "t", "riskTier": "LOW"}}),
        )
        .await,
        &["registerModel", "id"],
    );
    let schema: Vec<Value> = (0..10_000)
        .map(|i| json!({"name": format!("feature_with_a_long_name_{i:05}"), "type": "FLOAT"}))
        .collect();
    for i in 0..4 {
        app.ok(&owner, REGISTER_VERSION, json!({"i": {"modelId": model, "artifactUri": format!("s3://m/{i}"), "artifactDigest": digest(), "framework": "f", "inputSchema": schema}}))
            .await;
    }

    // Every feature of 50 versions in one request: refused before it runs.
    let unbounded = "query($m: ID!) { model(id: $m) { versions(first: 50) { nodes { inputSchema(first: 1000) { name type } } } } }";
    let v = app.gql(&viewer, unbounded, json!({"m": model})).await;
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("complex"),
        "{v}"
    );
    // More than a page is refused with a clear error.
    let v = app
        .gql(&viewer, "query($m: ID!) { model(id: $m) { versions(first: 1) { nodes { inputSchema(first: 10000) { name } } } } }", json!({"m": model}))
        .await;
    assert_eq!(code(&v), "INVALID", "{v}");

    // Allowed pages, each request a new cache key: the cache stays under its bound.
    let mut largest = 0;
    for i in 0..60 {
        let q = format!(
            "query($m: ID!) {{{} model(id: $m) {{ versions(first: 4) {{ nodes {{ inputSchemaSize inputSchema(first: 1000, offset: {}) {{ name type }} }} }} }} }}",
            " ".repeat(i),
            (i % 10) * 1000
        );
        let (status, body) = app
            .raw(
                Some(&viewer),
                json!({"query": q, "variables": {"m": model}}).to_string(),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(
            body["data"]["model"]["versions"]["nodes"][0]["inputSchemaSize"],
            10_000
        );
        assert_eq!(
            body["data"]["model"]["versions"]["nodes"][0]["inputSchema"]
                .as_array()
                .unwrap()
                .len(),
            1000
        );
        largest = largest.max(body.to_string().len());
        assert!(app.state.cached_bytes() <= steward_api::RESPONSE_CACHE_MAX_BYTES);
    }
    eprintln!(
        "largest allowed response {largest} bytes; cache after 60 attack requests: {} bytes (bound {})",
        app.state.cached_bytes(),
        steward_api::RESPONSE_CACHE_MAX_BYTES
    );
}
