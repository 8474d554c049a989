//! Column kinds from Arrow types, and Arrow arrays turned into the values steward-drift profiles.
//!
//! The rule (documented in docs/drift.md): integers, floats and decimals are numeric; strings
//! (`Utf8`, `LargeUtf8`, `Utf8View`), booleans and dictionary-encoded columns are categorical,
//! compared by their text (`true`/`false` for booleans); a column with no values at all (Arrow
//! `Null`, as CSV inference gives for an all-empty column) takes the kind it has in the other
//! file; dates, times, binary and nested types are not supported.

use anyhow::{Context, Result, bail};
use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use steward_drift::FeatureKind;

use super::read::Side;

/// The kind an Arrow type maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrowKind {
    /// Profiled as numbers.
    Numeric,
    /// Profiled as labels.
    Categorical,
    /// No values at all; the other file decides.
    Null,
}

/// The kind of an Arrow type, `None` when `steward drift` cannot compare it.
pub fn classify(data_type: &DataType) -> Option<ArrowKind> {
    use DataType as T;
    match data_type {
        T::Int8
        | T::Int16
        | T::Int32
        | T::Int64
        | T::UInt8
        | T::UInt16
        | T::UInt32
        | T::UInt64
        | T::Float16
        | T::Float32
        | T::Float64
        | T::Decimal32(..)
        | T::Decimal64(..)
        | T::Decimal128(..)
        | T::Decimal256(..) => Some(ArrowKind::Numeric),
        T::Utf8 | T::LargeUtf8 | T::Utf8View | T::Boolean | T::Dictionary(..) => {
            Some(ArrowKind::Categorical)
        }
        T::Null => Some(ArrowKind::Null),
        _ => None,
    }
}

/// The kind a column is compared as, given its Arrow types in both files.
pub fn resolve_kind(reference: &Side, current: &Side, name: &str) -> Result<FeatureKind> {
    let kind_in = |side: &Side| {
        let data_type = side.data_type(name);
        classify(&data_type).with_context(|| {
            format!(
                "{}: column {name:?} has type {data_type}, which is neither numeric nor categorical",
                side.path.display(),
            )
        })
    };
    let (rk, ck) = (kind_in(reference)?, kind_in(current)?);
    match (rk, ck) {
        (ArrowKind::Numeric, ArrowKind::Numeric | ArrowKind::Null)
        | (ArrowKind::Null, ArrowKind::Numeric) => Ok(FeatureKind::Numeric),
        (ArrowKind::Categorical | ArrowKind::Null, ArrowKind::Categorical | ArrowKind::Null) => {
            Ok(FeatureKind::Categorical)
        }
        (ArrowKind::Numeric, ArrowKind::Categorical) => Err(mismatch(reference, current, name)),
        (ArrowKind::Categorical, ArrowKind::Numeric) => Err(mismatch(current, reference, name)),
    }
}

/// The error for a column that is numeric in one file and categorical in the other, naming the
/// first row of the categorical side that is not a number when there is one (that column is
/// read to find it).
fn mismatch(numeric: &Side, text: &Side, name: &str) -> anyhow::Error {
    let culprit = match text.columns(&[name]) {
        Ok((mut chunks, _)) => first_non_number(&chunks.pop().unwrap_or_default())
            .map(|(row, value)| format!(": {} holds {value:?}", text.locate(row as u64)))
            .unwrap_or_default(),
        Err(e) => return e,
    };
    anyhow::anyhow!(
        "type mismatch in column {name:?}: numeric ({}) in {} but categorical ({}) in {}{culprit}",
        numeric.data_type(name),
        numeric.path.display(),
        text.data_type(name),
        text.path.display()
    )
}

fn first_non_number(chunks: &[ArrayRef]) -> Option<(usize, String)> {
    let mut offset = 0usize;
    for chunk in chunks {
        let strings = cast(chunk, &DataType::Utf8).ok()?;
        let strings = strings.as_string::<i32>();
        for (i, v) in strings.iter().enumerate() {
            if let Some(s) = v
                && s.trim().parse::<f64>().is_err()
            {
                return Some((offset + i, s.to_owned()));
            }
        }
        offset += chunk.len();
    }
    None
}

/// Appends the present values of one chunk of numeric column `name` (whose first row is data
/// row `offset`) to `values` and returns its number of missing values; a NaN or infinite value
/// is an error naming the file, column and row.
pub fn append_numbers(
    side: &Side,
    name: &str,
    chunk: &ArrayRef,
    offset: u64,
    values: &mut Vec<f64>,
) -> Result<u64> {
    if chunk.data_type() == &DataType::Null {
        return Ok(chunk.len() as u64);
    }
    let floats = cast(chunk, &DataType::Float64).with_context(|| {
        format!(
            "{}: column {name:?} cannot be read as numbers",
            side.path.display()
        )
    })?;
    let floats = floats.as_primitive::<Float64Type>();
    let start = values.len();
    if floats.null_count() == 0 {
        values.extend_from_slice(floats.values());
    } else {
        values.extend(floats.iter().flatten());
    }
    if let Some(pos) = values[start..].iter().position(|v| !v.is_finite()) {
        let value = values[start + pos];
        let row = offset + row_of_value(chunk, pos) as u64;
        bail!(
            "{}: column {name:?} has a non-finite value ({value}) at {}",
            side.path.display(),
            side.locate(row)
        );
    }
    Ok(floats.null_count() as u64)
}

/// The row within `chunk` of its `index`-th present value.
fn row_of_value(chunk: &ArrayRef, index: usize) -> usize {
    let mut seen = 0usize;
    for i in 0..chunk.len() {
        if chunk.is_valid(i) {
            if seen == index {
                return i;
            }
            seen += 1;
        }
    }
    chunk.len()
}

/// A chunk of categorical column `name` as text (booleans, dictionaries and string variants
/// cast to `Utf8`); [`labels`] borrows per-row labels from such chunks.
pub fn text_chunk(side: &Side, name: &str, chunk: &ArrayRef) -> Result<ArrayRef> {
    cast(chunk, &DataType::Utf8).with_context(|| {
        format!(
            "{}: column {name:?} cannot be read as text",
            side.path.display()
        )
    })
}

/// Per-row labels (`None` = missing) borrowed from [`text_chunk`]s.
pub fn labels(chunks: &[ArrayRef]) -> Vec<Option<&str>> {
    let mut out = Vec::with_capacity(chunks.iter().map(|c| c.len()).sum());
    for chunk in chunks {
        if let Some(strings) = chunk.as_any().downcast_ref::<StringArray>() {
            out.extend(strings.iter());
        } else {
            // Only reachable for a chunk that was not cast; count its rows as missing.
            out.extend(std::iter::repeat_n(None, chunk.len()));
        }
    }
    out
}
