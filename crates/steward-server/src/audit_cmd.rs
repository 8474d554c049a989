//! `steward audit verify`: checks an exported audit bundle offline, with no server and no
//! database: the events' hashes against the signed checkpoint, the signature, and consistency
//! with an earlier checkpoint the auditor kept.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use steward_audit::{PublicKey, SignedCheckpoint, VerifyOptions, verify_bundle};

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Verify an export bundle (from GET /v1/audit/export).
    Verify {
        /// The bundle file.
        bundle: PathBuf,
        /// An earlier checkpoint (the `signed` JSON of auditCheckpoint, or an earlier bundle):
        /// the log must have only grown since.
        #[arg(long)]
        previous_checkpoint: Option<PathBuf>,
        /// The public key to trust (PEM or base64), instead of the one the bundle carries.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Also check that every event is schema-valid, canonical JSON (slower).
        #[arg(long)]
        strict: bool,
    },
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

pub fn run(cmd: AuditCommand) -> ExitCode {
    let AuditCommand::Verify {
        bundle,
        previous_checkpoint,
        key,
        strict,
    } = cmd;
    let setup = || -> Result<(Vec<u8>, VerifyOptions), String> {
        let bytes = read(&bundle, "bundle")?;
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
    match verify_bundle(&bytes, &options) {
        Ok(s) => {
            println!(
                "OK: {} events (seq {}..{}) of tenant {} ({}) verify against the checkpoint of size {} signed by key {}{}",
                s.event_count,
                s.first_seq,
                s.first_seq + s.event_count,
                s.tenant.slug,
                s.tenant.id,
                s.tree_size,
                s.key_id,
                if s.key_trusted {
                    " (trusted key)"
                } else {
                    " (key carried by the bundle: compare its id with the one you expect)"
                }
            );
            println!("root {} at {}", s.root_hash.to_hex(), s.timestamp.as_str());
            if let Some(n) = s.consistent_with {
                println!("consistent with the previous checkpoint of size {n}: the log only grew");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("FAILED: {e}");
            ExitCode::from(1)
        }
    }
}
