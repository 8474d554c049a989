//! Authentication: verifying bearer tokens and turning them into [`Principal`]s.
//!
//! Every check the JWT library would skip unless told is made explicit here: `exp`, `iss`, `aud`
//! and `sub` must be present, `nbf` is honoured, one algorithm family is allow-listed per key
//! source, and the clock leeway is small and configured.

mod jwks;
pub mod oidc;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};
use steward_domain::{Principal, Role, TenantId};
use steward_store::Store;

use crate::{ServiceError, ServiceResult};

pub use jwks::JwksSource;

/// The claims Steward reads from a token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    /// The tenant's slug.
    pub tenant: String,
    pub roles: Vec<String>,
    pub iss: String,
    pub aud: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
}

/// Where verification keys come from.
#[derive(Clone)]
pub enum KeySource {
    /// Development: one shared secret, HS256. Also lets `steward token` mint tokens.
    Hs256 { secret: Vec<u8> },
    /// A fixed public key from a PEM file (RS256 or ES256).
    Pem {
        algorithm: Algorithm,
        key: DecodingKey,
    },
    /// Keys published by an identity provider at a JWKS URL (RS256 and ES256).
    Jwks(Arc<JwksSource>),
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        match self {
            KeySource::Hs256 { .. } => f.write_str("Hs256"),
            KeySource::Pem { algorithm, .. } => write!(f, "Pem({algorithm:?})"),
            KeySource::Jwks(j) => write!(f, "Jwks({})", j.url()),
        }
    }
}

impl KeySource {
    /// Reads a PEM public key, choosing the algorithm from the key type.
    pub fn from_pem(pem: &[u8]) -> Result<KeySource, String> {
        let text = String::from_utf8_lossy(pem);
        if text.contains("PRIVATE KEY") {
            return Err(
                "the PEM file holds a private key; give Steward the public key only".into(),
            );
        }
        if let Ok(key) = DecodingKey::from_ec_pem(pem) {
            return Ok(KeySource::Pem {
                algorithm: Algorithm::ES256,
                key,
            });
        }
        match DecodingKey::from_rsa_pem(pem) {
            Ok(key) => Ok(KeySource::Pem {
                algorithm: Algorithm::RS256,
                key,
            }),
            Err(e) => Err(format!(
                "not an RSA or EC (P-256) public key in PEM form: {e}"
            )),
        }
    }
}

#[derive(Clone, Debug)]
pub struct AuthConfig {
    pub issuer: String,
    pub audience: String,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    pub keys: KeySource,
}

/// Verifies tokens and resolves their tenant. Cheap to clone.
/// Longest subject accepted, in bytes (OpenID Connect Core 1.0, section 2: at most 255 ASCII
/// characters).
pub const MAX_SUBJECT_BYTES: usize = 255;

/// A subject names the actor in every audit event: it must be non-blank, bounded and printable.
fn check_subject(sub: &str) -> ServiceResult<()> {
    let refuse = |why: &str| {
        Err(ServiceError::Unauthenticated(format!(
            "token claim `sub` {why}"
        )))
    };
    if sub.trim().is_empty() {
        return refuse("is empty");
    }
    if sub.len() > MAX_SUBJECT_BYTES {
        return refuse(&format!(
            "is {} bytes long; at most {MAX_SUBJECT_BYTES} are allowed",
            sub.len()
        ));
    }
    if sub.chars().any(char::is_control) {
        return refuse("contains control characters");
    }
    Ok(())
}

#[derive(Clone)]
pub struct Authenticator {
    config: Arc<AuthConfig>,
    store: Store,
    /// Tenant slugs never change and tenants are never deleted, so a positive lookup can be
    /// cached for the life of the process.
    tenants: Arc<RwLock<HashMap<String, TenantId>>>,
}

impl Authenticator {
    pub fn new(config: AuthConfig, store: Store) -> Self {
        Self {
            config: Arc::new(config),
            store,
            tenants: Arc::default(),
        }
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    fn validation(&self, algorithms: Vec<Algorithm>) -> Validation {
        let mut v = Validation::new(algorithms[0]);
        v.algorithms = algorithms;
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        v.set_issuer(&[&self.config.issuer]);
        v.set_audience(&[&self.config.audience]);
        v.leeway = self.config.leeway.as_secs();
        v.validate_exp = true;
        v.validate_nbf = true;
        v.validate_aud = true;
        v
    }

    /// Verifies `token` and returns the principal it names. The task's [`tenancy`] scope, when
    /// it runs in one (the API gives every request one, starting at nobody's), narrows to the
    /// principal's tenant from here on: what the request reads and writes afterwards is bound
    /// to that tenant by row-level security as well as by the store's filters.
    ///
    /// [`tenancy`]: crate::tenancy
    pub async fn authenticate(&self, token: &str) -> ServiceResult<Principal> {
        let principal = self.principal(token).await?;
        crate::tenancy::enter(crate::tenancy::Tenancy::of(principal.tenant_id()));
        Ok(principal)
    }

    /// The principal of a stored web session: what the token that opened it said. Like
    /// [`Authenticator::authenticate`], it narrows the task's tenancy to the session's tenant.
    pub fn session_principal(&self, session: &steward_domain::WebSession) -> Principal {
        let principal = Principal::authenticated(
            session.subject.clone(),
            session.tenant_slug.clone(),
            Some(session.tenant),
            session.roles.clone(),
        );
        crate::tenancy::enter(crate::tenancy::Tenancy::Tenant(session.tenant));
        principal
    }

    async fn principal(&self, token: &str) -> ServiceResult<Principal> {
        let claims = self.verify(token).await?;
        self.principal_of(claims.sub, claims.tenant, &claims.roles)
            .await
    }

    /// The principal a verified token (or ID token) names: its subject checked, its roles known
    /// ones, its tenant existing (unless the caller is a platform admin, who creates tenants).
    pub(crate) async fn principal_of(
        &self,
        sub: String,
        tenant: String,
        claimed_roles: &[String],
    ) -> ServiceResult<Principal> {
        check_subject(&sub)?;
        if sub.starts_with(steward_domain::auth::SYSTEM_SUBJECT_PREFIX) {
            return Err(ServiceError::Unauthenticated(format!(
                "token claim `sub`: `{}` is reserved for Steward's own system actors",
                steward_domain::validate::truncate(&sub)
            )));
        }
        let mut roles = Vec::with_capacity(claimed_roles.len());
        for r in claimed_roles {
            roles.push(
                r.parse::<Role>().map_err(|e| {
                    ServiceError::Unauthenticated(format!("token claim `roles`: {e}"))
                })?,
            );
        }
        if roles.is_empty() {
            return Err(ServiceError::Unauthenticated(
                "token claim `roles` is empty".into(),
            ));
        }
        let tenant_id = self.tenant_id(&tenant).await?;
        if tenant_id.is_none() && !roles.contains(&Role::PlatformAdmin) {
            return Err(ServiceError::Unauthenticated(format!(
                "token names tenant `{}`, which does not exist",
                steward_domain::validate::truncate(&tenant)
            )));
        }
        Ok(Principal::authenticated(sub, tenant, tenant_id, roles))
    }

    async fn tenant_id(&self, slug: &str) -> ServiceResult<Option<TenantId>> {
        if let Some(id) = self.tenants.read().ok().and_then(|m| m.get(slug).copied()) {
            return Ok(Some(id));
        }
        let found = self.store.tenant_by_slug(slug).await?;
        if let Some(t) = &found
            && let Ok(mut m) = self.tenants.write()
        {
            m.insert(t.slug.clone(), t.id);
        }
        Ok(found.map(|t| t.id))
    }

    async fn verify(&self, token: &str) -> ServiceResult<Claims> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            ServiceError::Unauthenticated("the bearer token is not a well-formed JWT".into())
        })?;
        let (key, algorithms) = match &self.config.keys {
            KeySource::Hs256 { secret } => {
                (DecodingKey::from_secret(secret), vec![Algorithm::HS256])
            }
            KeySource::Pem { algorithm, key } => (key.clone(), vec![*algorithm]),
            KeySource::Jwks(jwks) => {
                let kid = header.kid.as_deref().ok_or_else(|| {
                    ServiceError::Unauthenticated("the token header has no `kid`".into())
                })?;
                let (key, alg) = jwks.key(kid).await?;
                (key, vec![alg])
            }
        };
        let data = jsonwebtoken::decode::<Claims>(token, &key, &self.validation(algorithms))
            .map_err(|e| ServiceError::Unauthenticated(describe(e.kind())))?;
        Ok(data.claims)
    }

    /// Mints a development token with the local HS256 secret. Refused when the server verifies
    /// tokens with public keys: then tokens come from the identity provider only.
    pub fn mint_dev_token(
        &self,
        subject: &str,
        tenant: &str,
        roles: &[Role],
        ttl: Duration,
    ) -> ServiceResult<String> {
        mint_hs256(&self.config, subject, tenant, roles, ttl)
    }
}

/// Mints an HS256 token for `config` (used by `steward token`, which needs no store).
pub fn mint_hs256(
    config: &AuthConfig,
    subject: &str,
    tenant: &str,
    roles: &[Role],
    ttl: Duration,
) -> ServiceResult<String> {
    let KeySource::Hs256 { secret } = &config.keys else {
        return Err(ServiceError::Invalid(
            "tokens can only be minted in development mode (HS256 secret); this server verifies tokens from an identity provider".into(),
        ));
    };
    let now = jsonwebtoken::get_current_timestamp();
    let claims = Claims {
        sub: subject.to_string(),
        tenant: tenant.to_string(),
        roles: roles.iter().map(|r| r.as_str().to_string()).collect(),
        iss: config.issuer.clone(),
        aud: config.audience.clone(),
        exp: now + ttl.as_secs(),
        nbf: Some(now),
        iat: Some(now),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(|e| ServiceError::Internal(format!("signing a token failed: {e}")))
}

/// A message for a rejected token that helps the holder without helping an attacker.
pub(crate) fn describe(kind: &ErrorKind) -> String {
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired".into(),
        ErrorKind::ImmatureSignature => "the token is not valid yet (nbf)".into(),
        ErrorKind::InvalidIssuer => {
            "the token was issued by an issuer this server does not trust".into()
        }
        ErrorKind::InvalidAudience => "the token is meant for another audience".into(),
        ErrorKind::MissingRequiredClaim(c) => format!("the token lacks the required claim `{c}`"),
        ErrorKind::InvalidSignature => "the token signature does not verify".into(),
        ErrorKind::InvalidAlgorithm => {
            "the token is signed with an algorithm this server does not accept".into()
        }
        ErrorKind::Json(_) | ErrorKind::InvalidClaimFormat(_) => {
            "the token claims are malformed (sub, tenant, roles, iss, aud and exp are required)"
                .into()
        }
        _ => "the bearer token is invalid".into(),
    }
}
