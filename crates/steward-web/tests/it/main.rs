//! The web frontend through the real router (API and pages merged, as `steward serve` serves
//! them) over a fresh database: sign-in and its cookie, the pages, CSRF and origin checks on
//! state-changing forms, another tenant's objects answering 404. Browser tests drive the same
//! pages in Chromium (`tests/web/`).

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use steward_domain::Role;
use steward_service::auth::mint_hs256;
use steward_service::testing::TestBackend;
use steward_service::{AuthConfig, KeySource};
use tower::ServiceExt;

mod compliance;
mod oidc;
mod policies;
mod versions;

struct App {
    router: Router,
    auth: AuthConfig,
    /// The audit log's signing key's public half (what an auditor trusts).
    audit_key: steward_audit::PublicKey,
    _db: TestBackend,
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl App {
    async fn new() -> App {
        Self::with_clock(None).await
    }

    /// The app over a service whose monitoring clock is `clock` (the demo drives one).
    async fn with_clock(
        clock: Option<std::sync::Arc<steward_service::monitoring::ManualClock>>,
    ) -> App {
        Self::build(clock, steward_web::SignIn::dev_token()).await
    }

    /// The app with a monitoring clock of its own and the given ways to sign in.
    async fn build(
        clock: Option<std::sync::Arc<steward_service::monitoring::ManualClock>>,
        sign_in: steward_web::SignIn,
    ) -> App {
        let auth = AuthConfig {
            issuer: "steward".into(),
            audience: "steward".into(),
            leeway: Duration::from_secs(5),
            keys: KeySource::Hs256 {
                secret: b"test-secret-test-secret-test-secret!".to_vec(),
            },
        };
        let db = TestBackend::new().await;
        let audit = steward_service::audit::AuditKeys::generate().unwrap();
        let audit_key = audit.public_key();
        let mut service = db.service(auth.clone(), audit);
        if let Some(c) = clock {
            service = service.with_clock(c);
        }
        let api = steward_api::AppState::new(service.clone(), steward_api::ApiConfig::default());
        let router = steward_api::router(api).merge(steward_web::router(service, sign_in));
        App {
            router,
            auth,
            audit_key,
            _db: db,
        }
    }

    fn token(&self, tenant: &str, roles: &[Role]) -> String {
        mint_hs256(&self.auth, "ada", tenant, roles, Duration::from_secs(600)).unwrap()
    }

    async fn send(&self, req: Request<Body>) -> Reply {
        let resp = self.router.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = json!({"query": query, "variables": variables}).to_string();
        let req = Request::post("/graphql")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from(body))
            .unwrap();
        let r = self.send(req).await;
        let v: Value = serde_json::from_str(&r.body).unwrap();
        assert!(v["errors"].is_null(), "{v}");
        v["data"].clone()
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut req = Request::get(path);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    async fn post(&self, path: &str, cookie: Option<&str>, site: &str, form: &str) -> Reply {
        let mut req = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("sec-fetch-site", site);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        self.send(req.body(Body::from(form.to_string())).unwrap())
            .await
    }

    /// Signs in with `token`: the `name=value` of the session cookie.
    async fn sign_in(&self, token: &str) -> String {
        let r = self
            .post(
                "/ui/sign-in",
                None,
                "same-origin",
                &format!("token={token}"),
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let set = r.headers[header::SET_COOKIE].to_str().unwrap().to_string();
        for attr in ["Path=/", "HttpOnly", "Secure", "SameSite=Lax"] {
            assert!(set.contains(attr), "{set}");
        }
        assert!(set.starts_with("__Host-steward="), "{set}");
        set.split(';').next().unwrap().to_string()
    }

    /// A tenant with a model whose version was trained on a dataset version: the model's id
    /// and the version's.
    async fn seed(&self, tenant: &str, model: &str) -> (String, String) {
        let admin = self.token(tenant, &[Role::PlatformAdmin]);
        self.gql(
            &admin,
            "mutation($i: CreateTenantInput!) { createTenant(input: $i) { id } }",
            json!({"i": {"slug": tenant, "name": tenant}}),
        )
        .await;
        let owner = self.token(tenant, &[Role::ModelOwner]);
        let m = self.gql(&owner, "mutation($i: RegisterModelInput!) { registerModel(input: $i) { id } }",
            json!({"i": {"name": model, "ownerTeam": "risk", "riskTier": "HIGH", "tags": ["eu"]}})).await;
        let model_id = m["registerModel"]["id"].as_str().unwrap().to_string();
        let d = self
            .gql(
                &owner,
                "mutation($i: RegisterDatasetInput!) { registerDataset(input: $i) { id } }",
                json!({"i": {"name": "transactions"}}),
            )
            .await;
        let dv = self.gql(&owner, "mutation($i: RegisterDatasetVersionInput!) { registerDatasetVersion(input: $i) { id } }",
            json!({"i": {"datasetId": d["registerDataset"]["id"], "uri": "s3://d/1", "contentHash": format!("sha256:{}", "ab".repeat(32)), "rowCount": 10}})).await;
        let v = self.gql(&owner, "mutation($i: RegisterModelVersionInput!) { registerModelVersion(input: $i) { id } }",
            json!({"i": {"modelId": model_id, "artifactUri": "s3://m/1", "artifactDigest": format!("sha256:{}", "ab".repeat(32)), "framework": "xgboost",
                   "metrics": [{"name": "auc", "value": 0.91}],
                   "trainingRun": {"codeCommit": "abc", "inputDatasetVersionIds": [dv["registerDatasetVersion"]["id"]]}}})).await;
        let version = v["registerModelVersion"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        (model_id, version)
    }
}

/// The CSRF token in a page's sign-out form.
fn csrf(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a sign-out form")
        + 19;
    page[at..at + 64].to_string()
}

#[tokio::test]
async fn signing_in_shows_the_tenants_models_and_their_lineage() {
    let app = App::new().await;
    let (model, version) = app.seed("acme", "fraud-detector").await;
    // Not signed in: to the sign-in page, which offers pasting a token.
    let r = app.get("/ui/", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/ui/sign-in");
    let r = app.get("/ui/sign-in", None).await;
    assert!(r.body.contains("name=\"token\""), "{}", r.body);

    let cookie = app.sign_in(&app.token("acme", &[Role::Viewer])).await;
    let r = app.get("/ui/", Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body
            .contains(&format!("href=\"/ui/models/{model}\">fraud-detector</a>")),
        "{}",
        r.body
    );
    assert!(r.body.contains("Risk tier: high"));
    assert!(
        r.body.contains("<span class=\"health unmonitored\">"),
        "{}",
        r.body
    );
    assert!(r.body.contains("none evaluated"));
    let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");

    let r = app.get(&format!("/ui/models/{model}"), Some(&cookie)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("auc 0.9100"), "{}", r.body);
    assert!(
        r.body
            .contains(&format!("/ui/lineage?node={version}&amp;depth=2"))
    );

    // The version's lineage: the dataset version and run upstream, the model beside.
    let r = app
        .get(
            &format!("/ui/lineage?node={version}&depth=2"),
            Some(&cookie),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("<svg class=\"lineage\""), "{}", r.body);
    assert!(r.body.contains("class=\"node model focus\""));
    assert!(r.body.contains("class=\"node data\""));
    assert!(r.body.contains("class=\"node run\""));
    assert!(r.body.contains("<option value=\"2\" selected>"));
    // Its drift page, before any window was evaluated, says so.
    let r = app
        .get(&format!("/ui/versions/{version}/drift"), Some(&cookie))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("No evaluated windows yet"), "{}", r.body);
    // The API still wants its bearer token: the cookie opens nothing there.
    let req = Request::post("/graphql")
        .header("content-type", "application/json")
        .header(header::COOKIE, &cookie)
        .body(Body::from(
            json!({"query": "{ models { nodes { id } } }"}).to_string(),
        ))
        .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn another_tenants_objects_answer_like_missing_ones() {
    let app = App::new().await;
    let (theirs, their_version) = app.seed("globex", "churn").await;
    app.seed("acme", "fraud-detector").await;
    let cookie = app.sign_in(&app.token("acme", &[Role::Viewer])).await;
    let missing = app
        .get(
            &format!("/ui/models/{}", uuid::Uuid::now_v7()),
            Some(&cookie),
        )
        .await;
    let other = app
        .get(&format!("/ui/models/{theirs}"), Some(&cookie))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!((other.status, &other.body), (missing.status, &missing.body));
    let lineage = app
        .get(&format!("/ui/lineage?node={their_version}"), Some(&cookie))
        .await;
    assert_eq!(lineage.status, StatusCode::NOT_FOUND);
    assert!(!lineage.body.contains("churn"));
    let overview = app.get("/ui/", Some(&cookie)).await;
    assert!(!overview.body.contains("churn"), "{}", overview.body);
    let drift = app
        .get(
            &format!("/ui/versions/{their_version}/drift"),
            Some(&cookie),
        )
        .await;
    assert_eq!(drift.status, StatusCode::NOT_FOUND);
    // Malformed ids and unknown pages are the same 404.
    for path in [
        "/ui/models/not-an-id",
        "/ui/lineage?node=zzz",
        "/ui/nothing/here",
    ] {
        assert_eq!(
            app.get(path, Some(&cookie)).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn forms_need_the_sessions_csrf_token_and_this_origin() {
    let app = App::new().await;
    app.seed("acme", "fraud-detector").await;
    let cookie = app.sign_in(&app.token("acme", &[Role::Viewer])).await;
    let page = app.get("/ui/", Some(&cookie)).await.body;
    let token = csrf(&page);
    // Without the token, with another session's, or sent by another site: refused, and the
    // session still works.
    let other = app.sign_in(&app.token("acme", &[Role::Viewer])).await;
    let other_token = csrf(&app.get("/ui/", Some(&other)).await.body);
    assert_ne!(token, other_token);
    for (site, form) in [
        ("same-origin", String::new()),
        ("same-origin", format!("csrf={other_token}")),
        ("cross-site", format!("csrf={token}")),
        ("same-site", format!("csrf={token}")),
    ] {
        let r = app.post("/ui/sign-out", Some(&cookie), site, &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{site} {form}");
        assert_eq!(app.get("/ui/", Some(&cookie)).await.status, StatusCode::OK);
    }
    // A cross-site sign-in (login CSRF) is refused too.
    let t = app.token("acme", &[Role::Viewer]);
    let r = app
        .post("/ui/sign-in", None, "cross-site", &format!("token={t}"))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // With it: signed out, the cookie cleared, and the session gone for good.
    let r = app
        .post(
            "/ui/sign-out",
            Some(&cookie),
            "same-origin",
            &format!("csrf={token}"),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let r = app.get("/ui/", Some(&cookie)).await;
    assert_eq!(r.headers[header::LOCATION], "/ui/sign-in");
    assert_eq!(app.get("/ui/", Some(&other)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_bad_token_or_cookie_signs_nobody_in() {
    let app = App::new().await;
    app.seed("acme", "fraud-detector").await;
    for (token, says) in [("not-a-jwt", "Not signed in"), ("", "Paste a token first")] {
        let r = app
            .post(
                "/ui/sign-in",
                None,
                "same-origin",
                &format!("token={token}"),
            )
            .await;
        assert!(r.status.is_client_error(), "{token}");
        assert!(r.headers.get(header::SET_COOKIE).is_none());
        assert!(r.body.contains(says), "{}", r.body);
    }
    // A token of a tenant that does not exist (a platform admin's, to create it) opens nothing.
    let t = app.token("nowhere", &[Role::PlatformAdmin]);
    let r = app
        .post("/ui/sign-in", None, "same-origin", &format!("token={t}"))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    // Forged, malformed or foreign cookies are no session.
    for c in [
        format!("__Host-steward={}", "ab".repeat(32)),
        "__Host-steward=../../etc".to_string(),
        "steward=abc".to_string(),
    ] {
        let r = app.get("/ui/", Some(&c)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{c}");
    }
}

/// A low-risk model whose endpoint served version 1, then version 2 (promoted at once, as a
/// low-risk model with no policy is): the endpoint's id.
async fn deployed(app: &App, tenant: &str) -> String {
    app.seed(tenant, "fraud-detector").await;
    let owner = app.token(tenant, &[Role::ModelOwner, Role::Sre]);
    let m = app
        .gql(
            &owner,
            "mutation($i: RegisterModelInput!) { registerModel(input: $i) { id } }",
            json!({"i": {"name": "scorer", "ownerTeam": "risk", "riskTier": "LOW"}}),
        )
        .await;
    let model = m["registerModel"]["id"].as_str().unwrap().to_string();
    let mut versions = Vec::new();
    for i in 1..=2 {
        let v = app.gql(&owner, "mutation($i: RegisterModelVersionInput!) { registerModelVersion(input: $i) { id } }",
            json!({"i": {"modelId": model, "artifactUri": format!("s3://m/{i}"), "artifactDigest": format!("sha256:{}", "ab".repeat(32)), "framework": "f"}})).await;
        versions.push(
            v["registerModelVersion"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let e = app.gql(&owner, "mutation($i: CreateEndpointInput!) { createEndpoint(input: $i) { id } }",
        json!({"i": {"modelId": model, "name": "scorer-prod", "environment": "prod", "championVersionId": versions[0], "reason": "first deployment"}})).await;
    let endpoint = e["createEndpoint"]["id"].as_str().unwrap().to_string();
    let r = app.gql(&owner, "mutation($i: RequestPromotionInput!) { requestPromotion(input: $i) { status } }",
        json!({"i": {"endpointId": endpoint, "candidateVersionId": versions[1], "artifactDigest": format!("sha256:{}", "ab".repeat(32)), "reason": "better"}})).await;
    assert_eq!(r["requestPromotion"]["status"], "PROMOTED");
    endpoint
}

fn field(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no field {name}"))
        + name.len()
        + 15;
    page[at..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn an_sre_rolls_back_through_the_form_once_and_sees_it_in_the_history() {
    let app = App::new().await;
    let endpoint = deployed(&app, "acme").await;
    let sre = app.sign_in(&app.token("acme", &[Role::Sre])).await;
    let url = format!("/ui/endpoints/{endpoint}");
    let page = app.get(&url, Some(&sre)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("<strong>v2 (100%)</strong> (revision 2)"),
        "{}",
        page.body
    );
    let (csrf, key) = (
        field(&page.body, "csrf"),
        field(&page.body, "idempotency_key"),
    );
    let post = |form: String| {
        let app = &app;
        let (sre, url) = (sre.clone(), format!("{url}/rollback"));
        async move { app.post(&url, Some(&sre), "same-origin", &form).await }
    };
    // No reason: refused above the form, nothing changed.
    let r = post(format!(
        "csrf={csrf}&expected_revision=2&idempotency_key={key}&to_revision=&reason="
    ))
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(
        r.body.contains("Not rolled back: input.reason"),
        "{}",
        r.body
    );
    // A revision that moved on meanwhile: a conflict, nothing changed.
    let r = post(format!(
        "csrf={csrf}&expected_revision=1&idempotency_key={key}&to_revision=&reason=bad"
    ))
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    // Without the CSRF token: refused before anything is looked at.
    let r = post(format!(
        "expected_revision=2&idempotency_key={key}&to_revision=&reason=bad"
    ))
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The real thing, twice (a double submit): one rollback.
    let form = format!(
        "csrf={csrf}&expected_revision=2&idempotency_key={key}&to_revision=1&reason=EU+drift+on+v2"
    );
    for _ in 0..2 {
        let r = post(form.clone()).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(r.headers[header::LOCATION], format!("{url}#revision-3"));
    }
    let page = app.get(&url, Some(&sre)).await.body;
    assert!(
        page.contains("<strong>v1 (100%)</strong> (revision 3)"),
        "{page}"
    );
    assert!(page.contains("EU drift on v2"));
    assert!(!page.contains("id=\"revision-4\""), "one rollback: {page}");
    assert!(
        page.contains("<td>v2 (100%)</td><td>v1 (100%)</td>"),
        "the rollbacks table: {page}"
    );
    // What served when: before the endpoint existed, and now.
    let r = app
        .get(&format!("{url}?at=2000-01-01T00:00"), Some(&sre))
        .await;
    assert!(r.body.contains("did not exist yet"), "{}", r.body);
    let r = app.get(&format!("{url}?at=yesterday"), Some(&sre)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // A viewer sees the history but no form, and a post of theirs is refused by the service.
    let viewer = app.sign_in(&app.token("acme", &[Role::Viewer])).await;
    let page = app.get(&url, Some(&viewer)).await.body;
    assert!(!page.contains("/rollback\""), "{page}");
    let vcsrf = field(&page, "csrf");
    let r = app
        .post(
            &format!("{url}/rollback"),
            Some(&viewer),
            "same-origin",
            &format!("csrf={vcsrf}&expected_revision=3&to_revision=2&reason=mine"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // Another tenant's SRE: the endpoint does not exist for them.
    app.seed("globex", "credit").await;
    let theirs = app.sign_in(&app.token("globex", &[Role::Sre])).await;
    assert_eq!(
        app.get(&url, Some(&theirs)).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_audit_log_shows_a_verified_checkpoint_and_proves_an_event() {
    let app = App::new().await;
    app.seed("acme", "fraud-detector").await;
    let officer = app
        .sign_in(&app.token("acme", &[Role::GovernanceOfficer]))
        .await;
    let r = app.get("/ui/audit", Some(&officer)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body
            .contains("<strong>verified</strong> with Steward's public key"),
        "{}",
        r.body
    );
    assert!(r.body.contains("tenant.create"), "{}", r.body);
    assert!(r.body.contains("model_version.register"), "{}", r.body);
    // Filters.
    let r = app
        .get("/ui/audit?action=model.register", Some(&officer))
        .await;
    assert!(
        r.body.contains("model.register") && !r.body.contains("tenant.create"),
        "{}",
        r.body
    );
    // An event's inclusion, recomputed from its content to the signed root.
    for seq in [0, 2] {
        let url = format!("/ui/audit?prove={seq}&action=&actor=&outcome=");
        let r = app.get(&url, Some(&officer)).await;
        let proved = format!("Inclusion of event {seq}: <strong>proved</strong>");
        assert!(r.body.contains(&proved), "{}", r.body);
    }
    let r = app.get("/ui/audit?prove=999", Some(&officer)).await;
    assert!(
        !r.body.contains("Inclusion of event"),
        "beyond the log: nothing to prove"
    );
    // A viewer may not read the audit log.
    let viewer = app.sign_in(&app.token("acme", &[Role::Viewer])).await;
    assert_eq!(
        app.get("/ui/audit", Some(&viewer)).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_session_runs_on_the_wall_clock_not_the_monitoring_clock() {
    // The demo replays two weeks on a driven clock; a session opened meanwhile must not expire
    // as that clock moves on.
    let clock = std::sync::Arc::new(steward_service::monitoring::ManualClock::new(
        "2026-03-01T12:00:00Z".parse().unwrap(),
    ));
    let app = App::with_clock(Some(clock.clone())).await;
    app.seed("acme", "fraud-detector").await;
    let cookie = app.sign_in(&app.token("acme", &[Role::Viewer])).await;
    clock.set("2026-03-03T12:00:00Z".parse().unwrap());
    assert_eq!(app.get("/ui/", Some(&cookie)).await.status, StatusCode::OK);
}
