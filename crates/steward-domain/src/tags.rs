//! Key-value tags of models and versions, and aliases: a name (`champion`, `staging`) for one
//! version of a model, whose every move is kept. What MLflow users call tags and aliases.

use chrono::{DateTime, Utc};

use crate::ids::ModelId;
use crate::validate::{self, Validated, ValidationError};

/// Longest tag key, and value.
pub const MAX_TAG_KEY: usize = 250;
pub const MAX_TAG_VALUE: usize = 5_000;
/// Longest alias.
pub const MAX_ALIAS: usize = 255;

/// A tag of a model (`version` 0) or of one of its versions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryTag {
    pub model_id: ModelId,
    pub version: i64,
    pub key: String,
    pub value: String,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// One placement of an alias on a version: from `set_at` until `removed_at` (moved elsewhere or
/// deleted), or still in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelAlias {
    pub model_id: ModelId,
    pub alias: String,
    pub version: i64,
    pub set_by: String,
    pub set_at: DateTime<Utc>,
    pub removed_by: Option<String>,
    pub removed_at: Option<DateTime<Utc>>,
}

/// A tag key and value: a key of printable characters, a bounded value.
pub fn validate_tag(key: &str, value: &str) -> Validated {
    if key.is_empty() || key.chars().count() > MAX_TAG_KEY {
        return Err(ValidationError::new(
            "key",
            format!("must be 1 to {MAX_TAG_KEY} characters"),
        ));
    }
    if key.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "key",
            "must not hold control characters",
        ));
    }
    validate::text("value", value, MAX_TAG_VALUE)
}

/// An alias: letters, digits, `_` and `-`; not `latest` and not `v<number>`, which name versions
/// already (MLflow's rules).
pub fn validate_alias(alias: &str) -> Validated {
    let ok = !alias.is_empty()
        && alias.len() <= MAX_ALIAS
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        return Err(ValidationError::new(
            "alias",
            format!("must be 1 to {MAX_ALIAS} letters, digits, '_' or '-'"),
        ));
    }
    let lower = alias.to_ascii_lowercase();
    let versionlike = lower
        .strip_prefix('v')
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    if lower == "latest" || versionlike {
        return Err(ValidationError::new(
            "alias",
            format!("`{alias}` is reserved: `latest` and `v<number>` already name versions"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_follow_mlflows_rules() {
        for ok in ["champion", "challenger-2", "prod_eu"] {
            assert!(validate_alias(ok).is_ok(), "{ok}");
        }
        for bad in ["", "latest", "V3", "v12", "has space", "é"] {
            assert!(validate_alias(bad).is_err(), "{bad}");
        }
        assert!(validate_tag("mlflow.source", "x").is_ok());
        assert!(validate_tag("", "x").is_err());
        assert!(validate_tag("a\nb", "x").is_err());
    }
}
