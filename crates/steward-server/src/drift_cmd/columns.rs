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

use super::read::{Table, TableColumn};

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
pub fn resolve_kind(reference: &Table, current: &Table, name: &str) -> Result<FeatureKind> {
    let (Some(rc), Some(cc)) = (reference.column(name), current.column(name)) else {
        bail!("column {name:?} was not loaded from both files");
    };
    let kind_in = |table: &Table, col: &TableColumn| {
        classify(&col.data_type).with_context(|| {
            format!(
                "{}: column {name:?} has type {}, which is neither numeric nor categorical",
                table.path.display(),
                col.data_type
            )
        })
    };
    let (rk, ck) = (kind_in(reference, rc)?, kind_in(current, cc)?);
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
/// first row of the categorical side that is not a number when there is one.
fn mismatch(numeric: &Table, text: &Table, name: &str) -> anyhow::Error {
    let (Some(nc), Some(tc)) = (numeric.column(name), text.column(name)) else {
        return anyhow::anyhow!("column {name:?} was not loaded from both files");
    };
    let culprit = first_non_number(&tc.chunks)
        .map(|(row, value)| format!(": {} holds {value:?}", text.locate(row)))
        .unwrap_or_default();
    anyhow::anyhow!(
        "type mismatch in column {name:?}: numeric ({}) in {} but categorical ({}) in {}{culprit}",
        nc.data_type,
        numeric.path.display(),
        tc.data_type,
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

/// Finite values of a numeric column into `values` (cleared first; passing the same buffer for
/// every column saves fresh pages per column) and its number of missing values; a NaN or
/// infinite value is an error naming the file, column and row.
pub fn numeric_values(table: &Table, name: &str, values: &mut Vec<f64>) -> Result<u64> {
    let col = table
        .column(name)
        .with_context(|| format!("column {name:?} was not loaded"))?;
    values.clear();
    values.reserve(table.rows);
    let mut missing = 0u64;
    let mut offset = 0usize;
    for chunk in &col.chunks {
        if chunk.data_type() == &DataType::Null {
            missing += chunk.len() as u64;
            offset += chunk.len();
            continue;
        }
        let floats = cast(chunk, &DataType::Float64).with_context(|| {
            format!(
                "{}: column {name:?} cannot be read as numbers",
                table.path.display()
            )
        })?;
        let floats = floats.as_primitive::<Float64Type>();
        if floats.null_count() == 0 {
            values.extend_from_slice(floats.values());
        } else {
            values.extend(floats.iter().flatten());
            missing += floats.null_count() as u64;
        }
        offset += chunk.len();
    }
    if let Some(pos) = values.iter().position(|v| !v.is_finite()) {
        let value = values[pos];
        let row = row_of_value(&col.chunks, pos);
        bail!(
            "{}: column {name:?} has a non-finite value ({value}) at {}",
            table.path.display(),
            table.locate(row)
        );
    }
    debug_assert_eq!(offset, table.rows);
    Ok(missing)
}

/// The row of the `index`-th non-missing value of a column.
fn row_of_value(chunks: &[ArrayRef], index: usize) -> usize {
    let mut seen = 0usize;
    let mut offset = 0usize;
    for chunk in chunks {
        let present = chunk.len() - chunk.logical_null_count();
        if seen + present <= index {
            seen += present;
            offset += chunk.len();
            continue;
        }
        for i in 0..chunk.len() {
            if chunk.is_valid(i) {
                if seen == index {
                    return offset + i;
                }
                seen += 1;
            }
        }
    }
    offset
}

/// A categorical column as text arrays (booleans, dictionaries and string variants cast to
/// `Utf8`); [`labels`] borrows per-row labels from it.
pub fn text_chunks(table: &Table, name: &str) -> Result<Vec<ArrayRef>> {
    let col = table
        .column(name)
        .with_context(|| format!("column {name:?} was not loaded"))?;
    col.chunks
        .iter()
        .map(|chunk| {
            cast(chunk, &DataType::Utf8).with_context(|| {
                format!(
                    "{}: column {name:?} cannot be read as text",
                    table.path.display()
                )
            })
        })
        .collect()
}

/// Per-row labels (`None` = missing) borrowed from [`text_chunks`].
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
