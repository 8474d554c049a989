//! `TestApp`: the real router over a fresh database, with helpers to mint tokens and send
//! GraphQL requests through `tower::ServiceExt::oneshot`.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use steward_api::{ApiConfig, AppState, router};
use steward_domain::Role;
use steward_service::auth::mint_hs256;
use steward_service::testing::TestBackend;
use steward_service::{AuthConfig, KeySource, OutboxSettings, PolicySettings, Service};
use tower::ServiceExt;

pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

pub fn hs256_config() -> AuthConfig {
    AuthConfig {
        issuer: "steward".into(),
        audience: "steward".into(),
        leeway: Duration::from_secs(5),
        keys: KeySource::Hs256 {
            secret: SECRET.to_vec(),
        },
    }
}

pub fn audit_keys() -> steward_service::audit::AuditKeys {
    steward_service::audit::AuditKeys::generate().unwrap()
}

pub struct TestApp {
    /// The service's clock: it stands still until a test moves it.
    pub clock: std::sync::Arc<steward_service::monitoring::ManualClock>,
    pub router: Router,
    pub state: AppState,
    pub service: Service,
    pub db: std::sync::Arc<TestBackend>,
    pub auth: AuthConfig,
}

impl TestApp {
    pub async fn new() -> TestApp {
        Self::with(hs256_config(), ApiConfig::default()).await
    }

    pub async fn with(auth: AuthConfig, api: ApiConfig) -> TestApp {
        Self::build(auth, api, PolicySettings::default()).await
    }

    /// The default app with other policy evaluation settings (limits, concurrency).
    pub async fn with_policy(policy: PolicySettings) -> TestApp {
        Self::build(hs256_config(), ApiConfig::default(), policy).await
    }

    /// The default app with these relay settings (the default app's relay may deliver to its
    /// tests' loopback receivers; the default settings would refuse private addresses).
    pub async fn with_outbox(outbox: OutboxSettings) -> TestApp {
        Self::build_with(
            hs256_config(),
            ApiConfig::default(),
            PolicySettings::default(),
            outbox,
        )
        .await
    }

    async fn build(auth: AuthConfig, api: ApiConfig, policy: PolicySettings) -> TestApp {
        let outbox = OutboxSettings {
            allow_private_networks: true,
            request_timeout: Duration::from_secs(2),
            ..OutboxSettings::default()
        };
        Self::build_with(auth, api, policy, outbox).await
    }

    async fn build_with(
        auth: AuthConfig,
        api: ApiConfig,
        policy: PolicySettings,
        outbox: OutboxSettings,
    ) -> TestApp {
        let db = TestBackend::new().await;
        let clock = std::sync::Arc::new(steward_service::monitoring::ManualClock::new(
            "2026-03-01T12:00:00Z".parse().unwrap(),
        ));
        let service = db
            .service(auth.clone(), audit_keys())
            .with_policy_settings(policy)
            .with_outbox_settings(outbox)
            .with_clock(clock.clone());
        let state = AppState::new(service.clone(), api);
        let router = router(state.clone());
        TestApp {
            clock,
            router,
            state,
            service,
            db: std::sync::Arc::new(db),
            auth,
        }
    }

    pub fn token(&self, tenant: &str, roles: &[Role]) -> String {
        self.token_as("tester", tenant, roles)
    }

    /// A token of subject `sub` (four-eyes tests need several people).
    pub fn token_as(&self, sub: &str, tenant: &str, roles: &[Role]) -> String {
        mint_hs256(&self.auth, sub, tenant, roles, Duration::from_secs(600)).unwrap()
    }

    /// Sends a raw request body to /graphql.
    pub async fn raw(&self, token: Option<&str>, body: impl Into<Body>) -> (StatusCode, Value) {
        let mut req = Request::post("/graphql").header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(body.into()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, value)
    }

    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = json!({"query": query, "variables": variables}).to_string();
        let (status, value) = self.raw(Some(token), body).await;
        assert_eq!(status, StatusCode::OK, "{value}");
        value
    }

    /// Sends `body` to a REST route with the given content type and extra headers; the answer
    /// as JSON (or as a JSON string when it is not JSON).
    pub async fn post(
        &self,
        token: &str,
        path: &str,
        content_type: &str,
        headers: &[(&str, &str)],
        body: impl Into<Body>,
    ) -> (StatusCode, Value) {
        let mut req = Request::post(path)
            .header("content-type", content_type)
            .header("authorization", format!("Bearer {token}"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(body.into()).unwrap())
            .await
            .unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, value)
    }

    /// GETs a REST route; the answer as JSON (or as a JSON string when it is not JSON).
    pub async fn get(&self, token: &str, path: &str) -> (StatusCode, Value) {
        let req = Request::get(path)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, value)
    }

    /// Runs a probe as `matrix::call` writes it: a GraphQL operation, or `POST <path>` with
    /// `{"contentType", "body"}` for a REST route. REST errors have the GraphQL error shape.
    pub async fn probe(&self, token: &str, query: &str, variables: Value) -> Value {
        match query.strip_prefix("POST ") {
            Some(path) => {
                let i = &variables["i"];
                let ct = i["contentType"].as_str().unwrap_or("text/csv").to_string();
                let body = i["body"].as_str().unwrap_or("").to_string();
                self.post(token, path, &ct, &[], body).await.1
            }
            None => self.gql(token, query, variables).await,
        }
    }

    /// Runs a query that must succeed and returns its `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let v = self.gql(token, query, variables).await;
        assert!(v.get("errors").is_none(), "unexpected errors: {v}");
        v["data"].clone()
    }

    /// Creates a tenant through the API with a platform admin token.
    pub async fn tenant(&self, slug: &str) {
        let admin = self.token(slug, &[Role::PlatformAdmin]);
        self.ok(
            &admin,
            "mutation($i: CreateTenantInput!) { createTenant(input: $i) { id } }",
            json!({"i": {"slug": slug, "name": slug}}),
        )
        .await;
    }
}

/// The `extensions.code` of the first error, or "" when there is none.
pub fn code(v: &Value) -> String {
    v["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

pub const REGISTER_MODEL: &str =
    "mutation($i: RegisterModelInput!) { registerModel(input: $i) { id name latestVersion } }";
pub const REGISTER_VERSION: &str = "mutation($i: RegisterModelVersionInput!) { registerModelVersion(input: $i) { id version trainingRun { id } } }";
pub const REGISTER_DATASET: &str =
    "mutation($i: RegisterDatasetInput!) { registerDataset(input: $i) { id } }";
pub const REGISTER_DATASET_VERSION: &str =
    "mutation($i: RegisterDatasetVersionInput!) { registerDatasetVersion(input: $i) { id } }";

pub fn digest() -> String {
    format!("sha256:{}", "ab".repeat(32))
}

/// Ids of a small registry: a model with one version trained on a dataset version.
pub struct Seeded {
    pub model: String,
    pub version: String,
    pub dataset: String,
    pub dataset_version: String,
    pub run: String,
    /// A policy with revision 1 published and bound as the tenant default.
    pub policy: String,
    pub binding: String,
    /// A second binding of the same policy (selector: tag `eu`, which the model carries); the
    /// record was resolved through it, as the more specific one.
    pub selector_binding: String,
    /// A decision record of the model version under that policy.
    pub record: String,
    /// The version's active baseline (its prediction only: the version has no input schema).
    pub baseline: String,
    /// A window of the version, evaluated: its predictions drifted.
    pub window: String,
    /// The drift incident that evaluation opened (tenant default policy).
    pub incident: String,
    /// The alert that evaluation decided, pending for the `ml-monitoring` webhook target.
    pub action: String,
    /// An endpoint `fraud-prod` serving `version` (no target).
    pub endpoint: String,
    /// An endpoint `ranker-prod` of a low-risk model, at revision 2 (a promotion): SREs may
    /// roll it back to revision 1 any number of times.
    pub rollback_endpoint: String,
    /// Promotion requests awaiting 9 approvals by governance officers, SREs and model owners
    /// (in that order), each requested by `requester`.
    pub approval_requests: [String; 3],
    /// A version of model `scratch`, served nowhere: deleting it (again) is allowed.
    pub doomed_version: String,
}

/// A baseline of predictions spread over [0, 1).
pub fn prediction_baseline(rows: usize) -> String {
    let mut csv = String::from("prediction\n");
    for i in 0..rows {
        csv.push_str(&format!("{}\n", i as f64 / rows as f64));
    }
    csv
}

/// JSON lines of `rows` predictions around `center`, at the service's time unless `at` is given.
pub fn predictions(rows: usize, center: f64, at: Option<&str>) -> String {
    let mut out = String::new();
    for i in 0..rows {
        let p = center + (i as f64 / rows as f64 - 0.5) * 0.2;
        match at {
            Some(t) => out.push_str(&format!(
                "{{\"prediction\": {p}, \"event_time\": \"{t}\"}}\n"
            )),
            None => out.push_str(&format!("{{\"prediction\": {p}}}\n")),
        }
    }
    out
}

/// The example tenant default policy (policies/tenant-default.rhai).
pub const TENANT_DEFAULT_POLICY: &str = include_str!("../../../../policies/tenant-default.rhai");

/// A quiet `on_window` context (without `model`, which Steward fills in).
pub fn window_context(composite: f64) -> Value {
    json!({
        "window": {"start": "2026-03-01T00:00:00Z", "end": "2026-03-02T00:00:00Z", "rows": 5000},
        "drift": {"composite": composite},
        "baseline": {"id": "b-1", "created_at": "2026-02-01T00:00:00Z"}
    })
}

pub const CREATE_POLICY: &str =
    "mutation($i: CreatePolicyInput!) { createPolicy(input: $i) { id name } }";
pub const PROPOSE: &str = "mutation($i: ProposePolicyRevisionInput!) { proposePolicyRevision(input: $i) { revision { number hash status } warnings created } }";
pub const PUBLISH: &str = "mutation($i: PublishPolicyRevisionInput!) { publishPolicyRevision(input: $i) { number status publishedBy } }";
pub const BIND: &str = "mutation($i: BindPolicyInput!) { bindPolicy(input: $i) { id kind } }";
pub const EVALUATE: &str = "mutation($i: EvaluatePolicyInput!) { evaluatePolicy(input: $i) { id outcome limitHit log revisionNumber resolution } }";

pub async fn seed(app: &TestApp, token: &str) -> Seeded {
    let model = app
        .ok(token, REGISTER_MODEL, json!({"i": {"name": "fraud", "ownerTeam": "risk", "riskTier": "HIGH", "tags": ["eu"]}}))
        .await["registerModel"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dataset = app
        .ok(
            token,
            REGISTER_DATASET,
            json!({"i": {"name": "transactions"}}),
        )
        .await["registerDataset"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dataset_version = app
        .ok(
            token,
            REGISTER_DATASET_VERSION,
            json!({"i": {"datasetId": dataset, "uri": "s3://d/1", "contentHash": digest(), "rowCount": 10}}),
        )
        .await["registerDatasetVersion"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let v = app
        .ok(
            token,
            REGISTER_VERSION,
            json!({"i": {"modelId": model, "artifactUri": "s3://m/1", "artifactDigest": digest(), "framework": "xgboost",
                   "metrics": [{"name": "auc", "value": 0.9}],
                   "trainingRun": {"codeCommit": "abc", "inputDatasetVersionIds": [dataset_version]}}}),
        )
        .await;
    let version = v["registerModelVersion"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let scratch = app
        .ok(
            token,
            REGISTER_MODEL,
            json!({"i": {"name": "scratch", "ownerTeam": "risk", "riskTier": "LOW"}}),
        )
        .await["registerModel"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let doomed_version = app
        .ok(
            token,
            REGISTER_VERSION,
            json!({"i": {"modelId": scratch, "artifactUri": "s3://m/scratch", "artifactDigest": digest(), "framework": "f"}}),
        )
        .await["registerModelVersion"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The policy side is written by a policy author of the same tenant.
    let tenant = app.ok(token, "{ me { tenant } }", json!({})).await["me"]["tenant"]
        .as_str()
        .unwrap()
        .to_string();
    let author = app.token(&tenant, &[Role::PolicyAuthor]);
    let policy = str_at(
        &app.ok(&author, CREATE_POLICY, json!({"i": {"name": "default"}}))
            .await,
        &["createPolicy", "id"],
    );
    app.ok(
        &author,
        PROPOSE,
        json!({"i": {"policyId": policy, "source": TENANT_DEFAULT_POLICY}}),
    )
    .await;
    app.ok(
        &author,
        PUBLISH,
        json!({"i": {"policyId": policy, "number": 1}}),
    )
    .await;
    let binding = str_at(
        &app.ok(
            &author,
            BIND,
            json!({"i": {"policyId": policy, "tenantDefault": true}}),
        )
        .await,
        &["bindPolicy", "id"],
    );
    let selector_binding = str_at(
        &app.ok(
            &author,
            BIND,
            json!({"i": {"policyId": policy, "selector": {"tags": ["eu"]}}}),
        )
        .await,
        &["bindPolicy", "id"],
    );
    let record = str_at(
        &app.ok(
            &author,
            EVALUATE,
            json!({"i": {"modelVersionId": version, "hook": "ON_WINDOW", "context": window_context(0.1)}}),
        )
        .await,
        &["evaluatePolicy", "id"],
    );
    // The tenant default policy alerts `ml-monitoring`: a webhook target nobody listens to
    // (port 9, discard), so its alert waits in the outbox.
    let officer = app.token(&tenant, &[Role::GovernanceOfficer]);
    app.ok(
        &officer,
        "mutation($i: PutDeliveryTargetInput!) { putDeliveryTarget(input: $i) { name } }",
        json!({"i": {"name": "ml-monitoring", "kind": "WEBHOOK", "url": "http://127.0.0.1:9/hook",
               "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}),
    )
    .await;
    // Monitoring: a baseline, a drifted window evaluated by an SRE, the incident it opened.
    let sre = app.token(&tenant, &[Role::Sre]);
    app.ok(
        token,
        "mutation($i: ConfigureMonitoringInput!) { configureMonitoring(input: $i) { latenessSeconds } }",
        json!({"i": {"modelId": model, "latenessSeconds": 0,
               "hysteresis": {"high": 0.2, "low": 0.05, "minConsecutive": 1, "cooldownWindows": 0}}}),
    )
    .await;
    let path = format!("/v1/model-versions/{version}/baselines");
    let (status, b) = app
        .post(token, &path, "text/csv", &[], prediction_baseline(200))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    let baseline = str_at(&b, &["id"]);
    let path = format!("/v1/model-versions/{version}/observations");
    let (status, got) = app
        .post(
            token,
            &path,
            "application/x-ndjson",
            &[],
            predictions(200, 5.0, None),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{got}");
    app.clock.set("2026-03-02T00:00:01Z".parse().unwrap());
    let done = app
        .ok(
            &sre,
            "mutation($v: ID!) { evaluateNow(modelVersionId: $v) { windowId incidentsOpened } }",
            json!({"v": version}),
        )
        .await;
    let window = str_at(&done, &["evaluateNow", "0", "windowId"]);
    let incident = done["evaluateNow"][0]["incidentsOpened"][0]
        .as_str()
        .unwrap_or_else(|| panic!("the drifted window opened no incident: {done}"))
        .to_string();
    let actions = app
        .ok(
            &sre,
            "query($m: ID!) { pendingActions(modelId: $m) { id kind status target } }",
            json!({"m": model}),
        )
        .await;
    let action = str_at(&actions, &["pendingActions", "0", "id"]);
    assert_eq!(
        actions["pendingActions"][0]["status"], "PENDING",
        "{actions}"
    );
    let (endpoint, rollback_endpoint, approval_requests) =
        seed_deployments(app, &tenant, (&model, &version)).await;
    Seeded {
        endpoint,
        rollback_endpoint,
        approval_requests,
        action,
        baseline,
        window,
        incident,
        model,
        version,
        run: v["registerModelVersion"]["trainingRun"]["id"]
            .as_str()
            .unwrap()
            .to_string(),
        dataset,
        dataset_version,
        policy,
        binding,
        selector_binding,
        record,
        doomed_version,
    }
}

/// Chooses who must approve a promotion by the model's name (…-gov, …-sre, …-owner), nine
/// times over: requests that stay awaiting approval.
const APPROVALS_POLICY: &str = r#"
fn on_promotion(ctx) {
    let role = if ctx.model.name.ends_with("-sre") { "sre" }
        else if ctx.model.name.ends_with("-owner") { "model_owner" }
        else { "governance_officer" };
    require_approval(role, 9)
}
"#;

pub const CREATE_ENDPOINT: &str = "mutation($i: CreateEndpointInput!) { createEndpoint(input: $i) { id name revision current { number champion { version } } } }";
pub const REQUEST_PROMOTION: &str = "mutation($i: RequestPromotionInput!) { requestPromotion(input: $i) { id status verdict outcome step policyRevision decisionRecordId } }";

/// Registers a version of `model` with an AUC; its id.
pub async fn version_of(app: &TestApp, token: &str, model: &str, uri: &str, auc: f64) -> String {
    let v = app
        .ok(
            token,
            REGISTER_VERSION,
            json!({"i": {"modelId": model, "artifactUri": uri, "artifactDigest": digest(),
                   "framework": "sklearn", "metrics": [{"name": "auc", "value": auc}]}}),
        )
        .await;
    str_at(&v, &["registerModelVersion", "id"])
}

/// The seeded endpoint and the requests awaiting approval by each approving role.
async fn seed_deployments(
    app: &TestApp,
    tenant: &str,
    (model, version): (&str, &str),
) -> (String, String, [String; 3]) {
    let sre = app.token(tenant, &[Role::Sre]);
    let owner = app.token_as("requester", tenant, &[Role::ModelOwner]);
    let author = app.token(tenant, &[Role::PolicyAuthor]);
    let endpoint = |model: &str, name: &str, champion: &str| {
        json!({"i": {"modelId": model, "name": name, "environment": "prod",
            "championVersionId": champion, "reason": "first deployment"}})
    };
    let v = app
        .ok(
            &sre,
            CREATE_ENDPOINT,
            endpoint(model, "fraud-prod", version),
        )
        .await;
    let fraud_endpoint = str_at(&v, &["createEndpoint", "id"]);
    let policy = str_at(
        &app.ok(&author, CREATE_POLICY, json!({"i": {"name": "approvals"}}))
            .await,
        &["createPolicy", "id"],
    );
    app.ok(
        &author,
        PROPOSE,
        json!({"i": {"policyId": policy, "source": APPROVALS_POLICY}}),
    )
    .await;
    app.ok(
        &author,
        PUBLISH,
        json!({"i": {"policyId": policy, "number": 1}}),
    )
    .await;
    app.ok(
        &author,
        BIND,
        json!({"i": {"policyId": policy, "selector": {"tags": ["approvals"]}}}),
    )
    .await;
    let mut requests = Vec::new();
    for suffix in ["gov", "sre", "owner"] {
        let name = format!("appr-{suffix}");
        let appr = str_at(
            &app.ok(&owner, REGISTER_MODEL, json!({"i": {"name": name, "ownerTeam": "t", "riskTier": "LOW", "tags": ["approvals"]}}))
                .await,
            &["registerModel", "id"],
        );
        let v1 = version_of(app, &owner, &appr, "s3://a/1", 0.8).await;
        let v2 = version_of(app, &owner, &appr, "s3://a/2", 0.9).await;
        let e = str_at(
            &app.ok(&sre, CREATE_ENDPOINT, endpoint(&appr, &name, &v1))
                .await,
            &["createEndpoint", "id"],
        );
        let r = app
            .ok(
                &owner,
                REQUEST_PROMOTION,
                json!({"i": {"endpointId": e, "candidateVersionId": v2, "artifactDigest": digest(),
                    "reason": "better AUC"}}),
            )
            .await;
        assert_eq!(r["requestPromotion"]["status"], "AWAITING_APPROVAL", "{r}");
        requests.push(str_at(&r, &["requestPromotion", "id"]));
    }
    let [a, b, c]: [String; 3] = requests.try_into().unwrap();
    // A low-risk model the tenant default policy lets through: promoted at once.
    let ranker = str_at(
        &app.ok(
            &owner,
            REGISTER_MODEL,
            json!({"i": {"name": "ranker", "ownerTeam": "t", "riskTier": "LOW"}}),
        )
        .await,
        &["registerModel", "id"],
    );
    let v1 = version_of(app, &owner, &ranker, "s3://r/1", 0.8).await;
    let v2 = version_of(app, &owner, &ranker, "s3://r/2", 0.9).await;
    let e = str_at(
        &app.ok(&sre, CREATE_ENDPOINT, endpoint(&ranker, "ranker-prod", &v1))
            .await,
        &["createEndpoint", "id"],
    );
    let r = app
        .ok(
            &owner,
            REQUEST_PROMOTION,
            json!({"i": {"endpointId": e, "candidateVersionId": v2,
            "artifactDigest": digest(), "reason": "better AUC"}}),
        )
        .await;
    assert_eq!(r["requestPromotion"]["status"], "PROMOTED", "{r}");
    (fraud_endpoint, e, [a, b, c])
}

/// The string at `path` inside `v`.
pub fn str_at(v: &Value, path: &[&str]) -> String {
    let mut cur = v;
    for key in path {
        cur = match key.parse::<usize>() {
            Ok(i) => &cur[i],
            Err(_) => &cur[*key],
        };
    }
    cur.as_str()
        .unwrap_or_else(|| panic!("no string at {path:?} in {v}"))
        .to_string()
}

/// The field names of a root type of the schema (`QueryRoot`, `MutationRoot`), read from its SDL,
/// so tests that must cover every field fail when a field is added.
pub fn schema_fields(app: &TestApp, root: &str) -> Vec<String> {
    let sdl = steward_api::graphql::build_schema(
        app.db.service(app.auth.clone(), audit_keys()),
        &ApiConfig::default(),
    )
    .sdl();
    let body = sdl
        .split(&format!("type {root} {{"))
        .nth(1)
        .and_then(|b| b.split('}').next())
        .unwrap_or("");
    let mut fields = Vec::new();
    let mut in_doc = false;
    for line in body.lines().map(str::trim) {
        if line.starts_with("\"\"\"") {
            // A block description opens or closes; a one-line block does both.
            let one_line = line.len() > 3 && line.ends_with("\"\"\"");
            in_doc = !one_line && !in_doc;
            continue;
        }
        if in_doc || line.is_empty() || line.starts_with('"') {
            continue;
        }
        fields.push(
            line.split(['(', ':'])
                .next()
                .unwrap_or("")
                .trim()
                .to_string(),
        );
    }
    fields
}
