//! Typed configuration: defaults that work on a fresh machine, then `steward.toml`, then
//! `STEWARD_*` environment variables, then command-line flags, each overriding the one before.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// `sqlite://steward.db?mode=rwc` (default) or `postgres://user:pass@host/db`.
    pub database_url: String,
    pub auth: AuthSettings,
    pub api: ApiSettings,
    pub audit: AuditSettings,
    pub policy: PolicySettings,
    /// `text` (default) or `json` log lines.
    pub log_format: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    pub issuer: String,
    pub audience: String,
    /// Clock skew tolerated on `exp`/`nbf`, in seconds.
    pub leeway_secs: u64,
    /// Production: the identity provider's JWKS URL (RS256/ES256).
    pub jwks_url: Option<String>,
    /// Seconds between refetches of the JWKS triggered by unknown key ids.
    pub jwks_refetch_cooldown_secs: u64,
    /// Production: a PEM public key file (RS256 or ES256).
    pub public_key_pem: Option<PathBuf>,
    /// Development: the HS256 secret file; created on first run when absent. Default: beside the
    /// SQLite database, or `steward-dev.secret` in the working directory for PostgreSQL.
    pub dev_secret_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditSettings {
    /// The Ed25519 key (PEM) that signs audit checkpoints. Default: created on first start beside
    /// the SQLite database (or `steward-audit-ed25519.pem` in the working directory).
    pub signing_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicySettings {
    /// Policy evaluations running at once (default: the number of cores); more wait.
    pub max_concurrent_evaluations: usize,
    /// Wall-clock budget of one evaluation, in milliseconds.
    pub wall_clock_ms: u64,
    /// rhai operations one evaluation may perform.
    pub max_operations: u64,
}

impl Default for PolicySettings {
    fn default() -> Self {
        let d = steward_service::PolicySettings::default();
        Self {
            max_concurrent_evaluations: d.max_concurrent,
            wall_clock_ms: u64::try_from(d.limits.wall_clock.as_millis()).unwrap_or(u64::MAX),
            max_operations: d.limits.max_operations,
        }
    }
}

impl PolicySettings {
    pub fn to_service(&self) -> steward_service::PolicySettings {
        steward_service::PolicySettings {
            max_concurrent: self.max_concurrent_evaluations,
            limits: steward_policy::Limits {
                wall_clock: Duration::from_millis(self.wall_clock_ms),
                max_operations: self.max_operations,
                ..Default::default()
            },
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    pub max_body_bytes: usize,
    pub max_depth: usize,
    pub max_complexity: usize,
    pub introspection: bool,
    pub suggestions: bool,
    /// Read-response cache entries (0 = off). Keyed on each tenant's data version in the
    /// database, so it is safe with several replicas on PostgreSQL.
    pub response_cache_entries: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://steward.db?mode=rwc".into(),
            auth: AuthSettings::default(),
            api: ApiSettings::default(),
            audit: AuditSettings::default(),
            policy: PolicySettings::default(),
            log_format: "text".into(),
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            issuer: "steward".into(),
            audience: "steward".into(),
            leeway_secs: 30,
            jwks_url: None,
            jwks_refetch_cooldown_secs: 30,
            public_key_pem: None,
            dev_secret_file: None,
        }
    }
}

impl Default for ApiSettings {
    fn default() -> Self {
        let d = steward_api::ApiConfig::default();
        Self {
            max_body_bytes: d.max_body_bytes,
            max_depth: d.max_depth,
            max_complexity: d.max_complexity,
            introspection: d.introspection,
            suggestions: d.suggestions,
            response_cache_entries: d.response_cache_entries,
        }
    }
}

impl ApiSettings {
    pub fn to_api_config(&self) -> steward_api::ApiConfig {
        steward_api::ApiConfig {
            max_body_bytes: self.max_body_bytes,
            max_depth: self.max_depth,
            max_complexity: self.max_complexity,
            introspection: self.introspection,
            suggestions: self.suggestions,
            response_cache_entries: self.response_cache_entries,
        }
    }
}

/// Overrides given on the command line.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub database_url: Option<String>,
}

impl Config {
    /// Loads `path` if given (it must exist) or `./steward.toml` if present, then applies the
    /// environment and `overrides`.
    pub fn load(path: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Config> {
        let mut config = match path {
            Some(p) => Self::from_file(p)?,
            None if Path::new("steward.toml").exists() => {
                Self::from_file(Path::new("steward.toml"))?
            }
            None => Config::default(),
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        if let Some(l) = overrides.listen {
            config.listen = l;
        }
        if let Some(u) = &overrides.database_url {
            config.database_url = u.clone();
        }
        Ok(config)
    }

    fn from_file(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading configuration file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("in configuration file {}", path.display()))
    }

    /// Applies `STEWARD_*` variables; `get` is the environment (a function, for tests).
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        if let Some(v) = get("STEWARD_LISTEN") {
            self.listen = v.parse().with_context(|| {
                format!("STEWARD_LISTEN=`{v}` is not an address such as 127.0.0.1:8080")
            })?;
        }
        if let Some(v) = get("STEWARD_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = get("STEWARD_AUTH_ISSUER") {
            self.auth.issuer = v;
        }
        if let Some(v) = get("STEWARD_AUTH_AUDIENCE") {
            self.auth.audience = v;
        }
        if let Some(v) = get("STEWARD_AUTH_JWKS_URL") {
            self.auth.jwks_url = Some(v);
        }
        if let Some(v) = get("STEWARD_AUTH_PUBLIC_KEY_PEM") {
            self.auth.public_key_pem = Some(v.into());
        }
        if let Some(v) = get("STEWARD_AUTH_DEV_SECRET_FILE") {
            self.auth.dev_secret_file = Some(v.into());
        }
        if let Some(v) = get("STEWARD_API_INTROSPECTION") {
            self.api.introspection = parse_bool("STEWARD_API_INTROSPECTION", &v)?;
        }
        if let Some(v) = get("STEWARD_AUDIT_SIGNING_KEY_FILE") {
            self.audit.signing_key_file = Some(v.into());
        }
        if let Some(v) = get("STEWARD_LOG_FORMAT") {
            self.log_format = v;
        }
        Ok(())
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        if self.auth.jwks_url.is_some() && self.auth.public_key_pem.is_some() {
            bail!("auth: set either jwks_url or public_key_pem, not both");
        }
        if self.auth.leeway_secs > 300 {
            bail!("auth.leeway_secs: at most 300 seconds of clock skew is tolerated");
        }
        if self.policy.max_concurrent_evaluations == 0 {
            bail!("policy.max_concurrent_evaluations: must be at least 1");
        }
        if !(1..=60_000).contains(&self.policy.wall_clock_ms) {
            bail!("policy.wall_clock_ms: must be between 1 and 60000");
        }
        if self.policy.max_operations == 0 {
            bail!("policy.max_operations: must be at least 1");
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            bail!("log_format: must be `text` or `json`");
        }
        Ok(())
    }

    /// True when tokens are verified with the local development secret.
    pub fn is_dev_auth(&self) -> bool {
        self.auth.jwks_url.is_none() && self.auth.public_key_pem.is_none()
    }

    /// Where the development secret lives: beside the SQLite file, else in the working directory.
    pub fn dev_secret_path(&self) -> PathBuf {
        if let Some(p) = &self.auth.dev_secret_file {
            return p.clone();
        }
        match sqlite_path(&self.database_url) {
            Some(db) => PathBuf::from(format!("{}.hs256.secret", db.display())),
            None => PathBuf::from("steward-dev.secret"),
        }
    }

    /// Where the audit signing key lives.
    pub fn audit_key_path(&self) -> PathBuf {
        if let Some(p) = &self.audit.signing_key_file {
            return p.clone();
        }
        match sqlite_path(&self.database_url) {
            Some(db) => PathBuf::from(format!("{}.audit-ed25519.pem", db.display())),
            None => PathBuf::from("steward-audit-ed25519.pem"),
        }
    }

    pub fn leeway(&self) -> Duration {
        Duration::from_secs(self.auth.leeway_secs)
    }
}

fn parse_bool(name: &str, v: &str) -> anyhow::Result<bool> {
    match v {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => bail!("{name}=`{v}`: expected true or false"),
    }
}

/// The file path of a `sqlite://` URL, without query parameters.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_defaults() {
        let mut c = Config::default();
        c.apply_env(|k| match k {
            "STEWARD_LISTEN" => Some("0.0.0.0:9000".into()),
            "STEWARD_DATABASE_URL" => Some("postgres://x/y".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.database_url, "postgres://x/y");
        assert_eq!(c.dev_secret_path(), PathBuf::from("steward-dev.secret"));
    }

    #[test]
    fn bad_values_are_named() {
        let mut c = Config::default();
        let err = c
            .apply_env(|k| (k == "STEWARD_LISTEN").then(|| "nope".into()))
            .unwrap_err();
        assert!(err.to_string().contains("STEWARD_LISTEN"));
        let err = toml::from_str::<Config>("listen = \"127.0.0.1:1\"\nunknown = 1").unwrap_err();
        assert!(err.to_string().contains("unknown"));
    }

    #[test]
    fn secret_sits_beside_the_database() {
        let c = Config {
            database_url: "sqlite://data/steward.db?mode=rwc".into(),
            ..Config::default()
        };
        assert_eq!(
            c.dev_secret_path(),
            PathBuf::from("data/steward.db.hs256.secret")
        );
    }
}
