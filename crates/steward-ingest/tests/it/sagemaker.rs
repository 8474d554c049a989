//! SageMaker data capture: lines as an endpoint writes them (CSV, JSON and base64 payloads,
//! several records in one request) become typed columns with the prediction, its id and time;
//! broken lines are errors naming the input, the row (and line) and the column.

use base64::Engine;
use serde_json::{Value, json};
use steward_domain::registry::{Feature, FeatureType};
use steward_ingest::arrow::array::{Array, AsArray, RecordBatch};
use steward_ingest::arrow::datatypes::{
    DataType, Float64Type, Int64Type, TimeUnit, TimestampMicrosecondType,
};
use steward_ingest::{EVENT_TIME, IngestError, PREDICTION_ID, sagemaker_capture};

fn features() -> Vec<Feature> {
    [
        ("age", FeatureType::Integer),
        ("income", FeatureType::Float),
        ("country", FeatureType::Categorical),
    ]
    .into_iter()
    .map(|(name, kind)| Feature {
        name: name.to_owned(),
        kind,
    })
    .collect()
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// One capture line; `output` None leaves endpointOutput out (input-only capture).
fn event(input: Value, output: Option<Value>, id: &str, time: &str) -> String {
    let mut capture = json!({ "endpointInput": input });
    if let Some(output) = output {
        capture["endpointOutput"] = output;
    }
    json!({
        "captureData": capture,
        "eventMetadata": {"eventId": id, "inferenceTime": time},
        "eventVersion": "0"
    })
    .to_string()
}

fn csv_in(data: &str) -> Value {
    json!({"observedContentType": "text/csv", "mode": "INPUT", "data": data, "encoding": "CSV"})
}

fn csv_out(data: &str) -> Value {
    json!({"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT", "data": data, "encoding": "CSV"})
}

fn json_payload(mode: &str, data: Value) -> Value {
    json!({"observedContentType": "application/json", "mode": mode, "data": data, "encoding": "JSON"})
}

fn b64_payload(mode: &str, content_type: &str, text: &str) -> Value {
    json!({"observedContentType": content_type, "mode": mode, "data": b64(text), "encoding": "BASE64"})
}

fn read(lines: &[String], prediction: &str) -> Result<RecordBatch, IngestError> {
    sagemaker_capture(
        "capture.jsonl",
        lines.join("\n").as_bytes(),
        &features(),
        prediction,
    )
}

fn strings(batch: &RecordBatch, column: &str) -> Vec<Option<String>> {
    let a = batch.column_by_name(column).unwrap().as_string::<i32>();
    a.iter().map(|v| v.map(str::to_owned)).collect()
}

fn floats(batch: &RecordBatch, column: &str) -> Vec<Option<f64>> {
    let a = batch.column_by_name(column).unwrap();
    a.as_primitive::<Float64Type>().iter().collect()
}

#[test]
fn every_encoding_gives_the_same_typed_rows() {
    let object = json!({"age": 34, "income": 52000.5, "country": "US"});
    let lines = vec![
        // CSV in and out, as the SageMaker documentation shows it (with a trailing newline).
        event(
            csv_in("34,52000.5,US\n"),
            Some(csv_out("0.93")),
            "a8b1",
            "2022-11-22T08:05:21Z",
        ),
        // JSON text in a string, by name; the prediction under its name in "predictions".
        event(
            json_payload("INPUT", Value::String(object.to_string())),
            Some(json_payload(
                "OUTPUT",
                Value::String(r#"{"predictions": [{"score": 0.93}]}"#.into()),
            )),
            "c3d4",
            "2022-11-22T08:05:22.5Z",
        ),
        // JSON given inline, an array of values taken by position.
        event(
            json_payload("INPUT", json!([34, 52000.5, "US"])),
            Some(json_payload("OUTPUT", json!(0.93))),
            "e5f6",
            "2022-11-22T08:05:23Z",
        ),
        // Base64 of CSV and of JSON.
        event(
            b64_payload("INPUT", "text/csv", "34,52000.5,US"),
            Some(b64_payload("OUTPUT", "application/json", "[0.93]")),
            "a7b8",
            "2022-11-22T08:05:24Z",
        ),
        event(
            b64_payload(
                "INPUT",
                "application/json",
                r#"{"instances": [{"age": 34, "income": 52000.5, "country": "US"}]}"#,
            ),
            Some(b64_payload("OUTPUT", "text/csv", "0.93\n")),
            "c9d0",
            "2022-11-22T08:05:25Z",
        ),
    ];
    let batch = read(&lines, "score").unwrap();
    let schema = batch.schema();
    let columns: Vec<(&str, &DataType)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type()))
        .collect();
    let time = DataType::Timestamp(TimeUnit::Microsecond, Some(steward_ingest::UTC.into()));
    assert_eq!(
        columns,
        [
            ("age", &DataType::Int64),
            ("income", &DataType::Float64),
            ("country", &DataType::Utf8),
            ("score", &DataType::Float64),
            (PREDICTION_ID, &DataType::Utf8),
            (EVENT_TIME, &time),
        ]
    );
    assert_eq!(batch.num_rows(), 5);
    let age: Vec<Option<i64>> = batch.column(0).as_primitive::<Int64Type>().iter().collect();
    assert_eq!(age, [Some(34); 5]);
    assert_eq!(floats(&batch, "income"), [Some(52000.5); 5]);
    assert_eq!(strings(&batch, "country"), vec![Some("US".to_owned()); 5]);
    assert_eq!(floats(&batch, "score"), [Some(0.93); 5]);
    let ids: Vec<String> = strings(&batch, PREDICTION_ID)
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(ids, ["a8b1", "c3d4", "e5f6", "a7b8", "c9d0"]);
    let times = batch.column(5).as_primitive::<TimestampMicrosecondType>();
    assert_eq!(times.value(0), 1_669_104_321_000_000);
    assert_eq!(times.value(1), 1_669_104_322_500_000);
}

#[test]
fn a_request_of_several_records_gives_a_row_each() {
    let lines = vec![
        event(
            csv_in("34,1.5,US\n40,2.5,DE\n"),
            Some(csv_out("0.1\n0.9")),
            "ev1",
            "2022-11-22T08:00:00Z",
        ),
        // Some models answer a batch on one line.
        event(
            csv_in("50,3.5,FR\n61,,\"Côte d'Ivoire, CI\""),
            Some(csv_out("0.2,0.8")),
            "ev2",
            "2022-11-22T09:00:00Z",
        ),
        event(
            json_payload(
                "INPUT",
                Value::String(
                    "{\"age\": 70, \"country\": \"JP\"}\n{\"age\": 71, \"income\": 7.5}".into(),
                ),
            ),
            Some(json_payload("OUTPUT", json!({"predictions": [0.3, 0.7]}))),
            "ev3",
            "2022-11-22T10:00:00Z",
        ),
    ];
    let batch = read(&lines, "prediction").unwrap();
    assert_eq!(batch.num_rows(), 6);
    let ids: Vec<String> = strings(&batch, PREDICTION_ID)
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(ids, ["ev1:0", "ev1:1", "ev2:0", "ev2:1", "ev3:0", "ev3:1"]);
    assert_eq!(
        floats(&batch, "prediction"),
        [
            Some(0.1),
            Some(0.9),
            Some(0.2),
            Some(0.8),
            Some(0.3),
            Some(0.7)
        ]
    );
    assert_eq!(
        floats(&batch, "income"),
        [Some(1.5), Some(2.5), Some(3.5), None, None, Some(7.5)],
        "an empty CSV field and an absent JSON key are missing values"
    );
    assert_eq!(
        strings(&batch, "country")[3].as_deref(),
        Some("Côte d'Ivoire, CI")
    );
    let times = batch.column(5).as_primitive::<TimestampMicrosecondType>();
    assert_eq!(times.value(0), times.value(1));
}

#[test]
fn text_predictions_are_text_and_input_only_captures_have_none() {
    let labels = vec![
        event(
            csv_in("34,1.5,US"),
            Some(csv_out("approve")),
            "e1",
            "2022-11-22T08:00:00Z",
        ),
        event(
            csv_in("35,1.5,US"),
            Some(csv_out("0.5")),
            "e2",
            "2022-11-22T08:00:01Z",
        ),
    ];
    let batch = read(&labels, "decision").unwrap();
    assert_eq!(
        batch.schema().field(3).data_type(),
        &DataType::Utf8,
        "one text prediction makes the column text"
    );
    assert_eq!(
        strings(&batch, "decision"),
        [Some("approve".to_owned()), Some("0.5".to_owned())]
    );

    let inputs_only = vec![event(
        csv_in("34,1.5,US"),
        None,
        "e3",
        "2022-11-22T08:00:02Z",
    )];
    let batch = read(&inputs_only, "score").unwrap();
    assert_eq!(batch.schema().field(3).data_type(), &DataType::Float64);
    assert_eq!(batch.column(3).null_count(), 1);
}

/// What, the lines, the column and the row (as shown) the error names, and words it has.
type Case = (
    &'static str,
    Vec<String>,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

#[test]
fn broken_lines_name_the_input_row_and_column() {
    let ok = |id: &str| {
        event(
            csv_in("1,2,US"),
            Some(csv_out("0.5")),
            id,
            "2022-11-22T08:00:00Z",
        )
    };
    let cases: Vec<Case> = vec![
        (
            "a row short of a feature",
            vec![
                ok("a"),
                event(csv_in("5.1,3.5"), Some(csv_out("1")), "b", "2022-11-22T08:00:00Z"),
            ],
            None,
            Some("row 2 (line 2)"),
            "captureData.endpointInput.data has 2 values where the schema has 3 features (\"age\", \"income\", \"country\")",
        ),
        (
            "the second record of a request is short",
            vec![event(csv_in("1,2,US\n3,4"), Some(csv_out("0\n1")), "b", "2022-11-22T08:00:00Z")],
            None,
            Some("row 2 (line 1)"),
            "has 2 values where the schema has 3 features",
        ),
        (
            "text for a number",
            vec![ok("a"), ok("b"), event(csv_in("1,abc,US"), None, "c", "2022-11-22T08:00:00Z")],
            Some("income"),
            Some("row 3 (line 3)"),
            "\"abc\" is not a valid Float64",
        ),
        (
            "a fraction for an integer",
            vec![event(json_payload("INPUT", json!({"age": 1.5})), None, "a", "2022-11-22T08:00:00Z")],
            Some("age"),
            Some("row 1 (line 1)"),
            "1.5 is not a valid Int64",
        ),
        (
            "not JSON",
            vec![ok("a"), "age,income,country".into()],
            None,
            Some("row 2 (line 2)"),
            "not a capture event (not JSON: expected value at column 1)",
        ),
        (
            "no event id",
            vec![json!({"captureData": {"endpointInput": csv_in("1,2,US")}, "eventMetadata": {"inferenceTime": "2022-11-22T08:00:00Z"}}).to_string()],
            None,
            Some("row 1 (line 1)"),
            "eventMetadata.eventId is missing",
        ),
        (
            "a time that is not one",
            vec![event(csv_in("1,2,US"), None, "a", "yesterday")],
            Some(EVENT_TIME),
            Some("row 1 (line 1)"),
            "eventMetadata.inferenceTime \"yesterday\" is not a time",
        ),
        (
            "an encoding SageMaker does not write",
            vec![event(json!({"data": "<a/>", "encoding": "XML"}), None, "a", "2022-11-22T08:00:00Z")],
            None,
            Some("row 1 (line 1)"),
            "captureData.endpointInput.encoding \"XML\" is not CSV, JSON or BASE64",
        ),
        (
            "broken base64",
            vec![event(json!({"data": "%%%", "encoding": "BASE64"}), None, "a", "2022-11-22T08:00:00Z")],
            None,
            Some("row 1 (line 1)"),
            "captureData.endpointInput.data is not base64",
        ),
        (
            "broken JSON in the data",
            vec![event(json_payload("INPUT", Value::String("{\"age\": ".into())), None, "a", "2022-11-22T08:00:00Z")],
            None,
            Some("row 1 (line 1)"),
            "captureData.endpointInput.data is not JSON: EOF while parsing a value (line 1, column 8 of the data)",
        ),
        (
            "fewer predictions than records",
            vec![event(csv_in("1,2,US\n3,4,DE"), Some(csv_out("0.5")), "a", "2022-11-22T08:00:00Z")],
            None,
            Some("row 1 (line 1)"),
            "captureData.endpointOutput.data: 1 prediction for 2 records",
        ),
        (
            "an output object without the prediction",
            vec![event(csv_in("1,2,US"), Some(json_payload("OUTPUT", json!({"label": 1}))), "a", "2022-11-22T08:00:00Z")],
            None,
            Some("row 1 (line 1)"),
            "no \"score\" in the prediction (its keys: \"label\")",
        ),
    ];
    for (what, lines, column, row, words) in cases {
        let err = read(&lines, "score").expect_err(what);
        let message = err.to_string();
        assert_eq!(err.input(), "capture.jsonl", "{what}");
        assert!(message.starts_with("capture.jsonl: "), "{what}: {message}");
        assert_eq!(err.column(), column, "{what}: {message}");
        assert_eq!(
            err.row().map(|r| r.to_string()).as_deref(),
            row,
            "{what}: {message}"
        );
        assert!(message.contains(words), "{what}: {message}");
    }
}

#[test]
fn empty_input_and_clashing_names_are_errors() {
    let err = sagemaker_capture("c.jsonl", b"", &features(), "score").unwrap_err();
    assert_eq!(err.to_string(), "c.jsonl is empty (0 bytes)");
    let err = sagemaker_capture("c.jsonl", b"\n \n", &features(), "score").unwrap_err();
    assert_eq!(err.to_string(), "c.jsonl has no data rows");
    let err = sagemaker_capture("c.jsonl", b"{}", &features(), "age").unwrap_err();
    assert_eq!(err.to_string(), "c.jsonl has two columns called \"age\"");
    assert_eq!(err.column(), Some("age"));
    let mut clash = features();
    clash[0].name = EVENT_TIME.to_owned();
    let err = sagemaker_capture("c.jsonl", b"{}", &clash, "score").unwrap_err();
    assert_eq!(err.column(), Some(EVENT_TIME));
}

#[test]
fn the_callers_inference_id_names_the_prediction_when_it_set_one() {
    let mut with = serde_json::from_str::<Value>(&event(
        csv_in("34,52000.5,US"),
        Some(csv_out("0.9")),
        "e-1",
        "2022-11-22T08:05:21Z",
    ))
    .unwrap();
    with["eventMetadata"]["inferenceId"] = json!("order-77");
    let without = event(
        csv_in("35,1.5,DE"),
        Some(csv_out("0.1")),
        "e-2",
        "2022-11-22T08:05:22Z",
    );
    let lines = format!("{with}\n{without}\n");
    let batch = sagemaker_capture("c.jsonl", lines.as_bytes(), &features(), "score").unwrap();
    let ids: Vec<String> = strings(&batch, PREDICTION_ID)
        .into_iter()
        .map(|s| s.unwrap_or_default())
        .collect();
    assert_eq!(ids, ["order-77", "e-2"]);
}
