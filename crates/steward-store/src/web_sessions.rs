//! Web frontend sessions (m0020): written when a browser signs in, read on every page, deleted
//! at sign-out. Looked up by the SHA-256 of the cookie's secret; the secret itself is never
//! stored.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, Value};
use steward_domain::{Role, TenantScope, WebSession};

use crate::sql::stmt;
use crate::tenancy::{Tenancy, within};
use crate::windows::corrupt;
use crate::{Store, StoreResult};

impl Store {
    /// Stores `session` under `secret_hash`, in the scope's tenant.
    pub async fn insert_web_session(
        &self,
        scope: &TenantScope,
        secret_hash: &str,
        session: &WebSession,
    ) -> StoreResult<()> {
        let roles: Vec<&str> = session.roles.iter().map(|r| r.as_str()).collect();
        let roles = serde_json::to_string(&roles).map_err(|e| corrupt("web_sessions.roles", e))?;
        self.db
            .execute_raw(stmt(
                self.db_backend(),
                "INSERT INTO web_sessions (secret_hash, tenant_id, subject, tenant_slug, roles, \
                   csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                vec![
                    Value::from(secret_hash.to_string()),
                    Value::from(scope.tenant_id().as_uuid()),
                    Value::from(session.subject.clone()),
                    Value::from(session.tenant_slug.clone()),
                    Value::from(roles),
                    Value::from(session.csrf.clone()),
                    Value::from(session.created_at),
                    Value::from(session.expires_at),
                ],
            ))
            .await?;
        Ok(())
    }

    /// The unexpired session stored under `secret_hash`, whichever tenant's it is: the secret is
    /// the credential, as a token is, so the lookup runs before any tenant is known.
    pub async fn web_session(
        &self,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<WebSession>> {
        let found = within(
            Tenancy::System,
            self.db.query_one_raw(stmt(
                self.db_backend(),
                "SELECT tenant_id, subject, tenant_slug, roles, csrf, created_at, expires_at \
                 FROM web_sessions WHERE secret_hash = $1 AND expires_at > $2",
                vec![Value::from(secret_hash.to_string()), Value::from(now)],
            )),
        )
        .await?;
        let Some(r) = found else { return Ok(None) };
        let roles: String = r.try_get("", "roles")?;
        let roles: Vec<String> =
            serde_json::from_str(&roles).map_err(|e| corrupt("web_sessions.roles", e))?;
        let roles = roles
            .iter()
            .map(|r| r.parse::<Role>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| corrupt("web_sessions.roles", e))?;
        Ok(Some(WebSession {
            subject: r.try_get("", "subject")?,
            tenant: steward_domain::TenantId::from_uuid(r.try_get("", "tenant_id")?),
            tenant_slug: r.try_get("", "tenant_slug")?,
            roles,
            csrf: r.try_get("", "csrf")?,
            created_at: r.try_get("", "created_at")?,
            expires_at: r.try_get("", "expires_at")?,
        }))
    }

    /// Ends the session stored under `secret_hash` (sign-out), and every session of any tenant
    /// that expired before `now`. Whether the session was there.
    pub async fn delete_web_session(
        &self,
        secret_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        within(Tenancy::System, async {
            let gone = self
                .db
                .execute_raw(stmt(
                    self.db_backend(),
                    "DELETE FROM web_sessions WHERE secret_hash = $1",
                    vec![Value::from(secret_hash.to_string())],
                ))
                .await?;
            self.db
                .execute_raw(stmt(
                    self.db_backend(),
                    "DELETE FROM web_sessions WHERE expires_at <= $1",
                    vec![Value::from(now)],
                ))
                .await?;
            Ok(gone.rows_affected() > 0)
        })
        .await
    }
}
