//! Content hashes, policy revisions and decision records.
//!
//! A revision is identified by the SHA-256 of its source: the same text always has the same
//! hash, so a decision record names exactly the code that produced it, and the compiled-script
//! cache can be keyed by it. Storing revisions (immutably) is the store's job; this module
//! defines what is stored.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::context::{PromotionContext, WindowContext};
use crate::decision::{Decision, Verdict};
use crate::engine::Evaluation;
use crate::error::EvalError;
use crate::limits::LimitKind;
use crate::value::canonical_json;

/// A SHA-256 digest, shown as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash([u8; 32]);

impl ContentHash {
    /// The hash of `bytes`.
    pub fn of(bytes: impl AsRef<[u8]>) -> Self {
        Self(Sha256::digest(bytes.as_ref()).into())
    }

    /// The hash of a JSON value in canonical form (sorted keys, no whitespace).
    pub fn of_json(value: &serde_json::Value) -> Self {
        Self::of(canonical_json(value))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({self})")
    }
}

/// A string that is not 64 hex digits.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a SHA-256 hex digest: {0:?}")]
pub struct ParseHashError(pub String);

impl FromStr for ContentHash {
    type Err = ParseHashError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).map_err(|_| ParseHashError(s.to_string()))?;
        Ok(Self(out))
    }
}

impl Serialize for ContentHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ContentHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where a revision is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevisionStatus {
    /// Written, not yet applied to any model.
    Draft,
    /// The revision evaluations use.
    Active,
    /// Replaced by a later revision; kept for the record.
    Superseded,
}

/// One immutable version of a policy's source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRevision {
    pub policy: String,
    pub hash: ContentHash,
    pub source: String,
    pub status: RevisionStatus,
    /// The principal who published it; `None` while a draft.
    pub published_by: Option<String>,
    /// The revision this one replaces, if any.
    pub previous: Option<ContentHash>,
}

impl PolicyRevision {
    /// A draft revision of `source`; its hash is computed here.
    pub fn draft(
        policy: impl Into<String>,
        source: impl Into<String>,
        previous: Option<ContentHash>,
    ) -> Self {
        let source = source.into();
        Self {
            policy: policy.into(),
            hash: ContentHash::of(&source),
            source,
            status: RevisionStatus::Draft,
            published_by: None,
            previous,
        }
    }

    /// The published form of this draft. Check the source (`PolicyEngine::compile`) first.
    pub fn publish(self, by: impl Into<String>) -> Self {
        Self {
            status: RevisionStatus::Active,
            published_by: Some(by.into()),
            ..self
        }
    }

    /// Whether `hash` still matches `source` (a stored revision was not altered).
    pub fn verify(&self) -> bool {
        ContentHash::of(&self.source) == self.hash
    }
}

/// The outcome part of a decision record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RecordOutcome {
    Decisions { decisions: Vec<Decision> },
    Verdict { verdict: Verdict },
    Failed { error: EvalError },
}

/// What the service stores for every evaluation (architecture invariant 4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub revision: ContentHash,
    /// `on_window` or `on_promotion`.
    pub hook: String,
    /// SHA-256 of the canonical JSON of `input`.
    pub input_hash: ContentHash,
    pub input: serde_json::Value,
    #[serde(flatten)]
    pub outcome: RecordOutcome,
    pub log: Vec<String>,
    pub duration_us: u64,
    pub limit_hit: Option<LimitKind>,
}

fn record<T>(
    revision: ContentHash,
    hook: &str,
    input: serde_json::Value,
    eval: &Evaluation<T>,
    ok: impl FnOnce(&T) -> RecordOutcome,
) -> DecisionRecord {
    DecisionRecord {
        revision,
        hook: hook.to_string(),
        input_hash: ContentHash::of_json(&input),
        input,
        outcome: match &eval.outcome {
            Ok(v) => ok(v),
            Err(error) => RecordOutcome::Failed {
                error: error.clone(),
            },
        },
        log: eval.log.clone(),
        duration_us: u64::try_from(eval.duration.as_micros()).unwrap_or(u64::MAX),
        limit_hit: eval.limit_hit,
    }
}

impl DecisionRecord {
    /// The record of an `on_window` evaluation of revision `revision`.
    pub fn for_window(
        revision: ContentHash,
        ctx: &WindowContext,
        eval: &Evaluation<Vec<Decision>>,
    ) -> Self {
        let input = serde_json::to_value(ctx).unwrap_or(serde_json::Value::Null);
        record(revision, "on_window", input, eval, |d| {
            RecordOutcome::Decisions {
                decisions: d.clone(),
            }
        })
    }

    /// The record of an `on_promotion` evaluation of revision `revision`.
    pub fn for_promotion(
        revision: ContentHash,
        ctx: &PromotionContext,
        eval: &Evaluation<Verdict>,
    ) -> Self {
        let input = serde_json::to_value(ctx).unwrap_or(serde_json::Value::Null);
        record(revision, "on_promotion", input, eval, |v| {
            RecordOutcome::Verdict { verdict: v.clone() }
        })
    }

    /// The evaluation's duration.
    pub fn duration(&self) -> Duration {
        Duration::from_micros(self.duration_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256_hex_and_round_trips() {
        let h = ContentHash::of("abc");
        assert_eq!(
            h.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(h.to_string().parse::<ContentHash>().unwrap(), h);
        assert!("xyz".parse::<ContentHash>().is_err());
    }

    #[test]
    fn revisions_hash_their_source() {
        let draft = PolicyRevision::draft("fraud", "fn schedule() { \"hourly\" }", None);
        assert_eq!(draft.hash, ContentHash::of("fn schedule() { \"hourly\" }"));
        let published = draft.clone().publish("alice");
        assert_eq!(published.status, RevisionStatus::Active);
        assert_eq!(published.hash, draft.hash);
        assert!(published.verify());
        let tampered = PolicyRevision {
            source: "fn schedule() { \"daily\" }".into(),
            ..published
        };
        assert!(!tampered.verify());
    }
}
