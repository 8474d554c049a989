//! Policies as the registry keeps them: named policies, their immutable revisions, bindings to
//! models and the decision record of every evaluation.
//!
//! The language itself (compiling, linting, evaluating) is `steward-policy`'s; this module holds
//! only the records and their validation, so the store and the API speak one vocabulary.

use chrono::{DateTime, Utc};

use crate::ids::*;
use crate::registry::RiskTier;
use crate::validate::{self, Validated, ValidationError};

/// Largest policy source accepted, in bytes. Real policies are a few hundred lines; the cap keeps
/// compilation (which runs before any limit applies) cheap.
pub const MAX_POLICY_SOURCE_BYTES: usize = 256 * 1024;

/// Largest evaluation context accepted, in bytes of JSON.
pub const MAX_POLICY_CONTEXT_BYTES: usize = 1024 * 1024;

text_enum!(
    /// Where a revision stands. Derived, never stored: `active` is the policy's current revision,
    /// `superseded` one that was active before, `draft` one that was never published.
    RevisionStatus, "status", "revision status", {
        Draft => "draft",
        Active => "active",
        Superseded => "superseded",
    }
);

text_enum!(
    /// The policy function an evaluation ran.
    PolicyHook, "hook", "policy hook", {
        OnWindow => "on_window",
        OnPromotion => "on_promotion",
    }
);

#[derive(Clone, Debug)]
pub struct NewPolicy {
    pub name: String,
    pub description: String,
}

impl NewPolicy {
    pub fn validate(&self) -> Validated {
        validate::name("input.name", &self.name)?;
        validate::text(
            "input.description",
            &self.description,
            validate::MAX_TEXT_LEN,
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Policy {
    pub id: PolicyId,
    pub name: String,
    pub description: String,
    /// The number of the revision evaluations use, once one is published.
    pub active_revision: Option<i64>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A proposed revision: the source as written, and a note saying what changed.
#[derive(Clone, Debug)]
pub struct NewPolicyRevision {
    pub policy_id: PolicyId,
    pub source: String,
    pub note: String,
}

impl NewPolicyRevision {
    /// Checks size and note; compiling is the policy engine's job.
    pub fn validate(&self) -> Validated {
        if self.source.trim().is_empty() {
            return Err(ValidationError::new("input.source", "must not be empty"));
        }
        if self.source.len() > MAX_POLICY_SOURCE_BYTES {
            return Err(ValidationError::new(
                "input.source",
                format!(
                    "is {} bytes; at most {MAX_POLICY_SOURCE_BYTES} are accepted",
                    self.source.len()
                ),
            ));
        }
        validate::text("input.note", &self.note, validate::MAX_TEXT_LEN)
    }
}

/// One immutable revision of a policy. Its content (source, hash, author) never changes; its
/// status and publication are read from the policy's activation history.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyRevision {
    pub policy_id: PolicyId,
    /// 1, 2, ... in the order revisions were proposed.
    pub number: i64,
    /// SHA-256 of the source, hex: the identity decision records name.
    pub hash: String,
    pub source: String,
    pub note: String,
    pub status: RevisionStatus,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Who last made this revision the active one, and when.
    pub published_by: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
}

/// What a binding applies a policy to.
#[derive(Clone, Debug, PartialEq)]
pub enum BindingTarget {
    /// One model: the most specific binding.
    Model(ModelId),
    /// The tenant's models matching every given criterion (at least one).
    Selector {
        /// The model carries all of these tags.
        tags: Vec<String>,
        risk_tier: Option<RiskTier>,
        /// A shell-style pattern on the model name: `*` any run, `?` one character.
        name_pattern: Option<String>,
    },
    /// Every model of the tenant that nothing more specific covers.
    TenantDefault,
}

impl BindingTarget {
    /// The stored word for the kind of target.
    pub fn kind(&self) -> &'static str {
        match self {
            BindingTarget::Model(_) => "model",
            BindingTarget::Selector { .. } => "selector",
            BindingTarget::TenantDefault => "tenant_default",
        }
    }
}

#[derive(Clone, Debug)]
pub struct NewPolicyBinding {
    pub policy_id: PolicyId,
    pub target: BindingTarget,
}

impl NewPolicyBinding {
    /// Validates and normalises the selector (tags sorted, deduplicated).
    pub fn validate(mut self) -> Validated<Self> {
        if let BindingTarget::Selector {
            tags,
            risk_tier,
            name_pattern,
        } = &mut self.target
        {
            *tags = validate::tags("input.selector.tags", tags)?;
            if let Some(p) = name_pattern {
                validate::required_text("input.selector.namePattern", p, validate::MAX_NAME_LEN)?;
                if p.chars().any(char::is_whitespace) {
                    return Err(ValidationError::new(
                        "input.selector.namePattern",
                        "must not contain spaces",
                    ));
                }
            }
            if tags.is_empty() && risk_tier.is_none() && name_pattern.is_none() {
                return Err(ValidationError::new(
                    "input.selector",
                    "needs at least one of tags, riskTier, namePattern (bind the tenant default instead)",
                ));
            }
        }
        Ok(self)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PolicyBinding {
    pub id: PolicyBindingId,
    pub policy_id: PolicyId,
    pub target: BindingTarget,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Set when the binding was removed; removed bindings are kept so that old decision records
    /// still name what applied.
    pub removed_by: Option<String>,
    pub removed_at: Option<DateTime<Utc>>,
}

/// Which binding governs a model, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyResolution {
    pub binding: PolicyBinding,
    /// Human-readable: "binding <id> (selector with 2 criteria), tied with ... and chosen by id".
    pub explanation: String,
}

/// One evaluation, as stored: enough to show what was decided, from what, by which revision,
/// and to evaluate it again.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionRecord {
    pub id: DecisionRecordId,
    pub policy_id: PolicyId,
    pub revision_number: i64,
    pub revision_hash: String,
    /// The binding that selected the policy, and why it won.
    pub binding_id: PolicyBindingId,
    pub resolution: String,
    pub model_id: ModelId,
    pub model_version_id: ModelVersionId,
    pub hook: PolicyHook,
    /// SHA-256 of the canonical JSON of the input context; the context is stored once per hash.
    pub input_hash: String,
    /// `{"outcome": "decisions", "decisions": [...]}`, `{"outcome": "verdict", "verdict": {...}}`
    /// or `{"outcome": "failed", "error": {...}}`.
    pub outcome: serde_json::Value,
    pub log: Vec<String>,
    pub duration_us: i64,
    /// The limit that stopped the script (`wall_clock`, `operations`, ...), if one did.
    pub limit_hit: Option<String>,
    pub evaluated_by: String,
    pub created_at: DateTime<Utc>,
}

/// A decision record ready to store: everything but the id and time, which the store assigns.
#[derive(Clone, Debug)]
pub struct NewDecisionRecord {
    pub policy_id: PolicyId,
    pub revision_number: i64,
    pub revision_hash: String,
    pub binding_id: PolicyBindingId,
    pub resolution: String,
    pub model_id: ModelId,
    pub model_version_id: ModelVersionId,
    pub hook: PolicyHook,
    pub input_hash: String,
    /// The canonical JSON of the input, stored under `input_hash` if not stored yet.
    pub input: String,
    pub outcome: serde_json::Value,
    pub log: Vec<String>,
    pub duration_us: i64,
    pub limit_hit: Option<String>,
    pub evaluated_by: String,
    /// When it was evaluated, by the service's clock (which tests and the demo drive).
    pub created_at: DateTime<Utc>,
}

/// Filters of the decision record list; all optional and combined with AND.
#[derive(Clone, Debug, Default)]
pub struct DecisionRecordFilter {
    pub policy_id: Option<PolicyId>,
    pub model_id: Option<ModelId>,
    pub hook: Option<PolicyHook>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_selector_is_refused_with_its_field() {
        let b = NewPolicyBinding {
            policy_id: PolicyId::generate(),
            target: BindingTarget::Selector {
                tags: vec![],
                risk_tier: None,
                name_pattern: None,
            },
        };
        let e = b.validate().unwrap_err();
        assert_eq!(e.field, "input.selector");
    }

    #[test]
    fn selector_tags_are_normalised() {
        let b = NewPolicyBinding {
            policy_id: PolicyId::generate(),
            target: BindingTarget::Selector {
                tags: vec!["eu".into(), "card".into(), "eu".into()],
                risk_tier: None,
                name_pattern: Some("fraud-*".into()),
            },
        }
        .validate()
        .unwrap();
        assert!(
            matches!(b.target, BindingTarget::Selector { ref tags, .. } if tags == &["card", "eu"])
        );
    }

    #[test]
    fn oversized_and_blank_sources_are_refused() {
        let mut r = NewPolicyRevision {
            policy_id: PolicyId::generate(),
            source: " \n".into(),
            note: String::new(),
        };
        assert_eq!(r.validate().unwrap_err().field, "input.source");
        r.source = "x".repeat(MAX_POLICY_SOURCE_BYTES + 1);
        assert!(r.validate().unwrap_err().message.contains("at most"));
    }
}
