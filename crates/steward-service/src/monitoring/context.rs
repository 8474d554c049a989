//! What a closed window becomes before the policy sees it: the merged profiles per slice, their
//! drift reports against the baseline, the hysteresis state per slice, and the `on_window`
//! context (as JSON, in the shape `steward_policy::WindowContext` reads).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use steward_domain::*;
use steward_drift::{
    DriftConfig, DriftReport, DriftState, Finding, Hysteresis, HysteresisConfig, Profile,
    Statistic, Transition, Verdict, WindowProfile, compare,
};

use super::decode;
use crate::{ServiceError, ServiceResult};

/// The merged window: one profile per slice (the whole window under [`ALL_SLICE`]).
pub(crate) struct Merged {
    pub slices: BTreeMap<String, WindowProfile>,
    /// Rows of each part as read (what the store counts late rows against).
    pub read: steward_store::PartsRead,
    /// Rows profiled against another baseline than the active one (left out).
    pub foreign_rows: i64,
}

/// Merges a window's parts (one per slice, more where the baseline changed mid-window); parts
/// of another baseline are left out.
pub(crate) fn merge_parts(
    reference: &Profile,
    parts: Vec<(String, ObservationBatchId, i64, Vec<u8>)>,
) -> ServiceResult<Merged> {
    let fingerprint = reference.fingerprint();
    let mut slices: BTreeMap<String, WindowProfile> = BTreeMap::new();
    let mut read = steward_store::PartsRead::new();
    let mut foreign_rows = 0;
    for (slice, batch, rows, bytes) in parts {
        read.insert((slice.clone(), batch), rows);
        let part: WindowProfile = decode("window part", &bytes)?;
        if part.reference_fingerprint != fingerprint {
            foreign_rows += rows;
            continue;
        }
        match slices.get_mut(&slice) {
            Some(w) => w
                .merge(&part)
                .map_err(|e| ServiceError::Internal(format!("merge window part: {e}")))?,
            None => {
                slices.insert(slice, part);
            }
        }
    }
    let sliced = slices.keys().any(|k| k != ALL_SLICE);
    if sliced {
        let mut all: Option<WindowProfile> = None;
        for w in slices.values() {
            match &mut all {
                Some(a) => a
                    .merge(w)
                    .map_err(|e| ServiceError::Internal(format!("merge slices: {e}")))?,
                None => all = Some(w.clone()),
            }
        }
        if let Some(all) = all {
            slices.insert(ALL_SLICE.to_string(), all);
        }
    }
    Ok(Merged {
        slices,
        read,
        foreign_rows,
    })
}

/// Merges a batch's encoded window profile into a stored part: `None` when they were profiled
/// against different baselines (the store then keeps the batch's part apart).
pub(crate) fn merge_encoded(stored: &[u8], batch: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut into: WindowProfile = rmp_serde::from_slice(stored).map_err(|e| e.to_string())?;
    let part: WindowProfile = rmp_serde::from_slice(batch).map_err(|e| e.to_string())?;
    if into.reference_fingerprint != part.reference_fingerprint {
        return Ok(None);
    }
    into.merge(&part).map_err(|e| e.to_string())?;
    super::encode(&into).map(Some).map_err(|e| e.to_string())
}

/// One slice's evaluation: its report and what the hysteresis made of it.
pub(crate) struct SliceResult {
    pub name: String,
    pub rows: u64,
    pub report: DriftReport,
    pub state: Hysteresis,
    pub transition: Transition,
}

fn hysteresis_config(s: &HysteresisSettings) -> HysteresisConfig {
    HysteresisConfig {
        high: s.high,
        low: s.low,
        min_consecutive: s.min_consecutive,
        cooldown_windows: s.cooldown_windows,
    }
}

/// Compares every slice with the baseline (with the same slice of the reference data, when the
/// baseline has it) and moves its hysteresis state.
pub(crate) fn evaluate_slices(
    reference: &Profile,
    slice_references: &BTreeMap<String, Profile>,
    merged: &Merged,
    states: &BTreeMap<String, Value>,
    settings: &HysteresisSettings,
) -> ServiceResult<Vec<SliceResult>> {
    let config = DriftConfig::default();
    let mut out = Vec::with_capacity(merged.slices.len());
    for (name, window) in &merged.slices {
        let base = slice_references.get(name).unwrap_or(reference);
        let report = compare(base, window, &config)
            .map_err(|e| ServiceError::Internal(format!("drift report: {e}")))?;
        let stored = states
            .get(name)
            .and_then(|v| serde_json::from_value::<Hysteresis>(v.clone()).ok());
        let mut state = Hysteresis::new(hysteresis_config(settings))
            .map_err(|e| ServiceError::Internal(format!("hysteresis: {e}")))?;
        // A state stored under other settings carries its drift state over, not its streaks.
        match stored {
            Some(prev) if prev.config == state.config => state = prev,
            Some(prev) => state.state = prev.state,
            None => {}
        }
        let transition = state
            .update(report.composite_score)
            .map_err(|e| ServiceError::Internal(format!("hysteresis: {e}")))?;
        out.push(SliceResult {
            name: name.clone(),
            rows: window.rows,
            report,
            state,
            transition,
        });
    }
    Ok(out)
}

pub(crate) fn state_name(s: DriftState) -> &'static str {
    match s {
        DriftState::Stable => "stable",
        DriftState::Drifting => "drifting",
    }
}

pub(crate) fn transition_name(t: Transition) -> &'static str {
    match t {
        Transition::None => "none",
        Transition::EnteredDrift => "entered_drift",
        Transition::Recovered => "recovered",
    }
}

fn statistic_name(s: Statistic) -> &'static str {
    match s {
        Statistic::KsExact | Statistic::KsBinned => "ks",
        Statistic::ChiSquare => "chi2",
        Statistic::Psi => "psi",
    }
}

fn feature_json(f: &steward_drift::FeatureDrift) -> Value {
    let mut v = json!({"feature": f.feature, "statistic": statistic_name(f.method),
        "value": finite(f.statistic), "effect_size": finite(f.effect_size),
        "drifted": f.verdict == Verdict::Drift});
    if let Some(p) = f.adjusted_p_value.or(f.p_value) {
        v["p_value"] = json!(finite(p));
    }
    v
}

fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

/// A finding as the policy context carries it.
fn finding_json(f: &Finding) -> Option<Value> {
    let (feature, kind, severity, value) = match f {
        Finding::MissingRateChange {
            feature,
            current_rate,
            ..
        } => (
            feature.as_str(),
            "missing_rate_change",
            "warning",
            *current_rate,
        ),
        Finding::OutOfRange { feature, share, .. } => {
            (feature.as_str(), "out_of_range", "warning", *share)
        }
        Finding::UnseenCategories { feature, share, .. } => {
            (feature.as_str(), "unseen_categories", "warning", *share)
        }
        Finding::Schema(issue) => {
            let feature = match issue {
                steward_drift::SchemaIssue::MissingColumn { feature } => feature.as_str(),
                steward_drift::SchemaIssue::UnexpectedColumn { column } => column.as_str(),
                steward_drift::SchemaIssue::TypeMismatch { feature, .. } => feature.as_str(),
            };
            (feature, "schema", "critical", 1.0)
        }
    };
    Some(json!({"feature": feature, "kind": kind, "severity": severity, "value": finite(value)}))
}

/// Rows that arrived for the window after it closed and before it was evaluated (counted, not
/// profiled): a finding whose value is their share of the window's rows, so a policy can tell a
/// late pipeline from a quiet hour.
pub(crate) fn late_rows_finding(window: &Window, profiled: u64) -> Option<Value> {
    (window.late_rows > 0).then(|| {
        let late = window.late_rows as f64;
        let share = late / (late + profiled as f64);
        json!({"feature": "", "kind": "late_rows", "severity": "warning", "value": finite(share)})
    })
}

/// What the policy reads besides the drift: the window, the baseline, the model's open
/// incidents and its recent decisions.
pub(crate) struct Surroundings<'a> {
    pub window: &'a Window,
    pub slice_columns: &'a [String],
    pub baseline: &'a Baseline,
    pub baseline_metrics: &'a BTreeMap<String, f64>,
    pub open_incidents: &'a [Incident],
    pub recent_decisions: Vec<Value>,
    /// Performance of the labelled rows per slice ("" the whole window).
    pub performance: &'a [super::labels::SlicePerformance],
    /// Business KPIs posted for the window, per slice.
    pub kpis: &'a [WindowKpi],
}

/// `{metric: value}` of a slice's performance.
fn metric_values(p: Option<&super::labels::SlicePerformance>) -> serde_json::Map<String, Value> {
    p.map(|p| {
        p.metrics
            .iter()
            .map(|m| (m.metric.clone(), json!(finite(m.value))))
            .collect()
    })
    .unwrap_or_default()
}

/// The `on_window` context (without `model`, which the service fills in from the registry).
pub(crate) fn window_context(results: &[SliceResult], around: Surroundings<'_>) -> Value {
    let all = results.iter().find(|r| r.name == ALL_SLICE);
    let rows = all.map_or(0, |r| r.rows);
    let (features, prediction, composite, state, quality) = match all {
        Some(r) => (
            r.report
                .features
                .iter()
                .filter(|f| f.role == steward_drift::FeatureRole::Input)
                .map(feature_json)
                .collect::<Vec<_>>(),
            r.report.prediction_drift().map(feature_json),
            finite(r.report.composite_score),
            state_name(r.state.state),
            r.report
                .findings
                .iter()
                .filter_map(finding_json)
                .collect::<Vec<_>>(),
        ),
        None => (Vec::new(), None, 0.0, "stable", Vec::new()),
    };
    let mut quality = quality;
    quality.extend(late_rows_finding(around.window, rows));
    let slices: Vec<Value> = results
        .iter()
        .filter(|r| r.name != ALL_SLICE)
        .map(|r| {
            let filter: serde_json::Map<String, Value> =
                slice_filter(around.slice_columns, &r.name)
                    .into_iter()
                    .map(|(k, v)| (k, json!(v)))
                    .collect();
            let perf = around.performance.iter().find(|p| p.slice == r.name);
            json!({"name": r.name, "filter": filter, "rows": r.rows,
                   "composite": finite(r.report.composite_score),
                   "state": state_name(r.state.state),
                   "metrics": metric_values(perf),
                   "baseline_metrics": around.baseline_metrics,
                   "kpis": super::kpis::kpi_context(around.kpis, &r.name)})
        })
        .collect();
    let mut drift = json!({"composite": composite, "state": state, "features": features,
        "slices": slices});
    if let Some(p) = prediction {
        drift["prediction"] = p;
    }
    let whole = around.performance.iter().find(|p| p.slice == ALL_SLICE);
    let performance =
        whole.map(|p| json!({"metrics": metric_values(Some(p)), "labelled_rows": p.labelled_rows}));
    json!({
        "kpis": super::kpis::kpi_context(around.kpis, ALL_SLICE),
        "performance": performance,
        "window": {"start": around.window.start.to_rfc3339(), "end": around.window.end.to_rfc3339(),
                   "rows": rows},
        "drift": drift,
        "quality": quality,
        "baseline": {"id": around.baseline.id.to_string(),
                     "created_at": around.baseline.created_at.to_rfc3339(),
                     "metrics": around.baseline_metrics},
        "open_incidents": around.open_incidents.iter().map(|i| json!({"key": i.key,
            "summary": i.summary, "opened_at": i.opened_at.to_rfc3339()})).collect::<Vec<_>>(),
        "recent_decisions": around.recent_decisions,
    })
}

/// The window's evaluation as stored on the window row and in its audit event.
pub(crate) fn summary(
    results: &[SliceResult],
    merged: &Merged,
    baseline: &Baseline,
    record: Option<&NewDecisionRecord>,
    note: Value,
) -> Value {
    let slices: Vec<Value> = results
        .iter()
        .map(|r| {
            json!({"slice": r.name, "rows": r.rows, "composite": r.report.composite_score,
                   "drifted": r.report.drifted_features, "tested": r.report.tested_features,
                   "state": state_name(r.state.state),
                   "transition": transition_name(r.transition)})
        })
        .collect();
    let mut v = json!({"baselineId": baseline.id.to_string(), "slices": slices,
        "rowsOfOtherBaselines": merged.foreign_rows,
        "decisions": record.and_then(|r| r.outcome.get("decisions").cloned())});
    if !note.is_null() {
        v["policy"] = note;
    }
    v
}
