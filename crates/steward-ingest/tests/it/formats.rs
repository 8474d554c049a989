//! Every format read from a file, from bytes and from a one-pass reader gives the same values,
//! in the column order asked for, across batch boundaries.

use bytes::Bytes;
use steward_ingest::{Format, Options, Source};

use crate::fixtures::{FORMATS, ROWS, encode, floats, ints, read_all, strings, table};

fn options(batch_rows: usize) -> Options {
    Options {
        batch_rows,
        ..Options::default()
    }
}

fn extension(format: Format) -> &'static str {
    match format {
        Format::Csv => "csv",
        Format::JsonLines => "jsonl",
        Format::Parquet => "parquet",
        Format::ArrowFile => "arrow",
        Format::ArrowStream => "arrows",
    }
}

#[test]
fn every_format_from_file_bytes_and_reader_reads_the_same_values() {
    let dir = tempfile::tempdir().unwrap();
    let expected = table();
    for format in FORMATS {
        let data = encode(format, &expected);
        let path = dir.path().join(format!("t.{}", extension(format)));
        std::fs::write(&path, &data).unwrap();
        let sources = [
            Source::open(&path, &options(128)).unwrap(),
            Source::from_bytes("upload", Bytes::from(data.clone()), &options(128)).unwrap(),
            Source::from_reader("stream", std::io::Cursor::new(data), &options(128)).unwrap(),
        ];
        for source in sources {
            let what = format!("{format} from {}", source.name());
            assert_eq!(source.format(), format, "{what}");
            let batches: Vec<_> = source
                .batches(None)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(batches.len() > 1, "{what}: read in several batches");
            assert!(batches.iter().all(|b| b.num_rows() <= 400), "{what}");
            // A one-pass reader was used up above; the others can be read again.
            let all = match read_all(&source, None) {
                Ok(all) => all,
                Err(e) => {
                    assert_eq!(source.name(), "stream", "{what}: {e}");
                    let all: Vec<_> = batches;
                    let schema = all[0].schema();
                    steward_ingest::arrow::compute::concat_batches(&schema, &all).unwrap()
                }
            };
            assert_eq!(all.num_rows(), ROWS, "{what}");
            assert_eq!(ints(&all, "age"), ints(&expected, "age"), "{what}");
            assert_eq!(
                floats(&all, "income"),
                floats(&expected, "income"),
                "{what}"
            );
            assert_eq!(
                strings(&all, "colour"),
                strings(&expected, "colour"),
                "{what}"
            );
        }
    }
}

#[test]
fn columns_come_in_the_order_asked_for() {
    let expected = table();
    for format in FORMATS {
        let source = Source::from_bytes(
            "t",
            Bytes::from(encode(format, &expected)),
            &Options::default(),
        )
        .unwrap();
        let got = read_all(&source, Some(&["colour", "age"])).unwrap();
        let names: Vec<&str> = got
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["colour", "age"], "{format}");
        assert_eq!(
            strings(&got, "colour"),
            strings(&expected, "colour"),
            "{format}"
        );
        // One column at a time, as a reference is read.
        let one = read_all(&source, Some(&["income"])).unwrap();
        assert_eq!(one.num_columns(), 1);
        assert_eq!(
            floats(&one, "income"),
            floats(&expected, "income"),
            "{format}"
        );
    }
}

#[test]
fn row_counts_are_known_up_front_where_cheap() {
    let expected = table();
    for (format, rows) in [
        (Format::Csv, Some(ROWS as u64)),
        (Format::JsonLines, Some(ROWS as u64)),
        (Format::Parquet, Some(ROWS as u64)),
        (Format::ArrowFile, None),
    ] {
        let source = Source::from_bytes(
            "t",
            Bytes::from(encode(format, &expected)),
            &Options::default(),
        )
        .unwrap();
        assert_eq!(source.rows(), rows, "{format}");
    }
}

#[test]
fn a_file_is_read_from_several_threads_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    std::fs::write(&path, encode(Format::Parquet, &table())).unwrap();
    let source = Source::open(&path, &Options::default()).unwrap();
    std::thread::scope(|s| {
        let handles: Vec<_> = ["age", "income", "colour"]
            .into_iter()
            .map(|c| {
                let source = &source;
                s.spawn(move || read_all(source, Some(&[c])).unwrap().num_rows())
            })
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), ROWS);
        }
    });
}
