//! The two inputs of `steward drift`, opened through steward-ingest (any format it reads,
//! detected from the content, schema inferred) and read either one column at a time or
//! streamed batch by batch; errors already name the file, column and row.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, SchemaRef};
use steward_ingest::{Batches, Options, Source};

/// One opened input file.
#[derive(Debug)]
pub struct Side {
    /// Path as the user gave it.
    pub path: PathBuf,
    /// The file as steward-ingest reads it.
    pub source: Source,
}

impl Side {
    /// Opens `path`, detects its format and reads (or infers) its schema.
    pub fn open(path: &Path) -> Result<Side> {
        let source = Source::open(path, &Options::default()).map_err(|e| anyhow!("{e}"))?;
        Ok(Side {
            path: path.to_owned(),
            source,
        })
    }

    /// The file's schema.
    pub fn schema(&self) -> &SchemaRef {
        self.source.schema()
    }

    /// True when the file has a column called `name`.
    pub fn has_column(&self, name: &str) -> bool {
        self.source.has_column(name)
    }

    /// The Arrow type of column `name` (which exists).
    pub fn data_type(&self, name: &str) -> DataType {
        self.schema()
            .field_with_name(name)
            .map_or(DataType::Null, |f| f.data_type().clone())
    }

    /// A zero-based data row as users count it (for CSV also its line).
    pub fn locate(&self, row: u64) -> String {
        self.source.locate(row).to_string()
    }

    /// The format's short name for reports (`csv`, `parquet`, `jsonl`, `arrow`, ...).
    pub fn format_name(&self) -> &'static str {
        self.source.format().name()
    }

    /// Batches of the columns called `names`.
    pub fn stream(&self, names: &[&str]) -> Result<Batches<'_>> {
        self.source.batches(Some(names)).map_err(|e| anyhow!("{e}"))
    }

    /// Every value of the columns called `names`, as the chunks they were decoded in (one
    /// vector per name), and the number of rows.
    pub fn columns(&self, names: &[&str]) -> Result<(Vec<Vec<ArrayRef>>, u64)> {
        let mut chunks = vec![Vec::new(); names.len()];
        let mut rows = 0u64;
        for batch in self.stream(names)? {
            let batch = batch.map_err(|e| anyhow!("{e}"))?;
            rows += batch.num_rows() as u64;
            for (slot, column) in chunks.iter_mut().zip(batch.columns()) {
                slot.push(column.clone());
            }
        }
        if rows == 0 {
            return Err(self.no_rows());
        }
        Ok((chunks, rows))
    }

    /// The error for a file without data rows.
    pub fn no_rows(&self) -> anyhow::Error {
        anyhow!("{} has no data rows", self.path.display())
    }
}
