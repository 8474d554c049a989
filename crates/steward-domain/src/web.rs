//! The web frontend's records.

use crate::auth::Role;
use crate::ids::TenantId;

/// A browser's signed-in session (the web frontend), as stored. The browser holds a random
/// secret in a cookie; the store keeps only its SHA-256. It was opened by a verified token and
/// carries what that token said (subject, tenant, roles) until it expires; state-changing forms
/// must echo its `csrf` token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSession {
    pub subject: String,
    pub tenant: TenantId,
    pub tenant_slug: String,
    pub roles: Vec<Role>,
    pub csrf: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}
