//! One small table written in every format, and helpers to read a source whole.

use std::sync::Arc;

use steward_ingest::arrow::array::{ArrayRef, AsArray, Float64Array, Int64Array, StringArray};
use steward_ingest::arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema};
use steward_ingest::arrow::record_batch::RecordBatch;
use steward_ingest::{Format, IngestError, Source};

pub const ROWS: usize = 1_000;

/// `age` (integers), `income` (floats with a missing value every 7th row), `colour` (labels).
pub fn table() -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("age", DataType::Int64, true),
        Field::new("income", DataType::Float64, true),
        Field::new("colour", DataType::Utf8, true),
    ]));
    let age: Int64Array = (0..ROWS as i64).map(|i| Some(20 + i % 50)).collect();
    let income: Float64Array = (0..ROWS)
        .map(|i| (i % 7 != 3).then_some(1000.0 + i as f64 * 0.5))
        .collect();
    let colour: StringArray = (0..ROWS)
        .map(|i| Some(["red", "green", "blue"][i % 3]))
        .collect();
    let columns: Vec<ArrayRef> = vec![Arc::new(age), Arc::new(income), Arc::new(colour)];
    RecordBatch::try_new(schema, columns).unwrap()
}

/// The table in `format`.
pub fn encode(format: Format, batch: &RecordBatch) -> Vec<u8> {
    let mut out = Vec::new();
    match format {
        Format::Csv => {
            let mut w = steward_ingest::arrow::csv::WriterBuilder::new()
                .with_header(true)
                .build(&mut out);
            w.write(batch).unwrap();
        }
        Format::JsonLines => {
            let mut w = steward_ingest::arrow::json::LineDelimitedWriter::new(&mut out);
            w.write(batch).unwrap();
            w.finish().unwrap();
        }
        Format::Parquet => {
            let mut w =
                parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
            // Several row groups, so that reading crosses them.
            for at in (0..batch.num_rows()).step_by(300) {
                let n = 300.min(batch.num_rows() - at);
                w.write(&batch.slice(at, n)).unwrap();
                w.flush().unwrap();
            }
            w.close().unwrap();
        }
        Format::ArrowFile => {
            let mut w =
                steward_ingest::arrow::ipc::writer::FileWriter::try_new(&mut out, &batch.schema())
                    .unwrap();
            let half = batch.num_rows() * 2 / 5;
            w.write(&batch.slice(0, half)).unwrap();
            w.write(&batch.slice(half, batch.num_rows() - half))
                .unwrap();
            w.finish().unwrap();
        }
        Format::ArrowStream => {
            let mut w = steward_ingest::arrow::ipc::writer::StreamWriter::try_new(
                &mut out,
                &batch.schema(),
            )
            .unwrap();
            let half = batch.num_rows() * 2 / 5;
            w.write(&batch.slice(0, half)).unwrap();
            w.write(&batch.slice(half, batch.num_rows() - half))
                .unwrap();
            w.finish().unwrap();
        }
    }
    out
}

pub const FORMATS: [Format; 5] = [
    Format::Csv,
    Format::JsonLines,
    Format::Parquet,
    Format::ArrowFile,
    Format::ArrowStream,
];

/// Every batch of the asked columns, concatenated, or the first error.
pub fn read_all(source: &Source, columns: Option<&[&str]>) -> Result<RecordBatch, IngestError> {
    let batches = source.batches(columns)?;
    let schema = Arc::clone(batches.schema());
    let all: Vec<RecordBatch> = batches.collect::<Result<_, _>>()?;
    Ok(steward_ingest::arrow::compute::concat_batches(&schema, &all).unwrap())
}

pub fn floats(batch: &RecordBatch, name: &str) -> Vec<Option<f64>> {
    let col = batch.column_by_name(name).unwrap();
    col.as_primitive::<Float64Type>().iter().collect()
}

pub fn ints(batch: &RecordBatch, name: &str) -> Vec<Option<i64>> {
    let col = batch.column_by_name(name).unwrap();
    col.as_primitive::<Int64Type>().iter().collect()
}

pub fn strings(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let col = batch.column_by_name(name).unwrap();
    col.as_string::<i32>()
        .iter()
        .map(|s| s.map(str::to_owned))
        .collect()
}
