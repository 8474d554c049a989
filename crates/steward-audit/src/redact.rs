//! Redaction of sensitive payload values by keyed hashes (HMAC-SHA256 with a per-tenant key):
//! secrets never reach the log in clear, yet an auditor who holds a value can prove it was the
//! one recorded. A value is sensitive when its key names a secret, when a JSON Pointer marks
//! it personal, or when it looks like a secret whatever its key: credentials in a URL, a PEM
//! private key, a JWT, a bearer or basic credential, or a token with a well-known issuer prefix.

use std::sync::LazyLock;

use hmac::{Hmac, Mac};
use regex::RegexSet;
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::jcs::{self, JcsError};

type HmacSha256 = Hmac<Sha256>;

/// The single key of the object that replaces a redacted value.
pub const REDACTED_KEY: &str = "hmac-sha256";

/// Key names (matched word by word, see [`Redactor::with_key_names`]) redacted by default.
pub const DEFAULT_KEY_NAMES: &[&str] = &[
    "secret",
    "token",
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "apikey",
    "api_key",
    "credential",
    "credentials",
    "authorization",
    "bearer",
    "cookie",
    "private_key",
    "signing_key",
    "access_key",
    "dsn",
    "connection_string",
];

/// Shapes of secret values, redacted under any key (ASCII patterns; a string matching one is
/// replaced whole). Each is specific enough not to catch ordinary names, URIs or digests.
pub const SECRET_VALUE_PATTERNS: &[(&str, &str)] = &[
    (
        "credentials in a URL",
        r"[A-Za-z][A-Za-z0-9+.-]*://[^/\s@:]*:[^/\s@]+@",
    ),
    (
        "PEM private key",
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----",
    ),
    (
        "JWT",
        r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
    ),
    (
        "bearer or basic credential",
        r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{16,}",
    ),
    (
        "issuer-prefixed token",
        r"\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|xox[abposr]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20,}|sk-[A-Za-z0-9_-]{20,}|[rs]k_live_[A-Za-z0-9]{16,}|A[KS]IA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35})\b",
    ),
    (
        "Slack webhook URL",
        r"hooks\.slack\.com/(services|workflows|triggers)/",
    ),
];

static SECRET_VALUES: LazyLock<RegexSet> = LazyLock::new(|| {
    match RegexSet::new(SECRET_VALUE_PATTERNS.iter().map(|(_, p)| *p)) {
        Ok(set) => set,
        // The patterns are constants, compiled in a unit test.
        Err(e) => unreachable!("secret value patterns: {e}"),
    }
});

/// True when `s` contains a secret-shaped value; see [`SECRET_VALUE_PATTERNS`].
pub fn looks_secret(s: &str) -> bool {
    // The shortest pattern match is longer than this; most payload strings are skipped here.
    s.len() >= 16 && SECRET_VALUES.is_match(s)
}

/// A tenant's redaction key, 32 bytes.
///
/// Derive it from the server's master secret so no per-tenant secret has to be stored; hand it
/// to a tenant's auditor out of band when they need to check values.
#[derive(Clone, PartialEq, Eq)]
pub struct RedactionKey([u8; 32]);

impl std::fmt::Debug for RedactionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedactionKey(..)")
    }
}

impl RedactionKey {
    /// Uses the given bytes as the key.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// `HMAC-SHA256(master, "steward-audit-redaction/v1" || 0x00 || tenant_id)`: one key per
    /// tenant, so equal secrets of two tenants give unrelated hashes.
    pub fn derive(master: &[u8], tenant_id: &str) -> Self {
        let mut mac = mac_with(master);
        mac.update(b"steward-audit-redaction/v1\0");
        mac.update(tenant_id.as_bytes());
        Self(mac.finalize().into_bytes().into())
    }

    /// The key bytes, for handing to an auditor.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

fn mac_with(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length (RFC 2104), so this constructor has no failing input.
    match <HmacSha256 as Mac>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    }
}

/// Replaces sensitive values in event payloads by `{"hmac-sha256": "<hex>"}`.
///
/// The HMAC input is the UTF-8 of the value when it is a string, and its RFC 8785 canonical
/// JSON otherwise (numbers, objects, arrays, booleans).
#[derive(Debug, Clone)]
pub struct Redactor {
    key: RedactionKey,
    key_names: Vec<String>,
    pointers: Vec<Vec<String>>,
}

impl Redactor {
    /// A redactor with the [`DEFAULT_KEY_NAMES`] and no personal fields.
    pub fn new(key: RedactionKey) -> Self {
        Self {
            key,
            key_names: DEFAULT_KEY_NAMES.iter().map(|s| s.to_string()).collect(),
            pointers: Vec::new(),
        }
    }

    /// Adds key names. A key matches when one of its words (split at `_`, `-`, `.`, spaces and
    /// lower-to-upper case changes, compared case-insensitively) is a listed name: `token`
    /// catches `access_token` and `refreshToken` but not `tokenizer`. A name with `_` matches
    /// consecutive words, or the key written as one word: `private_key` catches
    /// `private_key_pem`, `gcpPrivateKey` and `PRIVATEKEY` but not `private` or `key`.
    pub fn with_key_names<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.key_names
            .extend(names.into_iter().map(|n| n.into().to_ascii_lowercase()));
        self
    }

    /// Marks fields as personal by JSON Pointer (RFC 6901) into the payload; a segment `*`
    /// matches every array element or object member, e.g. `/after/owners/*/email`.
    pub fn with_personal(mut self, pointer: &str) -> Self {
        let segments = pointer
            .split('/')
            .skip(1)
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect();
        self.pointers.push(segments);
        self
    }

    /// Redacts `payload` in place.
    pub fn redact(&self, payload: &mut Value) -> Result<(), JcsError> {
        for pointer in &self.pointers {
            self.redact_pointer(payload, pointer)?;
        }
        self.redact_keys(payload)
    }

    /// The redaction object for `value`.
    pub fn redacted(&self, value: &Value) -> Result<Value, JcsError> {
        let mut out = Map::new();
        out.insert(
            REDACTED_KEY.into(),
            Value::String(hex::encode(self.mac(value)?)),
        );
        Ok(Value::Object(out))
    }

    /// For auditors: does `redacted` (a `{"hmac-sha256": ..}` object) stand for `candidate`?
    /// Compares in constant time.
    pub fn matches(&self, redacted: &Value, candidate: &Value) -> bool {
        let Some(Value::String(hex_mac)) = redacted.get(REDACTED_KEY) else {
            return false;
        };
        let Ok(expected) = hex::decode(hex_mac) else {
            return false;
        };
        let Ok(message) = mac_input(candidate) else {
            return false;
        };
        let mut mac = mac_with(&self.key.0);
        mac.update(&message);
        mac.verify_slice(&expected).is_ok()
    }

    fn mac(&self, value: &Value) -> Result<[u8; 32], JcsError> {
        let mut mac = mac_with(&self.key.0);
        mac.update(&mac_input(value)?);
        Ok(mac.finalize().into_bytes().into())
    }

    fn key_matches(&self, key: &str) -> bool {
        let (words, whole) = words(key);
        self.key_names.iter().any(|name| {
            if name.replace('_', "") == whole {
                return true;
            }
            let parts: Vec<&str> = name.split('_').collect();
            words
                .windows(parts.len())
                .any(|w| w.iter().zip(&parts).all(|(a, b)| a == b))
        })
    }

    /// Redacts values under secret key names and secret-shaped strings anywhere.
    fn redact_keys(&self, value: &mut Value) -> Result<(), JcsError> {
        match value {
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    if is_redacted(item) {
                        continue;
                    }
                    if self.key_matches(key) {
                        *item = self.redacted(item)?;
                    } else {
                        self.redact_keys(item)?;
                    }
                }
                Ok(())
            }
            Value::Array(items) => items.iter_mut().try_for_each(|i| self.redact_keys(i)),
            Value::String(s) if looks_secret(s) => {
                *value = self.redacted(value)?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn redact_pointer(&self, value: &mut Value, segments: &[String]) -> Result<(), JcsError> {
        let Some((head, rest)) = segments.split_first() else {
            if !is_redacted(value) {
                *value = self.redacted(value)?;
            }
            return Ok(());
        };
        match value {
            Value::Object(map) if head == "*" => map
                .values_mut()
                .try_for_each(|v| self.redact_pointer(v, rest)),
            Value::Object(map) => match map.get_mut(head.as_str()) {
                Some(v) => self.redact_pointer(v, rest),
                None => Ok(()),
            },
            Value::Array(items) if head == "*" => items
                .iter_mut()
                .try_for_each(|v| self.redact_pointer(v, rest)),
            Value::Array(items) => {
                match head.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                    Some(v) => self.redact_pointer(v, rest),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }
}

/// Already replaced values are left alone, so redacting twice changes nothing.
fn is_redacted(value: &Value) -> bool {
    matches!(value, Value::Object(m) if m.len() == 1 && m.contains_key(REDACTED_KEY))
}

fn mac_input(value: &Value) -> Result<Vec<u8>, JcsError> {
    match value {
        Value::String(s) => Ok(s.as_bytes().to_vec()),
        other => jcs::to_vec(other),
    }
}

/// Lowercase words of a key (split at separators and at lower-to-upper case changes), and the
/// key's letters and digits as one lowercase word ("apikey", "APIKEY").
fn words(key: &str) -> (Vec<String>, String) {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        out.push(word);
    }
    let whole: String = key
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect();
    (out, whole)
}

#[cfg(test)]
mod tests {
    #[test]
    fn secret_value_patterns_compile() {
        assert!(!super::looks_secret("an ordinary description of a model"));
        assert_eq!(
            super::SECRET_VALUES.len(),
            super::SECRET_VALUE_PATTERNS.len()
        );
    }
}
