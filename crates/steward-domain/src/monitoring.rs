//! Monitoring records: a model's monitoring settings, baselines, observation batches, windows
//! with their evaluated slices, incidents with their timeline, and pending actions.
//!
//! Profiles themselves (reference bins, sketches, samples) are steward-drift's business; here they
//! are opaque bytes the service encodes and the store keeps, so the domain stays free of drift.

use chrono::{DateTime, Utc};

use crate::ids::*;
use crate::validate::{self, Validated, ValidationError};

/// The column of an observation that holds the model's output.
pub const PREDICTION_COLUMN: &str = "prediction";
/// The optional column naming a prediction, so that labels can be joined to it later.
pub const PREDICTION_ID_COLUMN: &str = "prediction_id";
/// The optional column with the time the prediction was made (default: receipt time).
pub const EVENT_TIME_COLUMN: &str = "event_time";
/// The column of a label upload holding the true outcome.
pub const LABEL_COLUMN: &str = "label";
/// The slice every row belongs to: the whole window.
pub const ALL_SLICE: &str = "";
/// Most slice columns a model may name (each combination of their values is a slice).
pub const MAX_SLICE_COLUMNS: usize = 4;
/// Most distinct slices one window keeps; rows of further slices count in the whole window only.
pub const MAX_SLICES_PER_WINDOW: usize = 64;
/// Longest lateness a window waits for stragglers: a week.
pub const MAX_LATENESS_SECONDS: i64 = 7 * 86_400;

text_enum!(
    /// Where a baseline's reference profile came from.
    BaselineSource, "source", "baseline source", {
        /// Computed by the server from an uploaded reference data set.
        Dataset => "dataset",
        /// Computed where the data lives (`steward profile`) and uploaded as a profile.
        Profile => "profile",
        /// Imported from a SageMaker Model Monitor baseline (statistics.json, constraints.json).
        SageMaker => "sagemaker",
    }
);

text_enum!(
    /// A window's state: open while rows may still arrive, evaluated once closed.
    WindowStatus, "status", "window status", {
        Open => "open",
        Evaluated => "evaluated",
    }
);

text_enum!(
    /// Where an incident stands.
    IncidentStatus, "status", "incident status", {
        Open => "open",
        Acknowledged => "acknowledged",
        Resolved => "resolved",
    }
);

/// Hysteresis of the drift state per model version and slice: enter "drifting" when the
/// composite score reaches `high` for `min_consecutive` windows, leave it when it falls below
/// `low` for as many; after leaving, `cooldown_windows` windows pass before it may enter again.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HysteresisSettings {
    pub high: f64,
    pub low: f64,
    pub min_consecutive: u32,
    pub cooldown_windows: u32,
}

impl Default for HysteresisSettings {
    fn default() -> Self {
        Self {
            high: 0.2,
            low: 0.05,
            min_consecutive: 2,
            cooldown_windows: 2,
        }
    }
}

/// How a model is monitored, beyond what its policy says.
#[derive(Clone, Debug, PartialEq)]
pub struct MonitorConfig {
    pub model_id: ModelId,
    /// Columns whose values split every window into slices (e.g. `region`).
    pub slice_columns: Vec<String>,
    /// How long after its end a window still accepts rows before it is evaluated.
    pub lateness_seconds: i64,
    pub hysteresis: HysteresisSettings,
    /// Resolve the slice's open incidents when its drift state recovers.
    pub auto_resolve: bool,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

impl MonitorConfig {
    /// The settings of a model nobody configured yet.
    pub fn default_for(model_id: ModelId) -> Self {
        Self {
            model_id,
            slice_columns: Vec::new(),
            lateness_seconds: 300,
            hysteresis: HysteresisSettings::default(),
            auto_resolve: true,
            updated_by: String::new(),
            updated_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }
}

/// A request to change a model's monitoring settings; `None` keeps the current value.
#[derive(Clone, Debug, Default)]
pub struct MonitorConfigChange {
    pub slice_columns: Option<Vec<String>>,
    pub lateness_seconds: Option<i64>,
    pub hysteresis: Option<HysteresisSettings>,
    pub auto_resolve: Option<bool>,
}

impl MonitorConfigChange {
    /// Applies the change to `current`, validating the result.
    pub fn apply(self, mut current: MonitorConfig) -> Validated<MonitorConfig> {
        if let Some(cols) = self.slice_columns {
            if cols.len() > MAX_SLICE_COLUMNS {
                return Err(ValidationError::new(
                    "sliceColumns",
                    format!("at most {MAX_SLICE_COLUMNS} slice columns are allowed"),
                ));
            }
            for (i, c) in cols.iter().enumerate() {
                validate::name(&format!("sliceColumns[{i}]"), c)?;
                if [PREDICTION_COLUMN, PREDICTION_ID_COLUMN, EVENT_TIME_COLUMN]
                    .contains(&c.as_str())
                {
                    return Err(ValidationError::new(
                        format!("sliceColumns[{i}]"),
                        format!("`{c}` is a reserved column and cannot slice windows"),
                    ));
                }
                if cols[..i].contains(c) {
                    return Err(ValidationError::new(
                        format!("sliceColumns[{i}]"),
                        format!("`{c}` is listed twice"),
                    ));
                }
            }
            current.slice_columns = cols;
        }
        if let Some(l) = self.lateness_seconds {
            if !(0..=MAX_LATENESS_SECONDS).contains(&l) {
                return Err(ValidationError::new(
                    "latenessSeconds",
                    format!("must be between 0 and {MAX_LATENESS_SECONDS}"),
                ));
            }
            current.lateness_seconds = l;
        }
        if let Some(h) = self.hysteresis {
            let ok = h.high.is_finite()
                && h.low.is_finite()
                && (0.0..=1.0).contains(&h.low)
                && (0.0..=1.0).contains(&h.high)
                && h.low <= h.high
                && h.min_consecutive >= 1
                && h.min_consecutive <= 1_000
                && h.cooldown_windows <= 1_000;
            if !ok {
                return Err(ValidationError::new(
                    "hysteresis",
                    "needs 0 <= low <= high <= 1, 1 <= minConsecutive <= 1000 and cooldownWindows <= 1000",
                ));
            }
            current.hysteresis = h;
        }
        if let Some(a) = self.auto_resolve {
            current.auto_resolve = a;
        }
        Ok(current)
    }
}

/// One feature of a baseline's profile, as pages draw it.
#[derive(Clone, Debug, PartialEq)]
pub struct BaselineFeature {
    pub name: String,
    /// `input`, `prediction`, `label`.
    pub role: String,
    /// `numeric` or `categorical`.
    pub kind: String,
    pub count: u64,
    pub missing: u64,
    /// Numeric: the reference-quantile bin edges and counts (`edges.len() + 1` counts), mean,
    /// standard deviation, smallest and largest value.
    pub numeric: Option<NumericSummary>,
    /// Categorical: the categories by count, largest first.
    pub categories: Vec<(String, u64)>,
}

/// One feature of two baselines side by side (a version comparison): either side may lack it.
/// For a numeric feature in both, `b_on_a_bins` counts the second baseline's uniform sample
/// into the first's bins, so one chart draws both distributions over the same bins.
#[derive(Clone, Debug, PartialEq)]
pub struct BaselinePair {
    pub name: String,
    pub a: Option<BaselineFeature>,
    pub b: Option<BaselineFeature>,
    pub b_on_a_bins: Option<Vec<u64>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NumericSummary {
    pub edges: Vec<f64>,
    pub counts: Vec<u64>,
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
}

/// A model version's baseline as stored (the profile bytes stay in the store until asked for).
#[derive(Clone, Debug, PartialEq)]
pub struct Baseline {
    pub id: BaselineId,
    pub model_version_id: ModelVersionId,
    pub source: BaselineSource,
    pub rows: i64,
    pub features: i64,
    /// The profile's fingerprint: windows counted against another baseline never mix with it.
    pub fingerprint: String,
    /// What the source said beyond the profile (SageMaker constraints, the file's format).
    pub extra: serde_json::Value,
    pub note: String,
    /// True when this is the version's active baseline.
    pub active: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// A baseline to store: its encoded profile and what describes it.
#[derive(Clone, Debug)]
pub struct NewBaseline {
    pub model_version_id: ModelVersionId,
    pub source: BaselineSource,
    pub rows: i64,
    pub features: i64,
    pub fingerprint: String,
    pub profile: Vec<u8>,
    pub extra: serde_json::Value,
    pub note: String,
    /// Make it the version's active baseline in the same transaction.
    pub activate: bool,
    /// Per slice of the reference data: (slice, rows, encoded profile counted against the
    /// baseline's bins).
    pub slices: Vec<(String, i64, Vec<u8>)>,
}

/// The part of one accepted batch that falls into one window and slice.
#[derive(Clone, Debug)]
pub struct WindowPart {
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub slice: String,
    pub rows: i64,
    pub profile: Vec<u8>,
}

/// An accepted upload to record, with its parts.
#[derive(Clone, Debug)]
pub struct NewObservationBatch {
    pub model_version_id: ModelVersionId,
    pub model_id: ModelId,
    /// `observations` or `labels`.
    pub kind: &'static str,
    pub idempotency_key: Option<String>,
    pub payload_hash: String,
    pub rows: i64,
    pub summary: serde_json::Value,
    pub parts: Vec<WindowPart>,
    /// Rows whose window had already closed at receipt, per window (their profile is empty:
    /// late rows are counted, never profiled).
    pub late: Vec<WindowPart>,
    /// Rows with a prediction id, kept so that their labels can be joined later.
    pub predictions: Vec<NewPrediction>,
}

/// A prediction kept for its delayed label: only what the join and the metrics need.
#[derive(Clone, Debug, PartialEq)]
pub struct NewPrediction {
    pub prediction_id: String,
    pub window_end: DateTime<Utc>,
    pub slice: String,
    /// A numeric prediction (a score).
    pub score: Option<f64>,
    /// A categorical prediction (a label).
    pub predicted: Option<String>,
    pub event_time: DateTime<Utc>,
}

/// An accepted upload of labels: prediction id -> true label.
#[derive(Clone, Debug)]
pub struct NewLabelBatch {
    pub model_version_id: ModelVersionId,
    pub idempotency_key: Option<String>,
    pub payload_hash: String,
    pub labels: Vec<(String, String)>,
}

/// A labelled prediction of a window: its slice, what was predicted and the truth.
#[derive(Clone, Debug, PartialEq)]
pub struct Labelled {
    pub slice: String,
    pub score: Option<f64>,
    pub predicted: Option<String>,
    pub label: String,
}

/// A batch accepted earlier, as its idempotency record answers a retry.
#[derive(Clone, Debug, PartialEq)]
pub struct ObservationBatch {
    pub id: ObservationBatchId,
    pub model_version_id: ModelVersionId,
    pub idempotency_key: Option<String>,
    pub payload_hash: String,
    pub rows: i64,
    pub late_rows: i64,
    pub summary: serde_json::Value,
    pub received_by: String,
    pub received_at: DateTime<Utc>,
}

/// A monitoring window of one model version.
#[derive(Clone, Debug, PartialEq)]
pub struct Window {
    pub id: WindowId,
    pub model_id: ModelId,
    pub model_version_id: ModelVersionId,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub status: WindowStatus,
    /// Rows that arrived after the window had closed (counted, not profiled).
    pub late_rows: i64,
    pub evaluated_at: Option<DateTime<Utc>>,
    pub evaluated_by: Option<String>,
    pub decision_record_id: Option<DecisionRecordId>,
    /// What the evaluation found (composite score, drifted features, findings) or why it failed.
    pub evaluation: Option<serde_json::Value>,
}

/// The evaluated result of one slice of a window (`slice` empty for the whole window).
#[derive(Clone, Debug, PartialEq)]
pub struct WindowSlice {
    pub window_id: WindowId,
    pub slice: String,
    pub rows: i64,
    pub composite: f64,
    pub drifted_features: i64,
    /// The drift report as JSON (steward-drift's `DriftReport`).
    pub report: serde_json::Value,
}

/// A window whose evaluation this replica has leased.
#[derive(Clone, Debug)]
pub struct LeasedWindow {
    pub window: Window,
    pub tenant_id: TenantId,
    pub lease_owner: String,
}

/// Everything one window evaluation writes, in one transaction.
#[derive(Clone, Debug)]
pub struct WindowOutcome {
    pub window_id: WindowId,
    pub lease_owner: String,
    pub evaluated_by: String,
    pub evaluated_at: DateTime<Utc>,
    pub slices: Vec<(WindowSlice, Option<Vec<u8>>)>,
    /// Hysteresis state per slice after this window, as JSON.
    pub states: Vec<(String, serde_json::Value)>,
    pub evaluation: serde_json::Value,
    pub decision_record_id: Option<DecisionRecordId>,
    /// The whole window's performance estimates (empty without labels), kept as the model's
    /// latest health beside the worst slice's drift.
    pub performance: Vec<PerformanceFigure>,
}

/// One performance estimate of a window: the metric, its value and two-sided 95% confidence
/// bounds, and the labelled rows it rests on.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PerformanceFigure {
    pub metric: String,
    pub value: f64,
    pub lower: f64,
    pub upper: f64,
    pub n: u64,
}

/// A stored incident.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    pub id: IncidentId,
    pub model_id: ModelId,
    pub model_version_id: ModelVersionId,
    pub key: String,
    pub summary: String,
    pub status: IncidentStatus,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub window_id: Option<WindowId>,
    pub decision_record_id: Option<DecisionRecordId>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
}

/// One entry of an incident's timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentEvent {
    pub incident_id: IncidentId,
    /// `opened`, `window`, `decision`, `acknowledged`, `resolved`.
    pub kind: String,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub window_id: Option<WindowId>,
    pub decision_record_id: Option<DecisionRecordId>,
    pub note: String,
}

/// Filters of the incident list; all optional and combined with AND.
#[derive(Clone, Debug, Default)]
pub struct IncidentFilter {
    pub model_id: Option<ModelId>,
    pub status: Option<IncidentStatus>,
}

/// An action a decision asked for, waiting in the outbox for delivery.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingAction {
    pub id: ActionId,
    pub model_id: ModelId,
    pub model_version_id: ModelVersionId,
    /// The policy decision that asked for it; `None` for a deployment change made by a person
    /// or the rollout scheduler.
    pub decision_record_id: Option<DecisionRecordId>,
    /// The endpoint and revision a deployment action carries to the endpoint's target.
    pub endpoint_id: Option<EndpointId>,
    pub revision_id: Option<DeploymentRevisionId>,
    pub incident_id: Option<IncidentId>,
    pub window_id: Option<WindowId>,
    /// `alert`, `retrain`, `rollback`, `deploy`.
    pub kind: String,
    /// The decision as JSON.
    pub payload: serde_json::Value,
    pub status: crate::outbox::ActionStatus,
    pub created_at: DateTime<Utc>,
    /// The delivery target it goes to (an alert's channel, a retrain's orchestrator); `None`
    /// for a kind no target delivers yet (a rollback, until deployments exist).
    pub target: Option<String>,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// When the relay tries next (`None`: as soon as it can).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When it was delivered or given up.
    pub finished_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed, or why it cannot be delivered.
    pub last_error: Option<String>,
}

/// The slice name of a row: the value of the slice column when the model names one (`EU`), or
/// `col=value` pairs joined by `,` in the configured order when it names several
/// (`region=EU,channel=web`); [`ALL_SLICE`] (the whole window) when it names none. A missing value
/// reads `(missing)`.
pub fn slice_name(columns: &[String], values: &[Option<&str>]) -> String {
    if let ([_], [v]) = (columns, values) {
        return v.unwrap_or(MISSING_VALUE).to_string();
    }
    let mut out = String::new();
    for (i, (c, v)) in columns.iter().zip(values).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(c);
        out.push('=');
        out.push_str(v.unwrap_or(MISSING_VALUE));
    }
    out
}

/// How a missing slice value is named.
pub const MISSING_VALUE: &str = "(missing)";

/// The column -> value filter that selects a slice named by [`slice_name`] (what a `retrain`
/// decision repeats); empty for the whole window.
pub fn slice_filter(columns: &[String], name: &str) -> Vec<(String, String)> {
    if name.is_empty() {
        return Vec::new();
    }
    if let [only] = columns {
        return vec![(only.clone(), name.to_string())];
    }
    name.split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The column of a KPI upload naming the KPI.
pub const KPI_COLUMN: &str = "kpi";
/// The column of a KPI upload holding its value.
pub const VALUE_COLUMN: &str = "value";

/// One KPI of one window and slice: the sum and the count of the values posted for it.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowKpi {
    pub window_id: WindowId,
    pub slice: String,
    pub name: String,
    pub total: f64,
    pub count: i64,
}

/// An accepted upload of KPI values, summed per window, slice and name.
#[derive(Clone, Debug)]
pub struct NewKpiBatch {
    pub model_version_id: ModelVersionId,
    pub model_id: ModelId,
    pub idempotency_key: Option<String>,
    pub payload_hash: String,
    pub rows: i64,
    /// (window bounds as a part with an empty profile, KPI name, sum, count).
    pub sums: Vec<(WindowPart, String, f64, i64)>,
}
