//! Server time of the web pages (in process, through the real router: session lookup, service
//! calls, template and SVG rendering; no network), over a registry of 100 models with 50
//! versions each, 90 days of hourly windows of one version and a lineage neighbourhood of
//! 1,000 nodes. SQLite by default; PostgreSQL
//! with `STEWARD_TEST_PG_URL`.
//!
//! Run: `cargo bench -p steward-web --bench pages`. Prints the median and 95th percentile of
//! each page over 200 requests, after 20 not counted.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use steward_domain::{EdgeRelation, NodeKind, Role};
use steward_service::auth::mint_hs256;
use steward_service::testing::TestBackend;
use steward_service::{AuthConfig, KeySource};
use tower::ServiceExt;

const MODELS: usize = 100;
const VERSIONS: usize = 50;
const ROUNDS: usize = 200;
const WARMUP: usize = 20;
/// 90 days of hourly windows.
const WINDOW_HOURS: usize = 90 * 24;

async fn send(router: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

async fn gql(router: &Router, token: &str, query: &str, variables: Value) -> Value {
    let body = json!({"query": query, "variables": variables}).to_string();
    let req = Request::post("/graphql")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(body))
        .unwrap();
    let (_, _, bytes) = send(router, req).await;
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert!(v["errors"].is_null(), "{v}");
    v["data"].clone()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let auth = AuthConfig {
        issuer: "steward".into(),
        audience: "steward".into(),
        leeway: Duration::from_secs(5),
        keys: KeySource::Hs256 {
            secret: b"bench-secret-bench-secret-bench-secret".to_vec(),
        },
    };
    let db = TestBackend::seeding().await;
    let service = db.service(
        auth.clone(),
        steward_service::audit::AuditKeys::generate().unwrap(),
    );
    let api = steward_api::AppState::new(service.clone(), steward_api::ApiConfig::default());
    let router = steward_api::router(api).merge(steward_web::router(
        service.clone(),
        steward_web::SignIn::dev_token(),
    ));
    let token = |roles: &[Role]| {
        mint_hs256(&auth, "bench", "acme", roles, Duration::from_secs(7200)).unwrap()
    };
    gql(
        &router,
        &token(&[Role::PlatformAdmin]),
        "mutation($i: CreateTenantInput!) { createTenant(input: $i) { id } }",
        json!({"i": {"slug": "acme", "name": "acme"}}),
    )
    .await;
    let owner = token(&[Role::ModelOwner]);
    let seeding = Instant::now();
    let mut first_model = String::new();
    let mut newest_version = String::new();
    for m in 0..MODELS {
        let tier = ["HIGH", "MEDIUM", "LOW"][m % 3];
        let v = gql(&router, &owner, "mutation($i: RegisterModelInput!) { registerModel(input: $i) { id } }",
            json!({"i": {"name": format!("model-{m:03}"), "ownerTeam": "risk", "riskTier": tier, "tags": ["bench"]}})).await;
        let id = v["registerModel"]["id"].as_str().unwrap().to_string();
        for n in 0..VERSIONS {
            let v = gql(&router, &owner, "mutation($i: RegisterModelVersionInput!) { registerModelVersion(input: $i) { id } }",
                json!({"i": {"modelId": id, "artifactUri": format!("s3://m/{m}/{n}"), "artifactDigest": format!("sha256:{}", "ab".repeat(32)),
                       "framework": "xgboost", "metrics": [{"name": "auc", "value": 0.8}, {"name": "f1", "value": 0.7}]}})).await;
            if m == 0 {
                newest_version = v["registerModelVersion"]["id"]
                    .as_str()
                    .unwrap()
                    .to_string();
            }
        }
        if m == 0 {
            first_model = id;
        }
    }
    // A lineage neighbourhood of 1,000 nodes: a dataset version read by 40 training runs that
    // produced 959 model versions between them.
    let principal = service.authenticator().authenticate(&owner).await.unwrap();
    let focus = uuid::Uuid::now_v7();
    let mut nodes = vec![(
        focus,
        NodeKind::DatasetVersion,
        "transactions v1".to_string(),
    )];
    let mut edges = Vec::new();
    for r in 0..40 {
        let run = uuid::Uuid::now_v7();
        nodes.push((run, NodeKind::TrainingRun, format!("run {r}")));
        edges.push((focus, run, EdgeRelation::InputTo));
        for v in 0..24 {
            if nodes.len() >= 1_000 {
                break;
            }
            let mv = uuid::Uuid::now_v7();
            nodes.push((mv, NodeKind::ModelVersion, format!("model-{r:02} v{v}")));
            edges.push((run, mv, EdgeRelation::Produced));
        }
    }
    db.import_lineage(&principal, &nodes, &edges).await.unwrap();
    // 90 days of hourly windows of the first model's newest version: two slices, 12 features.
    let features: Vec<String> = (0..12).map(|k| format!("feature_{k:02}")).collect();
    let features: Vec<&str> = features.iter().map(String::as_str).collect();
    let version = (
        first_model.parse::<steward_domain::ModelId>().unwrap(),
        newest_version
            .parse::<steward_domain::ModelVersionId>()
            .unwrap(),
    );
    let start = chrono::Utc::now() - chrono::Duration::days(90);
    db.import_windows(
        &principal,
        version,
        start,
        WINDOW_HOURS,
        &["", "eu"],
        &features,
    )
    .await
    .unwrap();
    println!(
        "seeded {MODELS} models x {VERSIONS} versions and a {}-node lineage in {:.1} s ({})",
        nodes.len(),
        seeding.elapsed().as_secs_f64(),
        if db.is_postgres() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );

    // Signed in as a person would be: one who may read every page (compliance reports are for
    // model owners and governance officers).
    let viewer = token(&[Role::ModelOwner, Role::GovernanceOfficer]);
    let req = Request::post("/ui/sign-in")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={viewer}")))
        .unwrap();
    let (status, headers, _) = send(&router, req).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = headers[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();

    let pages = [
        ("overview (100 models)", "/ui/".to_string(), "model-099"),
        (
            "model (50 versions)",
            format!("/ui/models/{first_model}"),
            "v50",
        ),
        (
            "lineage (1,000 nodes, depth 2)",
            format!("/ui/lineage?node={focus}&depth=2"),
            "model-39 v",
        ),
        (
            "drift (90 days of hourly windows)",
            format!("/ui/versions/{newest_version}/drift?feature=feature_03&slice=eu"),
            "ROC AUC",
        ),
        (
            "compliance report (a model)",
            format!("/ui/models/{first_model}/compliance"),
            "Event logs",
        ),
        (
            "compliance report (100 models)",
            "/ui/compliance".to_string(),
            "model-099",
        ),
        (
            "version comparison",
            format!("/ui/models/{first_model}/compare"),
            "v49 and v50",
        ),
        ("sign-in page", "/ui/sign-in".to_string(), "token"),
    ];
    println!("{:<34} {:>10} {:>10} {:>10}", "page", "p50", "p95", "bytes");
    for (name, path, expect) in pages {
        let mut times = Vec::with_capacity(ROUNDS);
        let mut size = 0;
        for i in 0..WARMUP + ROUNDS {
            let req = Request::get(path.as_str())
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .unwrap();
            let started = Instant::now();
            let (status, _, body) = send(&router, req).await;
            let took = started.elapsed();
            assert_eq!(status, StatusCode::OK, "{name}");
            if i == 0 {
                let text = String::from_utf8_lossy(&body);
                assert!(text.contains(expect), "{name}: {expect} missing");
            }
            size = body.len();
            if i >= WARMUP {
                times.push(took);
            }
        }
        times.sort();
        println!(
            "{:<34} {:>8.2}ms {:>8.2}ms {:>10}",
            name,
            percentile(&times, 0.5).as_secs_f64() * 1e3,
            percentile(&times, 0.95).as_secs_f64() * 1e3,
            size
        );
    }
}
