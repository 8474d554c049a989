//! Authentication with hostile tokens: every malformed, expired, premature, misaddressed,
//! unsigned or wrongly signed token is refused with UNAUTHENTICATED and a useful message; RS256
//! and ES256 verify from a PEM file and from a JWKS endpoint, with refetch on key rotation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode, get_current_timestamp};
use serde_json::{Value, json};
use steward_api::ApiConfig;
use steward_domain::Role;
use steward_service::auth::JwksSource;
use steward_service::{AuthConfig, KeySource};

use crate::app::*;

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/keys");

fn key(name: &str) -> Vec<u8> {
    std::fs::read(format!("{KEYS}/{name}")).unwrap()
}

fn claims(over: Value) -> Value {
    let now = get_current_timestamp();
    let mut c = json!({"sub": "u", "tenant": "acme", "roles": ["viewer"], "iss": "steward", "aud": "steward", "exp": now + 300, "nbf": now - 5});
    for (k, v) in over.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

fn hs(c: &Value, secret: &[u8]) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        c,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

async fn status_of(app: &TestApp, token: &str) -> (u16, String, String) {
    let (status, v) = app
        .raw(
            Some(token),
            json!({"query": "{ me { subject } }"}).to_string(),
        )
        .await;
    (
        status.as_u16(),
        code(&v),
        v["errors"][0]["message"].as_str().unwrap_or("").to_string(),
    )
}

#[tokio::test]
async fn hostile_hs256_tokens_are_refused() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let now = get_current_timestamp();
    let good = hs(&claims(json!({})), SECRET);
    assert_eq!(status_of(&app, &good).await.0, 200);

    let header_none = {
        // alg=none: an unsigned token.
        let parts: Vec<&str> = good.split('.').collect();
        use base64::Engine;
        let h = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"alg":"none","typ":"JWT"}"#);
        format!("{h}.{}.", parts[1])
    };
    let tampered = {
        let mut parts: Vec<String> = good.split('.').map(String::from).collect();
        use base64::Engine;
        let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = claims(json!({"roles": ["platform_admin"]}));
        parts[1] = e.encode(payload.to_string());
        parts.join(".")
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("garbage", "not-a-jwt".into(), "well-formed"),
        ("unsigned", header_none, "well-formed"),
        ("tampered payload", tampered, "signature"),
        (
            "wrong secret",
            hs(&claims(json!({})), b"another-secret-another-secret-xx"),
            "signature",
        ),
        (
            "expired",
            hs(&claims(json!({"exp": now - 120})), SECRET),
            "expired",
        ),
        (
            "not yet valid",
            hs(&claims(json!({"nbf": now + 600})), SECRET),
            "not valid yet",
        ),
        (
            "wrong audience",
            hs(&claims(json!({"aud": "other"})), SECRET),
            "audience",
        ),
        (
            "wrong issuer",
            hs(&claims(json!({"iss": "evil"})), SECRET),
            "issuer",
        ),
        (
            "no audience",
            hs(&claims(json!({"aud": null})), SECRET),
            "aud",
        ),
        (
            "no issuer",
            hs(&claims(json!({"iss": null})), SECRET),
            "iss",
        ),
        (
            "no expiry",
            hs(&claims(json!({"exp": null})), SECRET),
            "exp",
        ),
        (
            "no subject",
            hs(&claims(json!({"sub": null})), SECRET),
            "sub",
        ),
        (
            "empty subject",
            hs(&claims(json!({"sub": ""})), SECRET),
            "`sub` is empty",
        ),
        (
            "blank subject",
            hs(&claims(json!({"sub": " \t "})), SECRET),
            "`sub` is empty",
        ),
        (
            "over-long subject",
            hs(&claims(json!({"sub": "a".repeat(256)})), SECRET),
            "at most 255",
        ),
        (
            "subject with control characters",
            hs(&claims(json!({"sub": "alice\nsystem:scheduler"})), SECRET),
            "control characters",
        ),
        (
            "no tenant",
            hs(&claims(json!({"tenant": null})), SECRET),
            "malformed",
        ),
        (
            "unknown role",
            hs(&claims(json!({"roles": ["root"]})), SECRET),
            "unknown role",
        ),
        (
            "no roles",
            hs(&claims(json!({"roles": []})), SECRET),
            "empty",
        ),
        (
            "unknown tenant",
            hs(&claims(json!({"tenant": "nope"})), SECRET),
            "does not exist",
        ),
        (
            "RS256 header on HS256 server",
            {
                let k = EncodingKey::from_rsa_pem(&key("rsa-private.pem")).unwrap();
                encode(&Header::new(Algorithm::RS256), &claims(json!({})), &k).unwrap()
            },
            "algorithm",
        ),
    ];
    for (name, token, needle) in cases {
        let (status, code, message) = status_of(&app, &token).await;
        assert_eq!(
            (status, code.as_str()),
            (401, "UNAUTHENTICATED"),
            "{name}: {message}"
        );
        assert!(
            message.contains(needle),
            "{name}: message `{message}` should mention `{needle}`"
        );
    }
    for header in ["", "Basic dXNlcjpwYXNz", "Bearer ", "bearer x"] {
        let req = axum::http::Request::post("/graphql")
            .header("authorization", header)
            .body(axum::body::Body::from("{}"))
            .unwrap();
        use tower::ServiceExt;
        let resp = app.router.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), 401, "Authorization: `{header}`");
    }
}

fn app_config(keys: KeySource) -> AuthConfig {
    AuthConfig {
        issuer: "steward".into(),
        audience: "steward".into(),
        leeway: Duration::from_secs(5),
        keys,
    }
}

#[tokio::test]
async fn rs256_and_es256_from_pem_files() {
    for (public, private, alg) in [
        ("rsa-public.pem", "rsa-private.pem", Algorithm::RS256),
        ("ec-public.pem", "ec-private.pem", Algorithm::ES256),
    ] {
        let app = TestApp::with(
            app_config(KeySource::from_pem(&key(public)).unwrap()),
            ApiConfig::default(),
        )
        .await;
        let admin = {
            let k = if alg == Algorithm::RS256 {
                EncodingKey::from_rsa_pem(&key(private))
            } else {
                EncodingKey::from_ec_pem(&key(private))
            }
            .unwrap();
            move |c: &Value| encode(&Header::new(alg), c, &k).unwrap()
        };
        let t = admin(&claims(json!({"roles": ["platform_admin"]})));
        let v = app
            .gql(
                &t,
                "mutation { createTenant(input: {slug: \"acme\", name: \"Acme\"}) { slug } }",
                json!({}),
            )
            .await;
        assert_eq!(v["data"]["createTenant"]["slug"], "acme", "{alg:?}: {v}");
        // An HS256 token signed with the public key as secret (the classic key-confusion attack).
        let confused = hs(&claims(json!({})), &key(public));
        assert_eq!(
            status_of(&app, &confused).await.1,
            "UNAUTHENTICATED",
            "{alg:?} key confusion"
        );
        assert!(
            KeySource::from_pem(&key(private)).is_err(),
            "a private key file is refused"
        );
    }
}

/// Serves a JWKS on a loopback port, counting fetches; `keys` can be swapped to rotate. With
/// `stall`, every fetch after the first waits for a permit: a provider that hangs.
async fn jwks_server(
    keys: Arc<std::sync::Mutex<JwkSet>>,
    hits: Arc<AtomicUsize>,
    padding: usize,
    stall: Option<Arc<tokio::sync::Semaphore>>,
) -> String {
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let keys = keys.clone();
            let hits = hits.clone();
            let stall = stall.clone();
            async move {
                let n = hits.fetch_add(1, Ordering::SeqCst);
                if let Some(gate) = stall.filter(|_| n > 0) {
                    gate.acquire().await.unwrap().forget();
                }
                let mut v = serde_json::to_value(&*keys.lock().unwrap()).unwrap();
                if padding > 0 {
                    v["padding"] = json!("x".repeat(padding));
                }
                axum::Json(v)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/jwks.json")
}

fn jwk(private: &str, alg: Algorithm, kid: &str) -> (Jwk, EncodingKey) {
    let k = if alg == Algorithm::RS256 {
        EncodingKey::from_rsa_pem(&key(private))
    } else {
        EncodingKey::from_ec_pem(&key(private))
    }
    .unwrap();
    let mut j = Jwk::from_encoding_key(&k, alg).unwrap();
    j.common.key_id = Some(kid.into());
    (j, k)
}

fn signed(k: &EncodingKey, alg: Algorithm, kid: &str, c: &Value) -> String {
    let mut h = Header::new(alg);
    h.kid = Some(kid.into());
    encode(&h, c, k).unwrap()
}

async fn jwks_app(
    keys: Arc<std::sync::Mutex<JwkSet>>,
    hits: Arc<AtomicUsize>,
    cooldown: Duration,
    stall: Option<Arc<tokio::sync::Semaphore>>,
) -> TestApp {
    let url = jwks_server(keys, hits, 0, stall).await;
    let source = JwksSource::new(url, cooldown).unwrap();
    TestApp::with(
        app_config(KeySource::Jwks(Arc::new(source))),
        ApiConfig::default(),
    )
    .await
}

#[tokio::test]
async fn jwks_verifies_and_follows_key_rotation() {
    let (ec, ec_key) = jwk("ec-private.pem", Algorithm::ES256, "ec-1");
    let (rsa, rsa_key) = jwk("rsa-private.pem", Algorithm::RS256, "rsa-2");
    let keys = Arc::new(std::sync::Mutex::new(JwkSet { keys: vec![ec] }));
    let hits = Arc::new(AtomicUsize::new(0));
    // No cooldown: every unknown kid may refetch, so rotation is visible at once.
    let app = jwks_app(keys.clone(), hits.clone(), Duration::ZERO, None).await;
    let admin = claims(json!({"roles": ["platform_admin"]}));
    let t = signed(&ec_key, Algorithm::ES256, "ec-1", &admin);
    let v = app
        .gql(
            &t,
            "mutation { createTenant(input: {slug: \"acme\", name: \"Acme\"}) { slug } }",
            json!({}),
        )
        .await;
    assert_eq!(v["data"]["createTenant"]["slug"], "acme", "{v}");
    assert_eq!(status_of(&app, &t).await.0, 200);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "known keys are served from the cache"
    );

    // A key the provider has not published yet: one refetch, then refused.
    let rotated = signed(&rsa_key, Algorithm::RS256, "rsa-2", &claims(json!({})));
    assert_eq!(status_of(&app, &rotated).await.1, "UNAUTHENTICATED");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    // The provider rotates the RSA key in: the next token with its kid verifies.
    keys.lock().unwrap().keys.push(rsa);
    assert_eq!(status_of(&app, &rotated).await.0, 200);
    assert_eq!(hits.load(Ordering::SeqCst), 3);

    // No kid at all, and a kid whose key does not match the header's algorithm.
    let no_kid = encode(&Header::new(Algorithm::ES256), &claims(json!({})), &ec_key).unwrap();
    assert!(status_of(&app, &no_kid).await.2.contains("kid"));
    let mismatched = signed(&ec_key, Algorithm::ES256, "rsa-2", &claims(json!({})));
    assert_eq!(status_of(&app, &mismatched).await.1, "UNAUTHENTICATED");
}

#[tokio::test]
async fn jwks_refetches_are_rate_limited() {
    let (ec, ec_key) = jwk("ec-private.pem", Algorithm::ES256, "ec-1");
    let (_, rsa_key) = jwk("rsa-private.pem", Algorithm::RS256, "rsa-2");
    let keys = Arc::new(std::sync::Mutex::new(JwkSet { keys: vec![ec] }));
    let hits = Arc::new(AtomicUsize::new(0));
    let app = jwks_app(keys, hits.clone(), Duration::from_secs(3600), None).await;
    let t = signed(
        &ec_key,
        Algorithm::ES256,
        "ec-1",
        &claims(json!({"roles": ["platform_admin"]})),
    );
    assert_eq!(status_of(&app, &t).await.0, 200);
    // A flood of made-up key ids within the cooldown fetches nothing more.
    for i in 0..50 {
        let t = signed(
            &rsa_key,
            Algorithm::RS256,
            &format!("made-up-{i}"),
            &claims(json!({})),
        );
        assert_eq!(status_of(&app, &t).await.1, "UNAUTHENTICATED");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1, "refetches are rate limited");
}

#[tokio::test]
async fn a_hanging_refetch_delays_no_login_with_a_known_key() {
    let (ec, ec_key) = jwk("ec-private.pem", Algorithm::ES256, "ec-1");
    let (_, rsa_key) = jwk("rsa-private.pem", Algorithm::RS256, "rsa-2");
    let keys = Arc::new(std::sync::Mutex::new(JwkSet { keys: vec![ec] }));
    let hits = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let app = Arc::new(jwks_app(keys, hits.clone(), Duration::ZERO, Some(gate.clone())).await);
    let valid = signed(
        &ec_key,
        Algorithm::ES256,
        "ec-1",
        &claims(json!({"roles": ["platform_admin"]})),
    );
    assert_eq!(status_of(&app, &valid).await.0, 200);

    // Twenty junk tokens with unknown key ids: the refetch they trigger hangs at the provider.
    let mut junk = Vec::new();
    for i in 0..20 {
        let app = app.clone();
        let t = signed(
            &rsa_key,
            Algorithm::RS256,
            &format!("junk-{i}"),
            &claims(json!({})),
        );
        junk.push(tokio::spawn(async move { status_of(&app, &t).await }));
    }
    while hits.load(Ordering::SeqCst) < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Let the other junk requests reach the fetch and queue behind it.
    tokio::time::sleep(Duration::from_millis(100)).await;
    // While it hangs, a token with a known key still logs in, without waiting for the fetch.
    let started = std::time::Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(30), status_of(&app, &valid)).await;
    let took = started.elapsed();
    assert_eq!(
        answer.expect("a known key must not wait for the refetch").0,
        200
    );
    eprintln!("login with a known key during a hanging JWKS refetch: {took:?}");

    // The provider answers: every junk token is refused, and they shared one fetch.
    gate.add_permits(100);
    for j in junk {
        assert_eq!(j.await.unwrap().1, "UNAUTHENTICATED");
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "concurrent unknown key ids share one refetch"
    );
}

#[tokio::test]
async fn oversized_jwks_is_refused() {
    let (ec, ec_key) = jwk("ec-private.pem", Algorithm::ES256, "ec-1");
    let keys = Arc::new(std::sync::Mutex::new(JwkSet { keys: vec![ec] }));
    let url = jwks_server(keys, Arc::new(AtomicUsize::new(0)), 300 * 1024, None).await;
    let source = JwksSource::new(url, Duration::from_secs(30)).unwrap();
    let app = TestApp::with(
        app_config(KeySource::Jwks(Arc::new(source))),
        ApiConfig::default(),
    )
    .await;
    let t = signed(
        &ec_key,
        Algorithm::ES256,
        "ec-1",
        &claims(json!({"roles": ["platform_admin"]})),
    );
    let (status, code, _) = status_of(&app, &t).await;
    assert_eq!((status, code.as_str()), (503, "UNAVAILABLE"));
}

#[tokio::test]
async fn dev_tokens_carry_the_roles_asked_for() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let t = app.token("acme", &[Role::Sre, Role::Viewer]);
    let me = app
        .ok(&t, "{ me { subject tenant roles } }", json!({}))
        .await;
    assert_eq!(
        me["me"],
        json!({"subject": "tester", "tenant": "acme", "roles": ["VIEWER", "SRE"]})
    );
}
