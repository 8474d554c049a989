//! A Standard Webhooks receiver (standardwebhooks.com): `POST /hook` with `webhook-id`,
//! `webhook-timestamp` (Unix seconds) and `webhook-signature` (space-separated `v1,<base64>`
//! signatures of `{id}.{timestamp}.{body}` by HMAC-SHA256); the key is the base64 after a
//! secret's `whsec_` prefix. Any one valid signature of any of the receiver's secrets is enough
//! (senders list one per active secret while rotating). `200` when verified; `400` for missing
//! headers; `401` when no signature verifies. A `webhook-id` seen before is accepted again and
//! marked duplicate, as receivers deduplicate on it.

use std::collections::HashMap;

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::{Received, Verdict};

pub(crate) const PATH: &str = "/hook";

/// `v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}` under a `whsec_` secret; `None` when
/// the secret is not `whsec_` and base64.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Some(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

pub(crate) fn check(
    r: &Received,
    secrets: &[String],
    seen: &mut HashMap<String, usize>,
) -> Verdict {
    if r.path != PATH {
        return Verdict::refuse(
            StatusCode::NOT_FOUND,
            json!({"error": "not found"}),
            format!("no hook at {}", r.path),
        );
    }
    let (Some(id), Some(ts), Some(sigs)) = (
        r.header("webhook-id"),
        r.header("webhook-timestamp"),
        r.header("webhook-signature"),
    ) else {
        return Verdict::refuse(
            StatusCode::BAD_REQUEST,
            json!({"error": "missing webhook headers"}),
            "webhook-id, webhook-timestamp and webhook-signature are required",
        );
    };
    let Ok(timestamp) = ts.parse::<i64>() else {
        return Verdict::refuse(
            StatusCode::BAD_REQUEST,
            json!({"error": "bad timestamp"}),
            format!("webhook-timestamp {ts:?} is not Unix seconds"),
        );
    };
    let offered: Vec<&str> = sigs.split(' ').filter(|s| !s.is_empty()).collect();
    let verified = secrets.iter().any(|secret| {
        sign(secret, id, timestamp, r.body.as_bytes())
            .is_some_and(|expected| offered.iter().any(|o| constant_eq(o, &expected)))
    });
    if !verified {
        return Verdict::refuse(
            StatusCode::UNAUTHORIZED,
            json!({"error": "no valid signature"}),
            format!("none of {} signatures verifies", offered.len()),
        );
    }
    let count = seen.entry(id.to_string()).or_insert(0);
    *count += 1;
    Verdict {
        status: StatusCode::OK,
        body: json!({"received": id}),
        problem: None,
        duplicate: *count > 1,
    }
}

/// Compares without an early exit on the first differing byte.
fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}
