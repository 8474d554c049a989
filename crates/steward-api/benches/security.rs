//! Security figures (issue 16): what an attacker with a viewer's token, or with junk tokens, can
//! cost the server. The real router on a loopback port, driven over HTTP; prints figures.
//!
//! - audit bytes per denied attempt: 200 denied `registerModel` with a 900,000-character name;
//! - the read-cache attack: versions with 10,000-feature schemas, then 60 requests that differ
//!   only in whitespace; cache bytes and resident memory before and after;
//! - login latency with a known key while a JWKS refetch hangs at the identity provider, beside
//!   the same logins with no refetch in flight (medians of 200).
//!
//! Run: `cargo bench -p steward-api --bench security`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Bench, Server, ms, percentile, rss_bytes};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode, get_current_timestamp};
use serde_json::{Value, json};
use steward_api::ApiConfig;
use steward_domain::Role;
use steward_service::auth::JwksSource;
use steward_service::{KeySource, PolicySettings};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/keys");

async fn export_len(officer: &Bench) -> usize {
    let url = officer.url.replace("/graphql", "/v1/audit/export");
    let resp = officer
        .client
        .get(url)
        .bearer_auth(&officer.token)
        .send()
        .await
        .unwrap();
    resp.bytes().await.unwrap().len()
}

async fn event_count(officer: &Bench) -> u64 {
    officer
        .gql("{ auditCheckpoint { treeSize } }", json!({}))
        .await["auditCheckpoint"]["treeSize"]
        .as_u64()
        .unwrap()
}

async fn denied_bytes() {
    let server = Server::start(ApiConfig::default(), PolicySettings::default()).await;
    let viewer = server.client(&[Role::Viewer]);
    let officer = server.client(&[Role::GovernanceOfficer]);
    let (bytes0, events0) = (export_len(&officer).await, event_count(&officer).await);
    let name = "A".repeat(900_000);
    let attempts = 200;
    let start = Instant::now();
    for _ in 0..attempts {
        let v = viewer
            .send(
                "mutation($n: String!) { registerModel(input: {name: $n, ownerTeam: \"t\", riskTier: LOW}) { id } }",
                json!({"n": name}),
            )
            .await;
        assert_eq!(v["errors"][0]["extensions"]["code"], "FORBIDDEN", "{v}");
    }
    let took = start.elapsed();
    let (bytes1, events1) = (export_len(&officer).await, event_count(&officer).await);
    let grown = bytes1 - bytes0;
    let recorded = events1 - events0;
    println!(
        "denied attempts: {attempts} x 900,000-character names in {:.2} s; {recorded} events recorded (at most 10 per subject and operation a minute), log export grew {grown} bytes: {:.0} bytes per recorded event, {:.1} bytes per attempt",
        took.as_secs_f64(),
        grown as f64 / recorded.max(1) as f64,
        grown as f64 / attempts as f64
    );
}

async fn cache_attack() {
    let server = Server::start(ApiConfig::default(), PolicySettings::default()).await;
    let owner = server.client(&[Role::ModelOwner]);
    let viewer = server.client(&[Role::Viewer]);
    let model = owner
        .gql("mutation { registerModel(input: {name: \"wide\", ownerTeam: \"t\", riskTier: LOW}) { id } }", json!({}))
        .await["registerModel"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let schema: Vec<Value> = (0..10_000)
        .map(|i| json!({"name": format!("feature_with_a_long_name_{i:05}"), "type": "FLOAT"}))
        .collect();
    for i in 0..50 {
        owner
            .gql(
                "mutation($i: RegisterModelVersionInput!) { registerModelVersion(input: $i) { id } }",
                json!({"i": {"modelId": model, "artifactUri": format!("s3://m/{i}"), "artifactDigest": format!("{i:064x}"), "framework": "f", "inputSchema": schema}}),
            )
            .await;
    }
    let rss0 = rss_bytes();
    let (mut refused, mut largest) = (0, 0);
    for i in 0..60 {
        // The review's query: every feature of 50 versions. Refused by complexity now.
        let pad = " ".repeat(i);
        let v = viewer
            .send(
                &format!("query($m: ID!) {{{pad} model(id: $m) {{ versions(first: 50) {{ nodes {{ inputSchema(first: 1000) {{ name type }} }} }} }} }}"),
                json!({"m": model}),
            )
            .await;
        if v.get("errors").is_some() {
            refused += 1;
        }
        // About the most a request may ask for within the limit: 1,000 features of 9 versions.
        let v = viewer
            .gql(
                &format!("query($m: ID!) {{{pad} model(id: $m) {{ versions(first: 9) {{ nodes {{ inputSchema(first: 1000, offset: {}) {{ name type }} }} }} }} }}", (i % 10) * 1000),
                json!({"m": model}),
            )
            .await;
        largest = largest.max(v.to_string().len());
    }
    let rss1 = rss_bytes();
    println!(
        "cache attack: {refused}/60 unbounded queries refused; largest allowed response {:.2} MB; cache holds {:.2} MB (bound {} MB); resident memory {} MB -> {} MB",
        largest as f64 / 1e6,
        server.state.cached_bytes() as f64 / 1e6,
        steward_api::RESPONSE_CACHE_MAX_BYTES / 1_000_000,
        rss0 / 1_000_000,
        rss1 / 1_000_000
    );
}

/// A JWKS endpoint whose fetches after the first hang until `gate` gives a permit.
async fn hanging_jwks(
    set: JwkSet,
    hits: Arc<AtomicUsize>,
    gate: Arc<tokio::sync::Semaphore>,
) -> String {
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let (set, hits, gate) = (set.clone(), hits.clone(), gate.clone());
            async move {
                if hits.fetch_add(1, Ordering::SeqCst) > 0 {
                    gate.acquire().await.unwrap().forget();
                }
                axum::Json(set)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/jwks.json")
}

fn token(key: &EncodingKey, kid: &str) -> String {
    let now = get_current_timestamp();
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some(kid.into());
    let c = json!({"sub": "u", "tenant": "bench", "roles": ["viewer"], "iss": "steward", "aud": "steward", "exp": now + 3600});
    encode(&h, &c, key).unwrap()
}

async fn logins(b: &Bench, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        b.gql("{ me { subject } }", json!({})).await;
        out.push(start.elapsed());
    }
    out.sort();
    out
}

async fn jwks_latency() {
    let pem = std::fs::read(format!("{KEYS}/ec-private.pem")).unwrap();
    let key = EncodingKey::from_ec_pem(&pem).unwrap();
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some("ec-1".into());
    let hits = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let url = hanging_jwks(JwkSet { keys: vec![jwk] }, hits.clone(), gate.clone()).await;
    let source = JwksSource::new(url, Duration::ZERO).unwrap();
    let server = Server::start_with_keys(
        ApiConfig::default(),
        PolicySettings::default(),
        KeySource::Jwks(Arc::new(source)),
    )
    .await;
    let valid = Bench {
        client: server.client.clone(),
        url: server.url.clone(),
        token: token(&key, "ec-1"),
    };
    let n = 200;
    let calm = logins(&valid, n).await;
    // A junk token with an unknown kid starts a refetch that hangs at the provider.
    let junk = valid.with_token(token(&key, "junk"));
    let pending = tokio::spawn(async move { junk.send("{ me { subject } }", json!({})).await });
    while hits.load(Ordering::SeqCst) < 2 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let during = logins(&valid, n).await;
    gate.add_permits(1);
    let refused = pending.await.unwrap();
    assert_eq!(
        refused["errors"][0]["extensions"]["code"],
        "UNAUTHENTICATED"
    );
    println!(
        "login with a known key (median of {n}, p99): no refetch {:.2} ms ({:.2} ms), during a hanging refetch {:.2} ms ({:.2} ms): ratio {:.2}",
        ms(percentile(&calm, 0.5)),
        ms(percentile(&calm, 0.99)),
        ms(percentile(&during, 0.5)),
        ms(percentile(&during, 0.99)),
        percentile(&during, 0.5).as_secs_f64() / percentile(&calm, 0.5).as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    denied_bytes().await;
    cache_attack().await;
    jwks_latency().await;
}
