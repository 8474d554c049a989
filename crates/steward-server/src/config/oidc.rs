//! The `[oidc]` section: signing people in to the web pages through an OpenID provider
//! (authorization code flow with PKCE; docs/web.md). Environment: `STEWARD_OIDC_ISSUER`,
//! `STEWARD_OIDC_CLIENT_ID`, `STEWARD_OIDC_CLIENT_SECRET`, `STEWARD_OIDC_REDIRECT_URL`.

use std::time::Duration;

use anyhow::bail;
use serde::Deserialize;
use steward_service::auth::oidc::OidcConfig;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OidcSettings {
    /// The provider's issuer URL, exactly as its ID tokens' `iss` says it.
    pub issuer: String,
    pub client_id: String,
    /// A confidential client's secret (HTTP Basic at the token endpoint); leave it out for a
    /// public client.
    pub client_secret: Option<String>,
    /// Steward's callback as browsers reach it, registered with the provider:
    /// `https://steward.example.com/ui/oidc/callback`.
    pub redirect_url: String,
    /// Scopes besides `openid`.
    pub scopes: Vec<String>,
    /// The ID-token claim naming the tenant (a slug), and the one listing Steward roles.
    pub tenant_claim: String,
    pub roles_claim: String,
}

impl Default for OidcSettings {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            client_id: String::new(),
            client_secret: None,
            redirect_url: String::new(),
            scopes: vec!["profile".into(), "email".into()],
            tenant_claim: "tenant".into(),
            roles_claim: "roles".into(),
        }
    }
}

/// `https://`, or `http://` to this machine (a provider or Steward under test).
fn secure_url(field: &str, url: &str) -> anyhow::Result<()> {
    let local = ["http://127.0.0.1", "http://localhost", "http://[::1]"];
    if url.starts_with("https://") || local.iter().any(|l| url.starts_with(l)) {
        return Ok(());
    }
    bail!("oidc.{field}: `{url}` must be an https:// URL (http:// only to this machine)")
}

impl OidcSettings {
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.issuer.is_empty() || self.client_id.is_empty() || self.redirect_url.is_empty() {
            bail!(
                "oidc: issuer, client_id and redirect_url are all required to sign in with an OpenID provider"
            );
        }
        secure_url("issuer", &self.issuer)?;
        secure_url("redirect_url", &self.redirect_url)?;
        if !self.redirect_url.ends_with("/ui/oidc/callback") {
            bail!(
                "oidc.redirect_url: `{}` must be Steward's callback, ending in /ui/oidc/callback",
                self.redirect_url
            );
        }
        if self.tenant_claim.is_empty() || self.roles_claim.is_empty() {
            bail!("oidc: tenant_claim and roles_claim must name claims");
        }
        Ok(())
    }

    pub fn to_client_config(&self, leeway: Duration) -> OidcConfig {
        OidcConfig {
            issuer: self.issuer.clone(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone().filter(|s| !s.is_empty()),
            redirect_url: self.redirect_url.clone(),
            scopes: self.scopes.clone(),
            tenant_claim: self.tenant_claim.clone(),
            roles_claim: self.roles_claim.clone(),
            leeway,
        }
    }
}
