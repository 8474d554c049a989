//! The platform's own metrics, in the OpenMetrics text format Prometheus scrapes
//! (docs/operations.md lists every series and what it means).
//!
//! Two kinds live here. Counters and histograms of what this process did (HTTP requests,
//! GraphQL operations, policy and window evaluations, delivery attempts, mutations and audit
//! append failures) are kept in memory from start-up; with several replicas each reports its
//! own and PromQL sums them. Gauges of the fleet's state (per-model drift and performance,
//! open incidents, the outbox backlog, audit tree sizes, scheduler lag, endpoint revisions)
//! are read from the database at scrape time, so every replica reports the same truth.
//!
//! Label values are bounded: routes are the router's templates, GraphQL fields the schema's
//! root fields, targets and tenants what operators configured. Per-model series are capped at
//! `max_models` (the most worrying models first); `steward_model_series_dropped` counts the
//! rest, and the per-health counts in `steward_models` always cover every model.

use std::sync::atomic::AtomicU64;

use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use steward_domain::{FleetSnapshot, PoolState};

type Counters<L> = Family<L, Counter>;
type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// Latency buckets from 0.5 ms to about 16 s, doubling.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GraphqlLabels {
    kind: &'static str,
    field: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PolicyLabels {
    hook: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HookLabels {
    hook: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    limit: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    tenant: String,
    target: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MutationLabels {
    operation: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    version: &'static str,
}

/// The process's own counters and histograms; the fleet's gauges join them at scrape time.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    http_requests: Counters<HttpLabels>,
    http_duration: Histograms<RouteLabels>,
    graphql: Counters<GraphqlLabels>,
    graphql_duration: Histograms<KindLabels>,
    policy: Counters<PolicyLabels>,
    policy_duration: Histograms<HookLabels>,
    policy_limits: Counters<LimitLabels>,
    windows: Counters<OutcomeLabels>,
    window_duration: Histogram,
    scheduler_passes: Counters<OutcomeLabels>,
    scheduler_last_pass: FloatGauge,
    deliveries: Counters<DeliveryLabels>,
    delivery_duration: Histograms<OutcomeLabels>,
    mutations: Counters<MutationLabels>,
    audit_failures: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let m = Metrics {
            registry: Registry::default(),
            http_requests: Family::default(),
            http_duration: Family::new_with_constructor(latency),
            graphql: Family::default(),
            graphql_duration: Family::new_with_constructor(latency),
            policy: Family::default(),
            policy_duration: Family::new_with_constructor(latency),
            policy_limits: Family::default(),
            windows: Family::default(),
            window_duration: latency(),
            scheduler_passes: Family::default(),
            scheduler_last_pass: FloatGauge::default(),
            deliveries: Family::default(),
            delivery_duration: Family::new_with_constructor(latency),
            mutations: Family::default(),
            audit_failures: Counter::default(),
        };
        let mut r = Registry::default();
        let build: Family<VersionLabels, Gauge> = Family::default();
        build
            .get_or_create(&VersionLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        r.register("steward_build_info", "Steward's version (always 1)", build);
        r.register(
            "steward_http_requests",
            "HTTP requests answered, by route template and status",
            m.http_requests.clone(),
        );
        r.register(
            "steward_http_request_duration_seconds",
            "Time to answer an HTTP request (to its first byte)",
            m.http_duration.clone(),
        );
        r.register(
            "steward_graphql_operations",
            "GraphQL operations, by kind, root field and outcome (`invalid`: refused before execution)",
            m.graphql.clone(),
        );
        r.register(
            "steward_graphql_operation_duration_seconds",
            "Time to run a GraphQL operation",
            m.graphql_duration.clone(),
        );
        r.register(
            "steward_policy_evaluations",
            "Policy evaluations, by hook and outcome (ok, failed, limit, compile_error)",
            m.policy.clone(),
        );
        r.register(
            "steward_policy_evaluation_duration_seconds",
            "Time a policy spent evaluating",
            m.policy_duration.clone(),
        );
        r.register(
            "steward_policy_limits_hit",
            "Policy evaluations stopped by a limit, by limit",
            m.policy_limits.clone(),
        );
        r.register(
            "steward_window_evaluations",
            "Window evaluations by the scheduler (evaluated, skipped: leased by another replica, failed)",
            m.windows.clone(),
        );
        r.register(
            "steward_window_evaluation_duration_seconds",
            "Time to evaluate one window and write its outcome",
            m.window_duration.clone(),
        );
        r.register(
            "steward_scheduler_passes",
            "Scheduler passes, by outcome (ok, error)",
            m.scheduler_passes.clone(),
        );
        r.register(
            "steward_scheduler_last_pass_timestamp_seconds",
            "When this process last finished a scheduler pass (Unix time)",
            m.scheduler_last_pass.clone(),
        );
        r.register(
            "steward_delivery_attempts",
            "Outbox delivery attempts, by tenant, target and outcome (delivered, retry, dead)",
            m.deliveries.clone(),
        );
        r.register(
            "steward_delivery_duration_seconds",
            "Time a delivery attempt took, by outcome",
            m.delivery_duration.clone(),
        );
        r.register(
            "steward_mutations",
            "Audited mutations, by operation and outcome (ok, denied, failed)",
            m.mutations.clone(),
        );
        r.register(
            "steward_audit_append_failures",
            "Mutations abandoned because their audit event could not be appended",
            m.audit_failures.clone(),
        );
        Metrics { registry: r, ..m }
    }

    /// One HTTP request answered: `route` is the router's template (`unmatched` otherwise).
    pub fn http_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let method = known_method(method);
        self.http_requests
            .get_or_create(&HttpLabels {
                method,
                route: route.to_string(),
                status,
            })
            .inc();
        self.http_duration
            .get_or_create(&RouteLabels {
                method,
                route: route.to_string(),
            })
            .observe(seconds);
    }

    /// One GraphQL operation: `kind` is `query`, `mutation` or `invalid`; `field` the first root
    /// field of an executed operation (the schema bounds it), `-` for one refused before
    /// execution (whose field names are the client's).
    pub fn graphql_operation(&self, kind: &'static str, field: &str, ok: bool, seconds: f64) {
        let outcome = if ok { "ok" } else { "error" };
        self.graphql
            .get_or_create(&GraphqlLabels {
                kind,
                field: field.to_string(),
                outcome,
            })
            .inc();
        self.graphql_duration
            .get_or_create(&KindLabels { kind })
            .observe(seconds);
    }

    pub(crate) fn policy_evaluation(
        &self,
        hook: &'static str,
        outcome: &'static str,
        limit: Option<&'static str>,
        seconds: f64,
    ) {
        self.policy
            .get_or_create(&PolicyLabels { hook, outcome })
            .inc();
        self.policy_duration
            .get_or_create(&HookLabels { hook })
            .observe(seconds);
        if let Some(limit) = limit {
            self.policy_limits
                .get_or_create(&LimitLabels { limit })
                .inc();
        }
    }

    pub(crate) fn window_evaluation(&self, outcome: &'static str, seconds: f64) {
        self.windows.get_or_create(&OutcomeLabels { outcome }).inc();
        if outcome == "evaluated" {
            self.window_duration.observe(seconds);
        }
    }

    pub(crate) fn scheduler_pass(&self, ok: bool, at: DateTime<Utc>) {
        let outcome = if ok { "ok" } else { "error" };
        self.scheduler_passes
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
        self.scheduler_last_pass.set(unix_seconds(at));
    }

    pub(crate) fn delivery_attempt(
        &self,
        tenant: &str,
        target: &str,
        outcome: &'static str,
        seconds: f64,
    ) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                tenant: tenant.to_string(),
                target: target.to_string(),
                outcome,
            })
            .inc();
        self.delivery_duration
            .get_or_create(&OutcomeLabels { outcome })
            .observe(seconds);
    }

    pub(crate) fn mutation(&self, operation: &'static str, outcome: &'static str) {
        self.mutations
            .get_or_create(&MutationLabels { operation, outcome })
            .inc();
    }

    pub(crate) fn audit_append_failed(&self) {
        self.audit_failures.inc();
    }

    /// The whole exposition: this process's series, then the fleet's from `snapshot` read at
    /// `now`, then the end marker.
    pub fn render(
        &self,
        snapshot: FleetSnapshot,
        pool: PoolState,
        now: DateTime<Utc>,
        max_models: usize,
    ) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(64 * 1024 + snapshot.models.len() * 1280);
        encode_registry(&mut out, &self.registry)?;
        encode_registry(
            &mut out,
            &crate::fleet_metrics::registry(snapshot, pool, now, max_models),
        )?;
        encode_eof(&mut out)?;
        Ok(out)
    }
}

/// Methods outside the standard set are one label value, so a client cannot mint series.
fn known_method(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("OTHER")
}

pub(crate) fn unix_seconds(at: DateTime<Utc>) -> f64 {
    at.timestamp_millis() as f64 / 1000.0
}
