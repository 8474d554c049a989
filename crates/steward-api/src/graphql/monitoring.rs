//! Monitoring over GraphQL: monitoring settings, baselines, windows with their per-slice and
//! per-feature results, drift timelines for charts, incidents with their timeline and pending
//! actions (types and queries; the mutations are in `monitoring_mutation.rs`). Uploads of
//! baselines and observations are REST routes (`/v1/model-versions/{id}/...`).

use async_graphql::{ComplexObject, Context, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;
use steward_domain as d;

use super::outbox::PendingAction;
use super::{ctx, parse_id};
use crate::error::{gql, invalid};

type R<T> = async_graphql::Result<T>;

mirror_enum!(BaselineSource, d::BaselineSource, { Dataset, Profile, SageMaker });
mirror_enum!(WindowStatus, d::WindowStatus, { Open, Evaluated });
mirror_enum!(IncidentStatus, d::IncidentStatus, { Open, Acknowledged, Resolved });

pub(super) fn id_of<T: std::fmt::Display>(v: T) -> ID {
    ID(v.to_string())
}

pub(super) fn first_of(first: Option<i32>) -> R<Option<u64>> {
    first
        .map(|f| u64::try_from(f).map_err(|_| invalid("first: must not be negative")))
        .transpose()
}

#[derive(SimpleObject)]
pub struct Hysteresis {
    /// Enter "drifting" when the composite score is above this ...
    pub high: f64,
    /// ... leave it when below this ...
    pub low: f64,
    /// ... for this many windows in a row.
    pub min_consecutive: u32,
    /// Windows after recovering during which drift cannot be entered again.
    pub cooldown_windows: u32,
}

#[derive(SimpleObject)]
pub struct MonitorConfig {
    pub model_id: ID,
    /// Columns whose values split windows into slices (e.g. `region`).
    pub slice_columns: Vec<String>,
    /// How long after its end a window waits for late rows before it is evaluated.
    pub lateness_seconds: i64,
    pub hysteresis: Hysteresis,
    /// Resolve incidents opened by window evaluations when the drift state recovers.
    pub auto_resolve: bool,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

impl From<d::MonitorConfig> for MonitorConfig {
    fn from(c: d::MonitorConfig) -> Self {
        MonitorConfig {
            model_id: id_of(c.model_id),
            slice_columns: c.slice_columns,
            lateness_seconds: c.lateness_seconds,
            hysteresis: Hysteresis {
                high: c.hysteresis.high,
                low: c.hysteresis.low,
                min_consecutive: c.hysteresis.min_consecutive,
                cooldown_windows: c.hysteresis.cooldown_windows,
            },
            auto_resolve: c.auto_resolve,
            updated_by: c.updated_by,
            updated_at: c.updated_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct Baseline {
    pub id: ID,
    pub model_version_id: ID,
    pub source: BaselineSource,
    /// Rows of the reference data.
    pub rows: i64,
    /// Features profiled (inputs and the prediction).
    pub features: i64,
    pub fingerprint: String,
    pub note: String,
    pub active: bool,
    /// What the source said beyond the profile.
    pub extra: Json<Value>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<d::Baseline> for Baseline {
    fn from(b: d::Baseline) -> Self {
        Baseline {
            id: id_of(b.id),
            model_version_id: id_of(b.model_version_id),
            source: b.source.into(),
            rows: b.rows,
            features: b.features,
            fingerprint: b.fingerprint,
            note: b.note,
            active: b.active,
            extra: Json(b.extra),
            created_by: b.created_by,
            created_at: b.created_at,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Window {
    pub id: ID,
    pub model_id: ID,
    pub model_version_id: ID,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// When the window stops accepting rows (end plus lateness) and becomes due.
    pub closes_at: DateTime<Utc>,
    pub status: WindowStatus,
    /// Rows that arrived after the window had closed: counted, not profiled.
    pub late_rows: i64,
    pub evaluated_at: Option<DateTime<Utc>>,
    /// `system:scheduler`, or the SRE who ran `evaluateNow`.
    pub evaluated_by: Option<String>,
    pub decision_record_id: Option<ID>,
    /// Per slice: rows, composite, state and transition; the decisions; incidents opened and
    /// resolved; or why the evaluation could not run.
    pub evaluation: Option<Json<Value>>,
    #[graphql(skip)]
    domain_id: d::WindowId,
}

impl From<d::Window> for Window {
    fn from(w: d::Window) -> Self {
        Window {
            id: id_of(w.id),
            model_id: id_of(w.model_id),
            model_version_id: id_of(w.model_version_id),
            start: w.start,
            end: w.end,
            closes_at: w.closes_at,
            status: w.status.into(),
            late_rows: w.late_rows,
            evaluated_at: w.evaluated_at,
            evaluated_by: w.evaluated_by,
            decision_record_id: w.decision_record_id.map(id_of),
            evaluation: w.evaluation.map(Json),
            domain_id: w.id,
        }
    }
}

#[ComplexObject]
impl Window {
    /// The evaluated slices; the whole window is the slice named "".
    async fn slices(&self, c: &Context<'_>) -> R<Vec<WindowSlice>> {
        let (svc, p) = ctx(c)?;
        let slices = svc.window_slices(p, self.domain_id).await.map_err(gql)?;
        Ok(slices.into_iter().map(WindowSlice::from).collect())
    }

    /// Business KPIs posted for the window, per slice ("" the whole window) and name.
    async fn kpis(&self, c: &Context<'_>) -> R<Vec<WindowKpi>> {
        let (svc, p) = ctx(c)?;
        let kpis = svc.window_kpis(p, self.domain_id).await.map_err(gql)?;
        Ok(kpis
            .into_iter()
            .map(|k| WindowKpi {
                mean: if k.count > 0 {
                    k.total / k.count as f64
                } else {
                    0.0
                },
                slice: k.slice,
                name: k.name,
                total: k.total,
                count: k.count,
            })
            .collect())
    }

    /// Performance of the window's labelled rows as the labels stand now, per slice ("" the
    /// whole window): each metric with its 95% interval, sample size and verdict against the
    /// holdout.
    async fn performance(&self, c: &Context<'_>) -> R<Vec<SlicePerformance>> {
        let (svc, p) = ctx(c)?;
        let perf = svc
            .window_performance(p, self.domain_id)
            .await
            .map_err(gql)?;
        Ok(perf
            .into_iter()
            .map(|s| SlicePerformance {
                slice: s.slice,
                labelled_rows: s.labelled_rows,
                metrics: s
                    .metrics
                    .into_iter()
                    .map(|m| MetricEstimate {
                        metric: m.metric,
                        value: m.value,
                        lower: m.lower,
                        upper: m.upper,
                        n: m.n,
                        baseline: m.baseline,
                        p_value: m.p_value,
                        degraded: m.degraded,
                    })
                    .collect(),
            })
            .collect())
    }
}

/// A business KPI of a window's slice: the sum and count of the values posted for it.
#[derive(SimpleObject)]
pub struct WindowKpi {
    /// "" for the whole window.
    pub slice: String,
    pub name: String,
    pub total: f64,
    pub count: i64,
    pub mean: f64,
}

/// A slice's performance over its labelled rows.
#[derive(SimpleObject)]
pub struct SlicePerformance {
    pub slice: String,
    pub labelled_rows: u64,
    pub metrics: Vec<MetricEstimate>,
}

/// One metric with its confidence, tested against the version's holdout value.
#[derive(SimpleObject)]
pub struct MetricEstimate {
    /// `accuracy` (Wilson interval) or `auc` (DeLong).
    pub metric: String,
    pub value: f64,
    /// Two-sided 95% interval.
    pub lower: f64,
    pub upper: f64,
    /// Labelled rows it rests on.
    pub n: u64,
    /// The holdout value, when the version has one under that name.
    pub baseline: Option<f64>,
    /// One-sided p-value of "below the holdout by more than the minimum effect (0.02)".
    pub p_value: Option<f64>,
    /// The test rejected at 5% (Bonferroni across the metrics).
    pub degraded: bool,
}

/// One feature's result in a slice of a window.
#[derive(SimpleObject)]
pub struct FeatureResult {
    pub feature: String,
    /// `input` or `prediction`.
    pub role: String,
    /// `numeric` or `categorical`.
    pub kind: String,
    /// `ks_exact`, `ks_binned`, `chi_square` or `psi`.
    pub statistic: String,
    pub value: f64,
    pub p_value: Option<f64>,
    /// After Benjamini-Hochberg across the window's features.
    pub adjusted_p_value: Option<f64>,
    pub effect_size: f64,
    pub effect_measure: String,
    /// `drift`, `negligible_drift`, `no_drift` or `insufficient_data`.
    pub verdict: String,
    pub reference_count: i64,
    pub current_count: i64,
}

fn feature_result(v: &Value) -> Option<FeatureResult> {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let f = |k: &str| v.get(k).and_then(Value::as_f64);
    let i = |k: &str| v.get(k).and_then(Value::as_i64).unwrap_or(0);
    Some(FeatureResult {
        feature: v.get("feature")?.as_str()?.to_string(),
        role: s("role"),
        kind: s("kind"),
        statistic: s("method"),
        value: f("statistic").unwrap_or(0.0),
        p_value: f("p_value"),
        adjusted_p_value: f("adjusted_p_value"),
        effect_size: f("effect_size").unwrap_or(0.0),
        effect_measure: s("effect_measure"),
        verdict: s("verdict"),
        reference_count: i("reference_count"),
        current_count: i("current_count"),
    })
}

#[derive(SimpleObject)]
pub struct WindowSlice {
    /// `region=EU`, or "" for the whole window.
    pub slice: String,
    pub rows: i64,
    /// Weighted share of drifted features, in [0, 1].
    pub composite: f64,
    pub drifted_features: i64,
    /// Per feature (and the prediction), drifted first.
    pub features: Vec<FeatureResult>,
    /// Data-quality findings (missing-rate changes, out-of-range values, unseen categories,
    /// schema issues).
    pub findings: Json<Value>,
}

impl From<d::WindowSlice> for WindowSlice {
    fn from(s: d::WindowSlice) -> Self {
        let features = s
            .report
            .get("features")
            .and_then(Value::as_array)
            .map(|fs| fs.iter().filter_map(feature_result).collect())
            .unwrap_or_default();
        WindowSlice {
            slice: s.slice,
            rows: s.rows,
            composite: s.composite,
            drifted_features: s.drifted_features,
            features,
            findings: Json(s.report.get("findings").cloned().unwrap_or(Value::Null)),
        }
    }
}

/// One point of a drift timeline.
#[derive(SimpleObject)]
pub struct DriftPoint {
    pub window_id: ID,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub rows: i64,
    /// The slice's composite score in that window.
    pub composite: f64,
    /// The feature's result; null when the window did not profile it.
    pub result: Option<FeatureResult>,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Incident {
    pub id: ID,
    pub model_id: ID,
    pub model_version_id: ID,
    /// What the policy named the trouble (`drift:EU`, ...): one live incident per key.
    pub key: String,
    pub summary: String,
    pub status: IncidentStatus,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub window_id: Option<ID>,
    pub decision_record_id: Option<ID>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
    #[graphql(skip)]
    domain_id: d::IncidentId,
}

impl From<d::Incident> for Incident {
    fn from(i: d::Incident) -> Self {
        Incident {
            id: id_of(i.id),
            model_id: id_of(i.model_id),
            model_version_id: id_of(i.model_version_id),
            key: i.key,
            summary: i.summary,
            status: i.status.into(),
            opened_by: i.opened_by,
            opened_at: i.opened_at,
            window_id: i.window_id.map(id_of),
            decision_record_id: i.decision_record_id.map(id_of),
            acknowledged_by: i.acknowledged_by,
            acknowledged_at: i.acknowledged_at,
            resolved_by: i.resolved_by,
            resolved_at: i.resolved_at,
            resolution: i.resolution,
            domain_id: i.id,
        }
    }
}

#[derive(SimpleObject)]
pub struct IncidentEvent {
    /// `opened`, `decision` (the policy decided again while it was open), `acknowledged`,
    /// `resolved`.
    pub kind: String,
    pub actor: String,
    pub at: DateTime<Utc>,
    pub window_id: Option<ID>,
    pub decision_record_id: Option<ID>,
    pub note: String,
}

#[ComplexObject]
impl Incident {
    /// The timeline, oldest first: opening, the windows and decisions that followed,
    /// acknowledgement, resolution.
    async fn timeline(&self, c: &Context<'_>) -> R<Vec<IncidentEvent>> {
        let (svc, p) = ctx(c)?;
        let detail = svc.incident(p, self.domain_id).await.map_err(gql)?;
        Ok(detail
            .events
            .into_iter()
            .map(|e| IncidentEvent {
                kind: e.kind,
                actor: e.actor,
                at: e.at,
                window_id: e.window_id.map(id_of),
                decision_record_id: e.decision_record_id.map(id_of),
                note: e.note,
            })
            .collect())
    }

    /// Actions decided while the incident was live.
    async fn actions(&self, c: &Context<'_>) -> R<Vec<PendingAction>> {
        let (svc, p) = ctx(c)?;
        let detail = svc.incident(p, self.domain_id).await.map_err(gql)?;
        Ok(detail
            .actions
            .into_iter()
            .map(PendingAction::from)
            .collect())
    }
}

#[derive(Default)]
pub struct MonitoringQuery;

#[Object]
impl MonitoringQuery {
    /// How a model is monitored (defaults until someone configures it).
    async fn monitor_config(&self, c: &Context<'_>, model_id: ID) -> R<MonitorConfig> {
        let (svc, p) = ctx(c)?;
        let id = d::ModelId::from_uuid(parse_id("modelId", &model_id)?);
        svc.monitor_config(p, id).await.map(Into::into).map_err(gql)
    }

    /// A model version's baselines, newest first; one of them is active.
    async fn baselines(&self, c: &Context<'_>, model_version_id: ID) -> R<Vec<Baseline>> {
        let (svc, p) = ctx(c)?;
        let id = d::ModelVersionId::from_uuid(parse_id("modelVersionId", &model_version_id)?);
        let list = svc.baselines(p, id).await.map_err(gql)?;
        Ok(list.into_iter().map(Into::into).collect())
    }

    async fn baseline(&self, c: &Context<'_>, id: ID) -> R<Baseline> {
        let (svc, p) = ctx(c)?;
        let id = d::BaselineId::from_uuid(parse_id("id", &id)?);
        svc.baseline(p, id).await.map(Into::into).map_err(gql)
    }

    /// A model version's windows, newest first (at most `first`, default 100, max 500).
    #[graphql(
        complexity = "first.unwrap_or(100).clamp(0, 500) as usize * child_complexity / 10 + 1"
    )]
    async fn windows(
        &self,
        c: &Context<'_>,
        model_version_id: ID,
        first: Option<i32>,
    ) -> R<Vec<Window>> {
        let (svc, p) = ctx(c)?;
        let id = d::ModelVersionId::from_uuid(parse_id("modelVersionId", &model_version_id)?);
        let list = svc.windows(p, id, first_of(first)?).await.map_err(gql)?;
        Ok(list.into_iter().map(Into::into).collect())
    }

    async fn window(&self, c: &Context<'_>, id: ID) -> R<Window> {
        let (svc, p) = ctx(c)?;
        let id = d::WindowId::from_uuid(parse_id("id", &id)?);
        svc.window(p, id)
            .await
            .map(|d| d.window.into())
            .map_err(gql)
    }

    /// One feature of one slice over the version's evaluated windows, oldest first: what a
    /// drift chart draws. `slice` "" is the whole window.
    async fn drift_timeline(
        &self,
        c: &Context<'_>,
        model_version_id: ID,
        feature: String,
        #[graphql(default)] slice: String,
        first: Option<i32>,
    ) -> R<Vec<DriftPoint>> {
        let (svc, p) = ctx(c)?;
        let id = d::ModelVersionId::from_uuid(parse_id("modelVersionId", &model_version_id)?);
        let points = svc
            .drift_timeline(p, id, &feature, &slice, first_of(first)?)
            .await
            .map_err(gql)?;
        Ok(points
            .into_iter()
            .map(|pt| DriftPoint {
                window_id: id_of(pt.window.id),
                start: pt.window.start,
                end: pt.window.end,
                rows: pt.rows,
                composite: pt.composite,
                result: pt.feature.as_ref().and_then(feature_result),
            })
            .collect())
    }

    /// Incidents, newest first, optionally of one model and in one status.
    async fn incidents(
        &self,
        c: &Context<'_>,
        model_id: Option<ID>,
        status: Option<IncidentStatus>,
        first: Option<i32>,
    ) -> R<Vec<Incident>> {
        let (svc, p) = ctx(c)?;
        let filter = d::IncidentFilter {
            model_id: model_id
                .map(|m| parse_id("modelId", &m).map(d::ModelId::from_uuid))
                .transpose()?,
            status: status.map(Into::into),
        };
        let list = svc
            .incidents(p, filter, first_of(first)?)
            .await
            .map_err(gql)?;
        Ok(list.into_iter().map(Into::into).collect())
    }

    async fn incident(&self, c: &Context<'_>, id: ID) -> R<Incident> {
        let (svc, p) = ctx(c)?;
        let id = d::IncidentId::from_uuid(parse_id("id", &id)?);
        svc.incident(p, id)
            .await
            .map(|d| d.incident.into())
            .map_err(gql)
    }
}
