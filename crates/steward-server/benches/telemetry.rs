//! What operations telemetry costs, and what a scrape costs.
//!
//! 1. The registry write path (`registerModelVersion` through GraphQL over loopback HTTP, one
//!    client, SQLite) in three set-ups interleaved round by round in one run: logs only (to a
//!    sink) without request metrics; plus request metrics and spans; plus traces exported over
//!    OTLP/HTTP to a loopback receiver. Medians of the rounds' rates and the ratios.
//! 2. `/metrics` with 1,000 models (10 tenants of 100), each with its latest window's health
//!    (drift, two performance metrics with bounds) and some open incidents: the service's render
//!    and `GET /metrics` over HTTP, p50 and p99 of 200 scrapes, and the exposition's size.
//!
//! Run: `cargo bench -p steward-server --bench telemetry` (SQLite in a temporary directory), or
//! with `STEWARD_TEST_PG_URL=postgres://...` for PostgreSQL.

use std::time::{Duration, Instant};

use opentelemetry::trace::TracerProvider as _;
use serde_json::{Value, json};
use steward_api::{ApiConfig, AppState, router};
use steward_domain::{NewModel, NewTenant, Principal, RiskTier, Role};
use steward_loopback::OtlpReceiver;
use steward_service::auth::mint_hs256;
use steward_service::testing::TestBackend;
use steward_service::{AuthConfig, KeySource, Service};
use tracing_subscriber::layer::SubscriberExt as _;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROUNDS: usize = 31;
const WRITES: usize = 100;
const METRICS_TOKEN: &str = "bench-metrics-token-0123456789";

const VERSION: &str =
    "mutation($i: RegisterModelVersionInput!) { registerModelVersion(input: $i) { id version } }";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn percentile(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

struct Setup {
    service: Service,
    auth: AuthConfig,
    _db: TestBackend,
}

async fn setup() -> Setup {
    let db = TestBackend::seeding().await;
    let auth = AuthConfig {
        issuer: "steward".into(),
        audience: "steward".into(),
        leeway: Duration::from_secs(5),
        keys: KeySource::Hs256 {
            secret: vec![7; 32],
        },
    };
    let keys = steward_service::audit::AuditKeys::generate().unwrap();
    let service = db.service(auth.clone(), keys);
    Setup {
        service,
        auth,
        _db: db,
    }
}

fn token(auth: &AuthConfig, tenant: &str, roles: &[Role]) -> String {
    mint_hs256(auth, "bench", tenant, roles, Duration::from_secs(7200)).unwrap()
}

async fn principal(s: &Setup, tenant: &str, roles: &[Role]) -> Principal {
    s.service
        .authenticator()
        .authenticate(&token(&s.auth, tenant, roles))
        .await
        .unwrap()
}

/// Serves `router(service)` with `api` on a loopback port; its base URL.
async fn serve(service: &Service, api: ApiConfig) -> String {
    let app = router(AppState::new(service.clone(), api));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

async fn gql(client: &reqwest::Client, url: &str, token: &str, query: &str, vars: Value) -> Value {
    let resp = client
        .post(format!("{url}/graphql"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(json!({"query": query, "variables": vars}).to_string())
        .send()
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert!(v.get("errors").is_none(), "{v}");
    v["data"].clone()
}

async fn create_tenant(s: &Setup, slug: &str) {
    let admin = principal(s, slug, &[Role::PlatformAdmin]).await;
    let t = NewTenant {
        slug: slug.into(),
        name: slug.into(),
    };
    s.service.create_tenant(&admin, t).await.unwrap();
}

/// Rounds of writes per set-up, interleaved; the median rate of each.
async fn write_path() {
    let s = setup().await;
    create_tenant(&s, "bench").await;
    let owner = token(&s.auth, "bench", &[Role::ModelOwner]);
    let bare = ApiConfig {
        request_metrics: false,
        ..ApiConfig::default()
    };
    let plain_url = serve(&s.service, bare).await;
    let metered_url = serve(&s.service, ApiConfig::default()).await;
    let client = reqwest::Client::new();
    let model = gql(
        &client,
        &plain_url,
        &owner,
        "mutation { registerModel(input: {name: \"w\", ownerTeam: \"t\", riskTier: LOW}) { id } }",
        json!({}),
    )
    .await["registerModel"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    let receiver = OtlpReceiver::start().await.unwrap();
    let provider = steward_server::telemetry::otlp_provider_for(&receiver.endpoint()).unwrap();
    let filter = || tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn");

    let mut rates: [Vec<f64>; 3] = Default::default();
    let mut n = 0;
    for _ in 0..ROUNDS {
        for (setup, rate) in rates.iter_mut().enumerate() {
            let url = if setup == 0 { &plain_url } else { &metered_url };
            let dispatch = if setup < 2 {
                let logs = tracing_subscriber::fmt::layer().with_writer(std::io::sink);
                tracing::Dispatch::new(tracing_subscriber::registry().with(filter()).with(logs))
            } else {
                let otel = tracing_opentelemetry::layer().with_tracer(provider.tracer("steward"));
                tracing::Dispatch::new(
                    tracing_subscriber::registry()
                        .with(filter())
                        .with(otel)
                        .with(tracing_subscriber::fmt::layer().with_writer(std::io::sink)),
                )
            };
            let _guard = tracing::dispatcher::set_default(&dispatch);
            let start = Instant::now();
            for _ in 0..WRITES {
                n += 1;
                let vars = json!({"i": {"modelId": model, "artifactUri": format!("s3://m/{n}"),
                    "artifactDigest": format!("{n:064x}"), "framework": "xgboost",
                    "metrics": [{"name": "auc", "value": 0.9}]}});
                gql(&client, url, &owner, VERSION, vars).await;
            }
            rate.push(WRITES as f64 / start.elapsed().as_secs_f64());
        }
    }
    let _ = provider.shutdown();
    let spans = receiver.spans().len();
    // Time per write relative to the logs-only set-up of the same round (the three run back to
    // back, so a round shares the machine's mood); the median over rounds.
    let ratio = |k: usize| median((0..ROUNDS).map(|r| rates[0][r] / rates[k][r]).collect());
    let (metered, traced) = (ratio(1), ratio(2));
    let [logs_only, m_rate, t_rate] = rates.map(median);
    println!(
        "registry write path, registerModelVersion over HTTP, {ROUNDS} rounds of {WRITES} writes per set-up, interleaved:"
    );
    println!("  logs only, no request metrics:  {logs_only:>7.1}/s (median round)");
    println!(
        "  + request metrics and spans:    {m_rate:>7.1}/s; time per write {:+.1}% (median of per-round ratios)",
        (metered - 1.0) * 100.0
    );
    println!(
        "  + traces exported over OTLP:    {t_rate:>7.1}/s; time per write {:+.1}% ({spans} spans received)",
        (traced - 1.0) * 100.0
    );
}

/// 1,000 models in 10 tenants, each with its latest window's health; some incidents.
async fn scrape() {
    let s = setup().await;
    let mut owner_tokens = Vec::new();
    for t in 0..10 {
        let slug = format!("unit{t}");
        create_tenant(&s, &slug).await;
        let owner = principal(&s, &slug, &[Role::ModelOwner]).await;
        for m in 0..100 {
            let model = NewModel {
                name: format!("model-{m:03}"),
                description: String::new(),
                owner_team: format!("team-{}", m % 7),
                risk_tier: [RiskTier::Low, RiskTier::Medium, RiskTier::High][m % 3],
                tags: vec![],
            };
            s.service.register_model(&owner, model).await.unwrap();
        }
        owner_tokens.push(owner);
    }
    // The latest window's health of every model, as an evaluation leaves it (performance with
    // bounds), written straight into the table for the benchmark's sake.
    let perf = r#"[{"metric":"accuracy","value":0.91,"lower":0.88,"upper":0.94,"n":900},{"metric":"auc","value":0.95,"lower":0.93,"upper":0.97,"n":900}]"#;
    let now = chrono::Utc::now();
    let backdate = |h: i64| {
        (now - chrono::Duration::hours(h))
            .format("%Y-%m-%d %H:%M:%S%:z")
            .to_string()
    };
    let sql = if s._db.is_postgres() {
        format!(
            "INSERT INTO model_health SELECT id, tenant_id, id, '{}'::timestamptz, '{}'::timestamptz, 0.05 + (random() * 0.3), (random() * 4)::bigint, '{perf}' FROM models",
            backdate(2),
            backdate(1)
        )
    } else {
        format!(
            "INSERT INTO model_health SELECT id, tenant_id, id, '{}', '{}', 0.05 + (abs(random()) % 300) / 1000.0, abs(random()) % 4, '{perf}' FROM models",
            backdate(2),
            backdate(1)
        )
    };
    s._db.query(&sql).await.unwrap();
    let api = ApiConfig {
        metrics_token: Some(METRICS_TOKEN.into()),
        ..ApiConfig::default()
    };
    let url = serve(&s.service, api).await;
    let client = reqwest::Client::new();
    let text = s.service.render_metrics(2_000).await.unwrap();
    assert_eq!(text.matches("steward_model_info{").count(), 1_000);
    assert_eq!(
        text.matches("steward_model_performance_lower{").count(),
        2_000
    );
    let mut small = Vec::new();
    for _ in 0..100 {
        let t = Instant::now();
        std::hint::black_box(s.service.render_metrics(1).await.unwrap());
        small.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let (mut direct, mut http) = (Vec::new(), Vec::new());
    for _ in 0..200 {
        let t = Instant::now();
        let body = s.service.render_metrics(2_000).await.unwrap();
        direct.push(t.elapsed().as_secs_f64() * 1e3);
        std::hint::black_box(body);
        let t = Instant::now();
        let resp = client
            .get(format!("{url}/metrics"))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .unwrap();
        let body = resp.bytes().await.unwrap();
        http.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(body.len() > 100_000);
    }
    println!(
        "/metrics with 1,000 models in 10 tenants ({} KiB, {} lines):",
        text.len() / 1024,
        text.lines().count()
    );
    println!(
        "  without per-model series (max_models 1: the database reads, the rest): p50 {:.2} ms",
        percentile(&small, 0.5)
    );
    println!(
        "  service render: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&direct, 0.5),
        percentile(&direct, 0.99)
    );
    println!(
        "  GET /metrics:   p50 {:.2} ms, p99 {:.2} ms",
        percentile(&http, 0.5),
        percentile(&http, 0.99)
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        scrape().await;
        write_path().await;
    });
}
