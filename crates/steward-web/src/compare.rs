//! Version comparison: two versions of a model side by side: their metrics with the change,
//! their input schemas (features added, removed, retyped), and their active baselines feature
//! by feature (missing share, mean and spread, and one chart drawing both distributions over
//! the first's bins).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use steward_charts::{Series, cumulative, escape};
use steward_domain::{BaselineFeature, BaselinePair, ModelId, ModelVersion, PageRequest};

use crate::pages::Me;
use crate::session::SignedIn;
use crate::{WebState, render, service_error_page};

#[derive(Deserialize, Default)]
pub(crate) struct CompareQuery {
    a: Option<i64>,
    b: Option<i64>,
}

struct MetricRow {
    name: String,
    a: String,
    b: String,
    change: String,
}

struct FeatureRow {
    name: String,
    a: String,
    b: String,
    chart: String,
}

#[derive(Template)]
#[template(path = "compare.html")]
struct ComparePage {
    me: Me,
    model_id: String,
    model: String,
    versions: Vec<i64>,
    a: i64,
    b: i64,
    metrics: Vec<MetricRow>,
    added: Vec<String>,
    removed: Vec<String>,
    retyped: Vec<String>,
    baselines: Option<Vec<FeatureRow>>,
}

fn describe(f: &Option<BaselineFeature>) -> String {
    let Some(f) = f else {
        return "not in this baseline".into();
    };
    let total = (f.count + f.missing).max(1) as f64;
    let missing = 100.0 * f.missing as f64 / total;
    match &f.numeric {
        Some(n) => format!("{missing:.1}% missing; mean {:.4}, sd {:.4}", n.mean, n.std),
        None => {
            let top: Vec<String> = f
                .categories
                .iter()
                .take(4)
                .map(|(c, k)| format!("{c} {:.1}%", 100.0 * *k as f64 / f.count.max(1) as f64))
                .collect();
            format!("{missing:.1}% missing; {}", top.join(", "))
        }
    }
}

fn feature_row(p: &BaselinePair, a: i64, b: i64) -> FeatureRow {
    let chart = match (&p.a, &p.b_on_a_bins) {
        (Some(fa), Some(rebinned)) => match &fa.numeric {
            Some(na) => {
                let (la, lb) = (format!("v{a}"), format!("v{b}"));
                cumulative(
                    &format!("{}: v{a} and v{b}", p.name),
                    &p.name,
                    &na.edges,
                    &[
                        Series {
                            label: &la,
                            colour: "#40609f",
                            counts: &na.counts,
                        },
                        Series {
                            label: &lb,
                            colour: "#c2410c",
                            counts: rebinned,
                        },
                    ],
                )
            }
            None => String::new(),
        },
        _ => String::new(),
    };
    FeatureRow {
        name: p.name.clone(),
        a: escape(&describe(&p.a)),
        b: escape(&describe(&p.b)),
        chart,
    }
}

/// The version numbered `n` among `versions`.
fn numbered(versions: &[ModelVersion], n: i64) -> Option<&ModelVersion> {
    versions.iter().find(|v| v.version == n)
}

pub(crate) async fn compare(
    State(state): State<WebState>,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<CompareQuery>,
) -> Response {
    let Ok(id) = id.parse::<ModelId>() else {
        return crate::not_found().await;
    };
    let svc = &state.service;
    let p = &me.principal;
    let model = match svc.model(p, id).await {
        Ok(m) => m,
        Err(e) => return service_error_page(&e),
    };
    let page = PageRequest {
        first: steward_service::MAX_PAGE_SIZE,
        after: None,
    };
    let versions = match svc.model_versions(p, id, page).await {
        Ok(v) => v.items,
        Err(e) => return service_error_page(&e),
    };
    // Default: the newest version against the one before it.
    let newest = versions.first().map_or(0, |v| v.version);
    let b = q.b.unwrap_or(newest);
    let a = q.a.unwrap_or_else(|| {
        versions
            .iter()
            .map(|v| v.version)
            .find(|n| *n < b)
            .unwrap_or(b)
    });
    let (Some(va), Some(vb)) = (numbered(&versions, a), numbered(&versions, b)) else {
        return crate::error_page(
            axum::http::StatusCode::NOT_FOUND,
            "Not found",
            "The model has no such version to compare (or none yet).",
        );
    };
    let mut names: Vec<&String> = va.metrics.keys().chain(vb.metrics.keys()).collect();
    names.sort();
    names.dedup();
    let metrics = names
        .into_iter()
        .map(|n| {
            let (x, y) = (va.metrics.get(n), vb.metrics.get(n));
            let show = |v: Option<&f64>| v.map_or("-".to_string(), |v| format!("{v}"));
            let change = match (x, y) {
                (Some(x), Some(y)) => format!("{:+.4}", y - x),
                _ => String::new(),
            };
            MetricRow {
                name: n.clone(),
                a: show(x),
                b: show(y),
                change,
            }
        })
        .collect();
    let kind = |v: &ModelVersion, n: &str| {
        v.input_schema
            .iter()
            .find(|f| f.name == n)
            .map(|f| f.kind.as_str())
    };
    let added = vb
        .input_schema
        .iter()
        .filter(|f| kind(va, &f.name).is_none())
        .map(|f| format!("{} ({})", f.name, f.kind.as_str()))
        .collect();
    let removed = va
        .input_schema
        .iter()
        .filter(|f| kind(vb, &f.name).is_none())
        .map(|f| format!("{} ({})", f.name, f.kind.as_str()))
        .collect();
    let retyped = va
        .input_schema
        .iter()
        .filter_map(|f| {
            let other = kind(vb, &f.name)?;
            (other != f.kind.as_str())
                .then(|| format!("{}: {} to {other}", f.name, f.kind.as_str()))
        })
        .collect();
    let baselines = match svc.compare_baselines(p, va.id, vb.id).await {
        Ok(pairs) => pairs.map(|ps| ps.iter().map(|x| feature_row(x, a, b)).collect()),
        Err(e) => return service_error_page(&e),
    };
    render(&ComparePage {
        me: Me::of(&me),
        model_id: model.id.to_string(),
        model: model.name,
        versions: versions.iter().map(|v| v.version).collect(),
        a,
        b,
        metrics,
        added,
        removed,
        retyped,
        baselines,
    })
}
