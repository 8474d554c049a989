//! Start-up: open and migrate the store, set up authentication, serve until a shutdown signal.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use rand::RngCore;
use steward_domain::Role;
use steward_service::auth::{JwksSource, mint_hs256};
use steward_service::monitoring::ManualClock;
use steward_service::{AuthConfig, KeySource, Service};
use steward_store::Store;
use steward_store::tenancy::{self, Tenancy};

use crate::app::Application;
use crate::config::Config;
use crate::demo;

/// Hides the password of a database URL for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..scheme], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    Store::connect(&config.database_url)
        .await
        .with_context(|| format!("opening the database {}", redact(&config.database_url)))
}

/// Applies pending migrations: through `database_migration_url` when it is set (the tables'
/// owner), granting `database_url`'s role what serving needs; else through `database_url`.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let Some(owner_url) = &config.database_migration_url else {
        let store = open_store(config).await?;
        return store.migrate().await.context("applying migrations");
    };
    let owner = Store::connect(owner_url)
        .await
        .with_context(|| format!("opening the database {}", redact(owner_url)))?;
    owner.migrate().await.context("applying migrations")?;
    let role = steward_store::role_of(&config.database_url)?;
    owner
        .grant_to(&role)
        .await
        .with_context(|| format!("granting role {role} what serving needs"))
}

/// Reads the development secret, creating it (mode 0600) on first use.
fn dev_secret(path: &Path, create: bool) -> anyhow::Result<Vec<u8>> {
    if path.exists() {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the development secret {}", path.display()))?;
        let secret = hex::decode(text.trim())
            .with_context(|| format!("{} does not hold a hex secret", path.display()))?;
        if secret.len() < 32 {
            bail!("{}: the secret must be at least 32 bytes", path.display());
        }
        return Ok(secret);
    }
    if !create {
        bail!(
            "no development secret at {}: start `steward serve` once to create it",
            path.display()
        );
    }
    let mut secret = vec![0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    write_private(path, &hex::encode(&secret))
        .with_context(|| format!("writing the development secret {}", path.display()))?;
    Ok(secret)
}

#[cfg(unix)]
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// Loads the audit signing key, creating it (mode 0600) on first start when absent.
///
/// On PostgreSQL the key must be configured and exist: several replicas, or a fresh container,
/// would otherwise each mint a key of their own, and checkpoints and redaction HMACs would differ
/// between them.
/// The audit keys of an existing signing key file; never creates one (`audit rotate-key`).
pub fn audit_keys_existing(config: &Config) -> anyhow::Result<steward_service::audit::AuditKeys> {
    let path = config.audit_key_path();
    if !path.exists() {
        bail!(
            "the current audit signing key {} does not exist: nothing to rotate from",
            path.display()
        );
    }
    audit_keys(config)
}

pub fn audit_keys(config: &Config) -> anyhow::Result<steward_service::audit::AuditKeys> {
    let path = config.audit_key_path();
    if config.database_url.starts_with("postgres") {
        match &config.audit.signing_key_file {
            None => bail!(
                "audit.signing_key_file (STEWARD_AUDIT_SIGNING_KEY_FILE) must be set on PostgreSQL: every replica must sign with the same Ed25519 key; create one with `openssl genpkey -algorithm ed25519 -out audit-ed25519.pem` and give it to every replica"
            ),
            Some(p) if !p.exists() => bail!(
                "audit.signing_key_file {} does not exist; on PostgreSQL Steward does not create it (each replica would mint its own): create it once with `openssl genpkey -algorithm ed25519 -out {}`",
                p.display(),
                p.display()
            ),
            Some(_) => {}
        }
    }
    let key = if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading the audit signing key {}", path.display()))?;
        steward_audit::SigningKey::from_text(&text)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
    } else {
        let key = steward_audit::SigningKey::generate().map_err(|e| anyhow::anyhow!("{e}"))?;
        let pem = key.to_pem().map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        write_private(&path, &pem)
            .with_context(|| format!("writing the audit signing key {}", path.display()))?;
        tracing::warn!(key = %path.display(), "created a new audit signing key; keep it safe and back it up");
        key
    };
    let secret = redaction_path(&path);
    if !secret.exists() {
        return Ok(steward_service::audit::AuditKeys::new(key)?);
    }
    let text = std::fs::read_to_string(&secret)
        .with_context(|| format!("reading the redaction secret {}", secret.display()))?;
    let bytes = hex::decode(text.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{}: expected 64 hex digits (the redaction secret a key rotation kept)",
                secret.display()
            )
        })?;
    Ok(steward_service::audit::AuditKeys::with_redaction_secret(
        key, bytes,
    ))
}

/// Where the redaction secret kept across key rotations lives: beside the signing key
/// (`<key file>.redaction`). Absent, the secret is derived from the signing key itself.
pub fn redaction_path(key: &Path) -> PathBuf {
    let mut name = key.as_os_str().to_owned();
    name.push(".redaction");
    PathBuf::from(name)
}

pub fn auth_config(config: &Config, create_secret: bool) -> anyhow::Result<AuthConfig> {
    let keys = if let Some(url) = &config.auth.jwks_url {
        let source = JwksSource::new(
            url.clone(),
            Duration::from_secs(config.auth.jwks_refetch_cooldown_secs),
        )?;
        KeySource::Jwks(Arc::new(source))
    } else if let Some(pem) = &config.auth.public_key_pem {
        let bytes = std::fs::read(pem)
            .with_context(|| format!("reading the public key {}", pem.display()))?;
        KeySource::from_pem(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", pem.display()))?
    } else {
        KeySource::Hs256 {
            secret: dev_secret(&config.dev_secret_path(), create_secret)?,
        }
    };
    Ok(AuthConfig {
        issuer: config.auth.issuer.clone(),
        audience: config.auth.audience.clone(),
        leeway: config.leeway(),
        keys,
    })
}

/// Parses `30s`, `15m`, `1h`, `7d`: a whole number and a one-letter unit, at most 90 days.
pub fn parse_ttl(s: &str) -> anyhow::Result<Duration> {
    let expected = || format!("--ttl `{s}`: expected a number and a unit, such as 30m or 1h");
    let Some(unit) = s.chars().last() else {
        bail!("{}", expected());
    };
    let num = &s[..s.len() - unit.len_utf8()];
    let n: u64 = num.parse().with_context(expected)?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => bail!("--ttl `{s}`: the unit must be s, m, h or d"),
    };
    match n.checked_mul(scale) {
        Some(secs) if (1..=90 * 86_400).contains(&secs) => Ok(Duration::from_secs(secs)),
        _ => bail!("--ttl `{s}`: must be between 1 second and 90 days"),
    }
}

pub fn mint_token(
    config: &Config,
    tenant: &str,
    roles: &[String],
    sub: &str,
    ttl: &str,
) -> anyhow::Result<String> {
    if !config.is_dev_auth() {
        bail!(
            "this server verifies tokens from an identity provider (jwks_url or public_key_pem); `steward token` only works in development mode"
        );
    }
    let roles = roles
        .iter()
        .map(|r| r.parse::<Role>())
        .collect::<Result<Vec<_>, _>>()?;
    let auth = auth_config(config, false)?;
    Ok(mint_hs256(&auth, sub, tenant, &roles, parse_ttl(ttl)?)?)
}

/// Runs the server until SIGINT or SIGTERM: builds the [`Application`], seeds the demo data
/// when asked, prints where it listens, and finishes in-flight requests on shutdown.
pub async fn serve(mut config: Config, demo: bool) -> anyhow::Result<()> {
    // The demo replays two weeks of monitoring on a driven clock, then lets it follow real time.
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    if demo {
        // Its delivery targets are loopback receivers.
        config.outbox.allow_private_networks = true;
        // Its `/metrics` opens with a token of its own unless the operator configured one.
        let m = &mut config.metrics;
        if m.token.is_none() && m.token_file.is_none() && m.listen.is_none() {
            let mut bytes = [0u8; 16];
            rand::rng().fill_bytes(&mut bytes);
            m.token = Some(hex::encode(bytes));
        }
    }
    let metrics_token = config.metrics.token.clone();
    let app = if demo {
        Application::build_with_clock(config, Some(clock.clone())).await?
    } else {
        Application::build(config).await?
    };
    let addr = app.addr();
    println!("steward listening on http://{addr}");
    let mut demo_receivers = None;
    if demo {
        // The demo seeder works in two tenants, as the system.
        let token = tenancy::within(Tenancy::System, demo::seed(app.service()))
            .await
            .context("seeding demo data")?;
        let receivers = tenancy::within(Tenancy::System, crate::demo_outbox::start(app.service()))
            .await
            .context("starting the demo's loopback receivers")?;
        let receivers = Arc::new(receivers);
        spawn_replay(app.service().clone(), clock, Arc::clone(&receivers));
        println!("\nSteward is running at http://{addr}/graphql with demo data.");
        println!(
            "Web pages: open http://{addr}/ui/ in a browser and sign in with the token below;\n  the tenant's compliance report is at http://{addr}/ui/compliance (print it, or download CSV / JSON)."
        );
        println!(
            "A token for tenant `acme` (model_owner, governance_officer, policy_author, sre), valid 12 hours:\n"
        );
        println!("export STEWARD_TOKEN={token}\n");
        println!(
            "curl -s http://{addr}/graphql -H \"Authorization: Bearer $STEWARD_TOKEN\" -H 'Content-Type: application/json' \\\n  -d '{{\"query\":\"{{ modelByName(name: \\\"fraud-detector\\\") {{ name versions {{ nodes {{ version metrics {{ name value }} }} }} }} }}\"}}'\n"
        );
        println!(
            "Alerts are delivered to loopback stand-ins for Slack, PagerDuty and a signed webhook, retraining to one for Prefect (GET lists what each received):\n  {}\n  {}\n  {}\n  {}\n",
            receivers.slack.url(),
            receivers.pagerduty.url(),
            receivers.webhook.url(),
            receivers.prefect.url()
        );
        if let Some(t) = &metrics_token {
            println!(
                "Prometheus metrics (the fleet's drift, incidents, outbox, audit sizes, latencies):
  curl -s http://{addr}/metrics -H 'Authorization: Bearer {t}'
"
            );
        }
        demo_receivers = Some(receivers);
    }
    app.run_until(shutdown_signal()).await?;
    drop(demo_receivers);
    tracing::info!("steward stopped");
    Ok(())
}

/// Replays the demo's two weeks of monitoring in the background (the API answers meanwhile),
/// unless an earlier run did; then the clock follows real time.
fn spawn_replay(
    svc: Service,
    clock: Arc<ManualClock>,
    receivers: Arc<crate::demo_outbox::Receivers>,
) {
    tokio::spawn(tenancy::within(Tenancy::System, async move {
        let now = chrono::Utc::now();
        let result = crate::demo_monitoring::replay_once(&svc, &clock, now).await;
        clock.follow_system();
        match result {
            Ok(Some(done)) => println!(
                "demo: replayed two weeks of the fraud model's traffic and labels ({} uploads, {} windows evaluated); see incidents, windows and pendingActions",
                done.batches, done.windows
            ),
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "demo replay failed");
                return;
            }
        }
        // The retraining the replay decided goes out now (the relay loop would, within its
        // interval); then the demo plays the flow run's part and closes the loop.
        let closed = async {
            while svc.run_relay_pass().await?.claimed > 0 {}
            crate::demo_outbox::close_loop(&svc, &receivers).await
        };
        match closed.await {
            Ok(Some(v)) => println!(
                "demo: the EU retraining ran (played by the demo) and registered candidate version {v}; see lineage(nodeId: \"{v}\", direction: UPSTREAM)"
            ),
            Ok(None) => {}
            Err(e) => tracing::error!(error = format!("{e:#}"), "demo loop closing failed"),
        }
        // The deployments: a canary of version 3 rolled back after the EU incident, and an
        // approved promotion of the churn model; each change delivered to its target.
        let deployed = async {
            let played = crate::demo_deploy::play(&svc).await?;
            while svc.run_relay_pass().await?.claimed > 0 {}
            anyhow::Ok(played)
        };
        match deployed.await {
            Ok(Some(e)) => println!(
                "demo: fraud-detector-prod ran version 3 as a 10% canary and was rolled back to version 2 after the EU incident (KServe stand-in: {}); see rollbacks(endpointId: \"{e}\") and promotionRequests",
                receivers.kserve.url()
            ),
            Ok(None) => {}
            Err(e) => tracing::error!(error = format!("{e:#}"), "demo deployments failed"),
        }
        // OpenLineage: Airflow's feature job and the churn model's training run, reported as
        // events; the churn model's version 3 gets its lineage from them.
        match crate::demo_lineage::play(&svc).await {
            Ok(Some(v)) => println!(
                "demo: Airflow reported OpenLineage events; churn-predictor version 3 was trained from the warehouse tables by train_churn.fit; see lineage(nodeId: \"{v}\", direction: UPSTREAM) and GET /api/v1/lineage?nodeId=job:airflow-prod:train_churn.fit"
            ),
            Ok(None) => {}
            Err(e) => tracing::error!(error = format!("{e:#}"), "demo lineage failed"),
        }
    }));
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_units() {
        assert_eq!(parse_ttl("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_ttl("2h").unwrap(), Duration::from_secs(7200));
        for bad in [
            "",
            "h",
            "1y",
            "-1h",
            "0m",
            "1000d",
            "1µ",
            "µ",
            "99999999999d",
            "18446744073709551615s",
            "184467440737095516150s",
        ] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn postgres_refuses_to_mint_an_audit_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            database_url: "postgres://u:p@127.0.0.1/steward".into(),
            ..Config::default()
        };
        let err = audit_keys(&config).err().unwrap().to_string();
        assert!(err.contains("audit.signing_key_file"), "{err}");
        let missing = dir.path().join("audit.pem");
        config.audit.signing_key_file = Some(missing.clone());
        let err = audit_keys(&config).err().unwrap().to_string();
        assert!(err.contains("does not exist"), "{err}");
        assert!(!missing.exists(), "no key may be created on PostgreSQL");
        // A key that exists (here made by SQLite-mode start-up) is used.
        let sqlite = Config {
            database_url: format!("sqlite://{}/s.db?mode=rwc", dir.path().display()),
            ..Config::default()
        };
        audit_keys(&sqlite).unwrap();
        config.audit.signing_key_file = Some(sqlite.audit_key_path());
        assert!(audit_keys(&config).is_ok());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite://steward.db"), "sqlite://steward.db");
    }
}
