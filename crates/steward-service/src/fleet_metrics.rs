//! The fleet's gauges, built afresh at each scrape from what the database holds now (see
//! [`crate::metrics`] for why they are read rather than kept).

use std::sync::atomic::AtomicU64;

use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use steward_domain::{FleetSnapshot, ModelHealth, PoolState};

use crate::metrics::{most_worrying, unix_seconds};

type FloatGauge = Gauge<f64, AtomicU64>;
type Gauges<L> = Family<L, FloatGauge>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    tenant: String,
    model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InfoLabels {
    tenant: String,
    model: String,
    risk_tier: String,
    owner_team: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MetricLabels {
    tenant: String,
    model: String,
    metric: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HealthLabels {
    tenant: String,
    risk_tier: String,
    health: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabels {
    tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    tenant: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    tenant: String,
    endpoint: String,
    model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

/// A model's health in one word: `incident` (open incidents), `drifting` (drifted features in
/// its latest window), `healthy`, or `unmonitored` (no window evaluated yet).
fn health(m: &ModelHealth) -> &'static str {
    match &m.latest {
        _ if m.open_incidents > 0 => "incident",
        None => "unmonitored",
        Some(l) if l.drifted_features > 0 => "drifting",
        Some(_) => "healthy",
    }
}

fn model(m: &ModelHealth) -> ModelLabels {
    ModelLabels {
        tenant: m.tenant.clone(),
        model: m.model.clone(),
    }
}

/// Every scrape-time family, registered in one fresh registry.
struct Fleet {
    models: Family<HealthLabels, Gauge>,
    dropped: Gauge,
    info: Gauges<InfoLabels>,
    incidents: Gauges<ModelLabels>,
    drift: Gauges<ModelLabels>,
    drifted: Gauges<ModelLabels>,
    age: Gauges<ModelLabels>,
    evaluated: Gauges<ModelLabels>,
    performance: Gauges<MetricLabels>,
    lower: Gauges<MetricLabels>,
    upper: Gauges<MetricLabels>,
    labelled: Gauges<MetricLabels>,
    outbox: Gauges<StatusLabels>,
    outbox_age: Gauges<StatusLabels>,
    audit: Gauges<TenantLabels>,
    due: Gauge,
    lag: FloatGauge,
    revision: Gauges<EndpointLabels>,
    rollbacks: Family<EndpointLabels, Counter>,
    pool: Family<StateLabels, Gauge>,
    pool_max: Gauge,
}

impl Fleet {
    fn register(&self) -> Registry {
        let mut r = Registry::default();
        r.register("steward_models", "Live models by tenant, risk tier and health (incident, drifting, healthy, unmonitored)", self.models.clone());
        r.register(
            "steward_model_series_dropped",
            "Models left out of the per-model series by metrics.max_models",
            self.dropped.clone(),
        );
        r.register(
            "steward_model_info",
            "A live model's risk tier and owning team (always 1)",
            self.info.clone(),
        );
        r.register(
            "steward_model_open_incidents",
            "Incidents open on a model",
            self.incidents.clone(),
        );
        r.register(
            "steward_model_drift_score",
            "Composite drift score of the worst slice of the model's latest evaluated window",
            self.drift.clone(),
        );
        r.register(
            "steward_model_drifted_features",
            "Drifted features in the worst slice of the model's latest evaluated window",
            self.drifted.clone(),
        );
        r.register(
            "steward_model_window_age_seconds",
            "Time since the end of the model's latest evaluated window",
            self.age.clone(),
        );
        r.register(
            "steward_model_last_evaluated_timestamp_seconds",
            "When the model's latest window was evaluated (Unix time)",
            self.evaluated.clone(),
        );
        r.register(
            "steward_model_performance",
            "A performance metric of the model's latest evaluated window with labels",
            self.performance.clone(),
        );
        r.register(
            "steward_model_performance_lower",
            "Lower bound of the metric's two-sided 95% confidence interval",
            self.lower.clone(),
        );
        r.register(
            "steward_model_performance_upper",
            "Upper bound of the metric's two-sided 95% confidence interval",
            self.upper.clone(),
        );
        r.register(
            "steward_model_performance_labelled_rows",
            "Labelled rows the metric rests on",
            self.labelled.clone(),
        );
        r.register(
            "steward_outbox_actions",
            "Outbox actions waiting (pending) or given up (dead), by tenant",
            self.outbox.clone(),
        );
        r.register(
            "steward_outbox_oldest_age_seconds",
            "Age of the oldest pending or dead outbox action",
            self.outbox_age.clone(),
        );
        r.register(
            "steward_audit_tree_size",
            "Events in the tenant's audit log (the size of its Merkle tree)",
            self.audit.clone(),
        );
        r.register(
            "steward_scheduler_due_windows",
            "Windows closed and not yet evaluated",
            self.due.clone(),
        );
        r.register(
            "steward_scheduler_lag_seconds",
            "How long the oldest due window has waited for evaluation (0 when none waits)",
            self.lag.clone(),
        );
        r.register(
            "steward_endpoint_revision",
            "An endpoint's current deployment revision number",
            self.revision.clone(),
        );
        r.register(
            "steward_endpoint_rollbacks",
            "Deployment revisions of an endpoint that were rollbacks",
            self.rollbacks.clone(),
        );
        r.register(
            "steward_db_pool_connections",
            "Database connections of this process by state (idle, in_use)",
            self.pool.clone(),
        );
        r.register(
            "steward_db_pool_max_connections",
            "The database pool's maximum size",
            self.pool_max.clone(),
        );
        r
    }
}

/// A registry holding the fleet's gauges for `snapshot` at `now`.
pub(crate) fn registry(
    snapshot: &FleetSnapshot,
    pool: PoolState,
    now: DateTime<Utc>,
    max_models: usize,
) -> Registry {
    let f = Fleet {
        models: Family::default(),
        dropped: Gauge::default(),
        info: Family::default(),
        incidents: Family::default(),
        drift: Family::default(),
        drifted: Family::default(),
        age: Family::default(),
        evaluated: Family::default(),
        performance: Family::default(),
        lower: Family::default(),
        upper: Family::default(),
        labelled: Family::default(),
        outbox: Family::default(),
        outbox_age: Family::default(),
        audit: Family::default(),
        due: Gauge::default(),
        lag: FloatGauge::default(),
        revision: Family::default(),
        rollbacks: Family::default(),
        pool: Family::default(),
        pool_max: Gauge::default(),
    };
    for m in &snapshot.models {
        let key = HealthLabels {
            tenant: m.tenant.clone(),
            risk_tier: m.risk_tier.clone(),
            health: health(m),
        };
        f.models.get_or_create(&key).inc();
    }
    let mut listed: Vec<&ModelHealth> = snapshot.models.iter().collect();
    if listed.len() > max_models {
        listed.sort_by(|a, b| most_worrying(a, b));
        let dropped = listed.split_off(max_models).len();
        f.dropped.set(i64::try_from(dropped).unwrap_or(i64::MAX));
    }
    for m in listed {
        per_model(&f, m, now);
    }
    for o in &snapshot.outbox {
        let key = StatusLabels {
            tenant: o.tenant.clone(),
            status: o.status.clone(),
        };
        f.outbox.get_or_create(&key).set(o.actions as f64);
        f.outbox_age
            .get_or_create(&key)
            .set(seconds_since(now, o.oldest));
    }
    for (tenant, size) in &snapshot.audit {
        let key = TenantLabels {
            tenant: tenant.clone(),
        };
        f.audit.get_or_create(&key).set(*size as f64);
    }
    f.due
        .set(i64::try_from(snapshot.due_windows).unwrap_or(i64::MAX));
    f.lag
        .set(snapshot.oldest_due.map_or(0.0, |t| seconds_since(now, t)));
    for e in &snapshot.endpoints {
        let key = EndpointLabels {
            tenant: e.tenant.clone(),
            endpoint: e.endpoint.clone(),
            model: e.model.clone(),
        };
        f.revision.get_or_create(&key).set(e.revision as f64);
        f.rollbacks.get_or_create(&key).inc_by(e.rollbacks);
    }
    let in_use = pool.open.saturating_sub(pool.idle);
    f.pool
        .get_or_create(&StateLabels { state: "idle" })
        .set(i64::from(pool.idle));
    f.pool
        .get_or_create(&StateLabels { state: "in_use" })
        .set(i64::from(in_use));
    f.pool_max.set(i64::from(pool.max));
    f.register()
}

fn per_model(f: &Fleet, m: &ModelHealth, now: DateTime<Utc>) {
    let key = model(m);
    let info = InfoLabels {
        tenant: m.tenant.clone(),
        model: m.model.clone(),
        risk_tier: m.risk_tier.clone(),
        owner_team: m.owner_team.clone(),
    };
    f.info.get_or_create(&info).set(1.0);
    f.incidents.get_or_create(&key).set(m.open_incidents as f64);
    let Some(l) = &m.latest else {
        return;
    };
    f.drift.get_or_create(&key).set(l.composite);
    f.drifted.get_or_create(&key).set(l.drifted_features as f64);
    f.age
        .get_or_create(&key)
        .set(seconds_since(now, l.window_end));
    f.evaluated
        .get_or_create(&key)
        .set(unix_seconds(l.evaluated_at));
    for p in &l.performance {
        let key = MetricLabels {
            tenant: m.tenant.clone(),
            model: m.model.clone(),
            metric: p.metric.clone(),
        };
        f.performance.get_or_create(&key).set(p.value);
        f.lower.get_or_create(&key).set(p.lower);
        f.upper.get_or_create(&key).set(p.upper);
        f.labelled.get_or_create(&key).set(p.n as f64);
    }
}

/// Seconds from `then` to `now`, never negative.
fn seconds_since(now: DateTime<Utc>, then: DateTime<Utc>) -> f64 {
    ((now - then).num_milliseconds() as f64 / 1000.0).max(0.0)
}
