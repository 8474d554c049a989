//! Reading production and reference data as Arrow record batches: CSV, JSON lines, Parquet and
//! Arrow IPC (file and stream), from a file, bytes in memory or any [`std::io::Read`].
//!
//! A [`Source`] is opened once (format detected from the content unless given, schema given or
//! inferred) and read any number of times as [`Batches`] of chosen columns, so a caller can
//! stream a large file batch by batch or read it one column at a time. Every error names the
//! source and, where one is to blame, the column and the row ([`IngestError`]).
//!
//! [`sagemaker_capture`] reads the JSON lines of a SageMaker endpoint's data capture (inputs,
//! prediction, event id and time) into a batch.
//!
//! Sync and storage-free: no async runtime, no database. What becomes of the batches
//! (profiles, drift) is the caller's business.

mod batches;
mod binary;
mod error;
mod flatjson;
mod format;
mod sagemaker;
mod source;
mod text;

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use steward_domain::registry::{Feature, FeatureType};

pub use arrow;
pub use batches::Batches;
pub use error::{IngestError, RowRef};
pub use format::Format;
pub use sagemaker::{EVENT_TIME, PREDICTION_ID, sagemaker_capture};
pub use source::{DEFAULT_BATCH_ROWS, Options, Source};

/// The time zone of every timestamp column: UTC, written as an offset because arrow parses named
/// zones only with its `chrono-tz` feature, which this crate leaves out.
pub const UTC: &str = "+00:00";

/// The Arrow type a feature of a model's input schema is read as.
pub fn arrow_type(kind: FeatureType) -> DataType {
    match kind {
        FeatureType::Float => DataType::Float64,
        FeatureType::Integer => DataType::Int64,
        FeatureType::Boolean => DataType::Boolean,
        FeatureType::String | FeatureType::Categorical => DataType::Utf8,
        FeatureType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
    }
}

/// The Arrow schema of a model version's input schema (every column may hold missing values).
pub fn schema_of(features: &[Feature]) -> SchemaRef {
    Arc::new(Schema::new(
        features
            .iter()
            .map(|f| Field::new(&f.name, arrow_type(f.kind), true))
            .collect::<Vec<_>>(),
    ))
}
