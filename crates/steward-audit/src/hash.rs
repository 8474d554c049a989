//! SHA-256 hashes with the RFC 6962 domain separation between leaves and interior nodes.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// Length in bytes of every hash in the log.
pub const HASH_LEN: usize = 32;

/// A SHA-256 digest: a leaf hash, an interior node hash or a tree root.
///
/// Serialised as 64 lowercase hex digits, the form used in bundles, checkpoints and the API.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; HASH_LEN]);

/// A string that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a SHA-256 hash: expected 64 hex digits")]
pub struct HashParseError;

impl Hash {
    /// The bytes of the digest.
    pub fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }

    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<Self, HashParseError> {
        let mut out = [0u8; HASH_LEN];
        hex::decode_to_slice(text, &mut out).map_err(|_| HashParseError)?;
        Ok(Self(out))
    }

    /// Builds a hash from a byte slice of exactly 32 bytes (for example a database column).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HashParseError> {
        <[u8; HASH_LEN]>::try_from(bytes)
            .map(Self)
            .map_err(|_| HashParseError)
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Hash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Hash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Hash::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// Leaf hash of RFC 6962 section 2.1: `SHA-256(0x00 || bytes)`.
///
/// `bytes` are the canonical (RFC 8785) bytes of one event, exactly as stored and exported.
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(bytes);
    Hash(hasher.finalize().into())
}

/// Interior node hash of RFC 6962 section 2.1: `SHA-256(0x01 || left || right)`.
///
/// The distinct prefixes keep a leaf from ever being read as an interior node (second-preimage
/// attacks on the tree shape).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 1 + 2 * HASH_LEN];
    buf[0] = 0x01;
    buf[1..1 + HASH_LEN].copy_from_slice(&left.0);
    buf[1 + HASH_LEN..].copy_from_slice(&right.0);
    Hash(Sha256::digest(buf).into())
}

/// Root of the empty tree: `SHA-256("")`, as RFC 6962 defines it.
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}
