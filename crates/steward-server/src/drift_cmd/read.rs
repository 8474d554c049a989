//! Reading the two input files: format detection (Parquet by its magic bytes, CSV otherwise),
//! schemas, and the selected columns as Arrow arrays, with errors that name the file.

use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use arrow::array::{Array, ArrayRef};
use arrow::csv::ReaderBuilder;
use arrow::csv::reader::Format as CsvFormat;
use arrow::datatypes::{DataType, Schema, SchemaRef};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// Rows per Arrow batch: large batches mean fewer chunks to walk, small enough to stay cache-
/// and memory-friendly while decoding.
const BATCH_ROWS: usize = 64 * 1024;

/// How many bytes are sniffed to tell text from binary content.
const SNIFF_BYTES: usize = 8 * 1024;

/// The two formats `steward drift` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Apache Parquet (detected by the `PAR1` magic at both ends).
    Parquet,
    /// Comma-separated values with a header line.
    Csv,
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileFormat::Parquet => "parquet",
            FileFormat::Csv => "csv",
        })
    }
}

/// An opened input file whose schema is known but whose rows are not read yet.
#[derive(Debug)]
pub struct Source {
    /// Path as the user gave it.
    pub path: PathBuf,
    /// Detected format.
    pub format: FileFormat,
    /// Arrow schema (Parquet's stored schema, or the CSV schema inferred over the whole file).
    pub schema: SchemaRef,
}

/// One column of a loaded file, kept as the Arrow chunks it was decoded in.
#[derive(Debug)]
pub struct TableColumn {
    /// Column name.
    pub name: String,
    /// Arrow type in this file.
    pub data_type: DataType,
    /// The values, batch by batch.
    pub chunks: Vec<ArrayRef>,
}

/// The selected columns of one file.
#[derive(Debug)]
pub struct Table {
    /// Path as the user gave it.
    pub path: PathBuf,
    /// Detected format.
    pub format: FileFormat,
    /// Number of data rows.
    pub rows: usize,
    /// Columns in the order they were asked for.
    pub columns: Vec<TableColumn>,
}

impl Table {
    /// The column called `name` (loaded columns only).
    pub fn column(&self, name: &str) -> Option<&TableColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// A zero-based data row as users count it: rows from 1, and for CSV also the line of the
    /// file (the header is line 1; fields spanning lines are not accounted for).
    pub fn locate(&self, row: usize) -> String {
        match self.format {
            FileFormat::Parquet => format!("row {}", row + 1),
            FileFormat::Csv => format!("row {} (line {})", row + 1, row + 2),
        }
    }
}

impl Source {
    /// Opens `path`, detects its format and reads its schema.
    pub fn open(path: &Path) -> Result<Source> {
        let shown = path.display();
        let mut file = File::open(path).with_context(|| format!("cannot open {shown}"))?;
        let len = file
            .metadata()
            .with_context(|| format!("cannot read {shown}"))?
            .len();
        if len == 0 {
            bail!("{shown} is empty (0 bytes)");
        }
        let mut head = vec![0u8; SNIFF_BYTES.min(len as usize)];
        file.read_exact(&mut head)
            .with_context(|| format!("cannot read {shown}"))?;
        let (format, schema) = if head.starts_with(b"PAR1") {
            (FileFormat::Parquet, parquet_schema(path, file)?)
        } else {
            if has_parquet_extension(path) {
                bail!(
                    "{shown} is named like a Parquet file but does not start with Parquet's magic bytes (PAR1)"
                );
            }
            check_text(path, &head, len as usize <= SNIFF_BYTES)?;
            file.seek(SeekFrom::Start(0))
                .with_context(|| format!("cannot read {shown}"))?;
            (FileFormat::Csv, csv_schema(path, file)?)
        };
        if schema.fields().is_empty() {
            bail!("{shown} has no columns");
        }
        Ok(Source {
            path: path.to_owned(),
            format,
            schema,
        })
    }

    /// True when the file has a column called `name`.
    pub fn has_column(&self, name: &str) -> bool {
        self.schema.index_of(name).is_ok()
    }

    /// Reads the columns called `names` (all of which exist) into a [`Table`].
    pub fn load(&self, names: &[&str]) -> Result<Table> {
        let shown = self.path.display();
        let mut indices = Vec::with_capacity(names.len());
        for name in names {
            let idx = self
                .schema
                .index_of(name)
                .with_context(|| format!("{shown} has no column {name:?}"))?;
            indices.push(idx);
        }
        // Both readers hand back projected columns in file order; map them to the asked order.
        let mut sorted = indices.clone();
        sorted.sort_unstable();
        let position: Vec<usize> = indices
            .iter()
            .map(|i| sorted.partition_point(|s| s < i))
            .collect();
        let file = File::open(&self.path).with_context(|| format!("cannot open {shown}"))?;
        let mut chunks: Vec<Vec<ArrayRef>> = vec![Vec::new(); sorted.len()];
        let mut rows = 0usize;
        let mut push = |batch: arrow::record_batch::RecordBatch| {
            rows += batch.num_rows();
            for (slot, col) in chunks.iter_mut().zip(batch.columns()) {
                slot.push(Arc::clone(col));
            }
        };
        match self.format {
            FileFormat::Parquet => {
                let builder = ParquetRecordBatchReaderBuilder::try_new(file)
                    .with_context(|| format!("{shown} is not a readable Parquet file"))?;
                let mask = ProjectionMask::roots(builder.parquet_schema(), sorted.iter().copied());
                let reader = builder
                    .with_projection(mask)
                    .with_batch_size(BATCH_ROWS)
                    .build()
                    .with_context(|| format!("cannot read {shown}"))?;
                for batch in reader {
                    push(batch.with_context(|| format!("cannot decode {shown}"))?);
                }
            }
            FileFormat::Csv => {
                let reader = ReaderBuilder::new(Arc::clone(&self.schema))
                    .with_header(true)
                    .with_batch_size(BATCH_ROWS)
                    .with_projection(sorted.clone())
                    .build(file)
                    .with_context(|| format!("cannot read {shown}"))?;
                for batch in reader {
                    push(batch.with_context(|| format!("cannot parse {shown}"))?);
                }
            }
        }
        if rows == 0 {
            bail!("{shown} has no data rows");
        }
        let mut columns: Vec<TableColumn> = Vec::with_capacity(names.len());
        for (name, (idx, pos)) in names.iter().zip(indices.iter().zip(&position)) {
            let data_type = self.schema.field(*idx).data_type().clone();
            let chunks = chunks[*pos].clone();
            debug_assert!(chunks.iter().all(|c| c.data_type() == &data_type));
            columns.push(TableColumn {
                name: (*name).to_owned(),
                data_type,
                chunks,
            });
        }
        Ok(Table {
            path: self.path.clone(),
            format: self.format,
            rows,
            columns,
        })
    }
}

fn has_parquet_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"))
}

/// Rejects content that cannot be CSV text: NUL bytes or invalid UTF-8 in the first bytes.
fn check_text(path: &Path, head: &[u8], whole_file: bool) -> Result<()> {
    let shown = path.display();
    if let Some(at) = head.iter().position(|b| *b == 0) {
        bail!("{shown} is neither CSV nor Parquet: binary content (a NUL byte) at byte {at}");
    }
    if let Err(e) = std::str::from_utf8(head) {
        // A multi-byte character cut by the sniff window is fine; anything else is not text.
        if whole_file || e.error_len().is_some() {
            bail!(
                "{shown} is neither CSV nor Parquet: invalid UTF-8 at byte {}",
                e.valid_up_to()
            );
        }
    }
    Ok(())
}

fn parquet_schema(path: &Path, file: File) -> Result<SchemaRef> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(|| format!("{} is not a readable Parquet file", path.display()))?;
    Ok(Arc::clone(builder.schema()))
}

/// Infers the CSV schema over every record, so that a column's type does not depend on how many
/// lines happened to be sampled.
fn csv_schema(path: &Path, file: File) -> Result<SchemaRef> {
    let shown = path.display();
    let (schema, records) = CsvFormat::default()
        .with_header(true)
        .infer_schema(std::io::BufReader::new(file), None)
        .with_context(|| format!("cannot parse {shown} as CSV"))?;
    if records == 0 {
        bail!("{shown} has no data rows");
    }
    let mut names = std::collections::HashSet::new();
    for f in schema.fields() {
        if f.name().is_empty() {
            bail!("{shown} has a column without a name in its header line");
        }
        if !names.insert(f.name().as_str()) {
            bail!("{shown} has two columns called {:?}", f.name());
        }
    }
    Ok(Arc::new(Schema::new(schema.fields().clone())))
}
