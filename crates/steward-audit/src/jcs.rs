//! RFC 8785 JSON Canonicalization Scheme: the only byte form in which events are hashed,
//! stored and exported.
//!
//! The serialisation itself comes from `serde_json_canonicalizer` (UTF-16 key order, ECMAScript
//! number formatting through `ryu-js`, minimal string escapes). This module adds the one rule the
//! crate leaves to its callers: RFC 8785 numbers are IEEE 754 doubles, so an integer beyond
//! 2^53 would be silently rounded. An audit log must never record a value other than the one it
//! was given, so such numbers are refused and must be sent as strings.

use serde_json::Value;

/// Largest integer every IEEE 754 double consumer reads back exactly (`Number.MAX_SAFE_INTEGER`).
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Why a JSON value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JcsError {
    /// An integer outside +-(2^53 - 1): RFC 8785 would round it.
    #[error(
        "number {number} at {pointer} is outside +-(2^53-1) and would be rounded by RFC 8785; send it as a string"
    )]
    UnsafeInteger { number: String, pointer: String },
    /// The serialiser refused the value.
    #[error("cannot canonicalize JSON: {0}")]
    Serialize(String),
}

/// Canonical bytes of `value` per RFC 8785.
pub fn to_vec(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut pointer = String::new();
    check_numbers(value, &mut pointer)?;
    serde_json_canonicalizer::to_vec(value).map_err(|e| JcsError::Serialize(e.to_string()))
}

/// Canonical text of `value` per RFC 8785.
pub fn to_string(value: &Value) -> Result<String, JcsError> {
    let bytes = to_vec(value)?;
    // The serialiser emits JSON text, which is UTF-8 by construction; map the impossible case
    // to an error rather than panic.
    String::from_utf8(bytes).map_err(|e| JcsError::Serialize(e.to_string()))
}

/// True when `bytes` are JSON whose canonical form is exactly `bytes`.
pub fn is_canonical(bytes: &[u8]) -> bool {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => to_vec(&value).is_ok_and(|canonical| canonical == bytes),
        Err(_) => false,
    }
}

fn check_numbers(value: &Value, pointer: &mut String) -> Result<(), JcsError> {
    match value {
        Value::Number(n) => {
            let safe = if let Some(u) = n.as_u64() {
                u <= MAX_SAFE_INTEGER
            } else if let Some(i) = n.as_i64() {
                i.unsigned_abs() <= MAX_SAFE_INTEGER
            } else {
                // Without `arbitrary_precision` serde_json only holds finite doubles here.
                true
            };
            if safe {
                Ok(())
            } else {
                Err(JcsError::UnsafeInteger {
                    number: n.to_string(),
                    pointer: if pointer.is_empty() {
                        "/".into()
                    } else {
                        pointer.clone()
                    },
                })
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&i.to_string());
                check_numbers(item, pointer)?;
                pointer.truncate(len);
            }
            Ok(())
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = pointer.len();
                pointer.push('/');
                // JSON Pointer escaping (RFC 6901) so the reported location is usable as is.
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                check_numbers(item, pointer)?;
                pointer.truncate(len);
            }
            Ok(())
        }
        Value::Null | Value::Bool(_) | Value::String(_) => Ok(()),
    }
}
