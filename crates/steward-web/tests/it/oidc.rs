//! Signing in through an OpenID provider (the loopback provider of `steward-loopback`, which
//! enforces the authorization code flow with PKCE): the whole flow into a session, and every
//! way it must fail closed: another browser's state, no sign-in cookie, a replayed code, a
//! verifier that is not the challenge's, an ID token with another nonce, audience or an expiry
//! in the past, a tenant that does not exist, an unreachable provider.

use std::time::Duration;

use axum::http::{StatusCode, header};
use serde_json::json;
use steward_loopback::OidcProvider;
use steward_service::auth::oidc::{OidcClient, OidcConfig};

use crate::{App, Reply};

const CALLBACK: &str = "http://127.0.0.1:9/ui/oidc/callback";

async fn app_with(issuer: &str) -> App {
    let oidc = OidcClient::new(OidcConfig {
        issuer: issuer.into(),
        client_id: "steward-web".into(),
        client_secret: Some("s3cret".into()),
        redirect_url: CALLBACK.into(),
        scopes: vec!["profile".into()],
        tenant_claim: "tenant".into(),
        roles_claim: "roles".into(),
        leeway: Duration::from_secs(5),
    })
    .unwrap();
    let sign_in = steward_web::SignIn {
        dev_token: false,
        oidc: Some(oidc),
    };
    App::build(None, sign_in).await
}

fn set_cookie(r: &Reply, name: &str) -> Option<String> {
    r.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").to_string())
}

/// Starts a sign-in: the pending cookie and the provider's authorization URL.
async fn start(app: &App) -> (String, String) {
    let r = app.post("/ui/sign-in/oidc", None, "same-origin", "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let cookie = set_cookie(&r, "__Host-steward-oidc").expect("a sign-in cookie");
    let set = r.headers[header::SET_COOKIE].to_str().unwrap();
    for attr in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=600",
    ] {
        assert!(set.contains(attr), "{set}");
    }
    let url = r.headers[header::LOCATION].to_str().unwrap().to_string();
    (cookie, url)
}

/// What the provider answers the browser: the callback's path and query.
async fn at_provider(url: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client.get(url).send().await.unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let to = r.headers()["location"].to_str().unwrap().to_string();
    to.strip_prefix("http://127.0.0.1:9").unwrap().to_string()
}

async fn provider() -> OidcProvider {
    let p = OidcProvider::start("steward-web", Some("s3cret"), CALLBACK)
        .await
        .unwrap();
    p.sign_in_as("grace@acme.example", "acme", &["governance_officer"]);
    p
}

#[tokio::test]
async fn a_person_signs_in_through_the_provider_with_pkce_into_a_session() {
    let idp = provider().await;
    let app = app_with(idp.issuer()).await;
    app.seed("acme", "fraud-detector").await;
    let page = app.get("/ui/sign-in", None).await;
    assert!(page.body.contains("Sign in with single sign-on"));
    assert!(
        !page.body.contains("name=\"token\""),
        "no pasting of tokens in production"
    );
    let (pending, url) = start(&app).await;
    // What the provider was asked: code flow, PKCE S256, state and nonce, the registered
    // client and callback.
    let asked = reqwest::Url::parse(&url).unwrap();
    let q: std::collections::HashMap<_, _> = asked.query_pairs().into_owned().collect();
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["client_id"], "steward-web");
    assert_eq!(q["redirect_uri"], CALLBACK);
    assert_eq!(q["scope"], "openid profile");
    assert!(q["state"].len() == 43 && q["nonce"].len() == 43 && q["code_challenge"].len() == 43);
    assert!(
        !url.contains(pending.split('.').nth(2).unwrap()),
        "the verifier never leaves the browser's cookie"
    );

    let callback = at_provider(&url).await;
    let r = app.get(&callback, Some(&pending)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.headers[header::LOCATION], "/ui/");
    let session = set_cookie(&r, "__Host-steward").expect("a session");
    assert_eq!(
        set_cookie(&r, "__Host-steward-oidc").as_deref(),
        Some("__Host-steward-oidc="),
        "the sign-in's cookie is cleared"
    );
    let overview = app.get("/ui/", Some(&session)).await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(
        overview.body.contains("grace@acme.example"),
        "{}",
        overview.body
    );
    assert!(overview.body.contains("fraud-detector"));
    // The role the ID token gave: a governance officer reads the audit log.
    assert_eq!(
        app.get("/ui/audit", Some(&session)).await.status,
        StatusCode::OK
    );

    // The same code again (a replay): the provider refuses it, no session.
    let r = app.get(&callback, Some(&pending)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert!(r.body.contains("already used"), "{}", r.body);
    assert!(set_cookie(&r, "__Host-steward").is_none());
    // Pasting a token is refused when the server is not in development mode.
    let r = app
        .post("/ui/sign-in", None, "same-origin", "token=x")
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn every_broken_sign_in_fails_closed_and_says_why() {
    let idp = provider().await;
    let app = app_with(idp.issuer()).await;
    app.seed("acme", "fraud-detector").await;
    let no_session = |r: &Reply| assert!(set_cookie(r, "__Host-steward").is_none(), "{}", r.body);

    // Another browser's sign-in finished in this one: the state is not this cookie's.
    let (mine, _) = start(&app).await;
    let (_, theirs) = start(&app).await;
    let callback = at_provider(&theirs).await;
    let r = app.get(&callback, Some(&mine)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("state does not match"), "{}", r.body);
    no_session(&r);
    // No sign-in cookie at all.
    let r = app.get(&callback, None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    no_session(&r);

    // A verifier that is not the challenge's (the cookie's third part swapped).
    let (pending, url) = start(&app).await;
    let callback = at_provider(&url).await;
    let mut parts: Vec<&str> = pending.split('.').collect();
    let forged = "A".repeat(43);
    parts[2] = &forged;
    let r = app.get(&callback, Some(&parts.join("."))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(
        r.body.contains("code_verifier does not match"),
        "{}",
        r.body
    );
    no_session(&r);

    // ID tokens the client must refuse even though the provider signed them.
    for (tamper, says) in [
        (json!({"nonce": "another-sign-in"}), "nonce"),
        (json!({"aud": "another-client"}), "another audience"),
        (json!({"exp": 1_000_000}), "expired"),
        (json!({"iss": "https://elsewhere.example"}), "issuer"),
        (json!({"tenant": "globex-not-here"}), "does not exist"),
        (json!({"roles": ["emperor"]}), "roles"),
    ] {
        let (pending, url) = start(&app).await;
        let callback = at_provider(&url).await;
        idp.tamper_next(tamper.clone());
        let r = app.get(&callback, Some(&pending)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{tamper}: {}", r.body);
        assert!(r.body.contains(says), "{tamper}: {}", r.body);
        no_session(&r);
    }

    // The provider says no.
    let (pending, _) = start(&app).await;
    let r = app
        .get(
            "/ui/oidc/callback?error=access_denied&error_description=no",
            Some(&pending),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("access_denied"));
    // A sign-in started from another site is refused.
    let r = app.post("/ui/sign-in/oidc", None, "cross-site", "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The provider down: a clear page, not a crash.
    drop(idp);
    let down = app_with("http://127.0.0.1:9").await;
    let r = down.post("/ui/sign-in/oidc", None, "same-origin", "").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.body.contains("cannot be reached"), "{}", r.body);
}
