//! The files of a SageMaker Model Monitor baseline as they are written ("Schema for Statistics"
//! and "Schema for Constraints" of the SageMaker Model Monitor documentation), parsed with the
//! JSON path of every value that does not fit, and the constraints `sagemaker` hands out.

use std::collections::HashSet;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{FeatureConstraints, InferredType};
use crate::error::DriftError;

pub(super) const STATISTICS: &str = "statistics.json";
pub(super) const CONSTRAINTS: &str = "constraints.json";

/// Parses `text`, naming the JSON path of the first value that does not fit.
pub(super) fn parse<T: DeserializeOwned>(file: &'static str, text: &str) -> Result<T, DriftError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." {
            "top level".to_owned()
        } else {
            path
        };
        bad(file, path, e.into_inner().to_string())
    })?;
    de.end()
        .map_err(|e| bad(file, "top level", e.to_string()))?;
    Ok(value)
}

/// The error for the value at `path` of `file`.
pub(super) fn bad(
    file: &'static str,
    path: impl Into<String>,
    message: impl Into<String>,
) -> DriftError {
    DriftError::SageMaker {
        file,
        path: path.into(),
        message: message.into(),
    }
}

/// A count written as a JSON number (SageMaker writes some as `2006.0`).
pub(super) fn whole(path: &str, value: f64) -> Result<u64, DriftError> {
    if value >= 0.0 && value.fract() == 0.0 && value <= 9_007_199_254_740_992.0 {
        Ok(value as u64)
    } else {
        Err(bad(
            STATISTICS,
            path,
            format!("{value} is not a count (a whole number >= 0)"),
        ))
    }
}

/// The per-feature constraints of a `constraints.json` (`monitoring_config` is not read:
/// Steward's verdicts have their own settings).
pub(super) fn read_constraints(text: &str) -> Result<Vec<FeatureConstraints>, DriftError> {
    let file: ConstraintsFile = parse(CONSTRAINTS, text)?;
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(file.features.len());
    for (i, f) in file.features.into_iter().enumerate() {
        if !seen.insert(f.name.clone()) {
            return Err(bad(
                CONSTRAINTS,
                format!("features[{i}].name"),
                format!("{:?} appears twice", f.name),
            ));
        }
        if let Some(c) = f.completeness
            && !(0.0..=1.0).contains(&c)
        {
            return Err(bad(
                CONSTRAINTS,
                format!("features[{i}].completeness"),
                format!("{c} is not a share between 0 and 1"),
            ));
        }
        out.push(FeatureConstraints {
            name: f.name,
            inferred_type: f.inferred_type,
            completeness: f.completeness,
            non_negative: f.num_constraints.and_then(|n| n.is_non_negative),
            domains: f.string_constraints.and_then(|s| s.domains),
        });
    }
    Ok(out)
}

// The files' shapes ("Schema for Statistics" and "Schema for Constraints" of the SageMaker
// Model Monitor documentation). Fields Steward does not use (`sum`, `distinct_count`, the
// sketch's parameters, `monitoring_config`) are not read; unknown fields are ignored, as the
// format leaves room for custom statistics.

#[derive(Deserialize)]
pub(super) struct Statistics {
    pub(super) dataset: Option<Dataset>,
    pub(super) features: Vec<StatFeature>,
}

#[derive(Deserialize)]
pub(super) struct Dataset {
    pub(super) item_count: f64,
}

#[derive(Deserialize)]
pub(super) struct StatFeature {
    pub(super) name: String,
    pub(super) inferred_type: InferredType,
    pub(super) numerical_statistics: Option<NumericalStatistics>,
    pub(super) string_statistics: Option<StringStatistics>,
}

#[derive(Deserialize)]
pub(super) struct Common {
    pub(super) num_present: f64,
    pub(super) num_missing: f64,
}

#[derive(Deserialize)]
pub(super) struct NumericalStatistics {
    pub(super) common: Common,
    pub(super) mean: Option<f64>,
    pub(super) std_dev: Option<f64>,
    pub(super) min: Option<f64>,
    pub(super) max: Option<f64>,
    pub(super) distribution: Option<NumericDistribution>,
}

#[derive(Deserialize)]
pub(super) struct NumericDistribution {
    pub(super) kll: Option<Kll>,
}

#[derive(Deserialize)]
pub(super) struct Kll {
    #[serde(default)]
    pub(super) buckets: Vec<KllBucket>,
    pub(super) sketch: Option<KllSketch>,
}

#[derive(Deserialize)]
pub(super) struct KllBucket {
    pub(super) lower_bound: f64,
    pub(super) upper_bound: f64,
    pub(super) count: f64,
}

#[derive(Deserialize)]
pub(super) struct KllSketch {
    pub(super) data: Vec<Vec<f64>>,
}

#[derive(Deserialize)]
pub(super) struct StringStatistics {
    pub(super) common: Common,
    pub(super) distribution: Option<StringDistribution>,
}

#[derive(Deserialize)]
pub(super) struct StringDistribution {
    pub(super) categorical: Option<Categorical>,
}

#[derive(Deserialize)]
pub(super) struct Categorical {
    pub(super) buckets: Vec<CategoricalBucket>,
}

#[derive(Deserialize)]
pub(super) struct CategoricalBucket {
    pub(super) value: String,
    pub(super) count: f64,
}

#[derive(Deserialize)]
pub(super) struct ConstraintsFile {
    #[serde(default)]
    pub(super) features: Vec<ConstraintFeature>,
}

#[derive(Deserialize)]
pub(super) struct ConstraintFeature {
    pub(super) name: String,
    pub(super) inferred_type: Option<InferredType>,
    pub(super) completeness: Option<f64>,
    pub(super) num_constraints: Option<NumConstraints>,
    pub(super) string_constraints: Option<StringConstraints>,
}

#[derive(Deserialize)]
pub(super) struct NumConstraints {
    pub(super) is_non_negative: Option<bool>,
}

#[derive(Deserialize)]
pub(super) struct StringConstraints {
    pub(super) domains: Option<Vec<String>>,
}
