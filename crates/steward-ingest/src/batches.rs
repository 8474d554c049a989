//! [`Batches`]: the record batches of one read, with the columns in the order asked for and of
//! the schema's types; a value that does not convert is an error naming its column and row.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::compute::{CastOptions, cast, cast_with_options};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

use crate::error::IngestError;
use crate::source::Source;

/// What the format readers hand to [`Batches`]: decoded batches whose columns are a superset
/// of the ones asked for, in any order, of the input's own types.
pub(crate) type Inner<'a> = Box<dyn Iterator<Item = Result<RecordBatch, IngestError>> + Send + 'a>;

/// The batches of one read of a [`Source`]; an iterator of `Result<RecordBatch, IngestError>`.
/// After the first error it yields nothing more.
pub struct Batches<'a> {
    source: &'a Source,
    schema: SchemaRef,
    inner: Inner<'a>,
    rows: u64,
    failed: bool,
    /// Rest of a decoded batch larger than the source's batch size (IPC batches come as
    /// written), handed out in slices.
    rest: Option<RecordBatch>,
}

impl std::fmt::Debug for Batches<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batches")
            .field("source", &self.source.name)
            .field("rows", &self.rows)
            .finish()
    }
}

impl<'a> Batches<'a> {
    pub(crate) fn new(source: &'a Source, schema: SchemaRef, inner: Inner<'a>) -> Batches<'a> {
        Batches {
            source,
            schema,
            inner,
            rows: 0,
            failed: false,
            rest: None,
        }
    }

    /// The schema of every batch.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Rows yielded so far (the first row of the next batch).
    pub fn rows_read(&self) -> u64 {
        self.rows
    }

    fn conform(&self, batch: RecordBatch) -> Result<RecordBatch, IngestError> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.schema.fields().len());
        let in_schema = batch.schema();
        for field in self.schema.fields() {
            let Ok(at) = in_schema.index_of(field.name()) else {
                return Err(self.source.missing_column(field.name()));
            };
            let column = batch.column(at);
            if column.data_type() == field.data_type() {
                columns.push(Arc::clone(column));
            } else {
                columns.push(self.convert(field.name(), column, field.data_type())?);
            }
        }
        RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
        )
        .map_err(|e| IngestError::Decode {
            input: self.source.name.clone(),
            format: self.source.format,
            detail: e.to_string(),
        })
    }

    /// Casts `column` to `to`; a value that does not convert (and would silently become
    /// missing) is an error naming it.
    fn convert(
        &self,
        name: &str,
        column: &ArrayRef,
        to: &DataType,
    ) -> Result<ArrayRef, IngestError> {
        let options = CastOptions {
            safe: true,
            ..CastOptions::default()
        };
        let type_error = || IngestError::ColumnType {
            input: self.source.name.clone(),
            column: name.to_owned(),
            found: column.data_type().to_string(),
            expected: to.to_string(),
        };
        let out = cast_with_options(column, to, &options).map_err(|_| type_error())?;
        if out.logical_null_count() > column.logical_null_count() {
            let bad = (0..column.len()).find(|&i| column.is_valid(i) && out.is_null(i));
            if let Some(i) = bad {
                let shown = cast(&column.slice(i, 1), &DataType::Utf8)
                    .ok()
                    .and_then(|s| {
                        s.as_any()
                            .downcast_ref::<arrow::array::StringArray>()
                            .map(|s| s.value(0).to_owned())
                    })
                    .unwrap_or_default();
                return Err(IngestError::Value {
                    input: self.source.name.clone(),
                    column: name.to_owned(),
                    at: self.source.locate(self.rows + i as u64),
                    detail: format!("{shown:?} cannot be read as {to}"),
                });
            }
        }
        Ok(out)
    }
}

/// Runs a reader step, turning a panic inside a third-party reader (arrow's IPC reader trusts
/// buffer offsets in corrupt input) into an error naming the source, so that bad input never
/// takes the process down.
pub(crate) fn guard<T>(
    name: &str,
    format: crate::Format,
    step: impl FnOnce() -> T,
) -> Result<T, IngestError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)).map_err(|_| IngestError::Decode {
        input: name.to_owned(),
        format,
        detail: "the reader failed on corrupt content".to_owned(),
    })
}

impl Iterator for Batches<'_> {
    type Item = Result<RecordBatch, IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let next = match self.rest.take() {
            Some(rest) => rest,
            None => match guard(&self.source.name, self.source.format, || self.inner.next()) {
                Ok(None) => return None,
                Ok(Some(Ok(batch))) => batch,
                Ok(Some(Err(e))) | Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            },
        };
        let limit = self.source.batch_rows;
        let batch = if next.num_rows() > limit {
            self.rest = Some(next.slice(limit, next.num_rows() - limit));
            next.slice(0, limit)
        } else {
            next
        };
        let out = self.conform(batch);
        match &out {
            Ok(batch) => self.rows += batch.num_rows() as u64,
            Err(_) => self.failed = true,
        }
        Some(out)
    }
}
