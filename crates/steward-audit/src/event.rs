//! The audit event: what one governed action (allowed, denied or failed) records, and its
//! canonical bytes.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::hash::{Hash, leaf_hash};
use crate::jcs::{self, JcsError, MAX_SAFE_INTEGER};

/// Version of the event schema, carried in every event as `"v"`.
pub const EVENT_VERSION: u32 = 1;

/// Layout of [`AuditTime`]: UTC, always six fractional digits, `Z` suffix.
const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// Why an event cannot be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The bytes are not JSON of the event schema.
    #[error("not an audit event: {0}")]
    Malformed(String),
    /// The bytes are an event but not in RFC 8785 canonical form.
    #[error("event is not in RFC 8785 canonical form")]
    NotCanonical,
    /// A field breaks a rule of the schema.
    #[error("invalid field {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// The payload holds a value with no exact canonical form.
    #[error(transparent)]
    Canonical(#[from] JcsError),
}

fn invalid(field: &'static str, reason: impl Into<String>) -> EventError {
    EventError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// Event time: RFC 3339 in UTC with exactly microsecond precision, e.g.
/// `2026-11-26T08:51:09.123456Z`. A fixed width keeps text order equal to time order and the
/// bytes independent of how the database rounds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct AuditTime(String);

impl AuditTime {
    /// Formats `time`, truncating to whole microseconds.
    pub fn from_datetime(time: DateTime<Utc>) -> Self {
        Self(time.format(TIME_FORMAT).to_string())
    }

    /// The current time of the system clock.
    pub fn now() -> Self {
        Self::from_datetime(Utc::now())
    }

    /// Accepts only the exact fixed-precision layout, so one instant has one text.
    pub fn parse(text: &str) -> Result<Self, EventError> {
        let parsed = NaiveDateTime::parse_from_str(text, TIME_FORMAT)
            .map_err(|e| invalid("time", format!("{text:?} is not RFC 3339 UTC: {e}")))?;
        let again = parsed.and_utc().format(TIME_FORMAT).to_string();
        if again != text {
            return Err(invalid(
                "time",
                format!("{text:?} must look like 2026-01-31T23:59:59.000000Z"),
            ));
        }
        Ok(Self(again))
    }

    /// The instant.
    pub fn to_datetime(&self) -> Option<DateTime<Utc>> {
        NaiveDateTime::parse_from_str(&self.0, TIME_FORMAT)
            .ok()
            .map(|t| t.and_utc())
    }

    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AuditTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AuditTime {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        AuditTime::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The tenant whose log holds the event. Both the stable id and the readable slug are
/// recorded so that an exported bundle makes sense without the database.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantRef {
    pub id: String,
    pub slug: String,
}

/// Who acted: the token subject and the roles it held at that moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    pub sub: String,
    pub roles: Vec<String>,
}

/// What was acted on, e.g. `{kind: "model_version", id: "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub kind: String,
    pub id: String,
}

/// How the attempt ended. Denied and failed attempts are recorded like successful ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Ok,
    Denied,
    Failed,
}

/// One entry of a tenant's audit log.
///
/// `seq` starts at 0 and is gapless per tenant; it is the leaf index of the event in the
/// tenant's Merkle tree. The JSON form (and so the canonical bytes) has exactly these fields,
/// `v` first in canonical order; optional fields are present as `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEvent {
    /// Schema version, [`EVENT_VERSION`].
    pub v: u32,
    pub tenant: TenantRef,
    pub seq: u64,
    pub time: AuditTime,
    pub actor: Actor,
    /// Dotted lowercase verb, e.g. `model.register`, `auth.denied`.
    pub action: String,
    pub target: Target,
    pub outcome: Outcome,
    pub request_id: Option<String>,
    /// What changed (`{"before": .., "after": ..}` for an update), already redacted.
    pub payload: Value,
    /// Hash of the policy revision that decided, where a policy decided.
    pub policy_revision: Option<String>,
}

impl AuditEvent {
    /// Checks the rules serde cannot express.
    pub fn validate(&self) -> Result<(), EventError> {
        if self.v != EVENT_VERSION {
            return Err(invalid("v", format!("unsupported version {}", self.v)));
        }
        if self.tenant.id.is_empty() || self.tenant.slug.is_empty() {
            return Err(invalid("tenant", "id and slug must not be empty"));
        }
        if self.seq > MAX_SAFE_INTEGER {
            return Err(invalid("seq", "beyond 2^53-1"));
        }
        if self.actor.sub.is_empty() {
            return Err(invalid("actor.sub", "must not be empty"));
        }
        if !is_action(&self.action) {
            return Err(invalid(
                "action",
                format!(
                    "{:?} must be dotted lowercase words like model.register",
                    self.action
                ),
            ));
        }
        if self.target.kind.is_empty() {
            return Err(invalid("target.kind", "must not be empty"));
        }
        Ok(())
    }

    /// The RFC 8785 bytes that are hashed, stored and exported.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, EventError> {
        self.validate()?;
        let value = serde_json::to_value(self).map_err(|e| EventError::Malformed(e.to_string()))?;
        Ok(jcs::to_vec(&value)?)
    }

    /// The leaf hash of the event (RFC 6962 leaf of its canonical bytes).
    pub fn leaf_hash(&self) -> Result<Hash, EventError> {
        Ok(leaf_hash(&self.canonical_bytes()?))
    }

    /// Decodes stored or exported bytes, refusing anything but the canonical form of a valid
    /// event, so that one event has exactly one byte string and one hash.
    pub fn from_canonical(bytes: &[u8]) -> Result<Self, EventError> {
        let event: AuditEvent =
            serde_json::from_slice(bytes).map_err(|e| EventError::Malformed(e.to_string()))?;
        if event.canonical_bytes()? != bytes {
            return Err(EventError::NotCanonical);
        }
        Ok(event)
    }
}

/// `word(.word)+` with words of `[a-z][a-z0-9_]*`.
fn is_action(action: &str) -> bool {
    let mut parts = 0;
    for word in action.split('.') {
        let mut chars = word.chars();
        let head_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        if !head_ok || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
            return false;
        }
        parts += 1;
    }
    parts >= 2
}
