//! Input validation shared by every entry point: names, slugs, digests, URIs, tags and metrics.
//!
//! Each check names the offending field, so a user sees `input.metrics.auc: must be a finite
//! number` rather than a database error.

use std::collections::BTreeMap;

/// What is wrong with an input, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

pub type Validated<T = ()> = Result<T, ValidationError>;

pub const MAX_NAME_LEN: usize = 128;
pub const MAX_TEXT_LEN: usize = 4096;
pub const MAX_URI_LEN: usize = 2048;
pub const MAX_TAGS: usize = 32;
pub const MAX_TAG_LEN: usize = 64;
pub const MAX_METRICS: usize = 256;
pub const MAX_FEATURES: usize = 10_000;
pub const MAX_PARAMS_BYTES: usize = 64 * 1024;

/// A registry name (model, dataset, feature, metric): 1-128 characters of letters, digits, `-`,
/// `_` and `.`, starting with a letter or digit. Names end up in URLs, file names and alerts, so
/// the alphabet is kept conservative.
pub fn name(field: &str, value: &str) -> Validated {
    if value.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if value.chars().count() > MAX_NAME_LEN {
        return Err(ValidationError::new(
            field,
            format!("must be at most {MAX_NAME_LEN} characters"),
        ));
    }
    let mut chars = value.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !first_ok || !rest_ok {
        return Err(ValidationError::new(
            field,
            format!(
                "`{}` is not a valid name: use letters, digits, '-', '_' and '.', starting with a letter or digit",
                truncate(value)
            ),
        ));
    }
    Ok(())
}

/// A tenant slug: 1-63 lowercase letters, digits and '-', not starting or ending with '-'.
pub fn slug(field: &str, value: &str) -> Validated {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            field,
            "must be 1-63 lowercase letters, digits or '-', not starting or ending with '-'",
        ))
    }
}

/// Free text (descriptions, display names): bounded and free of control characters other than
/// newlines and tabs.
pub fn text(field: &str, value: &str, max: usize) -> Validated {
    if value.chars().count() > max {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Like [`text`], but must also not be blank.
pub fn required_text(field: &str, value: &str, max: usize) -> Validated {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    text(field, value, max)
}

/// A URI with a scheme (`s3://`, `gs://`, `file:///`, `https://`, `mlflow-artifacts:` ...).
pub fn uri(field: &str, value: &str) -> Validated {
    required_text(field, value, MAX_URI_LEN)?;
    let scheme_ok = value.split_once(':').is_some_and(|(scheme, rest)| {
        !scheme.is_empty()
            && !rest.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if !scheme_ok || value.chars().any(char::is_whitespace) {
        return Err(ValidationError::new(
            field,
            "must be a URI with a scheme and no spaces, such as s3://bucket/path",
        ));
    }
    Ok(())
}

/// Tags: at most 32, each 1-64 printable characters without spaces; duplicates are removed and
/// the result is sorted so equal tag sets compare equal.
pub fn tags(field: &str, values: &[String]) -> Validated<Vec<String>> {
    if values.len() > MAX_TAGS {
        return Err(ValidationError::new(
            field,
            format!("at most {MAX_TAGS} tags are allowed"),
        ));
    }
    for (i, tag) in values.iter().enumerate() {
        let ok = !tag.is_empty()
            && tag.chars().count() <= MAX_TAG_LEN
            && tag.chars().all(|c| !c.is_control() && !c.is_whitespace());
        if !ok {
            return Err(ValidationError::new(
                format!("{field}[{i}]"),
                format!("a tag must be 1-{MAX_TAG_LEN} characters without spaces"),
            ));
        }
    }
    let mut out = values.to_vec();
    out.sort();
    out.dedup();
    Ok(out)
}

/// Metrics: named finite numbers. NaN and infinities are refused because they break comparisons
/// in promotion gates and cannot be stored portably.
pub fn metrics(field: &str, values: &BTreeMap<String, f64>) -> Validated {
    if values.len() > MAX_METRICS {
        return Err(ValidationError::new(
            field,
            format!("at most {MAX_METRICS} metrics are allowed"),
        ));
    }
    for (k, v) in values {
        name(&format!("{field}.<name>"), k)?;
        if !v.is_finite() {
            return Err(ValidationError::new(
                format!("{field}.{k}"),
                "must be a finite number (not NaN or infinite)",
            ));
        }
    }
    Ok(())
}

/// Shortens a user value for inclusion in an error message.
pub fn truncate(value: &str) -> String {
    const MAX: usize = 64;
    if value.chars().count() <= MAX {
        value.to_string()
    } else {
        let head: String = value.chars().take(MAX).collect();
        format!("{head}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["fraud", "fraud-detector.v2", "a", "A_1"] {
            assert!(name("n", ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(129);
        for bad in ["", "-x", "has space", "é", "a/b", long.as_str(), "x;drop"] {
            assert!(name("n", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn uris() {
        for ok in ["s3://b/k", "file:///tmp/x", "mlflow-artifacts:/1/2"] {
            assert!(uri("u", ok).is_ok(), "{ok}");
        }
        for bad in ["", "noscheme", "s3:", "1s3://x", "s3://a b"] {
            assert!(uri("u", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn metrics_refuse_non_finite() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let m = BTreeMap::from([("auc".to_string(), v)]);
            let err = metrics("input.metrics", &m).unwrap_err();
            assert_eq!(err.field, "input.metrics.auc");
        }
    }

    #[test]
    fn tags_are_sorted_and_deduplicated() {
        let t = tags("t", &["b".into(), "a".into(), "b".into()]).unwrap();
        assert_eq!(t, vec!["a", "b"]);
        assert!(tags("t", &["has space".into()]).is_err());
        assert!(tags("t", &vec!["x".to_string(); 33]).is_err());
    }
}
