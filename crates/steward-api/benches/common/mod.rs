//! What the API benchmarks share: the real router on a loopback port over a fresh database, an
//! HTTP client with a token, and the statistics they print (medians; this machine is shared
//! and noisy).

#![allow(dead_code)] // Each bench binary uses a different part of this module.

use std::time::Duration;

use serde_json::{Value, json};
use steward_api::{ApiConfig, AppState, router};
use steward_domain::{Principal, Role};
use steward_service::auth::mint_hs256;
use steward_service::testing::TestBackend;
use steward_service::{AuthConfig, KeySource, PolicySettings, Service};

pub struct Bench {
    pub client: reqwest::Client,
    pub url: String,
    pub token: String,
}

impl Bench {
    /// The same client and server with another token.
    pub fn with_token(&self, token: String) -> Bench {
        Bench {
            client: self.client.clone(),
            url: self.url.clone(),
            token,
        }
    }

    /// Sends a GraphQL request and returns the whole response (data and errors).
    pub async fn send(&self, query: &str, variables: Value) -> Value {
        let resp = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(json!({"query": query, "variables": variables}).to_string())
            .send()
            .await
            .expect("request");
        serde_json::from_slice(&resp.bytes().await.expect("body")).expect("json")
    }

    /// Sends a GraphQL request that must succeed and returns its `data`.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        let v = self.send(query, variables).await;
        assert!(v.get("errors").is_none(), "{v}");
        v["data"].clone()
    }
}

/// A running server over a fresh database with one tenant, `bench`.
pub struct Server {
    pub db: TestBackend,
    pub auth: AuthConfig,
    pub state: AppState,
    /// A model owner of tenant `bench`, as authentication makes one.
    pub owner: Principal,
    pub url: String,
    pub client: reqwest::Client,
}

impl Server {
    pub async fn start(api: ApiConfig, policy: PolicySettings) -> Server {
        Self::start_with_keys(
            api,
            policy,
            KeySource::Hs256 {
                secret: vec![7; 32],
            },
        )
        .await
    }

    /// A server verifying tokens with `keys` (`client()` needs HS256 keys).
    pub async fn start_with_keys(
        api: ApiConfig,
        policy: PolicySettings,
        keys: KeySource,
    ) -> Server {
        Self::start_with(api, policy, keys, |s| s).await
    }

    /// A server whose service `configure` finishes (a manual clock, other monitoring settings).
    pub async fn start_with(
        api: ApiConfig,
        policy: PolicySettings,
        keys: KeySource,
        configure: impl FnOnce(Service) -> Service,
    ) -> Server {
        let db = TestBackend::seeding().await;
        let auth = AuthConfig {
            issuer: "steward".into(),
            audience: "steward".into(),
            leeway: Duration::from_secs(5),
            keys,
        };
        let service = db
            .service(
                auth.clone(),
                steward_service::audit::AuditKeys::generate().unwrap(),
            )
            .with_policy_settings(policy);
        let service = configure(service);
        // The principals come from tokens, as in production; JWKS benches bring their own keys
        // and only need the tenant, so the tenant is created with a development token when the
        // server verifies HS256.
        let dev = AuthConfig {
            keys: KeySource::Hs256 {
                secret: vec![7; 32],
            },
            ..auth.clone()
        };
        let token = |roles: &[Role]| {
            mint_hs256(&dev, "bench", "bench", roles, Duration::from_secs(3600)).unwrap()
        };
        let seeder = db.service(
            dev.clone(),
            steward_service::audit::AuditKeys::generate().unwrap(),
        );
        let admin = seeder
            .authenticator()
            .authenticate(&token(&[Role::PlatformAdmin]))
            .await
            .unwrap();
        seeder
            .create_tenant(
                &admin,
                steward_domain::NewTenant {
                    slug: "bench".into(),
                    name: "Bench".into(),
                },
            )
            .await
            .unwrap();
        let owner = seeder
            .authenticator()
            .authenticate(&token(&[Role::ModelOwner]))
            .await
            .unwrap();
        let state = AppState::new(service, api);
        let app = router(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .unwrap();
        Server {
            db,
            auth,
            state,
            owner,
            url: format!("http://{addr}/graphql"),
            client,
        }
    }

    /// A client acting in tenant `bench` with `roles`.
    pub fn client(&self, roles: &[Role]) -> Bench {
        let token = mint_hs256(
            &self.auth,
            "bench",
            "bench",
            roles,
            Duration::from_secs(3600),
        )
        .unwrap();
        Bench {
            client: self.client.clone(),
            url: self.url.clone(),
            token,
        }
    }

    /// The server's address with `path` (a REST route).
    pub fn route(&self, path: &str) -> String {
        format!("{}{path}", self.url.trim_end_matches("/graphql"))
    }

    pub fn backend(&self) -> &'static str {
        if self.db.is_postgres() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    }
}

/// CPU time used by this process so far (user + system), from /proc/self/stat. Load from other
/// processes on a shared machine inflates wall-clock figures; CPU per request does not move with it.
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: u64 = fields.get(11).and_then(|u| u.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|s| s.parse().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Resident set size of this process, from /proc/self/statm.
pub fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}
