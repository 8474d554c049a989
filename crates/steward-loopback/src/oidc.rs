//! A loopback OpenID provider (a stand-in named as such: tests and local trials only) for the
//! authorization code flow with PKCE, enforcing what OpenID Connect Core 1.0 and RFC 7636 ask
//! of a client:
//!
//! - discovery at `/.well-known/openid-configuration`, keys at `/jwks` (one ES256 key);
//! - `GET /authorize` needs `response_type=code`, the registered `client_id` and exactly the
//!   registered `redirect_uri`, `openid` among the scopes, a `state`, a `nonce`, and a
//!   `code_challenge` with `code_challenge_method=S256` (plain or none is refused). It signs in
//!   the person set with [`OidcProvider::sign_in_as`] (no login form: the person "consents" at
//!   once) and redirects to the client with `code` and `state`;
//! - `POST /token` needs the client's credentials (HTTP Basic with its secret, or `client_id`
//!   in the form for a public client), `grant_type=authorization_code`, a code it issued, unused
//!   and at most 60 s old, the same `redirect_uri`, and a `code_verifier` whose S256 is the
//!   challenge; otherwise `400 {"error": "invalid_grant" | "invalid_request"}` or
//!   `401 {"error": "invalid_client"}` (RFC 6749 section 5.2). It answers an ID token with
//!   `iss`, `aud` (the client), `sub`, `exp`, `iat`, `nonce` and the person's `tenant` and
//!   `roles`; [`OidcProvider::tamper_next`] overrides claims of the next token, so tests can
//!   check that a client refuses a wrong nonce, audience or expiry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The provider's signing key: a fixed P-256 test key (this provider is never production).
const KEY_PEM: &[u8] = include_bytes!("oidc-ec-private.pem");
const KID: &str = "loopback-oidc-1";
/// How long an authorization code may wait for its redemption.
const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// Who the provider signs in.
#[derive(Clone, Debug)]
pub struct Person {
    pub subject: String,
    pub tenant: String,
    pub roles: Vec<String>,
}

struct Code {
    redirect_uri: String,
    challenge: String,
    nonce: String,
    person: Person,
    issued: Instant,
    used: bool,
}

struct Inner {
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    redirect_uri: String,
    person: Mutex<Option<Person>>,
    codes: Mutex<HashMap<String, Code>>,
    tamper: Mutex<Option<Value>>,
    key: EncodingKey,
    jwks: JwkSet,
}

/// A running loopback provider; it stops when dropped.
pub struct OidcProvider {
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl OidcProvider {
    /// Starts a provider on 127.0.0.1 with one registered client.
    pub async fn start(
        client_id: &str,
        client_secret: Option<&str>,
        redirect_uri: &str,
    ) -> std::io::Result<OidcProvider> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let key = EncodingKey::from_ec_pem(KEY_PEM).map_err(std::io::Error::other)?;
        let mut jwk =
            Jwk::from_encoding_key(&key, Algorithm::ES256).map_err(std::io::Error::other)?;
        jwk.common.key_id = Some(KID.into());
        let inner = Arc::new(Inner {
            issuer: format!("http://{addr}"),
            client_id: client_id.into(),
            client_secret: client_secret.map(str::to_string),
            redirect_uri: redirect_uri.into(),
            person: Mutex::new(None),
            codes: Mutex::default(),
            tamper: Mutex::new(None),
            key,
            jwks: JwkSet { keys: vec![jwk] },
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(Arc::clone(&inner));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(OidcProvider { inner, task })
    }

    /// The issuer URL (and base of every endpoint).
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The person the next authorization signs in.
    pub fn sign_in_as(&self, subject: &str, tenant: &str, roles: &[&str]) {
        *lock(&self.inner.person) = Some(Person {
            subject: subject.into(),
            tenant: tenant.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        });
    }

    /// Claims to override in the next ID token (`{"nonce": "other"}`, `{"aud": "x"}`).
    pub fn tamper_next(&self, claims: Value) {
        *lock(&self.inner.tamper) = Some(claims);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A fresh code or token: unique (a counter) and not guessable across runs (the time). Good
/// enough for a loopback stand-in; a real provider uses a CSPRNG.
fn random() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let seed = format!("{:?}/{n}", SystemTime::now());
    URL_SAFE_NO_PAD.encode(Sha256::digest(seed.as_bytes()))
}

async fn discovery(State(p): State<Arc<Inner>>) -> Json<Value> {
    let base = &p.issuer;
    Json(json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "jwks_uri": format!("{base}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
        "scopes_supported": ["openid", "profile", "email"],
    }))
}

async fn jwks(State(p): State<Arc<Inner>>) -> Json<JwkSet> {
    Json(p.jwks.clone())
}

fn bad_request(why: &str) -> Response {
    (StatusCode::BAD_REQUEST, format!("invalid_request: {why}")).into_response()
}

async fn authorize(
    State(p): State<Arc<Inner>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    // An unknown client or redirect URI is never redirected to (RFC 6749 section 4.1.2.1).
    if get("client_id") != p.client_id {
        return bad_request("unknown client_id");
    }
    if get("redirect_uri") != p.redirect_uri {
        return bad_request("redirect_uri is not the one registered");
    }
    let back = |params: &[(&str, &str)]| -> Response {
        let mut url = p.redirect_uri.clone();
        url.push('?');
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        url.push_str(&query.join("&"));
        Redirect::to(&url).into_response()
    };
    let state = get("state");
    let refuse = |why: &str| {
        back(&[
            ("error", "invalid_request"),
            ("error_description", why),
            ("state", state),
        ])
    };
    if get("response_type") != "code" {
        return back(&[("error", "unsupported_response_type"), ("state", state)]);
    }
    if !get("scope").split(' ').any(|s| s == "openid") {
        return refuse("scope must include openid");
    }
    if state.is_empty() || get("nonce").is_empty() {
        return refuse("state and nonce are required");
    }
    if get("code_challenge_method") != "S256" || get("code_challenge").len() != 43 {
        return refuse("PKCE with code_challenge_method=S256 is required");
    }
    let Some(person) = lock(&p.person).clone() else {
        return back(&[("error", "access_denied"), ("state", state)]);
    };
    let code = random();
    lock(&p.codes).insert(
        code.clone(),
        Code {
            redirect_uri: get("redirect_uri").into(),
            challenge: get("code_challenge").into(),
            nonce: get("nonce").into(),
            person,
            issued: Instant::now(),
            used: false,
        },
    );
    back(&[("code", &code), ("state", state)])
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default)]
    code_verifier: String,
    client_id: Option<String>,
}

fn token_error(status: StatusCode, error: &str, why: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": why})),
    )
        .into_response()
}

/// The client authenticated: HTTP Basic with the registered secret, or (a public client) its
/// id in the form.
fn client_ok(p: &Inner, headers: &HeaderMap, form: &TokenForm) -> bool {
    match &p.client_secret {
        Some(secret) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Basic "))
            .and_then(|b| STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .is_some_and(|pair| pair == format!("{}:{secret}", p.client_id)),
        None => form.client_id.as_deref() == Some(p.client_id.as_str()),
    }
}

async fn token(
    State(p): State<Arc<Inner>>,
    headers: HeaderMap,
    Form(f): Form<TokenForm>,
) -> Response {
    if !client_ok(&p, &headers, &f) {
        return token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    if f.grant_type != "authorization_code" {
        return token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only authorization_code",
        );
    }
    let (person, nonce) = {
        let mut codes = lock(&p.codes);
        let Some(c) = codes.get_mut(&f.code) else {
            return token_error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown code");
        };
        if c.used {
            return token_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "the code was already used",
            );
        }
        c.used = true;
        if c.issued.elapsed() > CODE_LIFETIME {
            return token_error(StatusCode::BAD_REQUEST, "invalid_grant", "the code expired");
        }
        if c.redirect_uri != f.redirect_uri {
            return token_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "redirect_uri differs from the authorization request's",
            );
        }
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(f.code_verifier.as_bytes()));
        if f.code_verifier.len() < 43 || challenge != c.challenge {
            return token_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "the code_verifier does not match the code_challenge",
            );
        }
        (c.person.clone(), c.nonce.clone())
    };
    let t = now();
    let mut claims = json!({
        "iss": p.issuer, "aud": p.client_id, "sub": person.subject, "iat": t, "exp": t + 300,
        "nonce": nonce, "tenant": person.tenant, "roles": person.roles,
    });
    if let Some(Value::Object(over)) = lock(&p.tamper).take() {
        for (k, v) in over {
            claims[k] = v;
        }
    }
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some(KID.into());
    match jsonwebtoken::encode(&h, &claims, &p.key) {
        Ok(id_token) => Json(json!({
            "access_token": random(), "token_type": "Bearer", "expires_in": 300,
            "id_token": id_token,
        }))
        .into_response(),
        Err(e) => token_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            &e.to_string(),
        ),
    }
}
