//! The binary formats through arrow's and parquet's readers: Parquet (only the asked columns'
//! chunks are decoded) and Arrow IPC files and streams (projected by the reader).

use std::io::Cursor;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::{FileReader, StreamReader};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::batches::Inner;
use crate::error::IngestError;
use crate::format::Format;
use crate::source::{Data, Opened, Pending, Source, malformed};

/// A Parquet reader builder over a file or bytes.
enum ParquetInput {
    File(ParquetRecordBatchReaderBuilder<std::fs::File>),
    Bytes(ParquetRecordBatchReaderBuilder<Bytes>),
}

fn parquet_builder(name: &str, data: &Data) -> Result<ParquetInput, IngestError> {
    let bad = |e: parquet::errors::ParquetError| malformed(name, Format::Parquet, e);
    match data {
        Data::File(path) => {
            let file = std::fs::File::open(path).map_err(|error| IngestError::Open {
                input: name.to_owned(),
                error,
            })?;
            Ok(ParquetInput::File(
                ParquetRecordBatchReaderBuilder::try_new(file).map_err(bad)?,
            ))
        }
        Data::Bytes(b) => Ok(ParquetInput::Bytes(
            ParquetRecordBatchReaderBuilder::try_new(b.clone()).map_err(bad)?,
        )),
        // Opening buffers one-pass Parquet input in memory.
        Data::Once(_) => Err(malformed(name, Format::Parquet, "needs random access")),
    }
}

/// The stored schema and the row count from the footer.
pub(crate) fn parquet_schema(name: &str, data: &Data) -> Result<(SchemaRef, u64), IngestError> {
    let (schema, rows) = match parquet_builder(name, data)? {
        ParquetInput::File(b) => (
            Arc::clone(b.schema()),
            b.metadata().file_metadata().num_rows(),
        ),
        ParquetInput::Bytes(b) => (
            Arc::clone(b.schema()),
            b.metadata().file_metadata().num_rows(),
        ),
    };
    Ok((schema, rows.max(0) as u64))
}

pub(crate) fn parquet_batches<'a>(
    source: &'a Source,
    out: &SchemaRef,
) -> Result<Inner<'a>, IngestError> {
    let roots = source.projection(out)?;
    let name = source.name.as_str();
    let decode = move |e: arrow::error::ArrowError| IngestError::Decode {
        input: name.to_owned(),
        format: Format::Parquet,
        detail: e.to_string(),
    };
    let bad = |e: parquet::errors::ParquetError| malformed(name, Format::Parquet, e);
    // Both arms build the same reader over different inputs.
    macro_rules! read {
        ($b:expr) => {{
            let mask = ProjectionMask::roots($b.parquet_schema(), roots);
            let reader = $b
                .with_projection(mask)
                .with_batch_size(source.batch_rows)
                .build()
                .map_err(bad)?;
            Box::new(reader.map(move |b| b.map_err(decode))) as Inner<'a>
        }};
    }
    Ok(match parquet_builder(name, &source.data)? {
        ParquetInput::File(b) => read!(b),
        ParquetInput::Bytes(b) => read!(b),
    })
}

/// The stored schema of an Arrow IPC file or stream.
pub(crate) fn ipc_schema(
    name: &str,
    format: Format,
    data: &Data,
) -> Result<SchemaRef, IngestError> {
    let bad = |e: arrow::error::ArrowError| malformed(name, format, e);
    Ok(match (format, data) {
        (Format::ArrowFile, Data::File(path)) => {
            let file = open(name, path)?;
            FileReader::try_new_buffered(file, None)
                .map_err(bad)?
                .schema()
        }
        (Format::ArrowFile, Data::Bytes(b)) => FileReader::try_new(Cursor::new(b.clone()), None)
            .map_err(bad)?
            .schema(),
        (_, Data::File(path)) => {
            let file = open(name, path)?;
            StreamReader::try_new_buffered(file, None)
                .map_err(bad)?
                .schema()
        }
        (_, Data::Bytes(b)) => StreamReader::try_new(Cursor::new(b.clone()), None)
            .map_err(bad)?
            .schema(),
        (_, Data::Once(_)) => return Err(malformed(name, format, "needs random access")),
    })
}

fn open(name: &str, path: &std::path::Path) -> Result<std::fs::File, IngestError> {
    std::fs::File::open(path).map_err(|error| IngestError::Open {
        input: name.to_owned(),
        error,
    })
}

pub(crate) fn ipc_batches<'a>(
    source: &'a Source,
    out: &SchemaRef,
) -> Result<Inner<'a>, IngestError> {
    let roots = source.projection(out)?;
    let (name, format) = (source.name.as_str(), source.format);
    let bad = move |e: arrow::error::ArrowError| malformed(name, format, e);
    let decode = move |e: arrow::error::ArrowError| IngestError::Decode {
        input: name.to_owned(),
        format,
        detail: e.to_string(),
    };
    fn boxed<'a>(
        it: impl Iterator<Item = Result<RecordBatch, arrow::error::ArrowError>> + Send + 'a,
        decode: impl Fn(arrow::error::ArrowError) -> IngestError + Send + 'a,
    ) -> Inner<'a> {
        Box::new(it.map(move |b| b.map_err(&decode)))
    }
    Ok(match (format, &source.data) {
        (Format::ArrowFile, Data::File(path)) => boxed(
            FileReader::try_new_buffered(open(name, path)?, Some(roots)).map_err(bad)?,
            decode,
        ),
        (Format::ArrowFile, Data::Bytes(b)) => boxed(
            FileReader::try_new(Cursor::new(b.clone()), Some(roots)).map_err(bad)?,
            decode,
        ),
        (_, Data::File(path)) => boxed(
            StreamReader::try_new_buffered(open(name, path)?, Some(roots)).map_err(bad)?,
            decode,
        ),
        (_, Data::Bytes(b)) => boxed(
            StreamReader::try_new(Cursor::new(b.clone()), Some(roots)).map_err(bad)?,
            decode,
        ),
        (_, Data::Once(_)) => match source.reader()? {
            // The stream's schema was read when it was opened; batches come whole and
            // `Batches` picks the asked columns.
            Opened::Rest(Pending::Arrow(stream)) => boxed(stream, decode),
            _ => return Err(malformed(name, format, "not an Arrow stream")),
        },
    })
}
