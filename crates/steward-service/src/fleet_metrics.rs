//! The fleet's gauges, encoded at each scrape straight from what the database holds now (see
//! [`crate::metrics`] for why they are read rather than kept). A [`Collector`] streams every
//! series from the snapshot: no per-series map, lock or label copy, so a scrape of thousands of
//! models costs the database reads and the text.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::NoLabelSet;
use prometheus_client::encoding::{DescriptorEncoder, EncodeGaugeValue, EncodeLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use steward_domain::{FleetSnapshot, LatestWindow, ModelHealth, PoolState};

use crate::metrics::unix_seconds;

/// The label set of a series without labels.
const NONE: [(&str, &str); 0] = [];

/// The order per-model series are kept in when capped: open incidents, then drift, first.
fn most_worrying(a: &ModelHealth, b: &ModelHealth) -> Ordering {
    let drift = |m: &ModelHealth| m.latest.as_ref().map_or(-1.0, |l| l.composite);
    b.open_incidents
        .cmp(&a.open_incidents)
        .then(drift(b).total_cmp(&drift(a)))
        .then_with(|| (&a.tenant, &a.model).cmp(&(&b.tenant, &b.model)))
}

/// A model's series labels.
fn key(m: &ModelHealth) -> [(&'static str, &str); 2] {
    [("tenant", &m.tenant), ("model", &m.model)]
}

/// A performance metric's series labels.
fn metric_key<'a>(m: &'a ModelHealth, metric: &'a str) -> [(&'static str, &'a str); 3] {
    [
        ("tenant", &m.tenant),
        ("model", &m.model),
        ("metric", metric),
    ]
}

/// Seconds from `then` to `now`, never negative.
fn seconds_since(now: DateTime<Utc>, then: DateTime<Utc>) -> f64 {
    ((now - then).num_milliseconds() as f64 / 1000.0).max(0.0)
}

/// One scrape's fleet: the snapshot, the pool, the time, and which models get series.
#[derive(Debug)]
struct Fleet {
    snapshot: FleetSnapshot,
    pool: PoolState,
    now: DateTime<Utc>,
    /// Indexes into `snapshot.models` of the models with series of their own, in order.
    listed: Vec<usize>,
}

/// A registry holding the fleet's gauges for `snapshot` at `now`.
pub(crate) fn registry(
    snapshot: FleetSnapshot,
    pool: PoolState,
    now: DateTime<Utc>,
    max_models: usize,
) -> Registry {
    let mut listed: Vec<usize> = (0..snapshot.models.len()).collect();
    if listed.len() > max_models {
        let m = &snapshot.models;
        listed.sort_by(|a, b| most_worrying(&m[*a], &m[*b]));
        listed.truncate(max_models);
        listed.sort_unstable();
    }
    let mut r = Registry::default();
    r.register_collector(Box::new(Fleet {
        snapshot,
        pool,
        now,
        listed,
    }));
    r
}

/// Writes one gauge family: its descriptor, then a sample per item `sample` answers for.
fn family<T, L: EncodeLabelSet, V: EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    (name, help): (&str, &str),
    items: impl IntoIterator<Item = T>,
    sample: impl Fn(T) -> Option<(L, V)>,
) -> Result<(), std::fmt::Error> {
    let mut m = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for item in items {
        if let Some((labels, value)) = sample(item) {
            m.encode_family(&labels)?.encode_gauge(&value)?;
        }
    }
    Ok(())
}

impl Collector for Fleet {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (s, now) = (&self.snapshot, self.now);
        let listed: Vec<&ModelHealth> = self.listed.iter().map(|i| &s.models[*i]).collect();

        // Models by tenant, risk tier and health: every model, whatever the cap.
        let mut counts: BTreeMap<(&str, &str, &str), i64> = BTreeMap::new();
        for m in &s.models {
            let k = (m.tenant.as_str(), m.risk_tier.as_str(), m.state());
            *counts.entry(k).or_default() += 1;
        }
        family(
            &mut e,
            (
                "steward_models",
                "Live models by tenant, risk tier and health (incident, drifting, healthy, unmonitored)",
            ),
            &counts,
            |(&(t, r, h), n)| Some(([("tenant", t), ("risk_tier", r), ("health", h)], *n)),
        )?;
        let dropped = (s.models.len() - listed.len()) as i64;
        family(
            &mut e,
            (
                "steward_model_series_dropped",
                "Models left out of the per-model series by metrics.max_models",
            ),
            [&()],
            |_| Some((NONE, dropped)),
        )?;
        family(
            &mut e,
            (
                "steward_model_info",
                "A live model's risk tier and owning team (always 1)",
            ),
            listed.iter(),
            |m| {
                Some((
                    [
                        ("tenant", m.tenant.as_str()),
                        ("model", m.model.as_str()),
                        ("risk_tier", m.risk_tier.as_str()),
                        ("owner_team", m.owner_team.as_str()),
                    ],
                    1i64,
                ))
            },
        )?;
        family(
            &mut e,
            ("steward_model_open_incidents", "Incidents open on a model"),
            listed.iter(),
            |m| Some((key(m), m.open_incidents)),
        )?;
        let with_window: Vec<(&ModelHealth, &LatestWindow)> = listed
            .iter()
            .filter_map(|m| m.latest.as_ref().map(|l| (*m, l)))
            .collect();
        family(
            &mut e,
            (
                "steward_model_drift_score",
                "Composite drift score of the worst slice of the model's latest evaluated window",
            ),
            with_window.iter(),
            |(m, l)| Some((key(m), l.composite)),
        )?;
        family(
            &mut e,
            (
                "steward_model_drifted_features",
                "Drifted features in the worst slice of the model's latest evaluated window",
            ),
            with_window.iter(),
            |(m, l)| Some((key(m), l.drifted_features)),
        )?;
        family(
            &mut e,
            (
                "steward_model_window_age_seconds",
                "Time since the end of the model's latest evaluated window",
            ),
            with_window.iter(),
            |(m, l)| Some((key(m), seconds_since(now, l.window_end))),
        )?;
        family(
            &mut e,
            (
                "steward_model_last_evaluated_timestamp_seconds",
                "When the model's latest window was evaluated (Unix time)",
            ),
            with_window.iter(),
            |(m, l)| Some((key(m), unix_seconds(l.evaluated_at))),
        )?;
        let figures: Vec<_> = with_window
            .iter()
            .flat_map(|(m, l)| l.performance.iter().map(move |p| (*m, p)))
            .collect();
        for (name, help, value) in [
            (
                "steward_model_performance",
                "A performance metric of the model's latest evaluated window with labels",
                0,
            ),
            (
                "steward_model_performance_lower",
                "Lower bound of the metric's two-sided 95% confidence interval",
                1,
            ),
            (
                "steward_model_performance_upper",
                "Upper bound of the metric's two-sided 95% confidence interval",
                2,
            ),
            (
                "steward_model_performance_labelled_rows",
                "Labelled rows the metric rests on",
                3,
            ),
        ] {
            family(&mut e, (name, help), figures.iter(), |(m, p)| {
                let v = [p.value, p.lower, p.upper, p.n as f64][value];
                Some((metric_key(m, &p.metric), v))
            })?;
        }
        family(
            &mut e,
            (
                "steward_outbox_actions",
                "Outbox actions waiting (pending) or given up (dead), by tenant",
            ),
            &s.outbox,
            |o| {
                Some((
                    [("tenant", o.tenant.as_str()), ("status", o.status.as_str())],
                    o.actions,
                ))
            },
        )?;
        family(
            &mut e,
            (
                "steward_outbox_oldest_age_seconds",
                "Age of the oldest pending or dead outbox action",
            ),
            &s.outbox,
            |o| {
                Some((
                    [("tenant", o.tenant.as_str()), ("status", o.status.as_str())],
                    seconds_since(now, o.oldest),
                ))
            },
        )?;
        family(
            &mut e,
            (
                "steward_audit_tree_size",
                "Events in the tenant's audit log (the size of its Merkle tree)",
            ),
            &s.audit,
            |(t, n)| Some(([("tenant", t.as_str())], *n)),
        )?;
        family(
            &mut e,
            (
                "steward_scheduler_due_windows",
                "Windows closed and not yet evaluated",
            ),
            [&()],
            |_| Some((NONE, s.due_windows)),
        )?;
        let lag = s.oldest_due.map_or(0.0, |t| seconds_since(now, t));
        family(
            &mut e,
            (
                "steward_scheduler_lag_seconds",
                "How long the oldest due window has waited for evaluation (0 when none waits)",
            ),
            [&()],
            |_| Some((NONE, lag)),
        )?;
        let endpoint = |x: &steward_domain::EndpointState| {
            [
                ("tenant", x.tenant.clone()),
                ("endpoint", x.endpoint.clone()),
                ("model", x.model.clone()),
            ]
        };
        family(
            &mut e,
            (
                "steward_endpoint_revision",
                "An endpoint's current deployment revision number",
            ),
            &s.endpoints,
            |x| Some((endpoint(x), x.revision)),
        )?;
        let mut m = e.encode_descriptor(
            "steward_endpoint_rollbacks",
            "Deployment revisions of an endpoint that were rollbacks",
            None,
            MetricType::Counter,
        )?;
        for x in &s.endpoints {
            m.encode_family(&endpoint(x))?
                .encode_counter::<NoLabelSet, _, u64>(&x.rollbacks, None)?;
        }
        let p = self.pool;
        let states = [("idle", p.idle), ("in_use", p.open.saturating_sub(p.idle))];
        family(
            &mut e,
            (
                "steward_db_pool_connections",
                "Database connections of this process by state (idle, in_use)",
            ),
            &states,
            |(state, n)| Some(([("state", *state)], *n)),
        )?;
        family(
            &mut e,
            (
                "steward_db_pool_max_connections",
                "The database pool's maximum size",
            ),
            [&()],
            |_| Some((NONE, p.max)),
        )?;
        Ok(())
    }
}
