//! Where each decision of a window's evaluation goes, decided in the evaluation's transaction:
//! an alert to the target its `channel` names, a retrain to its `orchestrator`; a name the
//! tenant has no target for makes the action undeliverable, a retrain or rollback of a model on
//! hold is suppressed (alerts still go), and so is a retrain over the model's budget (runs per
//! period, cooldown, cost) or of an incident that already started one. Both are reported on the decision record, never
//! dropped in silence.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use steward_domain::{ActionStatus, ModelId};
use steward_policy as sp;

use crate::{Service, ServiceResult, Writes};

/// The fate of one decision that acts.
#[derive(Clone, Debug)]
pub(crate) struct Route {
    /// The target it names (none for a rollback: it acts on the endpoints serving the version,
    /// each change going to its endpoint's target).
    pub target: Option<String>,
    pub status: ActionStatus,
    /// Why it is undeliverable or suppressed.
    pub reason: Option<String>,
}

/// Decisions that become actions in the outbox.
pub(crate) fn acts(d: &sp::Decision) -> bool {
    matches!(
        d,
        sp::Decision::Alert { .. } | sp::Decision::Retrain { .. } | sp::Decision::Rollback { .. }
    )
}

impl Service {
    /// The route of each decision (`None` for those that do not act).
    pub(crate) async fn route_decisions(
        &self,
        m: &Writes,
        model: ModelId,
        decisions: &[sp::Decision],
        now: DateTime<Utc>,
    ) -> ServiceResult<Vec<Option<Route>>> {
        if !decisions.iter().any(acts) {
            return Ok(vec![None; decisions.len()]);
        }
        let known = self.store.target_names(&m.tx, &m.scope).await?;
        let hold = self.store.active_hold(&m.tx, &m.scope, model, now).await?;
        // The incident the evaluation's actions will belong to: the first it opens (or
        // continues, when one is live under that key).
        let incident_key = decisions.iter().find_map(|d| match d {
            sp::Decision::OpenIncident { key, .. } => Some(key.as_str()),
            _ => None,
        });
        let budget = if decisions
            .iter()
            .any(|d| matches!(d, sp::Decision::Retrain { .. }))
        {
            self.over_budget(m, model, incident_key, now).await?
        } else {
            None
        };
        Ok(decisions
            .iter()
            .map(|d| {
                let target = match d {
                    sp::Decision::Alert { channel, .. } => Some(channel.clone()),
                    sp::Decision::Retrain { orchestrator, .. } => Some(orchestrator.clone()),
                    sp::Decision::Rollback { .. } => None,
                    _ => return None,
                };
                let held = !matches!(d, sp::Decision::Alert { .. });
                let retrain = matches!(d, sp::Decision::Retrain { .. });
                let route = match (&hold, &target) {
                    (Some(h), _) if held => Route {
                        target,
                        status: ActionStatus::Suppressed,
                        reason: Some(h.explain()),
                    },
                    _ if retrain && budget.is_some() => Route {
                        target,
                        status: ActionStatus::Suppressed,
                        reason: budget.clone(),
                    },
                    (_, Some(name)) if !known.contains(name) => Route {
                        reason: Some(format!("the tenant has no delivery target named {name:?}")),
                        target,
                        status: ActionStatus::Undeliverable,
                    },
                    _ => Route {
                        target,
                        status: ActionStatus::Pending,
                        reason: None,
                    },
                };
                Some(route)
            })
            .collect())
    }
}

/// Adds `undeliverable` and `suppressed` to a decision record's outcome: each decision that did
/// not go out, with its target and why.
pub(crate) fn report(outcome: &mut Value, decisions: &[sp::Decision], routes: &[Option<Route>]) {
    let Some(outcome) = outcome.as_object_mut() else {
        return;
    };
    for (status, key) in [
        (ActionStatus::Undeliverable, "undeliverable"),
        (ActionStatus::Suppressed, "suppressed"),
    ] {
        let listed: Vec<Value> = routes
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let r = r.as_ref().filter(|r| r.status == status)?;
                Some(
                    json!({"decision": i, "kind": decisions[i].kind(), "target": r.target,
                    "reason": r.reason}),
                )
            })
            .collect();
        if !listed.is_empty() {
            outcome.insert(key.into(), Value::Array(listed));
        }
    }
}
