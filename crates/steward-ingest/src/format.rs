//! The formats this crate reads and how they are told apart: binary formats by their magic
//! bytes, JSON lines by a leading `{`, CSV otherwise, after checking that the content is text.

use std::fmt;

use crate::error::{IngestError, RowRef};

/// How many bytes are sniffed to tell the formats apart.
pub(crate) const SNIFF_BYTES: usize = 8 * 1024;

/// An input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object per line (newline-delimited JSON).
    JsonLines,
    /// Apache Parquet.
    Parquet,
    /// Arrow IPC file format (random access, `ARROW1` magic).
    ArrowFile,
    /// Arrow IPC streaming format.
    ArrowStream,
}

impl Format {
    /// The short name used in reports (`csv`, `jsonl`, `parquet`, `arrow`, `arrow_stream`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
            Format::Parquet => "parquet",
            Format::ArrowFile => "arrow",
            Format::ArrowStream => "arrow_stream",
        }
    }

    /// True for formats read row by row from text, whose schema is inferred from the values.
    pub fn is_text(self) -> bool {
        matches!(self, Format::Csv | Format::JsonLines)
    }

    /// Where zero-based data row `row` is, as users count it: CSV adds the line (the header is
    /// line 1), JSON lines the line when no blank line precedes it.
    pub fn locate(self, row: u64) -> RowRef {
        let line = match self {
            Format::Csv => Some(row + 2),
            Format::JsonLines => Some(row + 1),
            _ => None,
        };
        RowRef { row, line }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "CSV",
            Format::JsonLines => "JSON lines",
            Format::Parquet => "Parquet",
            Format::ArrowFile => "Arrow IPC",
            Format::ArrowStream => "Arrow IPC stream",
        })
    }
}

const PARQUET_MAGIC: &[u8] = b"PAR1";
const ARROW_MAGIC: &[u8] = b"ARROW1";
const IPC_CONTINUATION: &[u8] = &[0xFF, 0xFF, 0xFF, 0xFF];

/// The format of content starting with `head`; `whole` says `head` is the entire input, and
/// `name` (a path or upload name) is used for its extension and in messages.
pub(crate) fn detect(name: &str, head: &[u8], whole: bool) -> Result<Format, IngestError> {
    if head.is_empty() {
        return Err(IngestError::Empty {
            input: name.to_owned(),
        });
    }
    if head.starts_with(PARQUET_MAGIC) {
        return Ok(Format::Parquet);
    }
    if head.starts_with(ARROW_MAGIC) {
        return Ok(Format::ArrowFile);
    }
    if head.starts_with(IPC_CONTINUATION) {
        return Ok(Format::ArrowStream);
    }
    let ext = extension(name);
    if matches!(ext.as_deref(), Some("parquet" | "pq")) {
        return Err(IngestError::MisNamed {
            input: name.to_owned(),
            expected: "Parquet",
            magic: "PAR1",
        });
    }
    if matches!(ext.as_deref(), Some("arrow" | "feather" | "ipc" | "arrows")) {
        return Err(IngestError::MisNamed {
            input: name.to_owned(),
            expected: "Arrow IPC",
            magic: "ARROW1 or a stream message",
        });
    }
    check_text(name, head, whole)?;
    let first = head.iter().find(|b| !b.is_ascii_whitespace());
    let named_json = matches!(ext.as_deref(), Some("jsonl" | "ndjson" | "json"));
    if first == Some(&b'{') || named_json {
        Ok(Format::JsonLines)
    } else {
        Ok(Format::Csv)
    }
}

fn extension(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let (_, ext) = base.rsplit_once('.')?;
    Some(ext.to_ascii_lowercase())
}

/// Rejects content that cannot be text: a NUL byte or invalid UTF-8 in the first bytes.
fn check_text(name: &str, head: &[u8], whole: bool) -> Result<(), IngestError> {
    if let Some(at) = head.iter().position(|b| *b == 0) {
        return Err(IngestError::Unrecognised {
            input: name.to_owned(),
            why: format!("binary content (a NUL byte) at byte {at}"),
        });
    }
    if let Err(e) = std::str::from_utf8(head) {
        // A multi-byte character cut by the sniff window is fine; anything else is not text.
        if whole || e.error_len().is_some() {
            return Err(IngestError::Unrecognised {
                input: name.to_owned(),
                why: format!("invalid UTF-8 at byte {}", e.valid_up_to()),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_content_and_name() {
        let cases: [(&str, &[u8], Result<Format, &str>); 9] = [
            ("a.csv", b"a,b\n1,2\n", Ok(Format::Csv)),
            ("upload", b"  {\"a\": 1}\n", Ok(Format::JsonLines)),
            ("a.jsonl", b"[1]\n", Ok(Format::JsonLines)),
            ("x", b"PAR1....", Ok(Format::Parquet)),
            ("x", b"ARROW1\0\0", Ok(Format::ArrowFile)),
            (
                "x",
                &[0xFF, 0xFF, 0xFF, 0xFF, 8, 0, 0, 0],
                Ok(Format::ArrowStream),
            ),
            ("d/t.parquet", b"a,b\n", Err("named like a Parquet file")),
            ("bin", b"a\0b", Err("NUL byte) at byte 1")),
            ("e.csv", b"", Err("e.csv is empty")),
        ];
        for (name, head, want) in cases {
            let got = detect(name, head, true);
            match (got, want) {
                (Ok(f), Ok(w)) => assert_eq!(f, w, "{name}"),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{name}: {e}"),
                (got, want) => panic!("{name}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn cut_multibyte_character_is_text_unless_whole() {
        let head = "é".as_bytes();
        assert!(detect("a", &head[..1], false).is_ok());
        assert!(detect("a", &head[..1], true).is_err());
    }
}
