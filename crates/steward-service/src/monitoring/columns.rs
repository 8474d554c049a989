//! Between Arrow batches (steward-ingest) and steward-drift's columns: which Arrow type a
//! feature is read as, its values as drift counts them, and the reference profile of a whole
//! upload.
//!
//! Numbers (floats, integers, timestamps in seconds) are numeric features; text, categories and
//! booleans (`"true"` / `"false"`) are categorical ones.

use std::sync::Arc;

use steward_domain::registry::{Feature, FeatureType};
use steward_drift::{Column, FeatureKind, FeatureRole, Profile, ProfileConfig};
use steward_ingest::arrow::array::{Array, ArrayRef, AsArray};
use steward_ingest::arrow::datatypes::{
    DataType, Field, Float64Type, Int64Type, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType,
};
use steward_ingest::{Source, arrow_type};

use crate::ServiceError;

/// A column's values, borrowed from its batch where they can be.
pub(crate) enum Values<'a> {
    Numeric(Vec<Option<f64>>),
    Categorical(Vec<Option<&'a str>>),
}

impl<'a> Values<'a> {
    /// The values of `array` (of a type [`read_type`] chose).
    pub(crate) fn of(array: &'a ArrayRef) -> Result<Values<'a>, ServiceError> {
        Ok(match array.data_type() {
            DataType::Float64 => {
                Values::Numeric(array.as_primitive::<Float64Type>().iter().collect())
            }
            DataType::Int64 => Values::Numeric(
                array
                    .as_primitive::<Int64Type>()
                    .iter()
                    .map(|v| v.map(|x| x as f64))
                    .collect(),
            ),
            DataType::Timestamp(TimeUnit::Microsecond, _) => Values::Numeric(
                array
                    .as_primitive::<TimestampMicrosecondType>()
                    .iter()
                    .map(|v| v.map(|x| x as f64 / 1e6))
                    .collect(),
            ),
            DataType::Boolean => Values::Categorical(
                array
                    .as_boolean()
                    .iter()
                    .map(|v| v.map(|b| if b { "true" } else { "false" }))
                    .collect(),
            ),
            DataType::Utf8 => Values::Categorical(array.as_string::<i32>().iter().collect()),
            other => {
                return Err(ServiceError::Internal(format!(
                    "column read as {other}, which monitoring does not profile"
                )));
            }
        })
    }

    /// The values at `rows`, in that order.
    pub(crate) fn gather(&self, rows: &[u32]) -> Values<'a> {
        match self {
            Values::Numeric(v) => Values::Numeric(rows.iter().map(|&r| v[r as usize]).collect()),
            Values::Categorical(v) => {
                Values::Categorical(rows.iter().map(|&r| v[r as usize]).collect())
            }
        }
    }

    /// The first value that is not a finite number: (row, value).
    pub(crate) fn first_non_finite(&self) -> Option<(usize, f64)> {
        match self {
            Values::Numeric(v) => v
                .iter()
                .enumerate()
                .find_map(|(i, x)| x.filter(|x| !x.is_finite()).map(|x| (i, x))),
            Values::Categorical(_) => None,
        }
    }

    pub(crate) fn column<'c>(&'c self, name: &'c str, role: FeatureRole) -> Column<'c> {
        match self {
            Values::Numeric(v) => Column::numeric(name, v),
            Values::Categorical(v) => Column::categorical(name, v),
        }
        .with_role(role)
    }
}

/// The drift kind of an input feature.
pub(crate) fn kind_of(t: FeatureType) -> FeatureKind {
    match t {
        FeatureType::Float | FeatureType::Integer | FeatureType::Timestamp => FeatureKind::Numeric,
        FeatureType::Boolean | FeatureType::String | FeatureType::Categorical => {
            FeatureKind::Categorical
        }
    }
}

/// The Arrow type the prediction is read as, from its kind in the baseline.
pub(crate) fn prediction_type(kind: FeatureKind) -> DataType {
    match kind {
        FeatureKind::Numeric => DataType::Float64,
        FeatureKind::Categorical => DataType::Utf8,
    }
}

/// The schema an upload is read with: the version's input features, then `extra` columns.
pub(crate) fn upload_schema(features: &[Feature], extra: &[(&str, DataType)]) -> SchemaRef {
    let mut fields: Vec<Field> = features
        .iter()
        .map(|f| Field::new(&f.name, arrow_type(f.kind), true))
        .collect();
    for (name, t) in extra {
        if !features.iter().any(|f| f.name == *name) {
            fields.push(Field::new(*name, t.clone(), true));
        }
    }
    Arc::new(Schema::new(fields))
}

/// A column of the whole reference, owned.
enum Owned {
    Numeric(Vec<Option<f64>>),
    Categorical(Vec<Option<String>>),
}

/// The reference profile of a whole upload: every named column read in one pass, then profiled
/// with steward-drift's defaults. Errors name the column and the row as the user counts it.
pub(crate) fn reference_profile(
    source: &Source,
    columns: &[(String, FeatureRole)],
) -> Result<Profile, ServiceError> {
    let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
    let mut owned: Vec<Option<Owned>> = columns.iter().map(|_| None).collect();
    let batches = source.batches(Some(&names)).map_err(invalid)?;
    let mut offset = 0u64;
    for batch in batches {
        let batch = batch.map_err(invalid)?;
        for (i, array) in batch.columns().iter().enumerate() {
            let values = Values::of(array)?;
            if let Some((row, x)) = values.first_non_finite() {
                return Err(non_finite(source, names[i], offset + row as u64, x));
            }
            match (values, &mut owned[i]) {
                (Values::Numeric(v), Some(Owned::Numeric(all))) => all.extend(v),
                (Values::Numeric(v), slot) => *slot = Some(Owned::Numeric(v)),
                (Values::Categorical(v), Some(Owned::Categorical(all))) => {
                    all.extend(v.into_iter().map(|x| x.map(str::to_owned)));
                }
                (Values::Categorical(v), slot) => {
                    *slot = Some(Owned::Categorical(
                        v.into_iter().map(|x| x.map(str::to_owned)).collect(),
                    ));
                }
            }
        }
        offset += batch.num_rows() as u64;
    }
    let borrowed: Vec<Vec<Option<&str>>> = owned
        .iter()
        .map(|o| match o {
            Some(Owned::Categorical(v)) => v.iter().map(|x| x.as_deref()).collect(),
            _ => Vec::new(),
        })
        .collect();
    let cols: Vec<Column<'_>> = columns
        .iter()
        .zip(&owned)
        .zip(&borrowed)
        .map(|(((name, role), o), b)| {
            match o {
                Some(Owned::Numeric(v)) => Column::numeric(name, v),
                _ => Column::categorical(name, b),
            }
            .with_role(*role)
        })
        .collect();
    Profile::from_reference_with(&cols, &ProfileConfig::default())
        .map_err(|e| ServiceError::Invalid(format!("{}: {e}", source.name())))
}

/// An ingestion error as users read it (it names the input, the column and the row).
pub(crate) fn invalid(e: steward_ingest::IngestError) -> ServiceError {
    ServiceError::Invalid(e.to_string())
}

/// The error for a NaN or infinite number at zero-based data row `row`.
pub(crate) fn non_finite(source: &Source, column: &str, row: u64, x: f64) -> ServiceError {
    ServiceError::Invalid(format!(
        "{}: column \"{column}\" has a non-finite value ({x}) at {}; send finite numbers or leave the value empty",
        source.name(),
        source.locate(row),
    ))
}
