//! [`Source`]: one input (a file, bytes in memory or a one-pass reader) with its detected format
//! and its schema, given or inferred, from which record batches of chosen columns are read.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arrow::compute::can_cast_types;
use arrow::datatypes::{Field, Schema, SchemaRef};
use bytes::Bytes;

use crate::batches::{Batches, guard};
use crate::error::{IngestError, RowRef, column_list};
use crate::format::{Format, SNIFF_BYTES, detect};
use crate::{binary, text};

/// Rows per batch unless the caller chooses: large enough that per-batch work is negligible,
/// small enough to stay cache- and memory-friendly while decoding.
pub const DEFAULT_BATCH_ROWS: usize = 64 * 1024;

/// How to read a source.
#[derive(Debug, Clone)]
pub struct Options {
    /// The format, when the caller knows it (a content type); detected from the content
    /// otherwise.
    pub format: Option<Format>,
    /// The schema the batches must have (a model version's input schema, see
    /// [`crate::schema_of`]): its columns are looked up by name, text formats are parsed
    /// straight into its types and binary formats cast to them. `None` takes the input's own
    /// schema, inferred over every record for text formats.
    pub schema: Option<SchemaRef>,
    /// Rows per batch.
    pub batch_rows: usize,
    /// Columns of `schema` the input may lack (a prediction id, an event time): when the input
    /// has no such column it is left out of the source's schema (JSON lines, which have no
    /// header, keep it, holding nulls). Every other column of `schema` is required.
    pub optional: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            format: None,
            schema: None,
            batch_rows: DEFAULT_BATCH_ROWS,
            optional: Vec::new(),
        }
    }
}

/// A reader a one-pass source reads from.
pub(crate) type OnceReader = Box<dyn BufRead + Send>;

/// Where the bytes are.
pub(crate) enum Data {
    /// A file, opened again for every read.
    File(PathBuf),
    /// Bytes in memory.
    Bytes(Bytes),
    /// A one-pass reader, already past what opening consumed (a CSV header line, an Arrow
    /// stream's schema message).
    Once(Mutex<Option<Pending>>),
}

/// What a one-pass source has left to read.
pub(crate) enum Pending {
    /// Text records.
    Text(OnceReader),
    /// Arrow stream batches.
    Arrow(arrow::ipc::reader::StreamReader<OnceReader>),
}

/// One input with its format and schema.
pub struct Source {
    pub(crate) name: String,
    pub(crate) format: Format,
    /// The schema batches carry.
    pub(crate) schema: SchemaRef,
    /// The input's own columns (CSV: every header column, typed by `schema` where it names
    /// them; binary formats: the stored schema).
    pub(crate) file_schema: SchemaRef,
    pub(crate) rows: Option<u64>,
    pub(crate) data: Data,
    pub(crate) batch_rows: usize,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("columns", &self.schema.fields().len())
            .finish()
    }
}

impl Source {
    /// Opens the file at `path`; its display form names it in errors.
    pub fn open(path: &Path, options: &Options) -> Result<Source, IngestError> {
        let name = path.display().to_string();
        let mut file = File::open(path).map_err(|error| IngestError::Open {
            input: name.clone(),
            error,
        })?;
        let mut head = Vec::with_capacity(SNIFF_BYTES);
        (&mut file)
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut head)
            .map_err(|error| io(&name, error))?;
        let format = match options.format {
            Some(f) => f,
            None => detect(&name, &head, head.len() < SNIFF_BYTES)?,
        };
        drop(file);
        Self::build(name, format, Data::File(path.to_owned()), options)
    }

    /// Reads `bytes` (an upload held in memory); `name` names it in errors.
    pub fn from_bytes(
        name: impl Into<String>,
        bytes: Bytes,
        options: &Options,
    ) -> Result<Source, IngestError> {
        let name = name.into();
        let format = match options.format {
            Some(f) => f,
            None => {
                let head = &bytes[..bytes.len().min(SNIFF_BYTES)];
                detect(&name, head, bytes.len() <= SNIFF_BYTES)?
            }
        };
        Self::build(name, format, Data::Bytes(bytes), options)
    }

    /// Reads from `reader`, once. CSV and JSON lines with a given schema and Arrow streams are
    /// streamed batch by batch; formats that need random access (Parquet, Arrow files) or a
    /// first pass to infer the schema are buffered in memory first.
    pub fn from_reader(
        name: impl Into<String>,
        reader: impl Read + Send + 'static,
        options: &Options,
    ) -> Result<Source, IngestError> {
        let name = name.into();
        let mut reader = BufReader::with_capacity(SNIFF_BYTES.max(64 * 1024), reader);
        let head = reader.fill_buf().map_err(|e| io(&name, e))?.to_vec();
        let format = match options.format {
            Some(f) => f,
            None => detect(&name, &head, head.len() < SNIFF_BYTES)?,
        };
        let streams = match format {
            Format::ArrowStream => true,
            Format::Csv | Format::JsonLines => options.schema.is_some(),
            Format::Parquet | Format::ArrowFile => false,
        };
        if !streams {
            let mut all = Vec::new();
            reader.read_to_end(&mut all).map_err(|e| io(&name, e))?;
            let options = Options {
                format: Some(format),
                ..options.clone()
            };
            return Self::from_bytes(name, Bytes::from(all), &options);
        }
        let mut reader: OnceReader = Box::new(reader);
        let (schema, file_schema, pending) = match format {
            Format::ArrowStream => {
                let stream = guard(&name, format, || {
                    arrow::ipc::reader::StreamReader::try_new(reader, None)
                })?
                .map_err(|e| malformed(&name, format, e))?;
                let stored = stream.schema();
                let schema = conform_schema(&name, options, &stored)?;
                (schema, stored, Pending::Arrow(stream))
            }
            Format::Csv => {
                let header = text::read_header_line(&name, &mut reader)?;
                let given = match &options.schema {
                    Some(g) => prune(g, &header, &options.optional),
                    None => Arc::clone(&header),
                };
                let file_schema = text::csv_file_schema(&name, &header, &given)?;
                (given, file_schema, Pending::Text(reader))
            }
            _ => {
                let given = options.schema.clone().unwrap_or_else(empty_schema);
                (Arc::clone(&given), given, Pending::Text(reader))
            }
        };
        check_names(&name, &schema)?;
        Ok(Source {
            name,
            format,
            schema,
            file_schema,
            rows: None,
            data: Data::Once(Mutex::new(Some(pending))),
            batch_rows: options.batch_rows.max(1),
        })
    }

    fn build(
        name: String,
        format: Format,
        data: Data,
        options: &Options,
    ) -> Result<Source, IngestError> {
        let given = options.schema.as_ref();
        let read = || match format {
            Format::Csv => text::csv_schema(&name, &data, given, &options.optional),
            Format::JsonLines => text::json_schema(&name, &data, given),
            Format::Parquet => {
                let (stored, rows) = binary::parquet_schema(&name, &data)?;
                Ok((conform_schema(&name, options, &stored)?, stored, Some(rows)))
            }
            Format::ArrowFile | Format::ArrowStream => {
                let stored = binary::ipc_schema(&name, format, &data)?;
                Ok((conform_schema(&name, options, &stored)?, stored, None))
            }
        };
        let (schema, file_schema, rows) = guard(&name, format, read)??;
        check_names(&name, &schema)?;
        if rows == Some(0) {
            return Err(IngestError::NoRows { input: name });
        }
        Ok(Source {
            name,
            format,
            schema,
            file_schema,
            rows,
            data,
            batch_rows: options.batch_rows.max(1),
        })
    }

    /// The name errors use.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The format read.
    pub fn format(&self) -> Format {
        self.format
    }

    /// The schema of the batches (given, or the input's own).
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The number of data rows when known without reading them (Parquet's metadata, the
    /// inference pass over a text format).
    pub fn rows(&self) -> Option<u64> {
        self.rows
    }

    /// True when the schema has a column called `name`.
    pub fn has_column(&self, name: &str) -> bool {
        self.schema.index_of(name).is_ok()
    }

    /// Where zero-based data row `row` is, as users count it.
    pub fn locate(&self, row: u64) -> RowRef {
        self.format.locate(row)
    }

    /// The stored columns the batch schema's names come from, in stored order.
    pub(crate) fn projection(&self, out: &SchemaRef) -> Result<Vec<usize>, IngestError> {
        let mut roots: Vec<usize> = out
            .fields()
            .iter()
            .map(|f| {
                self.file_schema
                    .index_of(f.name())
                    .map_err(|_| self.missing_column(f.name()))
            })
            .collect::<Result<_, _>>()?;
        roots.sort_unstable();
        roots.dedup();
        Ok(roots)
    }

    /// The error for a column this source lacks.
    pub fn missing_column(&self, column: &str) -> IngestError {
        missing(&self.name, column, &self.schema)
    }

    /// Reads the columns called `columns` (every column when `None`), in that order, batch by
    /// batch. Files and bytes can be read any number of times, also at once from several
    /// threads; a one-pass reader once.
    pub fn batches(&self, columns: Option<&[&str]>) -> Result<Batches<'_>, IngestError> {
        let wanted: Vec<usize> = match columns {
            None => (0..self.schema.fields().len()).collect(),
            Some(names) => names
                .iter()
                .map(|n| self.schema.index_of(n).map_err(|_| self.missing_column(n)))
                .collect::<Result<_, _>>()?,
        };
        let fields: Vec<Field> = wanted
            .iter()
            .map(|&i| self.schema.field(i).clone())
            .collect();
        let out = Arc::new(Schema::new(fields));
        let inner = guard(&self.name, self.format, || match self.format {
            Format::Csv => text::csv_batches(self, &out),
            Format::JsonLines => text::json_batches(self, &out),
            Format::Parquet => binary::parquet_batches(self, &out),
            Format::ArrowFile | Format::ArrowStream => binary::ipc_batches(self, &out),
        })??;
        Ok(Batches::new(self, out, inner))
    }

    /// A fresh reader over the whole input (files and bytes), or the pending one-pass state.
    pub(crate) fn reader(&self) -> Result<Opened, IngestError> {
        match &self.data {
            Data::File(path) => {
                let file = File::open(path).map_err(|error| IngestError::Open {
                    input: self.name.clone(),
                    error,
                })?;
                Ok(Opened::Whole(Box::new(BufReader::with_capacity(
                    256 * 1024,
                    file,
                ))))
            }
            Data::Bytes(bytes) => Ok(Opened::Whole(Box::new(Cursor::new(bytes.clone())))),
            Data::Once(slot) => {
                let pending = slot.lock().ok().and_then(|mut s| s.take());
                pending
                    .map(Opened::Rest)
                    .ok_or_else(|| IngestError::AlreadyRead {
                        input: self.name.clone(),
                    })
            }
        }
    }
}

/// What [`Source::reader`] hands out.
pub(crate) enum Opened {
    /// The input from its first byte.
    Whole(OnceReader),
    /// A one-pass input past what opening consumed.
    Rest(Pending),
}

fn empty_schema() -> SchemaRef {
    Arc::new(Schema::empty())
}

pub(crate) fn io(name: &str, error: std::io::Error) -> IngestError {
    IngestError::Io {
        input: name.to_owned(),
        error,
    }
}

pub(crate) fn malformed(name: &str, format: Format, e: impl std::fmt::Display) -> IngestError {
    IngestError::Malformed {
        input: name.to_owned(),
        format,
        detail: e.to_string(),
    }
}

pub(crate) fn missing(name: &str, column: &str, schema: &Schema) -> IngestError {
    IngestError::MissingColumn {
        input: name.to_owned(),
        column: column.to_owned(),
        available: column_list(schema.fields().iter().map(|f| f.name().as_str())),
    }
}

/// Checks that a schema has columns, each with a name of its own.
pub(crate) fn check_names(name: &str, schema: &Schema) -> Result<(), IngestError> {
    if schema.fields().is_empty() {
        return Err(IngestError::NoColumns {
            input: name.to_owned(),
        });
    }
    let mut seen = std::collections::HashSet::new();
    for f in schema.fields() {
        if f.name().is_empty() {
            return Err(IngestError::UnnamedColumn {
                input: name.to_owned(),
            });
        }
        if !seen.insert(f.name().as_str()) {
            return Err(IngestError::DuplicateColumn {
                input: name.to_owned(),
                column: f.name().clone(),
            });
        }
    }
    Ok(())
}

/// The schema a binary input's batches carry: its stored one, or the given one after checking
/// that every given column is stored under its name with a type that casts to the given type.
/// `given` without the optional columns `present` lacks.
pub(crate) fn prune(given: &SchemaRef, present: &Schema, optional: &[String]) -> SchemaRef {
    let absent = |f: &Field| optional.contains(f.name()) && present.index_of(f.name()).is_err();
    if !given.fields().iter().any(|f| absent(f)) {
        return Arc::clone(given);
    }
    let kept: Vec<Field> = given
        .fields()
        .iter()
        .filter(|f| !absent(f))
        .map(|f| f.as_ref().clone())
        .collect();
    Arc::new(Schema::new(kept))
}

fn conform_schema(
    name: &str,
    options: &Options,
    stored: &SchemaRef,
) -> Result<SchemaRef, IngestError> {
    let Some(given) = options.schema.as_ref() else {
        return Ok(Arc::clone(stored));
    };
    let given = &prune(given, stored, &options.optional);
    for f in given.fields() {
        let Ok(at) = stored.index_of(f.name()) else {
            return Err(missing(name, f.name(), stored));
        };
        let found = stored.field(at).data_type();
        if !can_cast_types(found, f.data_type()) {
            return Err(IngestError::ColumnType {
                input: name.to_owned(),
                column: f.name().clone(),
                found: found.to_string(),
                expected: f.data_type().to_string(),
            });
        }
    }
    Ok(Arc::clone(given))
}
