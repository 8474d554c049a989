//! The text formats through arrow's readers: CSV (schema inferred over every record, or the
//! given one matched to the header by name) and JSON lines (decoded a batch of lines at a time,
//! flat rows by `flatjson`, anything else by arrow-json; a failing batch is decoded again line
//! by line to name the row that broke it).

use std::io::{BufRead, Cursor};
use std::sync::Arc;

use arrow::csv::ReaderBuilder as CsvReaderBuilder;
use arrow::csv::reader::Format as CsvFormat;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::json::ReaderBuilder as JsonReaderBuilder;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;

use crate::batches::Inner;
use crate::error::{IngestError, RowRef};
use crate::format::Format;
use crate::source::{
    Data, OnceReader, Opened, Pending, Source, check_names, io, malformed, missing,
};

/// (batch schema, input schema, data rows when counted).
type Schemas = (SchemaRef, SchemaRef, Option<u64>);

fn whole(name: &str, data: &Data) -> Result<OnceReader, IngestError> {
    match data {
        Data::File(path) => {
            let file = std::fs::File::open(path).map_err(|error| IngestError::Open {
                input: name.to_owned(),
                error,
            })?;
            Ok(Box::new(std::io::BufReader::with_capacity(
                256 * 1024,
                file,
            )))
        }
        Data::Bytes(b) => Ok(Box::new(Cursor::new(b.clone()))),
        Data::Once(_) => Err(IngestError::AlreadyRead {
            input: name.to_owned(),
        }),
    }
}

/// The CSV schemas of a file or bytes: inferred over every record (so a column's type does not
/// depend on how many lines were sampled), or the given one matched to the header.
pub(crate) fn csv_schema(
    name: &str,
    data: &Data,
    given: Option<&SchemaRef>,
    optional: &[String],
) -> Result<Schemas, IngestError> {
    let reader = whole(name, data)?;
    match given {
        None => {
            let (schema, records) = CsvFormat::default()
                .with_header(true)
                .infer_schema(reader, None)
                .map_err(|e| csv_error(name, e))?;
            inferred(name, &schema, records)
        }
        Some(given) => {
            let header = header_schema(name, reader)?;
            let given = crate::source::prune(given, &header, optional);
            let file_schema = csv_file_schema(name, &header, &given)?;
            Ok((given, file_schema, None))
        }
    }
}

/// The header's column names (as text columns).
fn header_schema(name: &str, reader: impl std::io::Read) -> Result<SchemaRef, IngestError> {
    let (schema, _) = CsvFormat::default()
        .with_header(true)
        .infer_schema(reader, Some(0))
        .map_err(|e| malformed(name, Format::Csv, e))?;
    let schema = Arc::new(Schema::new(schema.fields().clone()));
    check_names(name, &schema)?;
    Ok(schema)
}

/// Reads a one-pass input's header line, leaving the reader at the first record.
pub(crate) fn read_header_line(
    name: &str,
    reader: &mut OnceReader,
) -> Result<SchemaRef, IngestError> {
    let mut line = Vec::new();
    reader
        .read_until(b'\n', &mut line)
        .map_err(|e| io(name, e))?;
    header_schema(name, Cursor::new(line))
}

/// Every header column typed: as the given schema says where it names the column, as text
/// otherwise (such columns are never decoded, only skipped).
pub(crate) fn csv_file_schema(
    name: &str,
    header: &SchemaRef,
    given: &SchemaRef,
) -> Result<SchemaRef, IngestError> {
    for f in given.fields() {
        if header.index_of(f.name()).is_err() {
            return Err(missing(name, f.name(), header));
        }
    }
    let fields: Vec<Field> = header
        .fields()
        .iter()
        .map(|h| match given.field_with_name(h.name()) {
            Ok(g) => Field::new(h.name(), g.data_type().clone(), true),
            Err(_) => Field::new(h.name(), DataType::Utf8, true),
        })
        .collect();
    Ok(Arc::new(Schema::new(fields)))
}

pub(crate) fn csv_batches<'a>(
    source: &'a Source,
    out: &SchemaRef,
) -> Result<Inner<'a>, IngestError> {
    let projection = source.projection(out)?;
    let (reader, header) = match source.reader()? {
        Opened::Whole(r) => (r, true),
        Opened::Rest(Pending::Text(r)) => (r, false),
        Opened::Rest(Pending::Arrow(_)) => {
            return Err(malformed(&source.name, Format::Csv, "not CSV text"));
        }
    };
    let reader = CsvReaderBuilder::new(Arc::clone(&source.file_schema))
        .with_header(header)
        .with_batch_size(source.batch_rows)
        .with_projection(projection)
        .build_buffered(reader)
        .map_err(|e| malformed(&source.name, Format::Csv, e))?;
    let name = source.name.as_str();
    let file_schema = Arc::clone(&source.file_schema);
    let mut rows = 0u64;
    Ok(Box::new(reader.map(move |batch| match batch {
        Ok(b) => {
            rows += b.num_rows() as u64;
            Ok(b)
        }
        Err(e) => Err(csv_error_in(name, e, rows, &file_schema, header)),
    })))
}

/// The first number after `key` in `message`.
fn number_after(message: &str, key: &str) -> Option<u64> {
    let at = message.find(key)? + key.len();
    let digits: String = message[at..]
        .chars()
        .skip_while(|c| *c == ' ')
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Arrow's CSV decoder counts the records it decoded (the header among them when it read it)
/// from 0 for a value that does not parse, and from 1 for a ragged record; `first` is the
/// count of the first data row.
fn csv_row(line: u64, first: u64) -> RowRef {
    Format::Csv.locate(line.saturating_sub(first))
}

/// A CSV error while inferring the schema: the csv crate counts lines of the file from 1.
fn csv_error(name: &str, e: ArrowError) -> IngestError {
    let message = e.to_string();
    let Some(line) = number_after(&message, "at line") else {
        return malformed(name, Format::Csv, message);
    };
    let detail = match (
        number_after(&message, "Expected"),
        number_after(&message, "found"),
    ) {
        (Some(want), Some(got)) => format!("expected {want} fields, found {got}"),
        _ => strip_location(&message),
    };
    IngestError::Record {
        input: name.to_owned(),
        at: RowRef {
            row: line.saturating_sub(2),
            line: Some(line),
        },
        detail,
    }
}

/// A CSV error while decoding: the column and row of a value that does not parse, the row of a
/// ragged record.
fn csv_error_in(
    name: &str,
    e: ArrowError,
    rows: u64,
    file_schema: &Schema,
    header: bool,
) -> IngestError {
    let header = u64::from(header);
    let message = e.to_string();
    let column = number_after(&message, "column")
        .and_then(|c| file_schema.fields().get(c as usize))
        .map(|f| f.name().clone());
    let line = number_after(&message, "line");
    match (column, line) {
        (Some(column), Some(line)) => {
            let value = message
                .split('\'')
                .nth(1)
                .filter(|_| message.contains("parsing value"))
                .map(|v| format!("{v:?} is not a valid "))
                .unwrap_or_default();
            let to = file_schema
                .field_with_name(&column)
                .map(|f| f.data_type().to_string())
                .unwrap_or_default();
            IngestError::Value {
                input: name.to_owned(),
                column,
                at: csv_row(line, header),
                detail: format!("{value}{to}"),
            }
        }
        (None, Some(line)) => IngestError::Record {
            input: name.to_owned(),
            at: csv_row(line, 1 + header),
            detail: strip_location(&message),
        },
        _ => IngestError::Decode {
            input: name.to_owned(),
            format: Format::Csv,
            detail: format!("{message} (after row {rows})"),
        },
    }
}

/// Arrow's message without its own location and prefix ("incorrect number of fields,
/// expected 4 got 2").
fn strip_location(message: &str) -> String {
    let m = message
        .trim_start_matches("Csv error: ")
        .trim_start_matches("Parser error: ");
    match m.find(" for line ") {
        Some(at) => {
            let rest = &m[at + " for line ".len()..];
            let tail = rest.trim_start_matches(|c: char| c.is_ascii_digit());
            format!("{}{tail}", &m[..at])
        }
        None => m.to_owned(),
    }
}

/// The JSON lines schemas: given, or inferred over every line.
pub(crate) fn json_schema(
    name: &str,
    data: &Data,
    given: Option<&SchemaRef>,
) -> Result<Schemas, IngestError> {
    if let Some(given) = given {
        return Ok((Arc::clone(given), Arc::clone(given), None));
    }
    let reader = whole(name, data)?;
    let (schema, records) = match arrow::json::reader::infer_json_schema(reader, None) {
        Ok(found) => found,
        Err(e) => return Err(locate_json_error(name, data, e)),
    };
    inferred(name, &schema, records)
}

/// The schemas of an inferred text file of `records` rows: its names checked, at least one row.
fn inferred(name: &str, schema: &Schema, records: usize) -> Result<Schemas, IngestError> {
    let schema = Arc::new(Schema::new(schema.fields().clone()));
    check_names(name, &schema)?;
    if records == 0 {
        return Err(IngestError::NoRows {
            input: name.to_owned(),
        });
    }
    Ok((Arc::clone(&schema), schema, Some(records as u64)))
}

/// Finds the line inference failed on by decoding line by line.
fn locate_json_error(name: &str, data: &Data, e: ArrowError) -> IngestError {
    let Ok(reader) = whole(name, data) else {
        return malformed(name, Format::JsonLines, e);
    };
    let mut row = 0u64;
    for (n, line) in reader.lines().enumerate() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        if let Err(e) = arrow::json::reader::infer_json_schema(Cursor::new(line), None) {
            return IngestError::Record {
                input: name.to_owned(),
                at: RowRef {
                    row,
                    line: Some(n as u64 + 1),
                },
                detail: trim_arrow(&e.to_string()),
            };
        }
        row += 1;
    }
    malformed(name, Format::JsonLines, e)
}

fn trim_arrow(message: &str) -> String {
    message.trim_start_matches("Json error: ").to_owned()
}

pub(crate) fn json_batches<'a>(
    source: &'a Source,
    out: &SchemaRef,
) -> Result<Inner<'a>, IngestError> {
    let input = match (&source.data, source.reader()?) {
        // A body already in memory is cut into batches in place, not copied line by line.
        (Data::Bytes(body), _) => Lines::Body {
            body: body.clone(),
            at: 0,
        },
        (_, Opened::Whole(r) | Opened::Rest(Pending::Text(r))) => Lines::Reader(r),
        (_, Opened::Rest(Pending::Arrow(_))) => {
            return Err(malformed(&source.name, Format::JsonLines, "not JSON text"));
        }
    };
    let mut lines = JsonLines {
        name: source.name.clone(),
        schema: Arc::clone(out),
        input,
        batch_rows: source.batch_rows,
        line: 0,
        row: 0,
        done: false,
    };
    Ok(Box::new(std::iter::from_fn(move || lines.next_batch())))
}

/// Where JSON lines come from.
enum Lines {
    /// A body in memory, read from byte `at` on.
    Body { body: Bytes, at: usize },
    /// Anything else, copied a batch of lines at a time.
    Reader(OnceReader),
}

/// JSON lines read a batch at a time, remembering each record's line.
struct JsonLines {
    name: String,
    schema: SchemaRef,
    input: Lines,
    batch_rows: usize,
    line: u64,
    row: u64,
    done: bool,
}

/// A batch's text and where each of its records starts, with its line number.
type Chunk = (Bytes, Vec<(usize, u64)>);

impl JsonLines {
    fn decoder(&self) -> Result<arrow::json::reader::Decoder, IngestError> {
        JsonReaderBuilder::new(Arc::clone(&self.schema))
            .with_batch_size(self.batch_rows)
            .build_decoder()
            .map_err(|e| malformed(&self.name, Format::JsonLines, e))
    }

    /// The next batch's lines: up to `batch_rows` records, blank lines skipped.
    fn next_chunk(&mut self) -> Result<Chunk, IngestError> {
        let mut starts: Vec<(usize, u64)> = Vec::new();
        match &mut self.input {
            Lines::Body { body, at } => {
                let begin = *at;
                let mut pos = begin;
                while starts.len() < self.batch_rows && pos < body.len() {
                    let end =
                        memchr::memchr(b'\n', &body[pos..]).map_or(body.len(), |n| pos + n + 1);
                    self.line += 1;
                    if !body[pos..end].iter().all(u8::is_ascii_whitespace) {
                        starts.push((pos - begin, self.line));
                    }
                    pos = end;
                }
                self.done = pos >= body.len();
                *at = pos;
                Ok((body.slice(begin..pos), starts))
            }
            Lines::Reader(reader) => {
                let mut buf = Vec::new();
                while starts.len() < self.batch_rows {
                    let at = buf.len();
                    let read = reader.read_until(b'\n', &mut buf).map_err(|e| {
                        self.done = true;
                        io(&self.name, e)
                    })?;
                    if read == 0 {
                        self.done = true;
                        break;
                    }
                    self.line += 1;
                    if buf[at..].iter().all(u8::is_ascii_whitespace) {
                        buf.truncate(at);
                    } else {
                        if buf.last() != Some(&b'\n') {
                            buf.push(b'\n');
                        }
                        starts.push((at, self.line));
                    }
                }
                Ok((Bytes::from(buf), starts))
            }
        }
    }

    fn next_batch(&mut self) -> Option<Result<RecordBatch, IngestError>> {
        if self.done {
            return None;
        }
        let (buf, starts) = match self.next_chunk() {
            Ok(chunk) => chunk,
            Err(e) => return Some(Err(e)),
        };
        if starts.is_empty() {
            self.done = true;
            return None;
        }
        if let Some(batch) = crate::flatjson::decode(&self.schema, &buf, &starts) {
            self.row += batch.num_rows() as u64;
            return Some(Ok(batch));
        }
        let decoded = self.decoder().and_then(|mut d| {
            let used = d.decode(&buf).map_err(|e| self.decode_error(e))?;
            if used < buf.len() {
                return Err(self.decode_error(ArrowError::JsonError("trailing data".into())));
            }
            d.flush().map_err(|e| self.decode_error(e))
        });
        match decoded {
            Ok(Some(batch)) => {
                self.row += batch.num_rows() as u64;
                Some(Ok(batch))
            }
            Ok(None) => None,
            Err(_) => {
                self.done = true;
                Some(Err(self.locate(&buf, &starts)))
            }
        }
    }

    fn decode_error(&self, e: ArrowError) -> IngestError {
        IngestError::Decode {
            input: self.name.clone(),
            format: Format::JsonLines,
            detail: trim_arrow(&e.to_string()),
        }
    }

    /// Decodes the batch's lines one at a time to name the first that fails.
    fn locate(&self, buf: &[u8], starts: &[(usize, u64)]) -> IngestError {
        for (i, &(at, line)) in starts.iter().enumerate() {
            let end = starts.get(i + 1).map_or(buf.len(), |s| s.0);
            let one = &buf[at..end];
            let result = self.decoder().and_then(|mut d| {
                d.decode(one).map_err(|e| self.decode_error(e))?;
                d.flush().map_err(|e| self.decode_error(e))
            });
            let Err(e) = result else { continue };
            let at = RowRef {
                row: self.row + i as u64,
                line: Some(line),
            };
            let detail = match e {
                IngestError::Decode { detail, .. } => detail,
                other => other.to_string(),
            };
            let field = detail
                .strip_prefix("whilst decoding field '")
                .and_then(|rest| rest.split_once("': "));
            return match field {
                Some((column, why)) => IngestError::Value {
                    input: self.name.clone(),
                    column: column.to_owned(),
                    at,
                    detail: why.to_owned(),
                },
                None => IngestError::Record {
                    input: self.name.clone(),
                    at,
                    detail,
                },
            };
        }
        IngestError::Decode {
            input: self.name.clone(),
            format: Format::JsonLines,
            detail: format!("a batch after row {} does not decode", self.row),
        }
    }
}
