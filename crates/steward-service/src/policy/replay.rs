//! Replay on the server: what a revision of a policy would have decided over a model's stored
//! windows, beside what was decided then. The server-side counterpart of `steward policy
//! replay`: the windows are the inputs the model's `on_window` decision records kept (their
//! contexts, exactly as evaluated), oldest first, replayed with `steward_policy::replay`'s
//! defaults (the policy's own decisions carried into later windows' `recent_decisions` and
//! open incidents, so cooldowns and hysteresis act as if it had been live). Nothing is stored
//! or delivered.

use chrono::{DateTime, Utc};
use serde_json::Value;
use steward_domain::{
    DecisionRecordFilter, ModelId, Operation, PageRequest, PolicyHook, PolicyId, Principal,
};
use steward_policy as sp;

use crate::{Service, ServiceError, ServiceResult, scope_for};

/// Most windows one replay covers (the newest).
pub const MAX_REPLAY_WINDOWS: u32 = 100;

/// One window of a replay.
#[derive(Clone, Debug)]
pub struct ReplayedWindow {
    /// When the window ended, as its context says (RFC 3339).
    pub window_end: String,
    /// When the recorded decision was made.
    pub decided_at: DateTime<Utc>,
    /// The revision that decided then, and what it decided (or why it failed).
    pub recorded_revision: i64,
    pub recorded: Result<Vec<Value>, String>,
    /// What the replayed revision decides now.
    pub replayed: Result<Vec<Value>, String>,
}

impl ReplayedWindow {
    /// The replay decided otherwise than was recorded.
    pub fn changed(&self) -> bool {
        self.recorded != self.replayed
    }
}

/// A revision replayed over a model's windows.
#[derive(Clone, Debug)]
pub struct PolicyReplay {
    pub policy: String,
    pub revision: i64,
    pub model: String,
    /// Oldest first.
    pub windows: Vec<ReplayedWindow>,
    /// Recorded windows whose stored input could not be read back (left out).
    pub unreadable: usize,
}

fn decisions_of(outcome: &Value) -> Result<Vec<Value>, String> {
    match (outcome.get("decisions"), outcome.get("error")) {
        (Some(Value::Array(d)), _) => Ok(d.clone()),
        (_, Some(e)) => Err(e
            .get("message")
            .and_then(|m| m.as_str())
            .map_or_else(|| e.to_string(), str::to_string)),
        _ => Err(format!("no decisions recorded: {outcome}")),
    }
}

impl Service {
    /// Replays revision `number` of `policy` over the newest `last` (at most
    /// [`MAX_REPLAY_WINDOWS`]) windows of `model` that were decided by any policy.
    pub async fn replay_policy(
        &self,
        principal: &Principal,
        policy: PolicyId,
        number: i64,
        model: ModelId,
        last: u32,
    ) -> ServiceResult<PolicyReplay> {
        let scope = scope_for(principal, Operation::ReadPolicies)?;
        if last == 0 || last > MAX_REPLAY_WINDOWS {
            return Err(ServiceError::Invalid(format!(
                "last: replay between 1 and {MAX_REPLAY_WINDOWS} windows"
            )));
        }
        let p = self.policy(principal, policy).await?;
        let revision = self.policy_revision(principal, policy, number).await?;
        let m = self
            .store
            .model(&scope, model)
            .await?
            .ok_or(ServiceError::NotFound("model"))?;
        let filter = DecisionRecordFilter {
            policy_id: None,
            model_id: Some(model),
            hook: Some(PolicyHook::OnWindow),
        };
        let page = PageRequest {
            first: last,
            after: None,
        };
        let mut records = self.decision_records(principal, filter, page).await?.items;
        records.reverse();
        let mut contexts: Vec<sp::WindowContext> = Vec::with_capacity(records.len());
        let mut kept = Vec::with_capacity(records.len());
        let mut unreadable = 0;
        for r in records {
            let input = self.decision_input(principal, &r).await?;
            match serde_json::from_value::<sp::WindowContext>(input) {
                Ok(ctx) => {
                    contexts.push(ctx);
                    kept.push(r);
                }
                Err(_) => unreadable += 1,
            }
        }
        // Contexts in the order their windows ended (records are in the order they were made).
        let mut order: Vec<usize> = (0..contexts.len()).collect();
        order.sort_by(|a, b| contexts[*a].window.end.cmp(&contexts[*b].window.end));
        let contexts: Vec<sp::WindowContext> = order.iter().map(|i| contexts[*i].clone()).collect();
        let kept: Vec<_> = order.iter().map(|i| kept[*i].clone()).collect();
        let ends: Vec<String> = contexts.iter().map(|c| c.window.end.to_string()).collect();
        let name = p.name.clone();
        let source = revision.source.clone();
        let steps = self
            .policy
            .compile(move |engine| {
                let compiled = engine.compile(&name, &source)?;
                Ok::<_, sp::CompileError>(sp::replay::replay(
                    engine,
                    &compiled,
                    &contexts,
                    sp::replay::ReplayOptions::default(),
                ))
            })
            .await?
            .map_err(|e| {
                ServiceError::Invalid(format!(
                    "revision {number} does not compile: {}",
                    super::compile_error(&e)
                ))
            })?;
        let windows = kept
            .iter()
            .zip(ends)
            .zip(steps)
            .map(|((r, window_end), step)| ReplayedWindow {
                window_end,
                decided_at: r.created_at,
                recorded_revision: r.revision_number,
                recorded: decisions_of(&r.outcome),
                replayed: step
                    .decisions
                    .map(|d| d.iter().map(sp::Decision::to_json).collect())
                    .map_err(|e| e.to_string()),
            })
            .collect();
        Ok(PolicyReplay {
            policy: p.name,
            revision: number,
            model: m.name,
            windows,
            unreadable,
        })
    }
}
