//! OpenLineage events (spec 2-0-2) as Steward reads them: a RunEvent, JobEvent or DatasetEvent
//! checked field by field into what Steward keeps (docs/ecosystem.md). Every refusal names the
//! field in the event's own terms (`inputs[1].facets.schema.fields[3].name`), so a pipeline's
//! author can find it.
//!
//! What is read: the job's namespace and name (and `sourceCodeLocation.version`, the code
//! commit), the run's id and event type and time, and of each input and output dataset its
//! namespace, name, `schema` facet, `version` facet, row count (`inputStatistics`,
//! `dataQualityMetrics` or `outputStatistics`) and Steward's own output facet
//! `steward_modelVersion` (`{"model": "fraud", "version": "3"}`), which says which model version
//! the run registered. Other facets are kept in the stored event, not interpreted.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::registry::{Feature, FeatureType, validate_schema};
use crate::validate::{self, Validated, ValidationError};

text_enum!(
    /// What happened to a run (OpenLineage's `eventType`).
    RunEventType, "eventType", "event type", {
        Start => "START",
        Running => "RUNNING",
        Complete => "COMPLETE",
        Abort => "ABORT",
        Fail => "FAIL",
        Other => "OTHER",
    }
);

impl RunEventType {
    /// The run is over: its training run, if its job is bound to a model, is recorded now.
    pub fn ends_run(self) -> bool {
        matches!(self, Self::Complete | Self::Abort | Self::Fail)
    }
}

/// The output facet by which a run names the model version it registered.
pub const STEWARD_FACET: &str = "steward_modelVersion";
/// Most datasets one event may name, inputs and outputs together.
pub const MAX_EVENT_DATASETS: usize = 1_000;

/// A dataset as one event names it.
#[derive(Clone, Debug, PartialEq)]
pub struct LineageDataset {
    pub namespace: String,
    pub name: String,
    pub schema: Vec<Feature>,
    /// What identifies this version: `version:<the version facet>`, or `facets:<the schema and
    /// statistics facets as JSON>` to be hashed; equal keys are the same dataset version.
    pub version_key: String,
    pub row_count: Option<i64>,
    /// From [`STEWARD_FACET`]: the model and version number this output is.
    pub model_version: Option<(String, i64)>,
}

/// What kind of event, with what only that kind carries.
#[derive(Clone, Debug, PartialEq)]
pub enum LineageEventKind {
    Run {
        run_id: Uuid,
        event_type: RunEventType,
    },
    Job,
    Dataset,
}

/// One event, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct LineageEvent {
    pub kind: LineageEventKind,
    pub event_time: DateTime<Utc>,
    pub producer: String,
    /// The job's namespace and name (none for a DatasetEvent).
    pub job: Option<(String, String)>,
    /// The job's `sourceCodeLocation.version`: the code commit.
    pub code_version: Option<String>,
    pub inputs: Vec<LineageDataset>,
    pub outputs: Vec<LineageDataset>,
}

fn text<'a>(v: &'a Value, field: &str) -> Validated<&'a str> {
    match v.get(field_leaf(field)) {
        Some(Value::String(s)) if !s.trim().is_empty() => {
            validate::required_text(field, s, validate::MAX_URI_LEN)?;
            Ok(s)
        }
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(ValidationError::new(field, "required"))
        }
        Some(_) => Err(ValidationError::new(field, "must be a string")),
    }
}

/// The last segment of a dotted field path: the key to read.
fn field_leaf(field: &str) -> &str {
    field.rsplit('.').next().unwrap_or(field)
}

fn object<'a>(v: &'a Value, field: &str) -> Validated<Option<&'a Map<String, Value>>> {
    match v.get(field_leaf(field)) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(ValidationError::new(field, "must be an object")),
    }
}

/// Parses and checks one event (a JSON object).
pub fn parse_event(v: &Value) -> Validated<LineageEvent> {
    if !v.is_object() {
        return Err(ValidationError::new(
            "event",
            "must be a JSON object (RunEvent, JobEvent or DatasetEvent)",
        ));
    }
    let time = text(v, "eventTime")?;
    let event_time = DateTime::parse_from_rfc3339(time)
        .map_err(|e| ValidationError::new("eventTime", format!("not an RFC 3339 time: {e}")))?
        .with_timezone(&Utc);
    let producer = text(v, "producer")?.to_string();
    let run = object(v, "run")?;
    let kind = match (run, v.get("dataset")) {
        (Some(run), _) => {
            let id = run
                .get("runId")
                .and_then(Value::as_str)
                .ok_or_else(|| ValidationError::new("run.runId", "required"))?;
            let run_id = Uuid::parse_str(id)
                .map_err(|_| ValidationError::new("run.runId", "must be a UUID"))?;
            let t = text(v, "eventType")?;
            LineageEventKind::Run {
                run_id,
                event_type: t.parse()?,
            }
        }
        (None, Some(_)) => LineageEventKind::Dataset,
        (None, None) if v.get("job").is_some() => LineageEventKind::Job,
        (None, None) => {
            return Err(ValidationError::new(
                "event",
                "names no run, job or dataset: not an OpenLineage event",
            ));
        }
    };
    if kind == LineageEventKind::Dataset {
        let d = dataset(&v["dataset"], "dataset", None)?;
        return Ok(LineageEvent {
            kind,
            event_time,
            producer,
            job: None,
            code_version: None,
            inputs: Vec::new(),
            outputs: vec![d],
        });
    }
    let job = object(v, "job")?.ok_or_else(|| ValidationError::new("job", "required"))?;
    let job_value = Value::Object(job.clone());
    let namespace = text(&job_value, "job.namespace")?.to_string();
    let name = text(&job_value, "job.name")?.to_string();
    let code_version = job_value
        .pointer("/facets/sourceCodeLocation/version")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let inputs = datasets(v, "inputs", "inputFacets")?;
    let outputs = datasets(v, "outputs", "outputFacets")?;
    if inputs.len() + outputs.len() > MAX_EVENT_DATASETS {
        return Err(ValidationError::new(
            "inputs",
            format!("at most {MAX_EVENT_DATASETS} datasets per event"),
        ));
    }
    Ok(LineageEvent {
        kind,
        event_time,
        producer,
        job: Some((namespace, name)),
        code_version,
        inputs,
        outputs,
    })
}

fn datasets(v: &Value, field: &str, io_facets: &str) -> Validated<Vec<LineageDataset>> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, d)| dataset(d, &format!("{field}[{i}]"), Some(io_facets)))
            .collect(),
        Some(_) => Err(ValidationError::new(field, "must be a list of datasets")),
    }
}

fn dataset(d: &Value, at: &str, io_facets: Option<&str>) -> Validated<LineageDataset> {
    if !d.is_object() {
        return Err(ValidationError::new(at, "must be an object"));
    }
    let namespace = text(d, &format!("{at}.namespace"))?.to_string();
    let name = text(d, &format!("{at}.name"))?.to_string();
    let facets = object(d, &format!("{at}.facets"))?;
    let io = match io_facets {
        Some(f) => object(d, &format!("{at}.{f}"))?,
        None => None,
    };
    let facet = |key: &str| {
        facets
            .and_then(|f| f.get(key))
            .or_else(|| io.and_then(|f| f.get(key)))
    };
    let schema = match facet("schema") {
        None => Vec::new(),
        Some(s) => schema(s, &format!("{at}.facets.schema"))?,
    };
    let mut row_count = None;
    for key in ["outputStatistics", "inputStatistics", "dataQualityMetrics"] {
        if let Some(n) = facet(key).and_then(|s| s.get("rowCount")) {
            let field = format!("{at}.{key}.rowCount");
            let n = n.as_i64().filter(|n| *n >= 0).ok_or_else(|| {
                ValidationError::new(field, "must be a whole number, not negative")
            })?;
            row_count = Some(n);
            break;
        }
    }
    let version_key = match facet("version").and_then(|v| v.get("datasetVersion")) {
        Some(Value::String(s)) if !s.is_empty() => format!("version:{s}"),
        Some(_) => {
            return Err(ValidationError::new(
                format!("{at}.facets.version.datasetVersion"),
                "must be a non-empty string",
            ));
        }
        None => {
            let stats = ["outputStatistics", "inputStatistics", "dataQualityMetrics"]
                .map(|k| facet(k).cloned().unwrap_or(Value::Null));
            let seen = serde_json::json!({"schema": facet("schema"), "statistics": stats});
            format!("facets:{seen}")
        }
    };
    let model_version = match facet(STEWARD_FACET) {
        None => None,
        Some(f) => Some(steward_facet(f, &format!("{at}.{STEWARD_FACET}"))?),
    };
    Ok(LineageDataset {
        namespace,
        name,
        schema,
        version_key,
        row_count,
        model_version,
    })
}

fn steward_facet(f: &Value, at: &str) -> Validated<(String, i64)> {
    let model = text(f, &format!("{at}.model"))?.to_string();
    let field = format!("{at}.version");
    let version = match f.get("version") {
        Some(Value::String(s)) => s.trim().parse::<i64>().ok(),
        Some(Value::Number(n)) => n.as_i64(),
        _ => None,
    }
    .filter(|n| *n >= 1)
    .ok_or_else(|| ValidationError::new(field, "must be a version number (\"3\" or 3)"))?;
    Ok((model, version))
}

/// The `schema` facet's fields as Steward features (types mapped from SQL, Spark and Arrow
/// names; an unknown type reads as a string).
fn schema(s: &Value, at: &str) -> Validated<Vec<Feature>> {
    let Some(fields) = s.get("fields").and_then(Value::as_array) else {
        return Err(ValidationError::new(
            format!("{at}.fields"),
            "must be a list of {name, type}",
        ));
    };
    let features = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let field = format!("{at}.fields[{i}].name");
            let name = f
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| ValidationError::new(field.clone(), "required"))?;
            validate::name(&field, name)?;
            let kind = feature_type(f.get("type").and_then(Value::as_str).unwrap_or(""));
            Ok(Feature {
                name: name.to_string(),
                kind,
            })
        })
        .collect::<Validated<Vec<_>>>()?;
    validate_schema(at, &features)?;
    Ok(features)
}

fn feature_type(t: &str) -> FeatureType {
    let t = t.to_ascii_lowercase();
    let base = t.split(['(', '<', ' ']).next().unwrap_or("");
    match base {
        "int" | "integer" | "bigint" | "long" | "smallint" | "tinyint" | "int8" | "int16"
        | "int32" | "int64" | "short" | "byte" => FeatureType::Integer,
        "float" | "double" | "real" | "decimal" | "numeric" | "float32" | "float64" | "number" => {
            FeatureType::Float
        }
        "bool" | "boolean" => FeatureType::Boolean,
        "timestamp" | "timestamptz" | "date" | "datetime" | "time" => FeatureType::Timestamp,
        _ => FeatureType::String,
    }
}

/// A job OpenLineage events named, and the model its runs train when it is bound to one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineageJob {
    pub id: Uuid,
    pub namespace: String,
    pub name: String,
    pub model_id: Option<crate::ids::ModelId>,
    pub bound_by: Option<String>,
    pub bound_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}
