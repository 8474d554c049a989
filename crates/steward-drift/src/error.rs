//! The crate's error type: every way input can be unusable, with enough context to say why.

use thiserror::Error;

/// Why a statistic, profile or report could not be computed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum DriftError {
    /// A sample (or a distribution) had no values.
    #[error("{what} is empty")]
    Empty {
        /// Which input was empty.
        what: &'static str,
    },
    /// A value was NaN or infinite.
    #[error("{what} contains a non-finite value ({value}) at position {index}")]
    NonFinite {
        /// Which input held the value.
        what: &'static str,
        /// Position of the first offending value.
        index: usize,
        /// The value itself.
        value: f64,
    },
    /// A data column holds a NaN or infinite value.
    #[error("column {column:?} has a non-finite value ({value}) at row {row}")]
    NonFiniteInColumn {
        /// Column name.
        column: String,
        /// Zero-based row within the batch.
        row: usize,
        /// The value itself.
        value: f64,
    },
    /// A count, weight or frequency was negative.
    #[error("{what} contains a negative value ({value}) at position {index}")]
    Negative {
        /// Which input held the value.
        what: &'static str,
        /// Position of the first offending value.
        index: usize,
        /// The value itself.
        value: f64,
    },
    /// A distribution's weights sum to zero, so it cannot be normalised.
    #[error("{what} has zero total mass")]
    ZeroMass {
        /// Which distribution.
        what: &'static str,
    },
    /// Two inputs that must have the same shape do not.
    #[error("shape mismatch: {0}")]
    ShapeMismatch(String),
    /// A contingency table has a zero expected frequency (a row or column with no counts).
    #[error("contingency table has a zero expected frequency at cell {0:?} (a margin is zero)")]
    ZeroExpected(Vec<usize>),
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// Two profiles cannot be combined or compared.
    #[error("incompatible profiles: {0}")]
    Incompatible(String),
    /// A SageMaker Model Monitor baseline file (`statistics.json`, `constraints.json`) cannot be
    /// imported; `path` is the JSON path of the offending value (`features[3].name`).
    #[error("SageMaker {file}, {path}: {message}")]
    SageMaker {
        /// Which file.
        file: &'static str,
        /// JSON path of the value, or `top level`.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// A serialised profile has a format version this build does not read.
    #[error("unsupported profile format version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        /// Version found in the data.
        found: u32,
        /// Version this build reads.
        supported: u32,
    },
}

/// Checks that every value of `values` is finite.
pub(crate) fn check_finite(what: &'static str, values: &[f64]) -> Result<(), DriftError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(DriftError::NonFinite {
            what,
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// Checks that `values` is non-empty and finite.
pub(crate) fn check_sample(what: &'static str, values: &[f64]) -> Result<(), DriftError> {
    if values.is_empty() {
        return Err(DriftError::Empty { what });
    }
    check_finite(what, values)
}

/// Checks that `values` are finite and non-negative (counts, weights, frequencies).
pub(crate) fn check_counts(what: &'static str, values: &[f64]) -> Result<(), DriftError> {
    check_finite(what, values)?;
    match values.iter().position(|v| *v < 0.0) {
        Some(index) => Err(DriftError::Negative {
            what,
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}
