//! Parts of the model page read beside its registry facts: the active baseline of its newest
//! version with a small chart per feature, and its latest policy decisions with the policy and
//! revision that made each.

use std::collections::BTreeMap;

use serde_json::Value;
use steward_charts::{Series, cumulative, escape};
use steward_domain::{
    BaselineFeature, DecisionRecordFilter, ModelId, ModelVersion, PageRequest, Principal,
};
use steward_service::{Service, ServiceResult};

use crate::pages::time;

/// Features drawn at most (the rest are counted).
const FEATURES: usize = 24;
/// Decisions listed.
const DECISIONS: u32 = 10;

pub(crate) struct FeatureView {
    pub name: String,
    pub role: String,
    pub kind: String,
    pub missing: String,
    pub summary: String,
    /// An SVG chart (numeric) or a list of shares (categorical), already escaped.
    pub chart: String,
}

pub(crate) struct BaselineView {
    pub version: i64,
    pub version_id: String,
    pub rows: i64,
    pub created: String,
    pub source: String,
    pub features: Vec<FeatureView>,
    pub more: usize,
}

fn share(n: u64, total: u64) -> String {
    if total == 0 {
        return "0%".into();
    }
    format!("{:.1}%", 100.0 * n as f64 / total as f64)
}

fn feature_view(f: &BaselineFeature) -> FeatureView {
    let total = f.count + f.missing;
    let (summary, chart) = match &f.numeric {
        Some(n) => (
            format!(
                "mean {:.4}, sd {:.4}, from {:.4} to {:.4}",
                n.mean, n.std, n.min, n.max
            ),
            cumulative(
                &format!("{}: the reference distribution", f.name),
                &f.name,
                &n.edges,
                &[Series {
                    label: "reference",
                    colour: "#40609f",
                    counts: &n.counts,
                }],
            ),
        ),
        None => {
            let top: Vec<String> = f
                .categories
                .iter()
                .take(8)
                .map(|(c, k)| format!("{} {}", escape(c), share(*k, f.count)))
                .collect();
            let rest = f.categories.len().saturating_sub(8);
            let more = if rest > 0 {
                format!(", and {rest} more")
            } else {
                String::new()
            };
            (
                format!("{} categories", f.categories.len()),
                format!("<p class=\"categories\">{}{more}</p>", top.join(", ")),
            )
        }
    };
    FeatureView {
        name: f.name.clone(),
        role: f.role.clone(),
        kind: f.kind.clone(),
        missing: share(f.missing, total),
        summary,
        chart,
    }
}

/// The active baseline of the newest version that has one among `versions` (newest first).
pub(crate) async fn baseline(
    svc: &Service,
    p: &Principal,
    versions: &[ModelVersion],
) -> ServiceResult<Option<BaselineView>> {
    for v in versions.iter().take(5) {
        let Some((b, features)) = svc.baseline_features(p, v.id).await? else {
            continue;
        };
        return Ok(Some(BaselineView {
            version: v.version,
            version_id: v.id.to_string(),
            rows: b.rows,
            created: format!("{} by {}", time(b.created_at), b.created_by),
            source: b.source.as_str().to_string(),
            more: features.len().saturating_sub(FEATURES),
            features: features.iter().take(FEATURES).map(feature_view).collect(),
        }));
    }
    Ok(None)
}

pub(crate) struct DecisionView {
    pub at: String,
    pub version: String,
    pub hook: String,
    pub policy: String,
    pub policy_id: String,
    pub revision: i64,
    pub decided: String,
}

/// The model's latest decisions, each with the policy and revision that made it.
pub(crate) async fn decisions(
    svc: &Service,
    p: &Principal,
    model: ModelId,
    versions: &[ModelVersion],
) -> ServiceResult<Vec<DecisionView>> {
    let filter = DecisionRecordFilter {
        policy_id: None,
        model_id: Some(model),
        hook: None,
    };
    let page = PageRequest {
        first: DECISIONS,
        after: None,
    };
    let records = svc.decision_records(p, filter, page).await?.items;
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        let key = r.policy_id.to_string();
        if !names.contains_key(&key) {
            let name = svc.policy(p, r.policy_id).await?.name;
            names.insert(key.clone(), name);
        }
        let decided = match r.outcome.get("decisions") {
            Some(Value::Array(d)) if d.is_empty() => "nothing".to_string(),
            Some(Value::Array(d)) => d
                .iter()
                .map(|x| {
                    x.get("kind")
                        .and_then(Value::as_str)
                        .unwrap_or("?")
                        .to_string()
                })
                .collect::<Vec<_>>()
                .join(", "),
            _ => r
                .outcome
                .get("verdict")
                .map_or_else(|| r.outcome.to_string(), Value::to_string),
        };
        out.push(DecisionView {
            at: time(r.created_at),
            version: versions
                .iter()
                .find(|v| v.id == r.model_version_id)
                .map_or_else(String::new, |v| format!("v{}", v.version)),
            hook: r.hook.as_str().to_string(),
            policy: names.get(&key).cloned().unwrap_or_default(),
            policy_id: key,
            revision: r.revision_number,
            decided,
        });
    }
    Ok(out)
}
