//! Signing-key rotation: a statement, signed by the outgoing key, that names the key taking its
//! place. Bundles carry every statement the server holds, so an auditor who trusts the first key
//! follows the chain to the key that signed the bundle without being handed each new key; and a
//! checkpoint signed before a rotation stays verifiable with the key that signed it.
//!
//! The signed message is plain text, five lines each ending in `\n`:
//!
//! ```text
//! steward-audit-key-rotation/v1
//! <outgoing key id>
//! <incoming public key, base64 of its 32 bytes>
//! <timestamp, RFC 3339 UTC with 6 fractional digits>
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::Signature;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{PublicKey, SigningKey};
use crate::event::AuditTime;

/// First line of every rotation statement: keeps its signatures apart from checkpoints'.
pub const ROTATION_TAG: &str = "steward-audit-key-rotation/v1";

/// One rotation, as bundles carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRotation {
    /// The outgoing key's id; it signed this statement.
    pub from_key_id: String,
    /// The incoming key, base64 of its 32 bytes.
    pub to_public_key: String,
    pub timestamp: AuditTime,
    /// Base64 of the Ed25519 signature over [`KeyRotation::signed_message`].
    pub signature: String,
}

/// Why a rotation statement or chain was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RotationError {
    #[error("the incoming key is the outgoing key {0}")]
    SameKey(String),
    #[error("rotation from key {from}: {why}")]
    Malformed { from: String, why: String },
    #[error("rotation from key {0}: the signature does not verify with that key")]
    BadSignature(String),
    #[error(
        "no chain of rotations leads from the trusted key {trusted} to the signing key {signer}"
    )]
    NoChain { trusted: String, signer: String },
}

impl KeyRotation {
    /// `from` hands over to `to` at `at`.
    pub fn sign(from: &SigningKey, to: &PublicKey, at: AuditTime) -> Result<Self, RotationError> {
        let from_key_id = from.public_key().key_id();
        if from_key_id == to.key_id() {
            return Err(RotationError::SameKey(from_key_id));
        }
        let mut r = KeyRotation {
            from_key_id,
            to_public_key: to.to_base64(),
            timestamp: at,
            signature: String::new(),
        };
        r.signature = B64.encode(from.sign_message(&r.signed_message()).to_bytes());
        Ok(r)
    }

    /// The exact bytes the outgoing key signs.
    pub fn signed_message(&self) -> Vec<u8> {
        format!(
            "{ROTATION_TAG}\n{}\n{}\n{}\n",
            self.from_key_id, self.to_public_key, self.timestamp
        )
        .into_bytes()
    }

    /// The incoming key.
    pub fn to_key(&self) -> Result<PublicKey, RotationError> {
        PublicKey::from_text(&self.to_public_key).map_err(|e| self.malformed(e.to_string()))
    }

    fn malformed(&self, why: String) -> RotationError {
        RotationError::Malformed {
            from: self.from_key_id.clone(),
            why,
        }
    }

    /// Checks the statement against the outgoing key `from`.
    pub fn verify(&self, from: &PublicKey) -> Result<PublicKey, RotationError> {
        if from.key_id() != self.from_key_id {
            return Err(self.malformed(format!(
                "names key {}, not {}",
                self.from_key_id,
                from.key_id()
            )));
        }
        let bytes = B64
            .decode(&self.signature)
            .map_err(|e| self.malformed(format!("signature is not base64: {e}")))?;
        let signature =
            Signature::from_slice(&bytes).map_err(|e| self.malformed(format!("signature: {e}")))?;
        if !from.verify_message(&self.signed_message(), &signature) {
            return Err(RotationError::BadSignature(self.from_key_id.clone()));
        }
        self.to_key()
    }
}

/// Follows `rotations` from `trusted` to `signer`: the ids of the keys passed through, `trusted`
/// first and `signer` last (just `[trusted]` when they are the same key). Every statement on
/// the path must verify with the key before it; statements off the path are ignored.
pub fn follow_chain(
    trusted: &PublicKey,
    rotations: &[KeyRotation],
    signer: &PublicKey,
) -> Result<Vec<String>, RotationError> {
    let mut current = *trusted;
    let mut path = vec![current.key_id()];
    // Each step moves to a new key; more steps than statements would mean a cycle.
    for _ in 0..=rotations.len() {
        if current == *signer {
            return Ok(path);
        }
        let Some(next) = rotations.iter().find(|r| r.from_key_id == current.key_id()) else {
            break;
        };
        current = next.verify(&current)?;
        path.push(current.key_id());
    }
    Err(RotationError::NoChain {
        trusted: trusted.key_id(),
        signer: signer.key_id(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> AuditTime {
        AuditTime::parse("2026-12-07T12:00:00.000000Z").unwrap()
    }

    #[test]
    fn a_chain_of_rotations_leads_from_the_first_key_to_the_current_one() {
        let (a, b, c) = (
            SigningKey::from_seed([1; 32]),
            SigningKey::from_seed([2; 32]),
            SigningKey::from_seed([3; 32]),
        );
        let ab = KeyRotation::sign(&a, &b.public_key(), at()).unwrap();
        let bc = KeyRotation::sign(&b, &c.public_key(), at()).unwrap();
        let chain = [bc.clone(), ab.clone()];
        let path = follow_chain(&a.public_key(), &chain, &c.public_key()).unwrap();
        assert_eq!(path, [&a, &b, &c].map(|k| k.public_key().key_id()).to_vec());
        assert_eq!(
            follow_chain(&c.public_key(), &chain, &c.public_key()).unwrap(),
            vec![c.public_key().key_id()]
        );
        // Backwards is no chain: a newer key does not vouch for an older one.
        assert!(matches!(
            follow_chain(&c.public_key(), &chain, &a.public_key()),
            Err(RotationError::NoChain { .. })
        ));
    }

    #[test]
    fn a_forged_or_altered_statement_breaks_the_chain() {
        let (a, b, mallory) = (
            SigningKey::from_seed([1; 32]),
            SigningKey::from_seed([2; 32]),
            SigningKey::from_seed([9; 32]),
        );
        // Mallory signs "a hands over to mallory" with her own key.
        let mut forged = KeyRotation::sign(&mallory, &b.public_key(), at()).unwrap();
        forged.from_key_id = a.public_key().key_id();
        forged.to_public_key = mallory.public_key().to_base64();
        assert!(matches!(
            follow_chain(&a.public_key(), &[forged], &mallory.public_key()),
            Err(RotationError::BadSignature(_))
        ));
        // A genuine statement with its incoming key swapped.
        let mut altered = KeyRotation::sign(&a, &b.public_key(), at()).unwrap();
        altered.to_public_key = mallory.public_key().to_base64();
        assert!(matches!(
            follow_chain(&a.public_key(), &[altered], &mallory.public_key()),
            Err(RotationError::BadSignature(_))
        ));
        assert!(matches!(
            KeyRotation::sign(&a, &a.public_key(), at()),
            Err(RotationError::SameKey(_))
        ));
    }
}
