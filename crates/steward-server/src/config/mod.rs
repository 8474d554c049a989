//! Typed configuration: defaults that work on a fresh machine, then `steward.toml`, then
//! `STEWARD_*` environment variables, then command-line flags, each overriding the one before.
//!
//! The layers are merged by figment: every key of the file is reachable from the environment
//! with no per-key code. `STEWARD_<KEY>` sets a top-level key (`STEWARD_DATABASE_URL`) and
//! `STEWARD_<SECTION>_<KEY>` a key of a section (`STEWARD_AUTH_JWKS_URL`,
//! `STEWARD_API_MAX_DEPTH`, `STEWARD_POLICY_WALL_CLOCK_MS`). Other `STEWARD_*` variables (the
//! demo's `STEWARD_TOKEN`, `STEWARD_CONFIG`, test settings) are not configuration and are left
//! alone; an unknown key inside a section is an error that names it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use figment::value::Uncased;
use serde::Deserialize;

mod oidc;
pub use oidc::OidcSettings;

/// The sections of the configuration; `STEWARD_<SECTION>_<KEY>` reaches their keys.
const SECTIONS: &[&str] = &[
    "auth",
    "api",
    "audit",
    "policy",
    "monitoring",
    "outbox",
    "deployments",
    "metrics",
    "oidc",
];
/// The top-level keys; `STEWARD_<KEY>` reaches them.
const TOP_LEVEL: &[&str] = &[
    "listen",
    "database_url",
    "database_migration_url",
    "log_format",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// `sqlite://steward.db?mode=rwc` (default) or `postgres://user:pass@host/db`.
    pub database_url: String,
    /// PostgreSQL only: the URL migrations run with, as the role that owns the tables. When
    /// set, `steward migrate` and `steward serve` migrate through it and grant the role of
    /// `database_url` what serving needs (reading and writing rows, not changing the schema), so
    /// the serving role does not own the tables it is row-security-bound on.
    pub database_migration_url: Option<String>,
    pub auth: AuthSettings,
    pub api: ApiSettings,
    pub audit: AuditSettings,
    pub policy: PolicySettings,
    pub monitoring: MonitoringSettings,
    pub outbox: OutboxSettings,
    pub deployments: DeploymentSettings,
    pub metrics: MetricsSettings,
    /// Sign-in to the web pages through an OpenID provider; `None`: not configured.
    pub oidc: Option<OidcSettings>,
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

/// The scheduler that closes and evaluates monitoring windows.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MonitoringSettings {
    /// Milliseconds between scheduler passes; 0 turns the scheduler off in this process (another
    /// replica, or `evaluateNow`, then evaluates windows).
    pub scheduler_interval_ms: u64,
    /// Seconds a replica holds a window it evaluates before another may take it over.
    pub lease_seconds: i64,
    /// Most windows one pass evaluates.
    pub windows_per_tick: u64,
    /// MiB of decoded baselines kept in memory (counted by their encoded size; 0: none).
    pub baseline_cache_mb: usize,
}

impl Default for MonitoringSettings {
    fn default() -> Self {
        let d = steward_service::monitoring::MonitoringSettings::default();
        Self {
            scheduler_interval_ms: 5_000,
            lease_seconds: d.lease_seconds,
            windows_per_tick: d.windows_per_tick,
            baseline_cache_mb: d.baseline_cache_bytes >> 20,
        }
    }
}

impl MonitoringSettings {
    pub fn to_service(&self) -> steward_service::monitoring::MonitoringSettings {
        steward_service::monitoring::MonitoringSettings {
            lease_seconds: self.lease_seconds,
            windows_per_tick: self.windows_per_tick,
            baseline_cache_bytes: self.baseline_cache_mb.saturating_mul(1 << 20),
            ..Default::default()
        }
    }

    /// The pause between scheduler passes, `None` when the scheduler is off.
    pub fn interval(&self) -> Option<Duration> {
        (self.scheduler_interval_ms > 0).then(|| Duration::from_millis(self.scheduler_interval_ms))
    }
}

/// The relay that delivers the outbox's actions to Slack, PagerDuty and webhooks.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxSettings {
    /// Milliseconds between relay passes when nothing wakes it sooner (this process wakes it
    /// when it writes actions); 0 turns the relay off in this process.
    pub interval_ms: u64,
    /// Seconds a claimed action stays with this replica before another may deliver it.
    pub lease_seconds: i64,
    /// Most actions one pass claims.
    pub batch: u64,
    /// Most requests in flight at once.
    pub concurrency: usize,
    /// Attempts before an action is dead-lettered.
    pub max_attempts: i64,
    /// The first retry waits up to this long; each further one up to twice as long.
    pub backoff_base_ms: u64,
    /// No retry waits longer, unless the target's `Retry-After` asks for more.
    pub backoff_cap_secs: u64,
    /// A request without an answer by then counts as failed.
    pub request_timeout_ms: u64,
    /// Where people reach Steward; alerts link to `{public_url}/incidents/{id}`.
    pub public_url: Option<String>,
    /// Most deliveries per second of this replica's relay while it drains a backlog (0: no
    /// limit).
    pub max_per_second: u32,
    /// Deliver to loopback, private and link-local addresses (off: a target's URL cannot reach
    /// the metadata service or internal ports).
    pub allow_private_networks: bool,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        let d = steward_service::OutboxSettings::default();
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Self {
            interval_ms: 1_000,
            lease_seconds: d.lease_seconds,
            batch: d.batch,
            concurrency: d.concurrency,
            max_attempts: d.max_attempts,
            backoff_base_ms: ms(d.backoff_base),
            backoff_cap_secs: d.backoff_cap.as_secs(),
            request_timeout_ms: ms(d.request_timeout),
            public_url: d.public_url,
            max_per_second: d.max_per_second,
            allow_private_networks: d.allow_private_networks,
        }
    }
}

impl OutboxSettings {
    pub fn to_service(&self) -> steward_service::OutboxSettings {
        steward_service::OutboxSettings {
            lease_seconds: self.lease_seconds,
            batch: self.batch,
            concurrency: self.concurrency,
            max_attempts: self.max_attempts,
            backoff_base: Duration::from_millis(self.backoff_base_ms),
            backoff_cap: Duration::from_secs(self.backoff_cap_secs),
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            public_url: self.public_url.clone().filter(|u| !u.is_empty()),
            max_per_second: self.max_per_second,
            allow_private_networks: self.allow_private_networks,
        }
    }

    /// The pause between relay passes, `None` when the relay is off.
    pub fn interval(&self) -> Option<Duration> {
        (self.interval_ms > 0).then(|| Duration::from_millis(self.interval_ms))
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.lease_seconds < 1 {
            bail!("outbox.lease_seconds: must be at least 1");
        }
        if self.batch == 0 || self.concurrency == 0 {
            bail!("outbox.batch and outbox.concurrency: must be at least 1");
        }
        if !(1..=100).contains(&self.max_attempts) {
            bail!("outbox.max_attempts: must be between 1 and 100");
        }
        if self.backoff_base_ms == 0 || self.backoff_cap_secs == 0 {
            bail!("outbox.backoff_base_ms and outbox.backoff_cap_secs: must be at least 1");
        }
        if !(1..=120_000).contains(&self.request_timeout_ms) {
            bail!("outbox.request_timeout_ms: must be between 1 and 120000");
        }
        if let Some(u) = self.public_url.as_deref().filter(|u| !u.is_empty())
            && !(u.starts_with("https://") || u.starts_with("http://"))
        {
            bail!("outbox.public_url: must be an http:// or https:// URL, not {u:?}");
        }
        Ok(())
    }
}

/// Promotions and rollouts (docs/deployments.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeploymentSettings {
    /// Hours an approval of a promotion request counts.
    pub approval_ttl_hours: i64,
    /// Hours a rollout paused by a failed or inconclusive analysis waits for a person before it
    /// is aborted (also the default timeout of a pause an SRE makes).
    pub pause_timeout_hours: i64,
}

impl Default for DeploymentSettings {
    fn default() -> Self {
        let d = steward_service::DeploymentSettings::default();
        Self {
            approval_ttl_hours: d.approval_ttl.num_hours(),
            pause_timeout_hours: d.pause_timeout.num_hours(),
        }
    }
}

impl DeploymentSettings {
    pub fn to_service(&self) -> steward_service::DeploymentSettings {
        steward_service::DeploymentSettings {
            approval_ttl: chrono::Duration::hours(self.approval_ttl_hours),
            pause_timeout: chrono::Duration::hours(self.pause_timeout_hours),
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        for (name, v) in [
            ("approval_ttl_hours", self.approval_ttl_hours),
            ("pause_timeout_hours", self.pause_timeout_hours),
        ] {
            if !(1..=24 * 90).contains(&v) {
                bail!("deployments.{name}: must be between 1 and 2160 (90 days)");
            }
        }
        Ok(())
    }
}

/// Who may scrape `/metrics` (it spans every tenant, so never a tenant's token).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsSettings {
    /// A listener of its own serving `/metrics` without a token (the network is the boundary:
    /// bind it where only Prometheus reaches).
    pub listen: Option<SocketAddr>,
    /// A bearer token that opens `/metrics` on the main listener (`STEWARD_METRICS_TOKEN`).
    pub token: Option<String>,
    /// The same, read from a file (a mounted secret); trailing whitespace is ignored.
    pub token_file: Option<PathBuf>,
    /// Most models given series of their own; the most worrying first, the rest counted in
    /// `steward_model_series_dropped`.
    pub max_models: usize,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self {
            listen: None,
            token: None,
            token_file: None,
            max_models: 2_000,
        }
    }
}

impl MetricsSettings {
    fn validate(&self) -> anyhow::Result<()> {
        if self.token.is_some() && self.token_file.is_some() {
            bail!("metrics: set either token or token_file, not both");
        }
        if self.token.as_deref().is_some_and(|t| t.trim().len() < 16) {
            bail!("metrics.token: must be at least 16 characters");
        }
        if self.max_models == 0 {
            bail!("metrics.max_models: must be at least 1");
        }
        Ok(())
    }

    /// The token `/metrics` answers on the main listener, read from its file when one is set.
    pub fn resolve_token(&self) -> anyhow::Result<Option<String>> {
        let Some(path) = &self.token_file else {
            return Ok(self.token.as_ref().map(|t| t.trim().to_string()));
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!("metrics.token_file: cannot read {}: {e}", path.display())
        })?;
        let token = text.trim().to_string();
        if token.len() < 16 {
            bail!(
                "metrics.token_file: {} holds fewer than 16 characters",
                path.display()
            );
        }
        Ok(Some(token))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    pub max_body_bytes: usize,
    /// Largest upload (baselines, observations) in bytes; 413 beyond.
    pub max_upload_bytes: usize,
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
            database_migration_url: None,
            auth: AuthSettings::default(),
            api: ApiSettings::default(),
            audit: AuditSettings::default(),
            policy: PolicySettings::default(),
            monitoring: MonitoringSettings::default(),
            outbox: OutboxSettings::default(),
            deployments: DeploymentSettings::default(),
            metrics: MetricsSettings::default(),
            oidc: None,
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
            max_upload_bytes: d.max_upload_bytes,
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
            max_upload_bytes: self.max_upload_bytes,
            max_depth: self.max_depth,
            max_complexity: self.max_complexity,
            introspection: self.introspection,
            suggestions: self.suggestions,
            response_cache_entries: self.response_cache_entries,
            ..Default::default()
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
        let file = match path {
            Some(p) if !p.exists() => bail!("configuration file {} does not exist", p.display()),
            Some(p) => Some(p),
            None => Some(Path::new("steward.toml")).filter(|p| p.exists()),
        };
        let mut config = Self::from_layers(file, Env::prefixed("STEWARD_"))?;
        if let Some(l) = overrides.listen {
            config.listen = l;
        }
        if let Some(u) = &overrides.database_url {
            config.database_url = u.clone();
        }
        Ok(config)
    }

    /// The file (when given) under the environment `env`, over the defaults.
    pub fn from_layers(file: Option<&Path>, env: Env) -> anyhow::Result<Config> {
        let mut figment = Figment::new();
        if let Some(p) = file {
            figment = figment.merge(Toml::file(p));
        }
        figment = figment.merge(env.filter_map(|k| env_key(k.as_str())));
        figment.extract().map_err(|e| {
            // figment reports every problem with where it came from (file or variable).
            let all: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
            anyhow::anyhow!("configuration: {}", all.join("; "))
        })
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        if self.auth.jwks_url.is_some() && self.auth.public_key_pem.is_some() {
            bail!("auth: set either jwks_url or public_key_pem, not both");
        }
        if let Some(o) = &self.oidc {
            o.validate()?;
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
        if let Some(m) = &self.database_migration_url
            && !(m.starts_with("postgres:") || m.starts_with("postgresql:"))
        {
            bail!("database_migration_url: only a PostgreSQL database has a role to migrate as");
        }
        self.outbox.validate()?;
        self.deployments.validate()?;
        self.metrics.validate()?;
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

/// The configuration key an environment variable (prefix stripped, lowercase) names, or `None`
/// when it is not configuration: `auth_jwks_url` is `auth.jwks_url`.
fn env_key(key: &str) -> Option<Uncased<'static>> {
    let key = key.to_ascii_lowercase();
    if TOP_LEVEL.contains(&key.as_str()) {
        return Some(key.into());
    }
    let (section, rest) = key.split_once('_')?;
    (SECTIONS.contains(&section) && !rest.is_empty()).then(|| format!("{section}.{rest}").into())
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
mod tests;
