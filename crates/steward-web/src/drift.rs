//! A model version's drift over time: one feature in one slice, window by window, against its
//! threshold, with the version's incidents marked; and the slice's composite score.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use steward_charts::{Marker, Point, timeline};
use steward_domain::{IncidentFilter, ModelVersionId, WindowStatus};

use crate::pages::{Me, time};
use crate::session::SignedIn;
use crate::{WebState, render, service_error_page};

/// Windows drawn (the newest).
const WINDOWS: u64 = 2_000;

#[derive(Deserialize)]
pub(crate) struct DriftQuery {
    feature: Option<String>,
    slice: Option<String>,
}

struct Row {
    end: String,
    rows: i64,
    effect: String,
    p_value: String,
    verdict: String,
}

#[derive(Template)]
#[template(path = "drift.html")]
struct DriftPage {
    me: Me,
    model_id: String,
    model: String,
    version: i64,
    version_id: String,
    features: Vec<String>,
    feature: String,
    slices: Vec<String>,
    slice: String,
    effect_chart: String,
    composite_chart: String,
    performance_chart: String,
    performance_note: String,
    rows: Vec<Row>,
}

fn number(v: Option<&Value>) -> String {
    v.and_then(Value::as_f64)
        .map_or_else(|| "-".into(), |x| format!("{x:.4}"))
}

pub(crate) async fn drift(
    State(state): State<WebState>,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<DriftQuery>,
) -> Response {
    let svc = &state.service;
    let p = &me.principal;
    let Ok(id) = id.parse::<ModelVersionId>() else {
        return crate::not_found().await;
    };
    let version = match svc.model_version(p, id).await {
        Ok(v) => v,
        Err(e) => return service_error_page(&e),
    };
    let model = match svc.model(p, version.model_id).await {
        Ok(m) => m,
        Err(e) => return service_error_page(&e),
    };
    let windows = match svc.windows(p, id, Some(WINDOWS)).await {
        Ok(w) => w,
        Err(e) => return service_error_page(&e),
    };
    // The latest evaluated window names the slices and features, and carries the thresholds.
    let latest = windows
        .iter()
        .filter(|w| w.status == WindowStatus::Evaluated)
        .max_by_key(|w| w.end);
    let slices = match latest {
        Some(w) => match svc.window_slices(p, w.id).await {
            Ok(s) => s,
            Err(e) => return service_error_page(&e),
        },
        None => Vec::new(),
    };
    let slice = q.slice.unwrap_or_default();
    let report = slices
        .iter()
        .find(|s| s.slice == slice)
        .or(slices.first())
        .map(|s| s.report.clone())
        .unwrap_or(Value::Null);
    let features: Vec<String> = report["features"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .filter_map(|f| f["feature"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let feature = q
        .feature
        .filter(|f| features.contains(f))
        .or_else(|| features.first().cloned())
        .unwrap_or_default();
    let points = if feature.is_empty() {
        Vec::new()
    } else {
        match svc
            .drift_timeline(p, id, &feature, &slice, Some(WINDOWS))
            .await
        {
            Ok(t) => t,
            Err(e) => return service_error_page(&e),
        }
    };
    let incidents = IncidentFilter {
        model_id: Some(version.model_id),
        status: None,
    };
    let incidents = match svc.incidents(p, incidents, Some(200)).await {
        Ok(i) => i,
        Err(e) => return service_error_page(&e),
    };
    let markers: Vec<Marker> = incidents
        .iter()
        .filter(|i| i.model_version_id == id)
        .map(|i| Marker {
            at: i.opened_at,
            label: i.key.clone(),
        })
        .collect();
    let kind = points
        .iter()
        .find_map(|pt| {
            pt.feature
                .as_ref()?
                .get("kind")?
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_default();
    let threshold = match kind.as_str() {
        "numeric" => report["config"]["min_effect_numeric"].as_f64(),
        "categorical" => report["config"]["min_effect_categorical"].as_f64(),
        _ => None,
    };
    let slice_name = if slice.is_empty() {
        "all traffic"
    } else {
        &slice
    };
    let effect: Vec<Point> = points
        .iter()
        .filter_map(|pt| {
            let f = pt.feature.as_ref()?;
            Some(Point {
                at: pt.window.end,
                value: f.get("effect_size")?.as_f64()?,
                flagged: f.get("verdict").and_then(Value::as_str) == Some("drift"),
                band: None,
            })
        })
        .collect();
    let composite: Vec<Point> = points
        .iter()
        .map(|pt| Point {
            at: pt.window.end,
            value: pt.composite,
            flagged: false,
            band: None,
        })
        .collect();
    let measure = points
        .iter()
        .find_map(|pt| {
            pt.feature
                .as_ref()?
                .get("effect_measure")?
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_else(|| "effect size".into())
        .replace('_', " ");
    let effect_chart = timeline(
        &format!("{feature} in {slice_name}: {measure} per window"),
        &format!("{measure} (red: drift verdict)"),
        &effect,
        threshold,
        &markers,
    );
    let composite_chart = timeline(
        &format!("composite drift score of {slice_name} per window"),
        "composite score",
        &composite,
        None,
        &markers,
    );
    let (performance_chart, performance_note) = performance(&windows, &slice, slice_name, &markers);
    let rows = points
        .iter()
        .rev()
        .take(48)
        .map(|pt| Row {
            end: time(pt.window.end),
            rows: pt.rows,
            effect: number(pt.feature.as_ref().and_then(|f| f.get("effect_size"))),
            p_value: number(pt.feature.as_ref().and_then(|f| {
                f.get("adjusted_p_value")
                    .filter(|v| !v.is_null())
                    .or(f.get("p_value"))
            })),
            verdict: pt
                .feature
                .as_ref()
                .and_then(|f| f.get("verdict")?.as_str().map(str::to_string))
                .unwrap_or_default()
                .replace('_', " "),
        })
        .collect();
    render(&DriftPage {
        me: Me::of(&me),
        model_id: model.id.to_string(),
        model: model.name,
        version: version.version,
        version_id: id.to_string(),
        features,
        feature,
        slices: slices.iter().map(|s| s.slice.clone()).collect(),
        slice,
        effect_chart,
        composite_chart,
        performance_chart,
        performance_note,
        rows,
    })
}

/// The slice's performance per window from labels (ROC AUC when measured, else accuracy) with
/// its 95% confidence interval as a band, degraded windows in red; and a note naming the
/// holdout value it is compared with.
fn performance(
    windows: &[steward_domain::Window],
    slice: &str,
    slice_name: &str,
    markers: &[Marker],
) -> (String, String) {
    let estimates: Vec<(chrono::DateTime<chrono::Utc>, &Value)> = windows
        .iter()
        .filter_map(|w| {
            let perf = w.evaluation.as_ref()?.get("performance")?.as_array()?;
            let of_slice = perf
                .iter()
                .find(|p| p.get("slice").and_then(Value::as_str) == Some(slice))?;
            Some((w.end, of_slice.get("metrics")?))
        })
        .collect();
    let has = |m: &str| {
        estimates.iter().any(|(_, ms)| {
            ms.as_array().is_some_and(|a| {
                a.iter()
                    .any(|x| x.get("metric").and_then(Value::as_str) == Some(m))
            })
        })
    };
    let metric = if has("auc") { "auc" } else { "accuracy" };
    let mut holdout = None;
    let points: Vec<Point> = estimates
        .iter()
        .filter_map(|(at, ms)| {
            let e = ms
                .as_array()?
                .iter()
                .find(|x| x.get("metric").and_then(Value::as_str) == Some(metric))?;
            holdout = holdout.or(e.get("baseline").and_then(Value::as_f64));
            Some(Point {
                at: *at,
                value: e.get("value")?.as_f64()?,
                flagged: e.get("degraded").and_then(Value::as_bool) == Some(true),
                band: Some((e.get("lower")?.as_f64()?, e.get("upper")?.as_f64()?)),
            })
        })
        .collect();
    let name = if metric == "auc" {
        "ROC AUC"
    } else {
        "accuracy"
    };
    let chart = timeline(
        &format!("{name} of {slice_name} per window, from labels"),
        &format!("{name} (band: 95% interval; red: degraded)"),
        &points,
        None,
        markers,
    );
    let note = match holdout {
        Some(h) => format!(
            "Compared with the holdout's {name} of {h:.3}: a window is degraded when its {name} is credibly below it (docs/monitoring.md)."
        ),
        None if points.is_empty() => {
            "No labelled windows in this slice yet: performance appears once labels arrive.".into()
        }
        None => "The baseline carries no holdout value to compare with.".into(),
    };
    (chart, note)
}
