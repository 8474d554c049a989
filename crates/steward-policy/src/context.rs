//! The input of an evaluation: what `on_window` and `on_promotion` receive as `ctx`.
//!
//! The JSON shape (test files, replay histories, stored decision records) and the rhai shape
//! are the same tree, with one difference: timestamps are RFC 3339 strings in JSON and
//! integer Unix seconds in scripts, so scripts can subtract them and compare with `hours(6)`.
//! Unknown fields are rejected so a typo in a test file is an error, not a silently absent value.

use std::collections::BTreeMap;

use rhai::{Array, Dynamic, ImmutableString, Map};
use serde::{Deserialize, Serialize};

use crate::decision::{Decision, Severity};
use crate::time::Timestamp;
use crate::value::json_to_dynamic;

/// How much harm a wrong prediction of the model can do; drives approvals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskTier {
    Low,
    Medium,
    High,
}

impl RiskTier {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// The model the evaluation is about.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelInfo {
    pub id: String,
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub risk_tier: RiskTier,
}

/// The monitoring window that was just closed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowInfo {
    pub start: Timestamp,
    /// Also "now" for the policy: helpers measure time since events against it.
    pub end: Timestamp,
    #[serde(default)]
    pub rows: u64,
}

/// One statistic for one feature (or for the predictions) against the baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureDrift {
    pub feature: String,
    /// `psi`, `ks`, `chi2`, `js`, `kl`, `wasserstein`, `hellinger`.
    pub statistic: String,
    pub value: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect_size: Option<f64>,
    /// Whether the drift service judged this feature drifted under its own thresholds.
    #[serde(default)]
    pub drifted: bool,
}

/// Drift and performance restricted to a data slice (e.g. `region = EU`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SliceReport {
    pub name: String,
    /// Column -> value filter selecting the slice; what a `retrain` slice repeats.
    pub filter: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub rows: u64,
    #[serde(default)]
    pub composite: f64,
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
    #[serde(default)]
    pub baseline_metrics: BTreeMap<String, f64>,
    /// The slice's drift state after this window under the model's hysteresis (`stable` or
    /// `drifting`), when Steward's monitoring computed the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Business KPIs posted for the slice, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kpis: BTreeMap<String, Kpi>,
}

/// The window's drift report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftReport {
    /// The composite drift score in [0, 1].
    pub composite: f64,
    #[serde(default)]
    pub features: Vec<FeatureDrift>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<FeatureDrift>,
    #[serde(default)]
    pub slices: Vec<SliceReport>,
    /// The whole window's drift state after this window under the model's hysteresis
    /// (`stable` or `drifting`): enter above the high threshold for some windows, leave below the
    /// low one, so a rule on it does not flap when the score hovers around one threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// A data-quality finding (missing values, out-of-range values, unseen categories, ...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityFinding {
    pub feature: String,
    pub kind: String,
    pub severity: Severity,
    #[serde(default)]
    pub value: f64,
}

/// Performance on the window's labelled rows, once labels have arrived.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Performance {
    pub metrics: BTreeMap<String, f64>,
    #[serde(default)]
    pub labelled_rows: u64,
}

/// The baseline the window was compared with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineInfo {
    pub id: String,
    pub created_at: Timestamp,
    #[serde(default)]
    pub metrics: BTreeMap<String, f64>,
}

/// An incident of this model that is still open.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenIncident {
    pub key: String,
    pub summary: String,
    pub opened_at: Timestamp,
}

/// A decision recorded earlier for this model, newest last.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedDecision {
    pub at: Timestamp,
    pub decision: Decision,
}

/// A business KPI of the window (or of a slice): what the tenant posted for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kpi {
    pub total: f64,
    pub count: u64,
    pub mean: f64,
}

fn kpis(m: &BTreeMap<String, Kpi>) -> Dynamic {
    Dynamic::from_map(
        m.iter()
            .map(|(k, v)| {
                let value = map([
                    ("total", Dynamic::from_float(v.total)),
                    (
                        "count",
                        Dynamic::from_int(i64::try_from(v.count).unwrap_or(i64::MAX)),
                    ),
                    ("mean", Dynamic::from_float(v.mean)),
                ]);
                (k.as_str().into(), value)
            })
            .collect(),
    )
}

/// The `ctx` of `on_window`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowContext {
    pub model: ModelInfo,
    pub window: WindowInfo,
    pub drift: DriftReport,
    #[serde(default)]
    pub quality: Vec<QualityFinding>,
    #[serde(default)]
    pub performance: Option<Performance>,
    pub baseline: BaselineInfo,
    #[serde(default)]
    pub open_incidents: Vec<OpenIncident>,
    #[serde(default)]
    pub recent_decisions: Vec<RecordedDecision>,
    /// Business KPIs the tenant posted for the window (fraud losses, conversion ...), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kpis: BTreeMap<String, Kpi>,
}

/// The model version asking to be promoted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    pub version: String,
    /// Metrics on the holdout set, e.g. `auc`, `log_loss`.
    pub holdout: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training_run: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggered_by_incident: Option<String>,
    /// The candidate's active baseline (absent when it has none yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineInfo>,
}

/// The version currently in production.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Champion {
    pub version: String,
    /// The champion's metrics on the same holdout set.
    pub holdout: BTreeMap<String, f64>,
    /// The champion's active baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<BaselineInfo>,
}

/// An approval given so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    pub principal: String,
    pub role: String,
    pub at: Timestamp,
}

/// The `ctx` of `on_promotion`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromotionContext {
    pub model: ModelInfo,
    pub candidate: Candidate,
    /// Absent for a model's first promotion.
    #[serde(default)]
    pub champion: Option<Champion>,
    #[serde(default)]
    pub approvals: Vec<Approval>,
    /// The principal who requested the promotion.
    pub requester: String,
    pub requested_at: Timestamp,
}

fn s(v: &str) -> Dynamic {
    Dynamic::from(ImmutableString::from(v))
}

fn metrics(m: &BTreeMap<String, f64>) -> Dynamic {
    Dynamic::from_map(
        m.iter()
            .map(|(k, v)| (k.as_str().into(), Dynamic::from_float(*v)))
            .collect(),
    )
}

fn opt_float(v: Option<f64>) -> Dynamic {
    v.map_or(Dynamic::UNIT, Dynamic::from_float)
}

fn opt_str(v: Option<&str>) -> Dynamic {
    v.map_or(Dynamic::UNIT, s)
}

fn opt_baseline(b: Option<&BaselineInfo>) -> Dynamic {
    b.map_or(Dynamic::UNIT, |b| {
        map([
            ("id", s(&b.id)),
            ("created_at", Dynamic::from_int(b.created_at.0)),
            ("metrics", metrics(&b.metrics)),
        ])
    })
}

fn list<T>(items: &[T], f: impl Fn(&T) -> Dynamic) -> Dynamic {
    Dynamic::from_array(items.iter().map(f).collect::<Array>())
}

fn map<const N: usize>(fields: [(&str, Dynamic); N]) -> Dynamic {
    Dynamic::from_map(
        fields
            .into_iter()
            .map(|(k, v)| (k.into(), v))
            .collect::<Map>(),
    )
}

impl ModelInfo {
    fn to_dynamic(&self) -> Dynamic {
        map([
            ("id", s(&self.id)),
            ("name", s(&self.name)),
            ("version", s(&self.version)),
            ("tags", list(&self.tags, |t| s(t))),
            ("risk_tier", s(self.risk_tier.as_str())),
        ])
    }
}

impl FeatureDrift {
    fn to_dynamic(&self) -> Dynamic {
        map([
            ("feature", s(&self.feature)),
            ("statistic", s(&self.statistic)),
            ("value", Dynamic::from_float(self.value)),
            ("p_value", opt_float(self.p_value)),
            ("effect_size", opt_float(self.effect_size)),
            ("drifted", Dynamic::from_bool(self.drifted)),
        ])
    }
}

impl WindowContext {
    /// The rhai value scripts receive as `ctx`.
    pub fn to_dynamic(&self) -> Dynamic {
        let drift = &self.drift;
        map([
            ("model", self.model.to_dynamic()),
            (
                "window",
                map([
                    ("start", Dynamic::from_int(self.window.start.0)),
                    ("end", Dynamic::from_int(self.window.end.0)),
                    (
                        "rows",
                        Dynamic::from_int(i64::try_from(self.window.rows).unwrap_or(i64::MAX)),
                    ),
                ]),
            ),
            (
                "drift",
                map([
                    ("composite", Dynamic::from_float(drift.composite)),
                    ("state", opt_str(drift.state.as_deref())),
                    ("features", list(&drift.features, FeatureDrift::to_dynamic)),
                    (
                        "prediction",
                        drift
                            .prediction
                            .as_ref()
                            .map_or(Dynamic::UNIT, FeatureDrift::to_dynamic),
                    ),
                    (
                        "slices",
                        list(&drift.slices, |sl| {
                            let filter = sl
                                .filter
                                .iter()
                                .map(|(k, v)| (k.as_str().into(), json_to_dynamic(v)));
                            map([
                                ("name", s(&sl.name)),
                                ("filter", Dynamic::from_map(filter.collect())),
                                (
                                    "rows",
                                    Dynamic::from_int(i64::try_from(sl.rows).unwrap_or(i64::MAX)),
                                ),
                                ("composite", Dynamic::from_float(sl.composite)),
                                ("metrics", metrics(&sl.metrics)),
                                ("baseline_metrics", metrics(&sl.baseline_metrics)),
                                ("state", opt_str(sl.state.as_deref())),
                                ("kpis", kpis(&sl.kpis)),
                            ])
                        }),
                    ),
                ]),
            ),
            (
                "quality",
                list(&self.quality, |q| {
                    map([
                        ("feature", s(&q.feature)),
                        ("kind", s(&q.kind)),
                        ("severity", s(q.severity.as_str())),
                        ("value", Dynamic::from_float(q.value)),
                    ])
                }),
            ),
            (
                "performance",
                self.performance.as_ref().map_or(Dynamic::UNIT, |p| {
                    map([
                        ("metrics", metrics(&p.metrics)),
                        (
                            "labelled_rows",
                            Dynamic::from_int(i64::try_from(p.labelled_rows).unwrap_or(i64::MAX)),
                        ),
                    ])
                }),
            ),
            (
                "baseline",
                map([
                    ("id", s(&self.baseline.id)),
                    ("created_at", Dynamic::from_int(self.baseline.created_at.0)),
                    ("metrics", metrics(&self.baseline.metrics)),
                ]),
            ),
            (
                "open_incidents",
                list(&self.open_incidents, |i| {
                    map([
                        ("key", s(&i.key)),
                        ("summary", s(&i.summary)),
                        ("opened_at", Dynamic::from_int(i.opened_at.0)),
                    ])
                }),
            ),
            (
                "recent_decisions",
                list(&self.recent_decisions, |d| {
                    map([
                        ("at", Dynamic::from_int(d.at.0)),
                        ("decision", json_to_dynamic(&d.decision.to_json())),
                    ])
                }),
            ),
            ("kpis", kpis(&self.kpis)),
        ])
    }
}

impl PromotionContext {
    /// The rhai value scripts receive as `ctx`.
    pub fn to_dynamic(&self) -> Dynamic {
        let c = &self.candidate;
        map([
            ("model", self.model.to_dynamic()),
            (
                "candidate",
                map([
                    ("version", s(&c.version)),
                    ("holdout", metrics(&c.holdout)),
                    ("training_run", opt_str(c.training_run.as_deref())),
                    (
                        "triggered_by_incident",
                        opt_str(c.triggered_by_incident.as_deref()),
                    ),
                    ("baseline", opt_baseline(c.baseline.as_ref())),
                ]),
            ),
            (
                "champion",
                self.champion.as_ref().map_or(Dynamic::UNIT, |ch| {
                    map([
                        ("version", s(&ch.version)),
                        ("holdout", metrics(&ch.holdout)),
                        ("baseline", opt_baseline(ch.baseline.as_ref())),
                    ])
                }),
            ),
            (
                "approvals",
                list(&self.approvals, |a| {
                    map([
                        ("principal", s(&a.principal)),
                        ("role", s(&a.role)),
                        ("at", Dynamic::from_int(a.at.0)),
                    ])
                }),
            ),
            ("requester", s(&self.requester)),
            ("requested_at", Dynamic::from_int(self.requested_at.0)),
        ])
    }
}
