//! Closing and evaluating windows: the scheduler's tick (as the `scheduler` system actor), an
//! SRE's `evaluateNow`, and one window's evaluation.
//!
//! A window is evaluated by whoever leases it first (a committed lease with an expiry, so a
//! replica that dies mid-evaluation hands it over when the lease runs out); the evaluation reads
//! and computes without a transaction (merging parts, drift per slice, hysteresis, the policy's
//! `on_window` on the blocking pool), then writes everything in one transaction: the decision
//! record, the window marked evaluated (only while the lease is still ours), its slices and
//! states, the incidents the decisions open or resolve, and the pending actions.

use std::collections::BTreeMap;

use chrono::Duration;
use serde_json::{Value, json};
use steward_domain::*;
use steward_drift::{DriftState, Transition};
use steward_policy as sp;
use steward_store::{Cause, NewAction};

use super::context::{
    Merged, SliceResult, Surroundings, evaluate_slices, merge_parts, summary, window_context,
};
use crate::audit::Record;
use crate::outbox::route;
use crate::policy::EvaluatePolicy;
use crate::tenancy::{Tenancy, within};
use crate::{Service, ServiceError, ServiceResult, Writes};

/// Decisions shown to a policy as "recent".
const RECENT_DECISIONS: u32 = 20;

/// Sampled values per numeric feature kept in an evaluated window's stored profile (the
/// evaluation itself used the full sample; charts and later merges need no more).
const STORED_SAMPLE: usize = 256;

/// What one window's evaluation did.
#[derive(Clone, Debug)]
pub struct EvaluatedWindow {
    pub window_id: WindowId,
    pub rows: u64,
    pub composite: f64,
    pub decision_record_id: Option<DecisionRecordId>,
    pub incidents_opened: Vec<IncidentId>,
    pub incidents_resolved: Vec<IncidentId>,
    pub actions: Vec<ActionId>,
}

/// What one scheduler pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SchedulerTick {
    pub evaluated: usize,
    /// Windows another evaluator had leased meanwhile.
    pub skipped: usize,
    pub failed: usize,
}

/// Everything computed before the write.
struct Work {
    window: Window,
    results: Vec<SliceResult>,
    merged: Merged,
    evaluation: Value,
    record: Option<NewDecisionRecord>,
    decisions: Vec<sp::Decision>,
    auto_resolve: bool,
    /// The whole window's performance, for the model's health row.
    figures: Vec<PerformanceFigure>,
}

impl Service {
    /// One pass of the scheduler: evaluates the windows of every tenant that are closed (end
    /// plus lateness passed) and not leased, oldest first, at most
    /// [`super::MonitoringSettings::windows_per_tick`]. Each runs as the `scheduler` system actor
    /// of its tenant. A failing window is logged and retried when its lease expires.
    pub async fn run_scheduler_tick(&self) -> ServiceResult<SchedulerTick> {
        // The due scan spans tenants; each window is evaluated within its own tenant.
        let tick = within(Tenancy::System, self.scheduler_pass()).await;
        self.metrics.scheduler_pass(tick.is_ok(), self.now());
        tick
    }

    async fn scheduler_pass(&self) -> ServiceResult<SchedulerTick> {
        let now = self.now();
        let due = self
            .store
            .due_windows(now, self.monitoring.settings.windows_per_tick)
            .await?;
        let mut tick = SchedulerTick::default();
        let mut slugs: BTreeMap<TenantId, String> = BTreeMap::new();
        for (tenant, window) in due {
            let slug = match slugs.get(&tenant) {
                Some(s) => s.clone(),
                None => {
                    let Some(t) = self.store.tenant_by_id(tenant).await? else {
                        continue;
                    };
                    slugs.insert(tenant, t.slug.clone());
                    t.slug
                }
            };
            let actor = Principal::system(SystemActor::Scheduler, &slug, Some(tenant));
            let started = std::time::Instant::now();
            let evaluated = within(
                Tenancy::Tenant(tenant),
                self.evaluate_window(&actor, window),
            );
            let outcome = match evaluated.await {
                Ok(Some(_)) => (&mut tick.evaluated, "evaluated"),
                Ok(None) => (&mut tick.skipped, "skipped"),
                Err(e) => {
                    tracing::warn!(tenant = %slug, window = %window, error = %e, "window evaluation failed");
                    (&mut tick.failed, "failed")
                }
            };
            *outcome.0 += 1;
            (self.metrics).window_evaluation(outcome.1, started.elapsed().as_secs_f64());
        }
        Ok(tick)
    }

    /// Closes and evaluates a model version's windows that have ended, without waiting for
    /// their lateness (an SRE who does not want to wait for the schedule).
    pub async fn evaluate_now(
        &self,
        principal: &Principal,
        version_id: ModelVersionId,
    ) -> ServiceResult<Vec<EvaluatedWindow>> {
        let target = ("model_version", version_id.to_string());
        let a = self
            .attempt(principal, Operation::EvaluateWindows, target)
            .await?;
        let ended = match self.store.model_version(&a.scope, version_id).await {
            Ok(Some(_)) => {
                self.store
                    .ended_windows(&a.scope, version_id, self.now())
                    .await
            }
            Ok(None) => {
                return self
                    .reject(a, ServiceError::NotFound("model version"))
                    .await;
            }
            Err(e) => Err(e),
        };
        let ended = match ended {
            Ok(w) => w,
            Err(e) => return self.reject(a, e.into()).await,
        };
        let mut done = Vec::new();
        for w in ended {
            if let Some(e) = self.evaluate_window(principal, w).await? {
                done.push(e);
            }
        }
        let ids: Vec<String> = done.iter().map(|e| e.window_id.to_string()).collect();
        let record = Record::new("model_version", version_id, json!({"windows": ids}));
        self.complete(a, async |_m: Writes| Ok((done, record)))
            .await
    }

    /// Leases and evaluates one window, in a span of its own; `None` when another evaluator
    /// holds it or it was evaluated already.
    pub(crate) async fn evaluate_window(
        &self,
        principal: &Principal,
        id: WindowId,
    ) -> ServiceResult<Option<EvaluatedWindow>> {
        let span = tracing::info_span!("window.evaluate", steward.tenant = %principal.tenant_slug(),
            steward.window = %id, steward.model = tracing::field::Empty);
        tracing::Instrument::instrument(self.lease_and_evaluate(principal, id), span).await
    }

    async fn lease_and_evaluate(
        &self,
        principal: &Principal,
        id: WindowId,
    ) -> ServiceResult<Option<EvaluatedWindow>> {
        let a = self
            .attempt(
                principal,
                Operation::EvaluateWindows,
                ("window", id.to_string()),
            )
            .await?;
        let now = self.now();
        let owner = self.monitoring.settings.instance.clone();
        let until = now + Duration::seconds(self.monitoring.settings.lease_seconds);
        let Some(window) = self
            .store
            .lease_window(&a.scope, id, &owner, now, until)
            .await?
        else {
            return Ok(None);
        };
        tracing::Span::current().record("steward.model", window.model_id.to_string());
        let work = match self.window_work(&a.scope, principal, window).await {
            Ok(w) => w,
            Err(e) => return self.reject(a, e).await,
        };
        let actor = principal.subject().to_string();
        let evaluated = self
            .complete(a, async |m: Writes| {
                self.write_window(&m, &actor, &owner, now, work).await
            })
            .await?;
        self.wake_relay();
        Ok(Some(evaluated))
    }

    /// Reads and computes a window's evaluation (no transaction).
    async fn window_work(
        &self,
        scope: &TenantScope,
        principal: &Principal,
        window: Window,
    ) -> ServiceResult<Work> {
        let version = self
            .store
            .model_version(scope, window.model_version_id)
            .await?
            .ok_or(ServiceError::NotFound("model version"))?;
        let config = self.store.monitor_config(scope, window.model_id).await?;
        let Some(baseline) = self.store.active_baseline(scope, version.id).await? else {
            // Nothing to compare with: the window is closed with the reason, not retried forever.
            let evaluation = json!({"error": "the model version has no active baseline"});
            return Ok(Work {
                window,
                results: Vec::new(),
                merged: Merged {
                    slices: BTreeMap::new(),
                    read: Default::default(),
                    foreign_rows: 0,
                },
                evaluation,
                record: None,
                decisions: Vec::new(),
                auto_resolve: false,
                figures: Vec::new(),
            });
        };
        let refs = self.references(scope, baseline.id).await?;
        let parts = self.store.window_parts(scope, window.id).await?;
        let states: BTreeMap<String, Value> = self
            .store
            .monitor_states(scope, version.id)
            .await?
            .into_iter()
            .collect();
        let hysteresis = config.hysteresis;
        let (merged, results) = tokio::task::spawn_blocking(move || {
            let merged = merge_parts(&refs.whole, parts)?;
            let results =
                evaluate_slices(&refs.whole, &refs.slices, &merged, &states, &hysteresis)?;
            Ok::<_, ServiceError>((merged, results))
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("window evaluation task failed: {e}")))??;
        let labelled = self.store.labelled(scope, window.id).await?;
        let performance = super::labels::performance(&labelled, &version.metrics);
        let kpis = self.store.window_kpis(scope, window.id).await?;
        let open = self.live_incidents(scope, window.model_id).await?;
        let recent = self
            .recent_decisions(scope, window.model_id, window.end)
            .await?;
        let context = window_context(
            &results,
            Surroundings {
                window: &window,
                slice_columns: &config.slice_columns,
                baseline: &baseline,
                baseline_metrics: &version.metrics,
                open_incidents: &open,
                recent_decisions: recent,
                performance: &performance,
                kpis: &kpis,
            },
        );
        let input = EvaluatePolicy {
            model_version_id: version.id,
            hook: PolicyHook::OnWindow,
            context,
        };
        let (record, note) = match self.evaluate_in(scope, principal, input).await {
            Ok(r) => (Some(r), Value::Null),
            Err(ServiceError::Precondition(why)) => (None, json!(why)),
            Err(e) => return Err(e),
        };
        let decisions = record
            .as_ref()
            .and_then(|r| r.outcome.get("decisions"))
            .map(|d| serde_json::from_value::<Vec<sp::Decision>>(d.clone()))
            .transpose()
            .map_err(|e| ServiceError::Internal(format!("decisions of the record: {e}")))?
            .unwrap_or_default();
        let mut evaluation = summary(&results, &merged, &baseline, record.as_ref(), note);
        let whole_rows = results
            .iter()
            .find(|r| r.name == ALL_SLICE)
            .map_or(0, |r| r.rows);
        if let Some(late) = super::context::late_rows_finding(&window, whole_rows) {
            evaluation["findings"] = json!([late]);
            evaluation["lateRowsAtEvaluation"] = json!(window.late_rows);
        }
        evaluation["performance"] = json!(
            performance
                .iter()
                .map(|p| json!({"slice": p.slice, "labelledRows": p.labelled_rows, "metrics": p.metrics}))
                .collect::<Vec<_>>()
        );
        Ok(Work {
            window,
            results,
            merged,
            evaluation,
            record,
            decisions,
            auto_resolve: config.auto_resolve,
            figures: super::labels::whole_figures(&performance),
        })
    }

    /// Incidents of the model that are not resolved.
    async fn live_incidents(
        &self,
        scope: &TenantScope,
        model: ModelId,
    ) -> ServiceResult<Vec<Incident>> {
        let filter = IncidentFilter {
            model_id: Some(model),
            status: None,
        };
        Ok(self
            .store
            .incidents(scope, &filter, 200)
            .await?
            .into_iter()
            .filter(|i| i.status != IncidentStatus::Resolved)
            .collect())
    }

    /// The model's latest decisions made by the end of the window, oldest first, as the
    /// context's `recent_decisions`.
    async fn recent_decisions(
        &self,
        scope: &TenantScope,
        model: ModelId,
        until: chrono::DateTime<chrono::Utc>,
    ) -> ServiceResult<Vec<Value>> {
        let filter = DecisionRecordFilter {
            model_id: Some(model),
            hook: Some(PolicyHook::OnWindow),
            ..Default::default()
        };
        let page = PageRequest {
            first: RECENT_DECISIONS,
            after: None,
        };
        let records = self.store.decision_records(scope, &filter, &page).await?;
        let mut out = Vec::new();
        for r in records.items.iter().rev().filter(|r| r.created_at <= until) {
            if let Some(Value::Array(ds)) = r.outcome.get("decisions") {
                for d in ds {
                    out.push(json!({"at": r.created_at.to_rfc3339(), "decision": d}));
                }
            }
        }
        let skip = out.len().saturating_sub(RECENT_DECISIONS as usize);
        Ok(out.split_off(skip))
    }

    /// Writes a window's evaluation in the mutation's transaction.
    async fn write_window(
        &self,
        m: &Writes,
        actor: &str,
        owner: &str,
        now: chrono::DateTime<chrono::Utc>,
        work: Work,
    ) -> ServiceResult<(EvaluatedWindow, Record)> {
        let Work {
            window,
            results,
            merged,
            mut evaluation,
            mut record,
            decisions,
            auto_resolve,
            figures,
        } = work;
        let routes = self
            .route_decisions(m, window.model_id, &decisions, now)
            .await?;
        if let Some(r) = record.as_mut() {
            route::report(&mut r.outcome, &decisions, &routes);
        }
        let rec = match &record {
            Some(r) => Some(
                self.store
                    .insert_decision_record(&m.tx, &m.scope, r)
                    .await?,
            ),
            None => None,
        };
        let rec_id = rec.as_ref().map(|r| r.id);
        let mut merged = merged;
        for p in merged.slices.values_mut() {
            p.shrink_samples(STORED_SAMPLE);
        }
        let mut slices = Vec::with_capacity(results.len());
        let mut states = Vec::with_capacity(results.len());
        for r in &results {
            let report = serde_json::to_value(&r.report)
                .map_err(|e| ServiceError::Internal(format!("drift report: {e}")))?;
            let slice = WindowSlice {
                window_id: window.id,
                slice: r.name.clone(),
                rows: i64::try_from(r.rows).unwrap_or(i64::MAX),
                composite: r.report.composite_score,
                drifted_features: r.report.drifted_features as i64,
                report,
            };
            let profile = match merged.slices.get(&r.name) {
                Some(p) => Some(super::encode(p)?),
                None => None,
            };
            slices.push((slice, profile));
            let state = serde_json::to_value(&r.state)
                .map_err(|e| ServiceError::Internal(format!("hysteresis state: {e}")))?;
            states.push((r.name.clone(), state));
        }
        let cause = Cause {
            actor,
            at: now,
            window_id: Some(window.id),
            decision_record_id: rec_id,
        };
        let version = (window.model_id, window.model_version_id);
        let mut opened = Vec::new();
        let mut resolved = Vec::new();
        let mut actions = Vec::new();
        let mut incident: Option<IncidentId> = None;
        let mut rolled_back = Vec::new();
        // Incidents first, so an action decided in the same evaluation belongs to the incident
        // whatever the order the policy listed its decisions in.
        for d in &decisions {
            match d {
                sp::Decision::OpenIncident { key, summary } => {
                    let o = self
                        .store
                        .open_incident(&m.tx, &m.scope, version, key, summary, &cause)
                        .await?;
                    if o.created {
                        opened.push(o.incident.id);
                    }
                    incident.get_or_insert(o.incident.id);
                }
                sp::Decision::ResolveIncident { key } => {
                    let reason = "resolved by the policy's decision";
                    if let Some(i) = self
                        .store
                        .resolve_incident_by_key(
                            &m.tx,
                            &m.scope,
                            window.model_id,
                            key,
                            &cause,
                            reason,
                        )
                        .await?
                    {
                        resolved.push(i.id);
                    }
                }
                _ => {}
            }
        }
        for (i, d) in decisions.iter().enumerate() {
            let Some(rec) = rec_id.filter(|_| route::acts(d)) else {
                continue;
            };
            let route = routes.get(i).cloned().flatten();
            let (mut status, mut error) =
                route.as_ref().map_or((ActionStatus::Pending, None), |r| {
                    (r.status, r.reason.clone())
                });
            // A rollback acts on the endpoints serving the version (their revisions and
            // deployment actions); it stays an action of its own only when none does.
            if let sp::Decision::Rollback { reason } = d
                && status == ActionStatus::Pending
            {
                let step = crate::deployments::RollbackStep {
                    to_revision: None,
                    reason,
                    incident,
                    decision: Some(rec),
                    key: None,
                };
                let done = self
                    .rollback_for_decision(m, actor, version, step, now)
                    .await?;
                if !done.is_empty() {
                    rolled_back.extend(done);
                    continue;
                }
                status = ActionStatus::Undeliverable;
                error = Some(
                    "no endpoint serves this version with an earlier revision to roll back to"
                        .into(),
                );
            }
            let payload = d.to_json();
            let new = NewAction {
                version,
                decision: Some(rec),
                deployment: None,
                incident,
                window: Some(window.id),
                kind: d.kind(),
                payload: &payload,
                target: route.as_ref().and_then(|r| r.target.as_deref()),
                status,
                error,
                at: now,
            };
            let a = self.store.insert_action(&m.tx, &m.scope, new).await?;
            actions.push(a.id);
        }
        let whole = results.iter().find(|r| r.name == ALL_SLICE);
        let recovered = whole.is_some_and(|r| r.transition == Transition::Recovered)
            && results.iter().all(|r| r.state.state == DriftState::Stable);
        if auto_resolve && recovered {
            for i in self.live_incidents(&m.scope, window.model_id).await? {
                if i.window_id.is_some() && !resolved.contains(&i.id) {
                    let reason = "drift recovered below the low threshold (auto-resolve)";
                    self.store
                        .resolve_incident(&m.tx, &m.scope, i.id, &cause, reason)
                        .await?;
                    resolved.push(i.id);
                }
            }
        }
        evaluation["incidentsOpened"] =
            json!(opened.iter().map(ToString::to_string).collect::<Vec<_>>());
        evaluation["incidentsResolved"] =
            json!(resolved.iter().map(ToString::to_string).collect::<Vec<_>>());
        evaluation["actions"] = json!(actions.len());
        let outcome = WindowOutcome {
            window_id: window.id,
            lease_owner: owner.to_string(),
            evaluated_by: actor.to_string(),
            evaluated_at: now,
            slices,
            states,
            evaluation: evaluation.clone(),
            decision_record_id: rec_id,
            performance: figures,
        };
        self.store
            .complete_window(&m.tx, &m.scope, &outcome, &merged.read)
            .await?;
        let composite = whole.map_or(0.0, |r| r.report.composite_score);
        let rows = whole.map_or(0, |r| r.rows);
        let mut payload = evaluation;
        payload["modelVersionId"] = json!(window.model_version_id.to_string());
        if !rolled_back.is_empty() {
            payload["rolledBack"] = json!(
                rolled_back
                    .iter()
                    .map(|(e, n)| json!({"endpoint": e.to_string(), "revision": n}))
                    .collect::<Vec<_>>()
            );
        }
        let done = EvaluatedWindow {
            window_id: window.id,
            rows,
            composite,
            decision_record_id: rec_id,
            incidents_opened: opened,
            incidents_resolved: resolved,
            actions,
        };
        Ok((done, Record::new("window", window.id, payload)))
    }
}
