//! OpenID Connect sign-in for the web pages: the authorization code flow with PKCE (RFC 7636,
//! S256), as a confidential or public client.
//!
//! [`OidcClient::begin`] makes a fresh `state` (binds the answer to the browser that asked),
//! `nonce` (binds the ID token to this sign-in) and PKCE verifier, and the provider's
//! authorization URL; the caller keeps the three in an HttpOnly cookie. [`OidcClient::finish`]
//! checks the returned `state`, redeems the code at the token endpoint with the verifier, and
//! verifies the ID token as API tokens are verified (signature by the provider's JWKS, one
//! algorithm family, `iss` the provider, `aud` this client, `exp`/`nbf` with the configured
//! leeway) plus `nonce` and, when the token names several audiences, `azp`. The provider's
//! endpoints come from its discovery document, whose `issuer` must be the configured one.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use super::{JwksSource, describe};
use crate::{ServiceError, ServiceResult};

/// How Steward signs people in with an OpenID provider.
#[derive(Clone, Debug)]
pub struct OidcConfig {
    /// The provider's issuer URL (its discovery document is under
    /// `/.well-known/openid-configuration`).
    pub issuer: String,
    pub client_id: String,
    /// A confidential client's secret (sent with HTTP Basic); `None` for a public client, which
    /// PKCE alone protects.
    pub client_secret: Option<String>,
    /// Where the provider sends the browser back: Steward's `/ui/oidc/callback` as the browser
    /// reaches it, registered with the provider.
    pub redirect_url: String,
    /// Scopes asked for besides `openid`.
    pub scopes: Vec<String>,
    /// The ID-token claims naming the tenant (a slug) and the roles (a list).
    pub tenant_claim: String,
    pub roles_claim: String,
    pub leeway: Duration,
}

/// What one sign-in must remember between leaving for the provider and coming back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingSignIn {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
}

impl PendingSignIn {
    /// One cookie value: the three, dot-separated (each is base64url, without dots).
    pub fn to_cookie(&self) -> String {
        format!("{}.{}.{}", self.state, self.nonce, self.verifier)
    }

    pub fn from_cookie(v: &str) -> Option<PendingSignIn> {
        let mut parts = v.split('.');
        let (s, n, ver) = (parts.next()?, parts.next()?, parts.next()?);
        let ok = |p: &str| {
            p.len() == 43
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if parts.next().is_some() || !ok(s) || !ok(n) || !ok(ver) {
            return None;
        }
        Some(PendingSignIn {
            state: s.into(),
            nonce: n.into(),
            verifier: ver.into(),
        })
    }
}

/// Who the provider says signed in: what Steward turns into a principal.
#[derive(Clone, Debug)]
pub struct SignedInPerson {
    pub subject: String,
    pub tenant: String,
    pub roles: Vec<String>,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    code_challenge_methods_supported: Vec<String>,
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// An OpenID provider as Steward uses it. Cheap to clone.
#[derive(Clone)]
pub struct OidcClient {
    config: Arc<OidcConfig>,
    http: reqwest::Client,
    discovery: Arc<OnceCell<(Discovery, Arc<JwksSource>)>>,
}

fn random_b64() -> ServiceResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| ServiceError::Internal(format!("no randomness for a sign-in: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The PKCE S256 challenge of `verifier`.
pub fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn refused(why: impl Into<String>) -> ServiceError {
    ServiceError::Unauthenticated(why.into())
}

/// Compares secrets in time independent of where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl OidcClient {
    pub fn new(config: OidcConfig) -> ServiceResult<OidcClient> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ServiceError::Internal(format!("building the OIDC client: {e}")))?;
        Ok(OidcClient {
            config: Arc::new(config),
            http,
            discovery: Arc::default(),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// The provider's discovery document (fetched once) and its key set.
    async fn provider(&self) -> ServiceResult<&(Discovery, Arc<JwksSource>)> {
        self.discovery
            .get_or_try_init(|| async {
                let url = format!(
                    "{}/.well-known/openid-configuration",
                    self.config.issuer.trim_end_matches('/')
                );
                let unavailable =
                    |e: String| ServiceError::Unavailable(format!("the OpenID provider: {e}"));
                let resp = self
                    .http
                    .get(&url)
                    .send()
                    .await
                    .map_err(|e| unavailable(format!("{url}: {e}")))?;
                if !resp.status().is_success() {
                    return Err(unavailable(format!("{url} answered {}", resp.status())));
                }
                let body = resp
                    .bytes()
                    .await
                    .map_err(|e| unavailable(format!("{url}: {e}")))?;
                let d: Discovery = serde_json::from_slice(&body)
                    .map_err(|e| unavailable(format!("{url}: not a discovery document: {e}")))?;
                if d.issuer != self.config.issuer {
                    return Err(unavailable(format!(
                        "{url} names issuer `{}`, not the configured `{}`",
                        d.issuer, self.config.issuer
                    )));
                }
                if !d.code_challenge_methods_supported.is_empty()
                    && !d
                        .code_challenge_methods_supported
                        .iter()
                        .any(|m| m == "S256")
                {
                    return Err(unavailable("it does not support PKCE with S256".into()));
                }
                let jwks = JwksSource::new(d.jwks_uri.clone(), Duration::from_secs(30))?;
                Ok((d, Arc::new(jwks)))
            })
            .await
    }

    /// Starts a sign-in: what to remember (in the browser's cookie) and where to send the
    /// browser.
    pub async fn begin(&self) -> ServiceResult<(PendingSignIn, String)> {
        let (d, _) = self.provider().await?;
        let pending = PendingSignIn {
            state: random_b64()?,
            nonce: random_b64()?,
            verifier: random_b64()?,
        };
        let mut scopes = vec!["openid".to_string()];
        scopes.extend(
            self.config
                .scopes
                .iter()
                .filter(|s| *s != "openid")
                .cloned(),
        );
        let mut url = reqwest::Url::parse(&d.authorization_endpoint).map_err(|e| {
            ServiceError::Unavailable(format!("the provider's authorization endpoint: {e}"))
        })?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", &self.config.redirect_url)
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", &pending.state)
            .append_pair("nonce", &pending.nonce)
            .append_pair("code_challenge", &challenge(&pending.verifier))
            .append_pair("code_challenge_method", "S256");
        Ok((pending, url.to_string()))
    }

    /// Finishes a sign-in: `state` and `code` as the provider sent the browser back, `pending`
    /// from the browser's cookie.
    pub async fn finish(
        &self,
        pending: &PendingSignIn,
        state: &str,
        code: &str,
    ) -> ServiceResult<SignedInPerson> {
        if !same(state, &pending.state) {
            return Err(refused(
                "the sign-in's state does not match this browser's: start again from the sign-in page",
            ));
        }
        if code.is_empty() || code.len() > 2048 {
            return Err(refused("the provider sent no usable authorization code"));
        }
        let (d, jwks) = self.provider().await?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &self.config.redirect_url),
            ("code_verifier", &pending.verifier),
        ];
        let mut req = self.http.post(&d.token_endpoint);
        match &self.config.client_secret {
            Some(secret) => req = req.basic_auth(&self.config.client_id, Some(secret)),
            None => form.push(("client_id", &self.config.client_id)),
        }
        let resp = req.form(&form).send().await.map_err(|e| {
            ServiceError::Unavailable(format!("the provider's token endpoint: {e}"))
        })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| {
            ServiceError::Unavailable(format!("the provider's token endpoint: {e}"))
        })?;
        let body: TokenResponse = serde_json::from_slice(&bytes).map_err(|e| {
            ServiceError::Unavailable(format!(
                "the provider's token endpoint answered {status} without a token response: {e}"
            ))
        })?;
        let id_token = match (body.id_token, body.error) {
            (Some(t), None) if status.is_success() => t,
            (_, Some(e)) => {
                let more = body.error_description.unwrap_or_default();
                return Err(refused(format!(
                    "the provider refused the code: {e} {more}"
                )));
            }
            _ => {
                return Err(refused(format!(
                    "the provider answered {status} without an ID token"
                )));
            }
        };
        self.verify(&id_token, jwks, &pending.nonce).await
    }

    /// Verifies an ID token: signature, issuer, audience, expiry, nonce, authorized party.
    async fn verify(
        &self,
        token: &str,
        jwks: &JwksSource,
        nonce: &str,
    ) -> ServiceResult<SignedInPerson> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| refused("the ID token is not a well-formed JWT"))?;
        let kid = header
            .kid
            .as_deref()
            .ok_or_else(|| refused("the ID token header has no `kid`"))?;
        let (key, alg): (DecodingKey, _) = jwks.key(kid).await?;
        let mut v = Validation::new(alg);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.set_issuer(&[&self.config.issuer]);
        v.set_audience(&[&self.config.client_id]);
        v.leeway = self.config.leeway.as_secs();
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &key, &v)
            .map_err(|e| refused(format!("ID token: {}", describe(e.kind()))))?;
        let c = data.claims;
        match c.get("nonce").and_then(|n| n.as_str()) {
            Some(n) if same(n, nonce) => {}
            _ => return Err(refused("the ID token's nonce is not this sign-in's")),
        }
        if c.get("aud").is_some_and(|a| a.is_array())
            && c.get("azp").and_then(|a| a.as_str()) != Some(self.config.client_id.as_str())
        {
            return Err(refused(
                "the ID token names several audiences but not this client as its authorized party",
            ));
        }
        let text = |name: &str| c.get(name).and_then(|v| v.as_str()).map(str::to_string);
        let subject = text("sub").ok_or_else(|| refused("the ID token has no `sub`"))?;
        let tenant = text(&self.config.tenant_claim).ok_or_else(|| {
            refused(format!(
                "the ID token has no `{}` claim naming a tenant",
                self.config.tenant_claim
            ))
        })?;
        let roles = c
            .get(&self.config.roles_claim)
            .and_then(|r| r.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect::<Vec<_>>()
            })
            .ok_or_else(|| {
                refused(format!(
                    "the ID token has no `{}` claim listing roles",
                    self.config.roles_claim
                ))
            })?;
        Ok(SignedInPerson {
            subject,
            tenant,
            roles,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pkce_challenge_is_rfc_7636s_example() {
        // RFC 7636, Appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn a_pending_sign_in_round_trips_through_its_cookie_and_junk_is_refused() {
        let p = PendingSignIn {
            state: random_b64().unwrap(),
            nonce: random_b64().unwrap(),
            verifier: random_b64().unwrap(),
        };
        assert_eq!(PendingSignIn::from_cookie(&p.to_cookie()), Some(p.clone()));
        for junk in [
            "",
            "a.b.c",
            &format!("{}.x", p.to_cookie()),
            &p.to_cookie().replace('-', "+"),
        ] {
            if junk != p.to_cookie() {
                assert_eq!(PendingSignIn::from_cookie(junk), None, "{junk}");
            }
        }
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
