//! Sessions of the web frontend: a browser signs in with a token (verified as the API verifies
//! one), gets a random secret for its cookie, and every page after finds the session by that
//! secret's SHA-256. Sessions last [`WEB_SESSION_HOURS`] at most and end at sign-out. They run
//! on the wall clock, not the service's monitoring clock (which the demo drives through two
//! weeks of replay: a session timed by it would expire as the replay moved on).

use sha2::{Digest, Sha256};
use steward_domain::{Principal, WebSession};

use crate::auth::oidc::SignedInPerson;
use crate::tenancy::{Tenancy, within};
use crate::{Service, ServiceError, ServiceResult};

/// How long a web session lasts.
pub const WEB_SESSION_HOURS: i64 = 8;

/// A session just opened: the secret for the browser's cookie (never stored) and the session.
pub struct OpenedSession {
    pub secret: String,
    pub session: WebSession,
}

fn random_hex() -> ServiceResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| ServiceError::Internal(format!("no randomness for a session: {e}")))?;
    Ok(hex::encode(bytes))
}

fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl Service {
    /// Verifies `token` and opens a session for what it says. A token of a tenant that does not
    /// exist (a platform admin's, to create it) opens none.
    pub async fn open_web_session(&self, token: &str) -> ServiceResult<OpenedSession> {
        let principal = self.authenticator().authenticate(token).await?;
        self.open_session_for(principal).await
    }

    /// Opens a session for a person the OpenID provider signed in (their ID token verified by
    /// [`OidcClient::finish`](crate::auth::oidc::OidcClient::finish)): the same checks of
    /// subject, roles and tenant as a bearer token's.
    pub async fn open_web_session_signed_in(
        &self,
        person: SignedInPerson,
    ) -> ServiceResult<OpenedSession> {
        let principal = self
            .authenticator()
            .principal_of(person.subject, person.tenant, &person.roles)
            .await?;
        self.open_session_for(principal).await
    }

    async fn open_session_for(&self, principal: Principal) -> ServiceResult<OpenedSession> {
        let scope = principal.scope().ok_or_else(|| {
            ServiceError::Unauthenticated(format!(
                "the token names tenant `{}`, which does not exist; sign in with a tenant's token",
                steward_domain::validate::truncate(principal.tenant_slug())
            ))
        })?;
        let now = chrono::Utc::now();
        let secret = random_hex()?;
        let session = WebSession {
            subject: principal.subject().to_string(),
            tenant: scope.tenant_id(),
            tenant_slug: principal.tenant_slug().to_string(),
            roles: principal.roles().to_vec(),
            csrf: random_hex()?,
            created_at: now,
            expires_at: now + chrono::Duration::hours(WEB_SESSION_HOURS),
        };
        let hash = secret_hash(&secret);
        let stored = self.store.insert_web_session(&scope, &hash, &session);
        within(Tenancy::Tenant(scope.tenant_id()), stored).await?;
        Ok(OpenedSession { secret, session })
    }

    /// The principal and session behind a cookie's `secret`, if it names an unexpired session.
    /// The task's tenancy narrows to the session's tenant.
    pub async fn web_session(
        &self,
        secret: &str,
    ) -> ServiceResult<Option<(Principal, WebSession)>> {
        if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let found = self
            .store
            .web_session(&secret_hash(secret), chrono::Utc::now())
            .await?;
        Ok(found.map(|s| (self.authenticator().session_principal(&s), s)))
    }

    /// Ends the session behind `secret` (and clears out expired ones). Whether it was open.
    pub async fn close_web_session(&self, secret: &str) -> ServiceResult<bool> {
        Ok(self
            .store
            .delete_web_session(&secret_hash(secret), chrono::Utc::now())
            .await?)
    }
}
