//! Monitoring use cases: a model's monitoring settings, baselines, ingestion of production
//! observations into window profiles, the evaluation of closed windows (drift per slice,
//! hysteresis, the bound policy's `on_window`, incidents and pending actions), incidents, and the
//! reads behind them.
//!
//! Time comes from the service's [`Clock`], so tests and the demo drive it; windows are the
//! tumbling windows of the governing policy's `schedule()` (hourly when it has none). Profiles
//! are stored as MessagePack of steward-drift's serde types ([`encode`], [`decode`]).

mod baseline;
mod columns;
mod context;
mod evaluate;
mod incidents;
mod ingest;
mod kpis;
pub(crate) mod labels;
mod read;
mod references;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use steward_domain::{
    Model, ModelId, MonitorConfig, MonitorConfigChange, Operation, Principal, TenantScope,
};
use steward_policy as sp;

use crate::audit::Record;
use crate::{Service, ServiceError, ServiceResult, Writes};

pub use baseline::{BaselineUpload, UploadedBaseline, profile_file};
pub use evaluate::{EvaluatedWindow, SchedulerTick};
pub use ingest::{IngestBatch, Ingested, MAX_IDEMPOTENCY_KEY_CHARS};
pub use kpis::KpiUpload;
pub use labels::{LabelUpload, SlicePerformance};
pub use read::{DriftPoint, IncidentDetail, MAX_MONITORING_LIST, WindowDetail};
pub use steward_drift::estimate::MetricEstimate;
pub use steward_ingest::Format as DataFormat;

/// Where the service reads the time. Production uses [`SystemClock`]; tests and the demo use a
/// [`ManualClock`] they move, so a window closes when they say.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The machine's clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until moved, or follows the machine's clock once told to (the demo
/// replays two weeks on it, then lets it run).
#[derive(Debug)]
pub struct ManualClock(Mutex<Option<DateTime<Utc>>>);

impl ManualClock {
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(Some(at)))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        if let Ok(mut t) = self.0.lock() {
            *t = Some(at);
        }
    }

    pub fn advance(&self, by: chrono::Duration) {
        let now = self.now();
        self.set(now + by);
    }

    /// From now on, the machine's time.
    pub fn follow_system(&self) {
        if let Ok(mut t) = self.0.lock() {
            *t = None;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().ok().and_then(|t| *t).unwrap_or_else(Utc::now)
    }
}

/// Settings of monitoring in this process.
#[derive(Clone, Debug)]
pub struct MonitoringSettings {
    /// How long an evaluator holds a window before another replica may take it over.
    pub lease_seconds: i64,
    /// Most windows one scheduler tick evaluates.
    pub windows_per_tick: u64,
    /// Who this process is in leases (unique per process).
    pub instance: String,
    /// Encoded bytes of decoded baselines kept in memory (0: none).
    pub baseline_cache_bytes: usize,
}

impl Default for MonitoringSettings {
    fn default() -> Self {
        Self {
            lease_seconds: 120,
            windows_per_tick: 100,
            instance: format!("steward-{}", uuid::Uuid::now_v7()),
            baseline_cache_bytes: 256 << 20,
        }
    }
}

/// The shared, process-wide monitoring state: the clock, the settings, and the idempotency
/// keys of batches being processed right now (a retry that arrives meanwhile gets 409).
pub(crate) struct Monitoring {
    pub clock: Arc<dyn Clock>,
    pub settings: MonitoringSettings,
    pub in_flight: Mutex<std::collections::HashSet<(ModelId, String)>>,
    pub references: references::ReferenceCache,
}

impl Monitoring {
    pub fn new(clock: Arc<dyn Clock>, settings: MonitoringSettings) -> Self {
        Self {
            clock,
            references: references::ReferenceCache::new(settings.baseline_cache_bytes),
            settings,
            in_flight: Mutex::new(Default::default()),
        }
    }
}

/// Encodes a profile for storage.
pub(crate) fn encode<T: Serialize>(value: &T) -> ServiceResult<Vec<u8>> {
    rmp_serde::to_vec_named(value)
        .map_err(|e| ServiceError::Internal(format!("encode profile: {e}")))
}

/// Decodes a stored profile; a failure points at corrupted data.
pub(crate) fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> ServiceResult<T> {
    rmp_serde::from_slice(bytes).map_err(|e| ServiceError::Internal(format!("stored {what}: {e}")))
}

pub(crate) fn to_ts(t: DateTime<Utc>) -> sp::time::Timestamp {
    sp::time::Timestamp(t.timestamp())
}

pub(crate) fn from_ts(t: sp::time::Timestamp) -> ServiceResult<DateTime<Utc>> {
    Utc.timestamp_opt(t.0, 0)
        .single()
        .ok_or_else(|| ServiceError::Internal(format!("timestamp {} out of range", t.0)))
}

impl Service {
    /// Replaces the clock (tests, the demo).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        let settings = self.monitoring.settings.clone();
        self.monitoring = Arc::new(Monitoring::new(clock, settings));
        self
    }

    /// Replaces the monitoring settings.
    pub fn with_monitoring_settings(mut self, settings: MonitoringSettings) -> Self {
        let clock = Arc::clone(&self.monitoring.clock);
        self.monitoring = Arc::new(Monitoring::new(clock, settings));
        self
    }

    /// The time as the service sees it.
    pub fn now(&self) -> DateTime<Utc> {
        self.monitoring.clock.now()
    }

    /// The schedule of the policy that governs `model`: what its `schedule()` returns, hourly
    /// when it defines none or no published policy governs the model.
    pub(crate) async fn schedule_for(
        &self,
        scope: &TenantScope,
        model: &Model,
    ) -> ServiceResult<sp::Schedule> {
        let governing = match self.governing(scope, model).await {
            Ok(g) => g,
            Err(ServiceError::Precondition(_)) => return Ok(sp::Schedule::Hourly),
            Err(e) => return Err(e),
        };
        let name = governing.policy.name.clone();
        let source = governing.revision.source.clone();
        let schedule = self
            .policy
            .compile(move |engine| {
                let compiled = engine.compile(&name, &source).ok()?;
                engine.schedule(&compiled).ok().flatten()
            })
            .await?;
        Ok(schedule.unwrap_or(sp::Schedule::Hourly))
    }

    /// Changes how a model is monitored.
    pub async fn configure_monitoring(
        &self,
        principal: &Principal,
        model_id: ModelId,
        change: MonitorConfigChange,
    ) -> ServiceResult<MonitorConfig> {
        let now = self.now();
        let subject = principal.subject().to_string();
        self.mutate(
            principal,
            Operation::ConfigureMonitoring,
            ("model", model_id.to_string()),
            async move |m: Writes| {
                self.store
                    .model(&m.scope, model_id)
                    .await?
                    .ok_or(ServiceError::NotFound("model"))?;
                let current = self.store.monitor_config(&m.scope, model_id).await?;
                let mut next = change.apply(current)?;
                next.updated_by = subject;
                next.updated_at = now;
                let saved = self.store.put_monitor_config(&m.tx, &m.scope, &next).await?;
                let h = &saved.hysteresis;
                let payload = serde_json::json!({"sliceColumns": saved.slice_columns,
                    "latenessSeconds": saved.lateness_seconds, "autoResolve": saved.auto_resolve,
                    "hysteresis": {"high": h.high, "low": h.low,
                        "minConsecutive": h.min_consecutive, "cooldownWindows": h.cooldown_windows}});
                Ok((saved, Record::new("model", model_id, payload)))
            },
        )
        .await
    }

    /// A model's monitoring settings (the defaults when nobody configured it).
    pub async fn monitor_config(
        &self,
        principal: &Principal,
        model_id: ModelId,
    ) -> ServiceResult<MonitorConfig> {
        let scope = crate::scope_for(principal, Operation::ReadMonitoring)?;
        self.store
            .model(&scope, model_id)
            .await?
            .ok_or(ServiceError::NotFound("model"))?;
        Ok(self.store.monitor_config(&scope, model_id).await?)
    }
}
