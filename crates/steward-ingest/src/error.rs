//! The crate's error type: every way an input can be unreadable, each naming the source and,
//! where one is to blame, the column and the row, so that a person can open the file and look.

use std::fmt;

use thiserror::Error;

/// A data row as users count it: rows from 1, and for text formats the line of the input too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowRef {
    /// Zero-based data row.
    pub row: u64,
    /// One-based line of the input, when the format has lines (CSV counts the header line;
    /// fields spanning lines are not accounted for).
    pub line: Option<u64>,
}

impl fmt::Display for RowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {}", self.row + 1)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        Ok(())
    }
}

/// Why an input could not be read. `input` is the name of the source as the caller gave it
/// (a path, an upload's name).
#[derive(Debug, Error)]
pub enum IngestError {
    /// The input could not be opened.
    #[error("cannot open {input}: {error}")]
    Open {
        /// Source name.
        input: String,
        /// The operating system's reason.
        error: std::io::Error,
    },
    /// Reading the input failed part way.
    #[error("cannot read {input}: {error}")]
    Io {
        /// Source name.
        input: String,
        /// The operating system's reason.
        error: std::io::Error,
    },
    /// The input has no bytes at all.
    #[error("{input} is empty (0 bytes)")]
    Empty {
        /// Source name.
        input: String,
    },
    /// The content is none of the formats this crate reads.
    #[error("{input} is not CSV, JSON lines, Parquet or Arrow IPC: {why}")]
    Unrecognised {
        /// Source name.
        input: String,
        /// What gave it away.
        why: String,
    },
    /// The name promises one format, the content is another.
    #[error(
        "{input} is named like a {expected} file but does not start with {expected}'s magic bytes ({magic})"
    )]
    MisNamed {
        /// Source name.
        input: String,
        /// Format the name suggests.
        expected: &'static str,
        /// The magic bytes that were missing.
        magic: &'static str,
    },
    /// The content starts like the format but its structure is broken.
    #[error("{input} is not a readable {format} file: {detail}")]
    Malformed {
        /// Source name.
        input: String,
        /// Format detected or given.
        format: crate::Format,
        /// The reader's description.
        detail: String,
    },
    /// The input has a header or schema but no data rows.
    #[error("{input} has no data rows")]
    NoRows {
        /// Source name.
        input: String,
    },
    /// The input has no columns.
    #[error("{input} has no columns")]
    NoColumns {
        /// Source name.
        input: String,
    },
    /// A column has an empty name.
    #[error("{input} has a column without a name in its header line")]
    UnnamedColumn {
        /// Source name.
        input: String,
    },
    /// Two columns share a name.
    #[error("{input} has two columns called {column:?}")]
    DuplicateColumn {
        /// Source name.
        input: String,
        /// The name.
        column: String,
    },
    /// A column that the schema or the caller asks for is absent.
    #[error("{input} has no column {column:?} (its columns: {available})")]
    MissingColumn {
        /// Source name.
        input: String,
        /// The column asked for.
        column: String,
        /// The columns there are, abbreviated.
        available: String,
    },
    /// A column's stored type cannot become the type the schema asks for.
    #[error("{input}: column {column:?} has type {found}, which cannot be read as {expected}")]
    ColumnType {
        /// Source name.
        input: String,
        /// Column name.
        column: String,
        /// Arrow type in the input.
        found: String,
        /// Arrow type the schema asks for.
        expected: String,
    },
    /// A value could not be read as its column's type.
    #[error("{input}: column {column:?} at {at}: {detail}")]
    Value {
        /// Source name.
        input: String,
        /// Column name.
        column: String,
        /// Where.
        at: RowRef,
        /// The value and the type expected.
        detail: String,
    },
    /// A record is broken (wrong number of fields, invalid JSON) at a known row.
    #[error("{input}: {detail} at {at}")]
    Record {
        /// Source name.
        input: String,
        /// Where.
        at: RowRef,
        /// What is wrong.
        detail: String,
    },
    /// Decoding failed and the reader could not say where.
    #[error("cannot decode {input} ({format}): {detail}")]
    Decode {
        /// Source name.
        input: String,
        /// Format.
        format: crate::Format,
        /// The reader's description.
        detail: String,
    },
    /// A one-pass input was asked for its rows a second time.
    #[error("{input} was already read (a stream can be read once)")]
    AlreadyRead {
        /// Source name.
        input: String,
    },
}

impl IngestError {
    /// The source name the error is about.
    pub fn input(&self) -> &str {
        match self {
            IngestError::Open { input, .. }
            | IngestError::Io { input, .. }
            | IngestError::Empty { input }
            | IngestError::Unrecognised { input, .. }
            | IngestError::MisNamed { input, .. }
            | IngestError::Malformed { input, .. }
            | IngestError::NoRows { input }
            | IngestError::NoColumns { input }
            | IngestError::UnnamedColumn { input }
            | IngestError::DuplicateColumn { input, .. }
            | IngestError::MissingColumn { input, .. }
            | IngestError::ColumnType { input, .. }
            | IngestError::Value { input, .. }
            | IngestError::Record { input, .. }
            | IngestError::Decode { input, .. }
            | IngestError::AlreadyRead { input } => input,
        }
    }

    /// The column the error is about, when one is to blame.
    pub fn column(&self) -> Option<&str> {
        match self {
            IngestError::DuplicateColumn { column, .. }
            | IngestError::MissingColumn { column, .. }
            | IngestError::ColumnType { column, .. }
            | IngestError::Value { column, .. } => Some(column),
            _ => None,
        }
    }

    /// The row the error is about, when one is to blame.
    pub fn row(&self) -> Option<RowRef> {
        match self {
            IngestError::Value { at, .. } | IngestError::Record { at, .. } => Some(*at),
            _ => None,
        }
    }
}

/// A list of column names for messages: the first dozen, then how many more.
pub(crate) fn column_list<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    const SHOWN: usize = 12;
    let total = names.len();
    let mut list: Vec<String> = names.take(SHOWN).map(|n| format!("{n:?}")).collect();
    if total > SHOWN {
        list.push(format!("... {} more", total - SHOWN));
    }
    list.join(", ")
}
