//! Bad input is an error naming the source and, where one is to blame, the column and the row;
//! never a panic, also on every truncation of every format.

use bytes::Bytes;
use steward_domain::registry::{Feature, FeatureType};
use steward_ingest::{IngestError, Options, Source, schema_of};

use crate::fixtures::{FORMATS, encode, read_all, table};

fn open_and_read(name: &str, data: &[u8], options: &Options) -> Result<usize, IngestError> {
    let source = Source::from_bytes(name, Bytes::copy_from_slice(data), options)?;
    Ok(read_all(&source, None)?.num_rows())
}

fn float_schema(names: &[&str]) -> Options {
    let features: Vec<Feature> = names
        .iter()
        .map(|n| Feature {
            name: (*n).to_owned(),
            kind: FeatureType::Float,
        })
        .collect();
    Options {
        schema: Some(schema_of(&features)),
        ..Options::default()
    }
}

/// What, source name, content, options, the column and the row (as shown) the error names,
/// and words its message has.
type Case<'a> = (
    &'a str,
    &'a str,
    &'a [u8],
    &'a Options,
    Option<&'a str>,
    Option<&'a str>,
    &'a [&'a str],
);

#[test]
fn errors_name_source_column_and_row() {
    let inferred = Options::default();
    let typed = float_schema(&["a", "b"]);
    let cases: Vec<Case> = vec![
        (
            "empty",
            "e.csv",
            b"",
            &inferred,
            None,
            None,
            &["e.csv is empty"],
        ),
        (
            "header only",
            "h.csv",
            b"a,b\n",
            &inferred,
            None,
            None,
            &["h.csv has no data rows"],
        ),
        (
            "binary",
            "x.bin",
            b"\x01\x02\0\x03",
            &inferred,
            None,
            None,
            &["x.bin is not CSV", "NUL byte"],
        ),
        (
            "duplicate header",
            "d.csv",
            b"a,a\n1,2\n",
            &inferred,
            Some("a"),
            None,
            &["two columns called \"a\""],
        ),
        (
            "ragged csv",
            "r.csv",
            b"a,b\n1,2\n3\n",
            &inferred,
            None,
            Some("row 2 (line 3)"),
            &["r.csv", "fields"],
        ),
        (
            "value not a number (given schema)",
            "v.csv",
            b"a,b\n1,2\n3,4\n5,oops\n",
            &typed,
            Some("b"),
            Some("row 3 (line 4)"),
            &["v.csv", "\"oops\"", "Float64"],
        ),
        (
            "ragged csv (given schema)",
            "rg.csv",
            b"a,b\n1,2\n3,4,5\n",
            &typed,
            None,
            Some("row 2 (line 3)"),
            &["rg.csv"],
        ),
        (
            "invalid json",
            "j.jsonl",
            b"{\"a\": 1, \"b\": 2}\n\n{\"a\": 3, \"b\": }\n",
            &inferred,
            None,
            Some("row 2 (line 3)"),
            &["j.jsonl"],
        ),
        (
            "json value of the wrong type (given schema)",
            "t.jsonl",
            b"{\"a\": 1, \"b\": 2}\n{\"a\": 3, \"b\": \"many\"}\n",
            &typed,
            Some("b"),
            Some("row 2 (line 2)"),
            &["t.jsonl", "many"],
        ),
        (
            "broken json after a blank line, no final newline (given schema)",
            "bj.jsonl",
            b"{\"a\": 1, \"b\": 2}\r\n\r\n{\"a\": 3, \"b\": }",
            &typed,
            None,
            Some("row 2 (line 3)"),
            &["bj.jsonl"],
        ),
        (
            "json value of the wrong type in a later line (given schema)",
            "w.jsonl",
            b"{\"a\": 1, \"b\": 2}\n\n  \n{\"a\": 3, \"b\": 4}\n{\"a\": true, \"b\": 4}\n",
            &typed,
            Some("a"),
            Some("row 3 (line 5)"),
            &["w.jsonl"],
        ),
        (
            "broken parquet",
            "p.parquet",
            b"PAR1 this is not really parquet",
            &inferred,
            None,
            None,
            &["p.parquet is not a readable Parquet file"],
        ),
        (
            "parquet name, other content",
            "q.parquet",
            b"a,b\n1,2\n",
            &inferred,
            None,
            None,
            &["q.parquet is named like a Parquet file"],
        ),
        (
            "broken arrow file",
            "f.arrow",
            b"ARROW1\0\0garbage",
            &inferred,
            None,
            None,
            &["f.arrow is not a readable Arrow IPC file"],
        ),
    ];
    for (what, name, data, options, column, row, words) in cases {
        let err = open_and_read(name, data, options).expect_err(what);
        if options.schema.is_some() {
            // Streamed from a one-pass reader, the same error.
            let streamed = Source::from_reader(name, std::io::Cursor::new(data.to_vec()), options)
                .and_then(|s| read_all(&s, None).map(|_| ()))
                .expect_err(what);
            assert_eq!(streamed.to_string(), err.to_string(), "{what} streamed");
        }
        let text = err.to_string();
        assert_eq!(err.input(), name, "{what}: {text}");
        assert_eq!(err.column(), column, "{what}: {text}");
        assert_eq!(
            err.row().map(|r| r.to_string()).as_deref(),
            row,
            "{what}: {text}"
        );
        if let Some(row) = row {
            assert!(text.contains(row), "{what}: {text}");
        }
        for w in words {
            assert!(text.contains(w), "{what}: {text:?} lacks {w:?}");
        }
    }
}

#[test]
fn json_lines_read_alike_from_memory_and_from_a_stream_in_batches_of_any_size() {
    let text = b"\n{\"a\": 1, \"b\": 2}\r\n\n{\"b\": 4, \"a\": 3}\n   \n{\"a\": 5.5}";
    for batch_rows in [1, 2, 3, 64] {
        let options = Options {
            batch_rows,
            ..float_schema(&["a", "b"])
        };
        let body = Source::from_bytes("m.jsonl", Bytes::from_static(text), &options).unwrap();
        let from_body = read_all(&body, None).unwrap();
        let stream =
            Source::from_reader("m.jsonl", std::io::Cursor::new(text.to_vec()), &options).unwrap();
        let from_stream = read_all(&stream, None).unwrap();
        assert_eq!(from_body, from_stream, "batches of {batch_rows}");
        assert_eq!(from_body.num_rows(), 3, "batches of {batch_rows}");
        let b = from_body.column(1);
        assert!(b.is_null(2) && !b.is_null(1), "batches of {batch_rows}");
    }
}

#[test]
fn stored_values_that_do_not_convert_name_column_and_row() {
    use std::sync::Arc;
    use steward_ingest::arrow::array::{ArrayRef, StringArray};
    use steward_ingest::arrow::datatypes::{DataType, Field, Schema};
    use steward_ingest::arrow::record_batch::RecordBatch;

    let schema = Arc::new(Schema::new(vec![Field::new("a", DataType::Utf8, true)]));
    let values: Vec<Option<&str>> = (0..900)
        .map(|i| Some(if i == 777 { "seven" } else { "7.5" }))
        .collect();
    let column: ArrayRef = Arc::new(StringArray::from(values));
    let batch = RecordBatch::try_new(schema, vec![column]).unwrap();
    let options = Options {
        batch_rows: 100,
        ..float_schema(&["a"])
    };
    for format in [
        steward_ingest::Format::Parquet,
        steward_ingest::Format::ArrowFile,
        steward_ingest::Format::ArrowStream,
    ] {
        let err = open_and_read("s.bin", &encode(format, &batch), &options).unwrap_err();
        assert_eq!(err.column(), Some("a"), "{format}: {err}");
        assert_eq!(err.row().map(|r| r.row), Some(777), "{format}: {err}");
        assert!(err.to_string().contains("row 778"), "{format}: {err}");
        assert!(err.to_string().contains("\"seven\""), "{format}: {err}");
    }
}

#[test]
fn a_stream_is_read_once() {
    let data = encode(steward_ingest::Format::ArrowStream, &table());
    let source =
        Source::from_reader("pipe", std::io::Cursor::new(data), &Options::default()).unwrap();
    assert!(read_all(&source, None).is_ok());
    let err = read_all(&source, None).unwrap_err();
    assert!(matches!(err, IngestError::AlreadyRead { .. }), "{err}");
}

#[test]
fn truncated_and_corrupted_inputs_never_panic() {
    let batch = table().slice(0, 200);
    for format in FORMATS {
        let data = encode(format, &batch);
        let mut cuts: Vec<usize> = (0..data.len().min(64)).collect();
        cuts.extend((64..data.len()).step_by(97));
        for cut in cuts {
            let _ = open_and_read("cut", &data[..cut], &Options::default());
        }
        for at in (0..data.len()).step_by(31) {
            let mut bad = data.clone();
            bad[at] ^= 0x5A;
            let _ = open_and_read("flipped", &bad, &Options::default());
        }
    }
}
