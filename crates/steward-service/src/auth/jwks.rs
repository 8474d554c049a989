//! Public keys from an identity provider's JWKS endpoint, cached.
//!
//! The key set is fetched on first use and kept. Known keys are served from a snapshot that no
//! fetch ever holds a lock on, so a slow or hanging provider delays only the tokens whose key
//! is unknown. A token with an unknown `kid` triggers one refetch (the provider may have rotated
//! keys), at most once per cooldown, so a flood of tokens with made-up key ids cannot turn
//! Steward into a load generator against the provider; concurrent callers share one fetch
//! (single flight). Responses larger than a cap are refused.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::Mutex;

use crate::{ServiceError, ServiceResult};

/// Largest JWKS document accepted. Real key sets are a few KiB.
pub const MAX_JWKS_BYTES: usize = 256 * 1024;

type Keys = HashMap<String, (DecodingKey, Algorithm)>;

/// When fetches ran; guarded by the single-flight lock.
#[derive(Default)]
struct Fetches {
    /// Start of the last attempt, successful or not: the cooldown runs from here.
    started: Option<Instant>,
    /// End of the last attempt: callers that arrived before it use its result.
    finished: Option<Instant>,
}

pub struct JwksSource {
    url: String,
    client: reqwest::Client,
    cooldown: Duration,
    /// The key set as last fetched. Replaced whole; readers never wait for a fetch.
    keys: RwLock<Arc<Keys>>,
    /// Held for the duration of one fetch.
    fetches: Mutex<Fetches>,
}

impl JwksSource {
    pub fn new(url: String, cooldown: Duration) -> ServiceResult<Self> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|e| ServiceError::Internal(format!("building the JWKS client: {e}")))?;
        Ok(Self {
            url,
            client,
            cooldown,
            keys: RwLock::new(Arc::default()),
            fetches: Mutex::new(Fetches::default()),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn known(&self, kid: &str) -> Option<(DecodingKey, Algorithm)> {
        // A poisoned lock only means a writer panicked between two whole-map swaps.
        let keys = self.keys.read().unwrap_or_else(|p| p.into_inner());
        keys.get(kid).cloned()
    }

    /// The verification key for `kid`, refetching the set once if the id is unknown.
    pub async fn key(&self, kid: &str) -> ServiceResult<(DecodingKey, Algorithm)> {
        if let Some(k) = self.known(kid) {
            return Ok(k);
        }
        let arrived = Instant::now();
        let mut fetches = self.fetches.lock().await;
        // A fetch that finished after this caller arrived already answered it.
        let answered = fetches.finished.is_some_and(|at| at >= arrived);
        let may_fetch = fetches
            .started
            .is_none_or(|at| at.elapsed() >= self.cooldown);
        if !answered && may_fetch {
            // Record the attempt before it runs, so failures also respect the cooldown.
            fetches.started = Some(Instant::now());
            let fetched = self.fetch().await;
            fetches.finished = Some(Instant::now());
            let keys = Arc::new(fetched?);
            *self.keys.write().unwrap_or_else(|p| p.into_inner()) = keys;
        }
        drop(fetches);
        self.known(kid).ok_or_else(|| {
            ServiceError::Unauthenticated("the token is signed with an unknown key (kid)".into())
        })
    }

    async fn fetch(&self) -> ServiceResult<Keys> {
        let unavailable = |e: String| {
            tracing::warn!(url = %self.url, error = %e, "JWKS fetch failed");
            ServiceError::Unavailable("the identity provider's key set cannot be fetched".into())
        };
        let mut resp = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(unavailable(format!("status {}", resp.status())));
        }
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
        {
            return Err(unavailable("response larger than the JWKS size cap".into()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| unavailable(e.to_string()))? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(unavailable("response larger than the JWKS size cap".into()));
            }
            body.extend_from_slice(&chunk);
        }
        let set: JwkSet =
            serde_json::from_slice(&body).map_err(|e| unavailable(format!("not a JWKS: {e}")))?;
        Ok(parse_keys(&set))
    }
}

/// Keeps the RS256 and ES256 (P-256) keys that have a `kid`; others are ignored.
fn parse_keys(set: &JwkSet) -> Keys {
    let mut out = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        let alg = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            _ => continue,
        };
        if let Ok(key) = DecodingKey::from_jwk(jwk) {
            out.insert(kid, (key, alg));
        }
    }
    out
}
