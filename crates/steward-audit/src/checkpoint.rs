//! Signed checkpoints: a tenant tree's size and root at a moment, signed with Ed25519, and the
//! key handling around them (generation, PEM/base64 configuration, public-key export).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::event::AuditTime;
use crate::hash::Hash;

/// First line of every signed message: separates checkpoint signatures from anything else the
/// same key could ever sign.
pub const CHECKPOINT_TAG: &str = "steward-audit-checkpoint/v1";

/// Why a key or checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("invalid key: {0}")]
    Key(String),
    #[error("the operating system gave no randomness for a new key: {0}")]
    Random(String),
    #[error("invalid checkpoint: {0}")]
    Malformed(String),
    #[error("checkpoint was signed by key {found}, expected key {expected}")]
    WrongKey { expected: String, found: String },
    #[error("checkpoint signature invalid")]
    BadSignature,
}

/// The origin of a tenant's log: `steward/<tenant slug>`.
pub fn origin_for(tenant_slug: &str) -> String {
    format!("steward/{tenant_slug}")
}

/// The tree head a checkpoint commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// `steward/<tenant slug>`: which log this is.
    pub origin: String,
    pub tree_size: u64,
    pub root_hash: Hash,
    pub timestamp: AuditTime,
}

impl Checkpoint {
    /// The exact bytes that are signed, five lines each ending in `\n`:
    ///
    /// ```text
    /// steward-audit-checkpoint/v1
    /// <origin>
    /// <tree size, decimal>
    /// <root hash, 64 lowercase hex digits>
    /// <timestamp, RFC 3339 UTC with 6 fractional digits>
    /// ```
    ///
    /// Plain text so an auditor can rebuild it with `printf` and check it with `openssl`.
    pub fn signed_message(&self) -> Result<Vec<u8>, CheckpointError> {
        if self.origin.is_empty() || self.origin.chars().any(char::is_control) {
            return Err(CheckpointError::Malformed(
                "origin must be non-empty printable text".into(),
            ));
        }
        Ok(format!(
            "{CHECKPOINT_TAG}\n{}\n{}\n{}\n{}\n",
            self.origin,
            self.tree_size,
            self.root_hash.to_hex(),
            self.timestamp
        )
        .into_bytes())
    }
}

/// An Ed25519 public key, the one an auditor trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PublicKey {
    /// Reads a key as PEM (`-----BEGIN PUBLIC KEY-----`, what `openssl pkey -pubout` writes),
    /// base64 or hex of the 32 raw bytes.
    pub fn from_text(text: &str) -> Result<Self, CheckpointError> {
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            return ed25519_dalek::VerifyingKey::from_public_key_pem(text)
                .map(Self)
                .map_err(|e| CheckpointError::Key(e.to_string()));
        }
        let bytes = decode_32(text)?;
        ed25519_dalek::VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|e| CheckpointError::Key(e.to_string()))
    }

    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Base64 (standard, padded) of the 32 raw bytes: the form in bundles.
    pub fn to_base64(&self) -> String {
        B64.encode(self.0.to_bytes())
    }

    /// SubjectPublicKeyInfo PEM, readable by `openssl`.
    pub fn to_pem(&self) -> Result<String, CheckpointError> {
        self.0
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| CheckpointError::Key(e.to_string()))
    }

    /// Short fingerprint: the first 16 hex digits of SHA-256 of the raw key. Names the key in
    /// checkpoints and lets people compare keys by eye.
    pub fn key_id(&self) -> String {
        hex::encode(&Sha256::digest(self.0.to_bytes())[..8])
    }

    /// Checks an Ed25519 signature over `message` (strictly: no small-order keys, no
    /// malleable signatures).
    pub(crate) fn verify_message(&self, message: &[u8], signature: &Signature) -> bool {
        self.0.verify_strict(message, signature).is_ok()
    }

    /// Checks a checkpoint's key id and signature.
    pub fn verify(&self, signed: &SignedCheckpoint) -> Result<(), CheckpointError> {
        if signed.key_id != self.key_id() {
            return Err(CheckpointError::WrongKey {
                expected: self.key_id(),
                found: signed.key_id.clone(),
            });
        }
        let message = signed.checkpoint.signed_message()?;
        // verify_strict refuses small-order keys and malleable signatures.
        self.0
            .verify_strict(&message, &signed.signature)
            .map_err(|_| CheckpointError::BadSignature)
    }
}

fn decode_32(text: &str) -> Result<[u8; 32], CheckpointError> {
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(text).map_err(|e| CheckpointError::Key(e.to_string()))?
    } else {
        B64.decode(text)
            .map_err(|e| CheckpointError::Key(format!("neither PEM, hex nor base64: {e}")))?
    };
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| CheckpointError::Key(format!("expected 32 bytes, got {}", bytes.len())))
}

/// The server's Ed25519 signing key. Its `Debug` shows only the key id.
#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.public_key().key_id())
    }
}

impl SigningKey {
    /// A fresh key from the operating system's randomness (first start in development).
    pub fn generate() -> Result<Self, CheckpointError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| CheckpointError::Random(e.to_string()))?;
        Ok(Self::from_seed(seed))
    }

    /// The key of a 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// Reads a key from configuration: PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`, what
    /// `openssl genpkey -algorithm ed25519` writes), or base64 or hex of the 32-byte seed.
    pub fn from_text(text: &str) -> Result<Self, CheckpointError> {
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            return ed25519_dalek::SigningKey::from_pkcs8_pem(text)
                .map(Self)
                .map_err(|e| CheckpointError::Key(e.to_string()));
        }
        decode_32(text).map(Self::from_seed)
    }

    /// PKCS#8 PEM of the key, for writing a generated key to a file.
    pub fn to_pem(&self) -> Result<String, CheckpointError> {
        self.0
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|e| CheckpointError::Key(e.to_string()))
    }

    /// The public half, served by the API and written into bundles.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `message` as it is (the caller's message carries its own domain tag).
    pub(crate) fn sign_message(&self, message: &[u8]) -> Signature {
        self.0.sign(message)
    }

    /// Signs a checkpoint.
    pub fn sign(&self, checkpoint: Checkpoint) -> Result<SignedCheckpoint, CheckpointError> {
        let signature = self.0.sign(&checkpoint.signed_message()?);
        Ok(SignedCheckpoint {
            checkpoint,
            key_id: self.public_key().key_id(),
            signature,
        })
    }
}

/// A checkpoint with its signature. Its JSON form is one object:
/// `{"key_id", "origin", "root_hash", "signature", "timestamp", "tree_size"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "Wire", try_from = "Wire")]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    pub key_id: String,
    pub signature: Signature,
}

impl SignedCheckpoint {
    /// The JSON text of the checkpoint (canonical: keys sorted, no spaces).
    pub fn to_json(&self) -> String {
        let wire = Wire::from(self.clone());
        // Every field is a string or a safe integer, so key-sorted compact JSON is already RFC
        // 8785; serde_json writes struct fields in declaration order, which is sorted.
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// Parses the JSON form.
    pub fn from_json(text: &str) -> Result<Self, CheckpointError> {
        serde_json::from_str(text).map_err(|e| CheckpointError::Malformed(e.to_string()))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    key_id: String,
    origin: String,
    root_hash: Hash,
    signature: String,
    timestamp: AuditTime,
    tree_size: u64,
}

impl From<SignedCheckpoint> for Wire {
    fn from(s: SignedCheckpoint) -> Self {
        Wire {
            key_id: s.key_id,
            origin: s.checkpoint.origin,
            root_hash: s.checkpoint.root_hash,
            signature: B64.encode(s.signature.to_bytes()),
            timestamp: s.checkpoint.timestamp,
            tree_size: s.checkpoint.tree_size,
        }
    }
}

impl TryFrom<Wire> for SignedCheckpoint {
    type Error = CheckpointError;

    fn try_from(w: Wire) -> Result<Self, Self::Error> {
        let raw = B64
            .decode(&w.signature)
            .map_err(|e| CheckpointError::Malformed(format!("signature is not base64: {e}")))?;
        let bytes = <[u8; 64]>::try_from(raw.as_slice()).map_err(|_| {
            CheckpointError::Malformed(format!("signature must be 64 bytes, got {}", raw.len()))
        })?;
        Ok(SignedCheckpoint {
            checkpoint: Checkpoint {
                origin: w.origin,
                tree_size: w.tree_size,
                root_hash: w.root_hash,
                timestamp: w.timestamp,
            },
            key_id: w.key_id,
            signature: Signature::from_bytes(&bytes),
        })
    }
}
