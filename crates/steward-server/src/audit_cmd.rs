//! `steward audit verify`: checks an exported audit bundle offline, with no server and no
//! database: the events' hashes against the signed checkpoint, the signature by a key the
//! auditor trusts, and consistency with an earlier checkpoint the auditor kept.
//! `steward audit public-key`: prints the public half of the server's signing key, for the
//! operator to hand to auditors.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::json;
use steward_audit::{
    PublicKey, SignedCheckpoint, Trust, VerifiedSummary, VerifyOptions, verify_bundle_with_progress,
};

use crate::cli::{OutputFormat, Progress, print_json};

#[derive(clap::Subcommand, Clone)]
pub enum AuditCommand {
    /// Verify an export bundle (from GET /v1/audit/export).
    Verify {
        /// The bundle file.
        bundle: PathBuf,
        /// An earlier checkpoint (the `signed` JSON of auditCheckpoint, or an earlier bundle):
        /// the log must have only grown since.
        #[arg(long)]
        previous_checkpoint: Option<PathBuf>,
        /// The public key to trust (PEM or base64), as printed by `steward audit public-key`
        /// on the server.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Accept the key the bundle carries. It proves only that the bundle is consistent with
        /// itself (anyone can re-sign a forged bundle): compare the printed key id yourself.
        #[arg(long, conflicts_with = "key")]
        trust_bundle_key: bool,
        /// Also check that every event is schema-valid, canonical JSON (slower).
        #[arg(long)]
        strict: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Print the audit log's public key (PEM) for auditors: the server operator runs this where
    /// the signing key lives and hands the output over out of band.
    PublicKey {
        /// The signing key file (default: `audit.signing_key_file` of the configuration, or the
        /// file beside the SQLite database).
        #[arg(long)]
        signing_key_file: Option<PathBuf>,
        /// Output format (`json`: `{"pem", "keyId"}`).
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
    /// Hand the audit log over to a new signing key: the current key (from the configuration)
    /// signs a statement naming the new one, recorded in the database and carried in every
    /// export, so auditors who trust the current key accept bundles the new key signs. Then set
    /// `audit.signing_key_file` to the new key and restart every replica.
    RotateKey {
        /// The new Ed25519 key (PEM; `openssl genpkey -algorithm ed25519 -out new.pem`).
        #[arg(long)]
        new_key: PathBuf,
        /// Output format (`json`: `{"from", "to", "redactionSecret"}`).
        #[arg(long, value_enum, default_value_t)]
        format: OutputFormat,
    },
}

impl AuditCommand {
    /// Whether the command needs the configuration's database (it runs in the async runtime).
    pub fn needs_database(&self) -> bool {
        matches!(self, AuditCommand::RotateKey { .. })
    }
}

/// `steward audit rotate-key`: signs the hand-over with the current key, keeps the redaction
/// secret beside the new key (`<new>.redaction`, so values redacted before and after hash
/// alike), then records the statement. Refuses a key already rotated away from.
pub async fn rotate_key(
    config: &steward_server::config::Config,
    new_key: &Path,
    format: OutputFormat,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let current = steward_server::startup::audit_keys_existing(config)?;
    let text = std::fs::read_to_string(new_key)
        .with_context(|| format!("reading the new key {}", new_key.display()))?;
    let next = steward_audit::SigningKey::from_text(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", new_key.display()))?;
    let now = chrono::Utc::now();
    let rotation = steward_audit::KeyRotation::sign(
        current.signing_key(),
        &next.public_key(),
        steward_audit::AuditTime::from_datetime(now),
    )?;
    let secret_path = steward_server::startup::redaction_path(new_key);
    let secret = hex::encode(current.redaction_secret());
    match std::fs::read_to_string(&secret_path) {
        Ok(existing) if existing.trim() == secret => {}
        Ok(_) => anyhow::bail!(
            "{} exists and holds another redaction secret; remove it if it is stale",
            secret_path.display()
        ),
        Err(_) => steward_server::startup::write_private(&secret_path, &format!("{secret}\n"))
            .with_context(|| format!("writing {}", secret_path.display()))?,
    }
    steward_server::startup::migrate(config).await?;
    let store = steward_server::startup::open_store(config).await?;
    let who = std::env::var("USER").unwrap_or_else(|_| "operator".into());
    store
        .record_key_rotation(&rotation, &format!("cli:{who}"), now)
        .await?;
    let (from, to) = (rotation.from_key_id.clone(), next.public_key().key_id());
    match format {
        OutputFormat::Json => print_json(&json!({"from": from, "to": to,
            "redactionSecret": secret_path.display().to_string()})),
        OutputFormat::Text => {
            println!(
                "key {from} hands over to key {to}; the statement is recorded and exports carry it."
            );
            println!(
                "The redaction secret is kept in {} (keep it with the new key).",
                secret_path.display()
            );
            println!(
                "Now set audit.signing_key_file to {} and restart every replica.",
                new_key.display()
            );
        }
    }
    Ok(())
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

/// A checkpoint file holds one signed checkpoint, or is a bundle whose last line is one.
fn previous(path: &Path) -> Result<SignedCheckpoint, String> {
    let bytes = read(path, "checkpoint")?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))?;
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    SignedCheckpoint::from_json(line)
        .map_err(|e| format!("{}: not a signed checkpoint: {e}", path.display()))
}

/// Runs an audit command; `default_key_file` resolves the configured signing key file.
pub fn run(
    cmd: AuditCommand,
    default_key_file: impl FnOnce() -> anyhow::Result<PathBuf>,
) -> ExitCode {
    match cmd {
        // main() sends it to `rotate_key` in the async runtime (`needs_database`).
        AuditCommand::RotateKey { .. } => {
            eprintln!("error: `audit rotate-key` needs the configuration's database");
            ExitCode::from(2)
        }
        AuditCommand::Verify {
            bundle,
            previous_checkpoint,
            key,
            trust_bundle_key,
            strict,
            format,
        } => verify(
            &bundle,
            previous_checkpoint,
            key,
            (trust_bundle_key, strict),
            format,
        ),
        AuditCommand::PublicKey {
            signing_key_file,
            format,
        } => match public_key(signing_key_file, default_key_file) {
            Ok((pem, id)) if format == OutputFormat::Json => {
                print_json(&json!({"pem": pem, "keyId": id}));
                ExitCode::SUCCESS
            }
            Ok((pem, id)) => {
                print!("{pem}");
                eprintln!("key id {id}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
    }
}

/// The PEM and key id of the signing key's public half. Never creates a key.
fn public_key(
    file: Option<PathBuf>,
    default_key_file: impl FnOnce() -> anyhow::Result<PathBuf>,
) -> anyhow::Result<(String, String)> {
    let path = match file {
        Some(p) => p,
        None => default_key_file()?,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read the audit signing key {}: {e} (the server creates it on first start; give --signing-key-file)",
            path.display()
        )
    })?;
    let key = steward_audit::SigningKey::from_text(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        .public_key();
    let pem = key.to_pem().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((pem, key.key_id()))
}

fn verify(
    bundle: &Path,
    previous_checkpoint: Option<PathBuf>,
    key: Option<PathBuf>,
    (trust_bundle_key, strict): (bool, bool),
    format: OutputFormat,
) -> ExitCode {
    let setup = || -> Result<(Vec<u8>, VerifyOptions), String> {
        let bytes = read(bundle, "bundle")?;
        let previous = previous_checkpoint.as_deref().map(previous).transpose()?;
        let trusted_key = match key {
            Some(k) => {
                let text = String::from_utf8(read(&k, "key")?)
                    .map_err(|_| format!("{}: not text", k.display()))?;
                Some(PublicKey::from_text(&text).map_err(|e| format!("{}: {e}", k.display()))?)
            }
            None => None,
        };
        Ok((
            bytes,
            VerifyOptions {
                previous,
                trusted_key,
                trust_bundle_key,
                strict_events: strict,
            },
        ))
    };
    let (bytes, options) = match setup() {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let progress = Progress::bar(0, "verifying events");
    let result = verify_bundle_with_progress(&bytes, &options, &mut |done, total| {
        progress.len(total);
        progress.set(done);
    });
    drop(progress);
    match (result, format) {
        (Ok(s), OutputFormat::Json) => {
            print_json(&summary_json(&s));
            ExitCode::SUCCESS
        }
        (Err(e), OutputFormat::Json) => {
            print_json(&json!({"ok": false, "error": e.to_string()}));
            ExitCode::from(1)
        }
        (Ok(s), OutputFormat::Text) => {
            println!(
                "OK: {} events (seq {}..{}) of tenant {} ({}) verify against the checkpoint of size {} signed by key {}{}",
                s.event_count,
                s.first_seq,
                s.first_seq + s.event_count,
                s.tenant.slug,
                s.tenant.id,
                s.tree_size,
                s.key_id,
                match s.trust {
                    Trust::TrustedKey => " (the trusted key)".to_string(),
                    Trust::RotatedKey => format!(
                        " (rotated from the trusted key: {})",
                        s.key_chain.join(" -> ")
                    ),
                    Trust::PreviousCheckpoint => " (the key of your earlier checkpoint)".into(),
                    Trust::BundleKey =>
                        " (the bundle's own key, taken on trust: compare its id with the one you expect)"
                            .into(),
                }
            );
            println!("root {} at {}", s.root_hash.to_hex(), s.timestamp.as_str());
            if let Some(n) = s.consistent_with {
                println!("consistent with the previous checkpoint of size {n}: the log only grew");
            }
            ExitCode::SUCCESS
        }
        (Err(e), OutputFormat::Text) => {
            println!("FAILED: {e}");
            ExitCode::from(1)
        }
    }
}

/// A verified bundle's summary as JSON.
fn summary_json(s: &VerifiedSummary) -> serde_json::Value {
    let trust = match s.trust {
        Trust::TrustedKey => "trusted_key",
        Trust::PreviousCheckpoint => "previous_checkpoint",
        Trust::BundleKey => "bundle_key",
        Trust::RotatedKey => "rotated_key",
    };
    json!({
        "ok": true,
        "tenant": {"slug": s.tenant.slug, "id": s.tenant.id},
        "firstSeq": s.first_seq,
        "eventCount": s.event_count,
        "treeSize": s.tree_size,
        "rootHash": s.root_hash.to_hex(),
        "timestamp": s.timestamp.as_str(),
        "keyId": s.key_id,
        "trust": trust,
        "keyChain": s.key_chain,
        "consistentWith": s.consistent_with,
    })
}
