//! SageMaker data capture: the JSON lines an endpoint's data capture writes, one inference per
//! line, as one Arrow record batch of the model's inputs, its prediction, the event's id and its
//! time.
//!
//! A line is `{"captureData": {"endpointInput": {...}, "endpointOutput": {...}},
//! "eventMetadata": {"eventId": .., "inferenceTime": ..}, "eventVersion": "0"}`; input and
//! output carry `data` in an `encoding`: `CSV` (text), `JSON` (JSON text, or JSON lines, in a
//! string) or `BASE64` (of CSV or JSON, told apart by `observedContentType`, else by a leading
//! `{` or `[`). Inputs: CSV records are matched to the features by position; JSON records by
//! name (an object, an array of objects, `{"instances": [...]}`; arrays of values by position),
//! an absent key being a missing value. A request of several records gives one row each, with
//! as many predictions: CSV lines (or the fields of one line), the elements of a JSON array or
//! of `{"predictions": [...]}`, where an object yields its value under the prediction's name.
//! The prediction id is `eventMetadata.inferenceId` when the caller set one (what ground truth is
//! usually keyed by), `eventId` otherwise. Rows of a multi-record event have ids `<id>:<index>`.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::compute::kernels::cast_utils::string_to_timestamp_nanos;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use serde_json::{Map, Value};
use steward_domain::registry::{Feature, FeatureType};

use crate::arrow_type;
use crate::error::{IngestError, RowRef, column_list};
use crate::source::check_names;
use payload::{Payload, csv_records, json_reason, payload};

mod payload;

/// Name of the column of event ids (`eventMetadata.eventId`).
pub const PREDICTION_ID: &str = "prediction_id";
/// Name of the column of inference times (`eventMetadata.inferenceTime`).
pub const EVENT_TIME: &str = "event_time";

/// A value before it is typed: CSV text or a JSON value.
enum Cell {
    Missing,
    Text(String),
    Json(Value),
}

/// One row: where it came from and its values.
struct Row {
    at: RowRef,
    inputs: Vec<Cell>,
    prediction: Cell,
    id: String,
    time: i64,
}

/// Reads the data-capture lines in `bytes` (`name` names them in errors) as one batch:
/// a column per feature (typed as [`crate::schema_of`] types it), `prediction` (Float64 when
/// every prediction is a number, Utf8 otherwise), [`PREDICTION_ID`] (Utf8) and [`EVENT_TIME`]
/// (Timestamp, microseconds, UTC).
pub fn sagemaker_capture(
    name: &str,
    bytes: &[u8],
    features: &[Feature],
    prediction: &str,
) -> Result<RecordBatch, IngestError> {
    let mut fields: Vec<Field> = features
        .iter()
        .map(|f| Field::new(&f.name, arrow_type(f.kind), true))
        .collect();
    fields.push(Field::new(prediction, DataType::Utf8, true));
    fields.push(Field::new(PREDICTION_ID, DataType::Utf8, false));
    let time = arrow_type(FeatureType::Timestamp);
    fields.push(Field::new(EVENT_TIME, time, false));
    check_names(name, &Schema::new(fields.clone()))?;
    if bytes.is_empty() {
        return Err(IngestError::Empty {
            input: name.to_owned(),
        });
    }
    let reader = Reader {
        name,
        features,
        prediction,
    };
    let mut rows = Vec::new();
    for (n, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let at = RowRef {
            row: rows.len() as u64,
            line: Some(n as u64 + 1),
        };
        reader.event(line, at, &mut rows)?;
    }
    if rows.is_empty() {
        return Err(IngestError::NoRows {
            input: name.to_owned(),
        });
    }
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(fields.len());
    for (i, f) in features.iter().enumerate() {
        columns.push(reader.column(&f.name, f.kind, rows.iter().map(|r| (r.at, &r.inputs[i])))?);
    }
    let predictions = rows.iter().map(|r| (r.at, &r.prediction));
    let numeric = rows.iter().all(|r| is_number(&r.prediction));
    let kind = if numeric {
        FeatureType::Float
    } else {
        FeatureType::String
    };
    columns.push(reader.column(prediction, kind, predictions)?);
    columns.push(Arc::new(
        rows.iter()
            .map(|r| Some(r.id.as_str()))
            .collect::<arrow::array::StringArray>(),
    ));
    let mut times =
        TimestampMicrosecondBuilder::with_capacity(rows.len()).with_timezone(crate::UTC);
    for r in &rows {
        times.append_value(r.time);
    }
    columns.push(Arc::new(times.finish()));
    fields[features.len()] = Field::new(prediction, arrow_type(kind), true);
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| IngestError::Decode {
        input: name.to_owned(),
        format: crate::Format::JsonLines,
        detail: e.to_string(),
    })
}

/// True for a missing prediction or one that reads as a number.
fn is_number(cell: &Cell) -> bool {
    match cell {
        Cell::Missing | Cell::Json(Value::Null | Value::Number(_)) => true,
        Cell::Text(t) => t.trim().is_empty() || t.trim().parse::<f64>().is_ok(),
        Cell::Json(_) => false,
    }
}

struct Reader<'a> {
    name: &'a str,
    features: &'a [Feature],
    prediction: &'a str,
}

impl Reader<'_> {
    fn record_error(&self, at: RowRef, detail: impl Into<String>) -> IngestError {
        IngestError::Record {
            input: self.name.to_owned(),
            at,
            detail: detail.into(),
        }
    }

    /// Reads one line's event into `rows`.
    fn event(&self, line: &[u8], at: RowRef, rows: &mut Vec<Row>) -> Result<(), IngestError> {
        let event: Value = serde_json::from_slice(line).map_err(|e| {
            let reason = json_reason(&e);
            let column = e.column();
            self.record_error(
                at,
                format!("not a capture event (not JSON: {reason} at column {column})"),
            )
        })?;
        let field = |path: &[&str]| {
            let mut v = &event;
            for key in path {
                v = v.get(key).ok_or_else(|| {
                    self.record_error(at, format!("{} is missing", path.join(".")))
                })?;
            }
            Ok::<&Value, IngestError>(v)
        };
        let input_at = "captureData.endpointInput";
        let input = payload(field(&["captureData", "endpointInput"])?, input_at)
            .map_err(|e| self.record_error(at, e))?;
        let records = self.records(input, at)?;
        let predictions = match event.pointer("/captureData/endpointOutput") {
            None | Some(Value::Null) => records.iter().map(|_| Cell::Missing).collect(),
            Some(output) => {
                let output_at = "captureData.endpointOutput";
                let output = payload(output, output_at).map_err(|e| self.record_error(at, e))?;
                self.predictions(output, records.len())
                    .map_err(|e| self.record_error(at, format!("{output_at}.data: {e}")))?
            }
        };
        // The caller's inference id, when it set one, is what its ground truth is keyed by.
        let inference_id = event
            .pointer("/eventMetadata/inferenceId")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let id = match inference_id {
            Some(id) => id.to_string(),
            None => match field(&["eventMetadata", "eventId"])? {
                Value::String(s) => s.clone(),
                other => {
                    return Err(self.record_error(
                        at,
                        format!("eventMetadata.eventId is {other}, not a string"),
                    ));
                }
            },
        };
        let time = field(&["eventMetadata", "inferenceTime"])?;
        let time = time
            .as_str()
            .and_then(|s| string_to_timestamp_nanos(s).ok())
            .map(|ns| ns.div_euclid(1000))
            .ok_or_else(|| IngestError::Value {
                input: self.name.to_owned(),
                column: EVENT_TIME.to_owned(),
                at,
                detail: format!("eventMetadata.inferenceTime {time} is not a time"),
            })?;
        let several = records.len() > 1;
        for (i, (inputs, prediction)) in records.into_iter().zip(predictions).enumerate() {
            rows.push(Row {
                at: RowRef {
                    row: at.row + i as u64,
                    ..at
                },
                inputs,
                prediction,
                id: if several {
                    format!("{id}:{i}")
                } else {
                    id.clone()
                },
                time,
            });
        }
        Ok(())
    }

    /// The input's records, each with one cell per feature.
    fn records(&self, input: Payload, at: RowRef) -> Result<Vec<Vec<Cell>>, IngestError> {
        let want = self.features.len();
        let arity = |i: usize, got: usize| {
            let names = column_list(self.features.iter().map(|f| f.name.as_str()));
            self.record_error(
                RowRef {
                    row: at.row + i as u64,
                    ..at
                },
                format!(
                    "captureData.endpointInput.data has {got} values where the schema has \
                     {want} features ({names})"
                ),
            )
        };
        let data_error =
            |e: String| self.record_error(at, format!("captureData.endpointInput.data: {e}"));
        match input {
            Payload::Csv(text) => {
                let records = csv_records(&text).map_err(data_error)?;
                if records.is_empty() {
                    return Err(data_error("holds no record".into()));
                }
                records
                    .into_iter()
                    .enumerate()
                    .map(|(i, fields)| {
                        if fields.len() != want {
                            return Err(arity(i, fields.len()));
                        }
                        Ok(fields.into_iter().map(text_cell).collect())
                    })
                    .collect()
            }
            Payload::Json(value) => {
                let value = match value {
                    Value::Object(mut o) if o.get("instances").is_some_and(Value::is_array) => {
                        o.remove("instances").unwrap_or(Value::Null)
                    }
                    other => other,
                };
                let records = match value {
                    Value::Array(items) if items.iter().all(|v| v.is_array() || v.is_object()) => {
                        items
                    }
                    Value::Object(_) | Value::Array(_) => vec![value],
                    other => {
                        return Err(data_error(format!(
                            "{other} is not a record (an object or an array)"
                        )));
                    }
                };
                if records.is_empty() {
                    return Err(data_error("holds no record".into()));
                }
                records
                    .into_iter()
                    .enumerate()
                    .map(|(i, record)| match record {
                        Value::Object(o) => Ok(self.by_name(o)),
                        Value::Array(values) if values.len() == want => {
                            Ok(values.into_iter().map(Cell::Json).collect())
                        }
                        Value::Array(values) => Err(arity(i, values.len())),
                        other => Err(data_error(format!("{other} is not a record"))),
                    })
                    .collect()
            }
        }
    }

    fn by_name(&self, mut record: Map<String, Value>) -> Vec<Cell> {
        self.features
            .iter()
            .map(|f| record.remove(&f.name).map_or(Cell::Missing, Cell::Json))
            .collect()
    }

    /// `n` predictions from the output (module docs).
    fn predictions(&self, output: Payload, n: usize) -> Result<Vec<Cell>, String> {
        let cells: Vec<Cell> = match output {
            Payload::Csv(text) => {
                let lines: Vec<&str> = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect();
                match lines.as_slice() {
                    [one] if n > 1 => csv_records(one)?
                        .into_iter()
                        .flatten()
                        .map(text_cell)
                        .collect(),
                    _ => lines.iter().map(|l| text_cell((*l).to_owned())).collect(),
                }
            }
            Payload::Json(value) => {
                let value = match value {
                    Value::Object(mut o) if o.contains_key("predictions") => {
                        o.remove("predictions").unwrap_or(Value::Null)
                    }
                    other => other,
                };
                let items = match value {
                    Value::Array(items) if n > 1 || items.len() == 1 => items,
                    other => vec![other],
                };
                items
                    .into_iter()
                    .map(|v| self.prediction_of(v).map(Cell::Json))
                    .collect::<Result<_, _>>()?
            }
        };
        if cells.len() != n {
            let plural =
                |k: usize, what: &str| format!("{k} {what}{}", if k == 1 { "" } else { "s" });
            return Err(format!(
                "{} for {}",
                plural(cells.len(), "prediction"),
                plural(n, "record")
            ));
        }
        Ok(cells)
    }

    /// The prediction in one output element: the value itself, an object's value under the
    /// prediction's name, the one element of an array.
    fn prediction_of(&self, v: Value) -> Result<Value, String> {
        match v {
            Value::Object(mut o) => o.remove(self.prediction).ok_or_else(|| {
                let keys: Vec<&str> = o.keys().map(String::as_str).collect();
                format!(
                    "no {:?} in the prediction (its keys: {})",
                    self.prediction,
                    column_list(keys.into_iter())
                )
            }),
            Value::Array(mut items) if items.len() == 1 => Ok(items.remove(0)),
            other => Ok(other),
        }
    }

    /// One typed column from its cells.
    fn column<'c>(
        &self,
        column: &str,
        kind: FeatureType,
        cells: impl Iterator<Item = (RowRef, &'c Cell)>,
    ) -> Result<ArrayRef, IngestError> {
        let bad = |at: RowRef, shown: String| IngestError::Value {
            input: self.name.to_owned(),
            column: column.to_owned(),
            at,
            detail: format!("{shown} is not a valid {}", arrow_type(kind)),
        };
        let array: ArrayRef = match kind {
            FeatureType::Float => {
                let mut b = Float64Builder::new();
                for (at, cell) in cells {
                    b.append_option(
                        typed(cell, |s| s.trim().parse().ok(), Value::as_f64)
                            .map_err(|s| bad(at, s))?,
                    );
                }
                Arc::new(b.finish())
            }
            FeatureType::Integer => {
                let mut b = Int64Builder::new();
                for (at, cell) in cells {
                    b.append_option(
                        typed(cell, |s| s.trim().parse().ok(), json_int).map_err(|s| bad(at, s))?,
                    );
                }
                Arc::new(b.finish())
            }
            FeatureType::Boolean => {
                let mut b = BooleanBuilder::new();
                for (at, cell) in cells {
                    b.append_option(
                        typed(cell, text_bool, Value::as_bool).map_err(|s| bad(at, s))?,
                    );
                }
                Arc::new(b.finish())
            }
            FeatureType::String | FeatureType::Categorical => {
                let mut b = StringBuilder::new();
                for (_, cell) in cells {
                    b.append_option(match cell {
                        Cell::Missing | Cell::Json(Value::Null) => None,
                        Cell::Text(t) => Some(t.clone()),
                        Cell::Json(Value::String(s)) => Some(s.clone()),
                        Cell::Json(other) => Some(other.to_string()),
                    });
                }
                Arc::new(b.finish())
            }
            FeatureType::Timestamp => {
                let mut b = TimestampMicrosecondBuilder::new().with_timezone(crate::UTC);
                let time = |s: &str| {
                    string_to_timestamp_nanos(s.trim())
                        .ok()
                        .map(|ns| ns.div_euclid(1000))
                };
                for (at, cell) in cells {
                    b.append_option(
                        typed(cell, time, |v| v.as_str().and_then(time)).map_err(|s| bad(at, s))?,
                    );
                }
                Arc::new(b.finish())
            }
        };
        Ok(array)
    }
}

/// A cell's value through `from_text` (CSV text, JSON strings) or `from_json` (other JSON
/// values); the value as shown in messages when it does not read.
fn typed<T>(
    cell: &Cell,
    from_text: impl Fn(&str) -> Option<T>,
    from_json: impl Fn(&Value) -> Option<T>,
) -> Result<Option<T>, String> {
    match cell {
        Cell::Missing | Cell::Json(Value::Null) => Ok(None),
        Cell::Text(t) if t.trim().is_empty() => Ok(None),
        Cell::Text(t) => from_text(t).map(Some).ok_or_else(|| format!("{t:?}")),
        Cell::Json(Value::String(s)) => from_text(s).map(Some).ok_or_else(|| format!("{s:?}")),
        Cell::Json(v) => from_json(v).map(Some).ok_or_else(|| v.to_string()),
    }
}

fn json_int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| {
        v.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
            .map(|f| f as i64)
    })
}

fn text_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

fn text_cell(s: String) -> Cell {
    Cell::Text(s)
}
