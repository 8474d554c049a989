//! The relay: delivers the outbox's due actions to the tenant's targets, at least once, in order
//! per incident and target.
//!
//! A pass claims due actions with a lease committed before any network call (the store's
//! `claim_due_actions`), renders each for its target (`render.rs`), sends them concurrently
//! (`send.rs`), and records every attempt with the action's new state in one transaction per
//! tenant, whose audit event lists what was delivered, retried and given up. A failed attempt is
//! retried after a capped exponential backoff with full jitter (or the target's `Retry-After`,
//! when longer); after `max_attempts`, or a refusal retrying cannot change, the action is dead
//! until an SRE replays it. A relay killed mid-delivery leaves its lease to run out; the next
//! pass delivers again with the same `webhook-id` / `dedup_key`, so receivers can drop the
//! duplicate.

mod backoff;
mod dispatch;
mod guard;
mod orchestrate;
mod render;
pub(crate) mod route;
mod send;
mod serve;
mod targets;

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use steward_domain::*;
use steward_store::Delivered;

pub(crate) use backoff::backoff;

use crate::audit::Record;
use crate::tenancy::{Tenancy, within};
use crate::{Service, ServiceError, ServiceResult, Writes, authorize};

/// Settings of the relay in this process.
#[derive(Clone, Debug)]
pub struct OutboxSettings {
    /// How long a claimed action stays with this relay before another may take it over.
    pub lease_seconds: i64,
    /// Most actions one pass claims.
    pub batch: u64,
    /// Most requests in flight at once.
    pub concurrency: usize,
    /// Attempts before an action is dead-lettered.
    pub max_attempts: i64,
    /// The first retry waits up to this long; each further one up to twice as long.
    pub backoff_base: Duration,
    /// No retry waits longer (unless the target's `Retry-After` asks for more).
    pub backoff_cap: Duration,
    /// A request without an answer by then counts as failed.
    pub request_timeout: Duration,
    /// Where people reach Steward (`https://steward.example.com`): alerts link to
    /// `{public_url}/incidents/{id}`. No link when unset.
    pub public_url: Option<String>,
    /// Most deliveries per second of this process's relay loop while it drains a backlog (0: no
    /// limit), so a long backlog leaves the API its share of the machine.
    pub max_per_second: u32,
    /// Deliver to loopback, private and link-local addresses too (off by default: a target's
    /// URL must not reach the metadata service or internal ports; the demo and tests turn it on
    /// for their loopback receivers).
    pub allow_private_networks: bool,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            lease_seconds: 60,
            batch: 64,
            concurrency: 16,
            max_attempts: 12,
            backoff_base: Duration::from_secs(2),
            backoff_cap: Duration::from_secs(15 * 60),
            request_timeout: Duration::from_secs(10),
            public_url: None,
            max_per_second: 1_000,
            allow_private_networks: false,
        }
    }
}

/// The relay's process-wide state.
pub(crate) struct Outbox {
    pub settings: OutboxSettings,
    pub client: reqwest::Client,
    /// Raised when this process writes actions, so the relay loop need not wait for its next
    /// pass (other replicas find them on theirs).
    wake: tokio::sync::Notify,
}

impl Outbox {
    pub(crate) fn new(settings: OutboxSettings) -> Self {
        // Redirects are not followed: a target answers for itself (and a redirect could lead
        // into the private network).
        let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if !settings.allow_private_networks {
            builder = builder.dns_resolver(Arc::new(guard::PublicOnly));
        }
        let client = builder.build().unwrap_or_default();
        Self {
            settings,
            client,
            wake: tokio::sync::Notify::new(),
        }
    }
}

/// What one relay pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RelayPass {
    pub claimed: usize,
    pub delivered: usize,
    pub retrying: usize,
    pub dead: usize,
    /// Outcomes not recorded on the action because another relay had taken it over.
    pub lost_leases: usize,
}

/// The kind of an action that carries an endpoint's change to its serving target.
pub(crate) const DEPLOY: &str = "deploy";

/// What delivering one action takes: a message to send, a run to start, or a desired state to
/// apply to a KServe InferenceService or a Seldon Core 2 Experiment.
enum Prepared {
    Message(render::Request),
    Run(orchestrate::Trigger),
    Serve(serve::Rollout),
}

/// One claimed action ready to go: its tenant, what to send, and where.
struct Job {
    tenant: TenantId,
    action: PendingAction,
    target: String,
    kind: Option<TargetKind>,
    request: Result<Prepared, String>,
}

impl Service {
    /// Replaces the relay's settings.
    pub fn with_outbox_settings(mut self, settings: OutboxSettings) -> Self {
        self.outbox = Arc::new(Outbox::new(settings));
        self
    }

    /// The relay's settings.
    pub fn outbox_settings(&self) -> &OutboxSettings {
        &self.outbox.settings
    }

    /// Tells the relay loop that actions were written (a window evaluated, an incident
    /// acknowledged or resolved).
    pub(crate) fn wake_relay(&self) {
        self.outbox.wake.notify_one();
    }

    /// Completes when this process wrote actions since the last call (or right away if it did
    /// before anyone waited): the relay loop's cue to run a pass before its interval is up.
    pub async fn relay_woken(&self) {
        self.outbox.wake.notified().await;
    }

    /// The relay loop `steward serve` runs: a pass when this process wrote actions or every
    /// `every`, and further passes at once while a pass claims a full batch (a backlog), paced
    /// to `max_per_second`, until `stop` turns true. A failing pass is logged; its leases run out and a later pass
    /// delivers.
    pub async fn run_relay_loop(
        &self,
        every: Duration,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let batch = usize::try_from(self.outbox.settings.batch).unwrap_or(usize::MAX);
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = self.relay_woken() => {}
                _ = stop.changed() => return,
            }
            loop {
                let started = tokio::time::Instant::now();
                match self.run_relay_pass().await {
                    Ok(p) => {
                        let rate = self.outbox.settings.max_per_second;
                        if rate > 0 && p.claimed > 0 {
                            let least = Duration::from_secs_f64(p.claimed as f64 / f64::from(rate));
                            tokio::time::sleep_until(started + least).await;
                        }
                        if p.claimed > 0 {
                            tracing::info!(
                                claimed = p.claimed,
                                delivered = p.delivered,
                                retrying = p.retrying,
                                dead = p.dead,
                                lost_leases = p.lost_leases,
                                "relay pass"
                            );
                        }
                        if p.claimed < batch || *stop.borrow() {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "relay pass failed");
                        break;
                    }
                }
            }
        }
    }

    /// One relay pass over every tenant's due actions, as the `outbox_relay` system actor.
    pub async fn run_relay_pass(&self) -> ServiceResult<RelayPass> {
        // The claim spans tenants; each tenant's outcomes are written within that tenant.
        within(Tenancy::System, self.relay(None)).await
    }

    /// A relay pass over the caller's tenant now (an SRE who does not want to wait for the
    /// relay's schedule): one audit event of the caller's, listing the attempts.
    pub async fn deliver_now(&self, principal: &Principal) -> ServiceResult<RelayPass> {
        let target = ("outbox", "deliver_now".to_string());
        let a = self
            .attempt(principal, Operation::DeliverActions, target)
            .await?;
        let (mut pass, by_tenant) = match self.claim_and_send(Some(a.scope)).await {
            Ok(done) => done,
            Err(e) => return self.reject(a, e).await,
        };
        let outcomes: Vec<(String, Delivered)> = by_tenant.into_values().flatten().collect();
        let owner = self.monitoring.settings.instance.clone();
        self.complete(a, async move |m: Writes| {
            let (lost, listed) = self.write_deliveries(&m, &owner, &outcomes).await?;
            pass.lost_leases = lost;
            let payload = json!({"claimed": pass.claimed, "attempts": listed, "lostLeases": lost});
            Ok((pass, Record::new("outbox", "deliver_now", payload)))
        })
        .await
    }

    /// Claims, sends and records one batch: every tenant's (`scope` None) or one tenant's.
    async fn relay(&self, scope: Option<TenantScope>) -> ServiceResult<RelayPass> {
        let (mut pass, by_tenant) = self.claim_and_send(scope).await?;
        let owner = self.monitoring.settings.instance.clone();
        for (tenant, outcomes) in by_tenant {
            pass.lost_leases += self.record_deliveries(tenant, &owner, outcomes).await?;
        }
        Ok(pass)
    }

    /// Claims due actions (leases committed) and sends them; the outcomes by tenant, not yet
    /// recorded.
    async fn claim_and_send(
        &self,
        scope: Option<TenantScope>,
    ) -> ServiceResult<(RelayPass, BTreeMap<TenantId, Vec<(String, Delivered)>>)> {
        let s = &self.outbox.settings;
        let now = self.now();
        let until = now + chrono::Duration::seconds(s.lease_seconds);
        let owner = &self.monitoring.settings.instance;
        let claimed = self
            .store
            .claim_due_actions(scope.as_ref(), owner, now, until, s.batch)
            .await?;
        let mut pass = RelayPass {
            claimed: claimed.len(),
            ..RelayPass::default()
        };
        let mut by_tenant: BTreeMap<TenantId, Vec<(String, Delivered)>> = BTreeMap::new();
        if claimed.is_empty() {
            return Ok((pass, by_tenant));
        }
        let jobs = self.prepare_deliveries(claimed, now).await?;
        for (tenant, target, d) in self.send_deliveries(jobs, now).await {
            match d.status {
                ActionStatus::Delivered => pass.delivered += 1,
                ActionStatus::Dead => pass.dead += 1,
                _ => pass.retrying += 1,
            }
            by_tenant.entry(tenant).or_default().push((target, d));
        }
        Ok((pass, by_tenant))
    }

    /// Loads what rendering needs (target with its secrets, model name, window statistics),
    /// once per pass for each.
    async fn prepare_deliveries(
        &self,
        claimed: Vec<(TenantId, PendingAction)>,
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<Job>> {
        type Found = Option<(DeliveryTarget, TargetSecrets)>;
        let mut targets: HashMap<(TenantId, String), Found> = HashMap::new();
        let mut contexts: HashMap<(TenantId, ModelId, Option<WindowId>), render::Context> =
            HashMap::new();
        let mut slugs: HashMap<TenantId, String> = HashMap::new();
        let mut jobs = Vec::with_capacity(claimed.len());
        for (tenant, action) in claimed {
            if let Entry::Vacant(e) = slugs.entry(tenant) {
                let slug = self.store.tenant_by_id(tenant).await?.map(|t| t.slug);
                e.insert(slug.unwrap_or_default());
            }
            let slug = slugs.get(&tenant).cloned().unwrap_or_default();
            let scope = Principal::system(SystemActor::OutboxRelay, &slug, Some(tenant))
                .scope()
                .ok_or(ServiceError::NotFound("tenant"))?;
            let name = action.target.clone().unwrap_or_default();
            let key = (tenant, name.clone());
            if !targets.contains_key(&key) {
                let found = self.store.target_for_delivery(&scope, &name).await?;
                targets.insert(key.clone(), found);
            }
            let ckey = (tenant, action.model_id, action.window_id);
            if let Entry::Vacant(e) = contexts.entry(ckey) {
                let model = self.store.model(&scope, action.model_id).await?;
                let slices = match action.window_id {
                    Some(w) => self.store.window_slices(&scope, w).await?,
                    None => Vec::new(),
                };
                let ctx = render::Context {
                    tenant: slug.clone(),
                    model: model.map(|m| m.name).unwrap_or_default(),
                    slices: slices
                        .into_iter()
                        .map(|s| (s.slice, s.composite, s.drifted_features))
                        .collect(),
                    link: None,
                    training_data: Vec::new(),
                };
                e.insert(ctx);
            }
            let mut ctx = contexts.get(&ckey).cloned().unwrap_or_default();
            ctx.link = match (&self.outbox.settings.public_url, action.incident_id) {
                (Some(base), Some(i)) => {
                    Some(format!("{}/incidents/{i}", base.trim_end_matches('/')))
                }
                _ => None,
            };
            if action.kind == "retrain" {
                ctx.training_data = self.training_data(&scope, action.model_version_id).await?;
            }
            let found = targets.get(&key).cloned().flatten();
            let (kind, request) = match found {
                Some((t, secrets)) if action.kind == DEPLOY && t.kind != TargetKind::Webhook => (
                    Some(t.kind),
                    serve::rollout(t.kind, &secrets, &action).map(Prepared::Serve),
                ),
                Some((t, secrets)) if t.kind.is_orchestrator() => (
                    Some(t.kind),
                    orchestrate::trigger(t.kind, &secrets, &action, &ctx).map(Prepared::Run),
                ),
                Some((t, secrets)) => (
                    Some(t.kind),
                    render::render(t.kind, &secrets, &action, &ctx, now).map(Prepared::Message),
                ),
                None => (
                    None,
                    Err(format!(
                        "the tenant has no enabled delivery target named {name:?}"
                    )),
                ),
            };
            jobs.push(Job {
                tenant,
                action,
                target: name,
                kind,
                request,
            });
        }
        Ok(jobs)
    }

    /// Sends every job, at most `concurrency` at once, and judges each answer.
    async fn send_deliveries(
        &self,
        jobs: Vec<Job>,
        now: DateTime<Utc>,
    ) -> Vec<(TenantId, String, Delivered)> {
        let s = self.outbox.settings.clone();
        let limit = Arc::new(tokio::sync::Semaphore::new(s.concurrency.max(1)));
        let mut set = tokio::task::JoinSet::new();
        for job in jobs {
            let client = self.outbox.client.clone();
            let limit = Arc::clone(&limit);
            let s = s.clone();
            let span = tracing::info_span!(
                "outbox.deliver",
                otel.kind = "client",
                steward.tenant = %job.tenant,
                steward.model = %job.action.model_id,
                steward.decision = job.action.decision_record_id.map(|d| d.to_string()),
                outbox.action = %job.action.id,
                outbox.kind = %job.action.kind,
                outbox.target = %job.target,
                outbox.outcome = tracing::field::Empty,
            );
            set.spawn(tracing::Instrument::instrument(
                async move {
                    let _permit = limit.acquire_owned().await;
                    let attempt_no = job.action.attempts + 1;
                    let (answer, outcome, detail) = match (job.request, job.kind) {
                        (Ok(Prepared::Message(req)), Some(kind)) => {
                            let answer = send::send(&client, req, &s, now).await;
                            let (outcome, detail) = send::judge(kind, &answer);
                            (Some(answer), outcome, detail)
                        }
                        (Ok(Prepared::Run(t)), Some(_)) => {
                            orchestrate::start(&client, t, &s, now).await
                        }
                        (Ok(Prepared::Serve(r)), Some(_)) => {
                            serve::apply(&client, r, &s, now).await
                        }
                        // Nothing to send (the target vanished or lost its secret): retried, so
                        // a target fixed in time still gets it.
                        (Err(why), _) => (None, AttemptOutcome::Retry, why),
                        (Ok(_), None) => (None, AttemptOutcome::Retry, "no target".into()),
                    };
                    let (outcome, status, next) = match outcome {
                        AttemptOutcome::Delivered => (outcome, ActionStatus::Delivered, None),
                        AttemptOutcome::Dead => (outcome, ActionStatus::Dead, None),
                        AttemptOutcome::Retry if attempt_no >= s.max_attempts => {
                            (AttemptOutcome::Dead, ActionStatus::Dead, None)
                        }
                        AttemptOutcome::Retry => {
                            let wait = backoff(
                                &s,
                                job.action.id,
                                attempt_no,
                                answer.as_ref().and_then(|a| a.retry_after),
                            );
                            let wait =
                                chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
                            (outcome, ActionStatus::Pending, Some(now + wait))
                        }
                    };
                    let attempt = DeliveryAttempt {
                        action_id: job.action.id,
                        attempt: attempt_no,
                        at: now,
                        target: job.target.clone(),
                        status_code: answer.as_ref().and_then(|a| a.status),
                        latency_ms: answer.as_ref().map_or(0, |a| a.latency_ms),
                        outcome,
                        detail,
                        response_excerpt: answer.map(|a| a.excerpt).unwrap_or_default(),
                    };
                    tracing::Span::current().record("outbox.outcome", outcome.as_str());
                    let d = Delivered {
                        attempt,
                        status,
                        next_attempt_at: next,
                    };
                    (job.tenant, job.target, d)
                },
                span,
            ));
        }
        let mut out = Vec::new();
        while let Some(done) = set.join_next().await {
            match done {
                Ok(r) => out.push(r),
                // A panicking send loses nothing: its lease runs out and the next pass retries.
                Err(e) => tracing::error!(error = %e, "a delivery task failed"),
            }
        }
        out
    }

    /// Records one tenant's attempts in one mutation; returns how many had lost their lease.
    async fn record_deliveries(
        &self,
        tenant: TenantId,
        owner: &str,
        outcomes: Vec<(String, Delivered)>,
    ) -> ServiceResult<usize> {
        let slug = self
            .store
            .tenant_by_id(tenant)
            .await?
            .map(|t| t.slug)
            .unwrap_or_default();
        for (target, d) in &outcomes {
            let a = &d.attempt;
            let seconds = a.latency_ms as f64 / 1000.0;
            self.metrics
                .delivery_attempt(&slug, target, a.outcome.as_str(), seconds);
        }
        let relay = Principal::system(SystemActor::OutboxRelay, &slug, Some(tenant));
        let owner = owner.to_string();
        let written = self.mutate(
            &relay,
            Operation::DeliverActions,
            ("outbox", "delivery".to_string()),
            async move |m: Writes| {
                let (lost, listed) = self.write_deliveries(&m, &owner, &outcomes).await?;
                let payload = json!({"attempts": listed, "lostLeases": lost});
                Ok((lost, Record::new("outbox", "delivery", payload)))
            },
        );
        within(Tenancy::Tenant(tenant), written).await
    }

    /// Writes attempts and their actions' states in a mutation's transaction: how many had lost
    /// their lease, and the attempts as the audit event lists them.
    async fn write_deliveries(
        &self,
        m: &Writes,
        owner: &str,
        outcomes: &[(String, Delivered)],
    ) -> ServiceResult<(usize, Vec<serde_json::Value>)> {
        let mut lost = 0;
        let mut listed = Vec::with_capacity(outcomes.len());
        for (target, d) in outcomes {
            if !self
                .store
                .record_delivery(&m.tx, &m.scope, owner, d)
                .await?
            {
                lost += 1;
            }
            listed.push(json!({
                "action": d.attempt.action_id.to_string(),
                "target": target,
                "attempt": d.attempt.attempt,
                "statusCode": d.attempt.status_code,
                "outcome": d.attempt.outcome.as_str(),
                "status": d.status.as_str(),
            }));
        }
        Ok((lost, listed))
    }

    /// Puts a dead-lettered (or backing-off) action back in line, due now.
    pub async fn replay_action(
        &self,
        principal: &Principal,
        id: ActionId,
    ) -> ServiceResult<PendingAction> {
        self.mutate(
            principal,
            Operation::DeliverActions,
            ("action", id.to_string()),
            async move |m: Writes| {
                let a = self.store.replay_action(&m.tx, &m.scope, id).await?;
                let payload = json!({"status": a.status.as_str(), "attempts": a.attempts,
                    "target": a.target});
                Ok((a, Record::new("action", id, payload)))
            },
        )
        .await
    }

    /// An action's delivery attempts, oldest first.
    pub async fn delivery_attempts(
        &self,
        principal: &Principal,
        id: ActionId,
    ) -> ServiceResult<Vec<DeliveryAttempt>> {
        authorize(principal, Operation::ReadMonitoring)?;
        let scope = principal.scope().ok_or(ServiceError::NotFound("tenant"))?;
        Ok(self.store.delivery_attempts(&scope, id).await?)
    }
}
