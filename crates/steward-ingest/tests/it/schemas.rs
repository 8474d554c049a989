//! Schemas: inferred from the values (text formats over every record) or stored (binary
//! formats), or given by a model version's input schema, which names the columns read and the
//! types they are read as.

use bytes::Bytes;
use steward_domain::registry::{Feature, FeatureType};
use steward_ingest::arrow::datatypes::DataType;
use steward_ingest::{Format, IngestError, Options, Source, schema_of};

use crate::fixtures::{FORMATS, encode, floats, read_all, strings, table};

fn given(features: &[(&str, FeatureType)]) -> Options {
    let features: Vec<Feature> = features
        .iter()
        .map(|(n, k)| Feature {
            name: (*n).to_owned(),
            kind: *k,
        })
        .collect();
    Options {
        schema: Some(schema_of(&features)),
        ..Options::default()
    }
}

#[test]
fn inferred_schemas_type_columns_by_their_values() {
    let expected = table();
    for format in FORMATS {
        let source = Source::from_bytes(
            "t",
            Bytes::from(encode(format, &expected)),
            &Options::default(),
        )
        .unwrap();
        // JSON objects have no column order; the others keep the file's.
        let types: Vec<DataType> = ["age", "income", "colour"]
            .iter()
            .map(|n| {
                source
                    .schema()
                    .field_with_name(n)
                    .unwrap()
                    .data_type()
                    .clone()
            })
            .collect();
        assert_eq!(
            types,
            [DataType::Int64, DataType::Float64, DataType::Utf8],
            "{format}"
        );
    }
}

#[test]
fn csv_inference_reads_every_record_not_a_sample() {
    let mut text = String::from("a,b\n");
    for i in 0..5_000 {
        text.push_str(&format!("{i},x\n"));
    }
    text.push_str("1.5,x\n");
    let source = Source::from_bytes("late.csv", Bytes::from(text), &Options::default()).unwrap();
    assert_eq!(source.schema().field(0).data_type(), &DataType::Float64);
}

#[test]
fn a_given_schema_picks_columns_by_name_and_sets_their_types() {
    let expected = table();
    // The model's input schema: income and age as floats, in its own order; colour unused.
    let options = given(&[("income", FeatureType::Float), ("age", FeatureType::Float)]);
    for format in FORMATS {
        let data = encode(format, &expected);
        for source in [
            Source::from_bytes("t", Bytes::from(data.clone()), &options).unwrap(),
            Source::from_reader("s", std::io::Cursor::new(data), &options).unwrap(),
        ] {
            let names: Vec<&str> = source
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            assert_eq!(names, ["income", "age"], "{format}");
            let got = read_all(&source, None).unwrap();
            assert_eq!(got.column(1).data_type(), &DataType::Float64, "{format}");
            let age: Vec<Option<f64>> = (0..got.num_rows())
                .map(|i| Some(20.0 + (i % 50) as f64))
                .collect();
            assert_eq!(floats(&got, "age"), age, "{format}");
            assert_eq!(
                floats(&got, "income"),
                floats(&expected, "income"),
                "{format}"
            );
        }
    }
}

#[test]
fn a_given_categorical_column_reads_numbers_as_labels() {
    let options = given(&[("age", FeatureType::Categorical)]);
    for format in [Format::Csv, Format::Parquet, Format::ArrowFile] {
        let source =
            Source::from_bytes("t", Bytes::from(encode(format, &table())), &options).unwrap();
        let got = read_all(&source, None).unwrap();
        assert_eq!(strings(&got, "age")[0].as_deref(), Some("20"), "{format}");
    }
}

#[test]
fn a_column_the_given_schema_names_must_exist() {
    let options = given(&[
        ("age", FeatureType::Integer),
        ("tenure", FeatureType::Float),
    ]);
    for format in FORMATS {
        let data = Bytes::from(encode(format, &table()));
        let err = match Source::from_bytes("upload.bin", data, &options) {
            // JSON lines may omit a field in any record: the column reads as missing.
            Ok(source) if format == Format::JsonLines => {
                let got = read_all(&source, None).unwrap();
                assert_eq!(got.column(1).null_count(), got.num_rows());
                continue;
            }
            Ok(_) => panic!("{format}: a missing column was accepted"),
            Err(e) => e,
        };
        assert!(
            matches!(&err, IngestError::MissingColumn { column, .. } if column == "tenure"),
            "{format}: {err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("upload.bin") && text.contains("\"tenure\""),
            "{text}"
        );
        assert!(
            text.contains("\"colour\""),
            "lists the columns there are: {text}"
        );
    }
}
