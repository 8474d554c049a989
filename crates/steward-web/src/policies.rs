//! Policies: the tenant's policies with what they bind to; one policy's revisions (any one's
//! source on the page), bindings and latest decision records; and a replay of a chosen revision
//! over a chosen model's stored windows beside what was decided then
//! (`Service::replay_policy`, the server-side `steward policy replay`). All reads: GET.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use steward_domain::{
    BindingTarget, DecisionRecordFilter, ModelFilter, ModelId, PageRequest, PolicyBinding, PolicyId,
};
use steward_service::MAX_PAGE_SIZE;

use crate::pages::{Me, time};
use crate::session::SignedIn;
use crate::{WebState, render, service_error_page};

/// Windows a replay from the page covers.
const REPLAY_WINDOWS: u32 = 48;

struct PolicyRow {
    id: String,
    name: String,
    description: String,
    active: String,
    bindings: usize,
}

#[derive(Template)]
#[template(path = "policies.html")]
struct PoliciesPage {
    me: Me,
    policies: Vec<PolicyRow>,
}

/// What a binding covers, in words, with model ids named.
fn target(b: &PolicyBinding, names: &BTreeMap<ModelId, String>) -> String {
    match &b.target {
        BindingTarget::Model(m) => format!(
            "model {}",
            names.get(m).cloned().unwrap_or_else(|| m.to_string())
        ),
        BindingTarget::Selector {
            tags,
            risk_tier,
            name_pattern,
        } => {
            let mut parts = Vec::new();
            if !tags.is_empty() {
                parts.push(format!("tags {}", tags.join(", ")));
            }
            if let Some(t) = risk_tier {
                parts.push(format!("risk tier {}", t.as_str()));
            }
            if let Some(p) = name_pattern {
                parts.push(format!("name {p}"));
            }
            format!("models with {}", parts.join(" and "))
        }
        BindingTarget::TenantDefault => "every other model (the tenant default)".into(),
    }
}

fn all() -> PageRequest {
    PageRequest {
        first: MAX_PAGE_SIZE,
        after: None,
    }
}

pub(crate) async fn policies(State(state): State<WebState>, me: SignedIn) -> Response {
    let svc = &state.service;
    let p = &me.principal;
    let (list, bindings) = match (
        svc.policies(p, all()).await,
        svc.policy_bindings(p, None).await,
    ) {
        (Ok(l), Ok(b)) => (l, b),
        (Err(e), _) | (_, Err(e)) => return service_error_page(&e),
    };
    let policies = list
        .items
        .iter()
        .map(|x| PolicyRow {
            id: x.id.to_string(),
            name: x.name.clone(),
            description: x.description.clone(),
            active: x
                .active_revision
                .map_or("none published".into(), |r| format!("revision {r}")),
            bindings: bindings
                .iter()
                .filter(|b| b.policy_id == x.id && b.removed_at.is_none())
                .count(),
        })
        .collect();
    render(&PoliciesPage {
        me: Me::of(&me),
        policies,
    })
}

#[derive(Deserialize, Default)]
pub(crate) struct PolicyQuery {
    revision: Option<i64>,
    /// Replay the revision over this model's windows.
    #[serde(default)]
    model: String,
}

struct RevisionRow {
    number: i64,
    status: String,
    created: String,
    note: String,
    hash: String,
}

struct DecisionRow {
    at: String,
    model: String,
    hook: String,
    revision: i64,
    outcome: String,
}

struct ReplayRow {
    window_end: String,
    recorded_revision: i64,
    recorded: String,
    replayed: String,
    changed: bool,
}

struct Replay {
    model: String,
    rows: Vec<ReplayRow>,
    changed: usize,
    unreadable: usize,
}

#[derive(Template)]
#[template(path = "policy.html")]
struct PolicyPage {
    me: Me,
    id: String,
    name: String,
    description: String,
    active: Option<i64>,
    shown: i64,
    source: String,
    revisions: Vec<RevisionRow>,
    bindings: Vec<(String, String)>,
    decisions: Vec<DecisionRow>,
    models: Vec<(String, String)>,
    chosen_model: String,
    replay: Option<Replay>,
    replay_error: Option<String>,
    replay_windows: u32,
}

/// Decisions in one line each: the kind, then the rest of the decision compactly.
fn decisions(d: &Result<Vec<Value>, String>) -> String {
    match d {
        Err(e) => format!("failed: {e}"),
        Ok(list) if list.is_empty() => "nothing".into(),
        Ok(list) => list
            .iter()
            .map(|x| {
                let kind = x.get("kind").and_then(|k| k.as_str()).unwrap_or("?");
                let mut rest = x.clone();
                if let Some(o) = rest.as_object_mut() {
                    o.remove("kind");
                }
                let rest = rest.to_string();
                let rest: String = rest.chars().take(90).collect();
                format!("{kind} {rest}")
            })
            .collect::<Vec<_>>()
            .join("; "),
    }
}

pub(crate) async fn policy(
    State(state): State<WebState>,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<PolicyQuery>,
) -> Response {
    let Ok(id) = id.parse::<PolicyId>() else {
        return crate::not_found().await;
    };
    let svc = &state.service;
    let p = &me.principal;
    let policy = match svc.policy(p, id).await {
        Ok(x) => x,
        Err(e) => return service_error_page(&e),
    };
    let page = PageRequest {
        first: 50,
        after: None,
    };
    let revisions = match svc.policy_revisions(p, id, page).await {
        Ok(r) => r.items,
        Err(e) => return service_error_page(&e),
    };
    let shown = q
        .revision
        .or(policy.active_revision)
        .or_else(|| revisions.iter().map(|r| r.number).max())
        .unwrap_or(0);
    let source = revisions
        .iter()
        .find(|r| r.number == shown)
        .map(|r| r.source.clone());
    let source = match (source, shown) {
        (Some(s), _) => s,
        (None, 0) => String::new(),
        (None, n) => match svc.policy_revision(p, id, n).await {
            Ok(r) => r.source,
            Err(e) => return service_error_page(&e),
        },
    };
    let (bindings, models) = match (
        svc.policy_bindings(p, Some(id)).await,
        svc.models(p, ModelFilter::default(), all()).await,
    ) {
        (Ok(b), Ok(m)) => (b, m.items),
        (Err(e), _) | (_, Err(e)) => return service_error_page(&e),
    };
    let names: BTreeMap<ModelId, String> = models.iter().map(|m| (m.id, m.name.clone())).collect();
    let filter = DecisionRecordFilter {
        policy_id: Some(id),
        model_id: None,
        hook: None,
    };
    let first = PageRequest {
        first: 20,
        after: None,
    };
    let records = match svc.decision_records(p, filter, first).await {
        Ok(r) => r.items,
        Err(e) => return service_error_page(&e),
    };
    let (replay, replay_error) = match q.model.parse::<ModelId>() {
        Err(_) => (None, None),
        Ok(model) => match svc.replay_policy(p, id, shown, model, REPLAY_WINDOWS).await {
            Ok(r) => {
                let changed = r.windows.iter().filter(|w| w.changed()).count();
                let rows = r
                    .windows
                    .iter()
                    .map(|w| ReplayRow {
                        window_end: w.window_end.clone(),
                        recorded_revision: w.recorded_revision,
                        recorded: decisions(&w.recorded),
                        replayed: decisions(&w.replayed),
                        changed: w.changed(),
                    })
                    .collect();
                let replay = Replay {
                    model: r.model,
                    rows,
                    changed,
                    unreadable: r.unreadable,
                };
                (Some(replay), None)
            }
            Err(e @ steward_service::ServiceError::NotFound(_)) => {
                return service_error_page(&e);
            }
            Err(e) => (None, Some(e.to_string())),
        },
    };
    render(&PolicyPage {
        me: Me::of(&me),
        id: policy.id.to_string(),
        name: policy.name,
        description: policy.description,
        active: policy.active_revision,
        shown,
        source,
        revisions: revisions
            .iter()
            .map(|r| RevisionRow {
                number: r.number,
                status: r.status.as_str().to_string(),
                created: format!("{} by {}", time(r.created_at), r.created_by),
                note: r.note.clone(),
                hash: r.hash.chars().take(12).collect(),
            })
            .collect(),
        bindings: bindings
            .iter()
            .filter(|b| b.removed_at.is_none())
            .map(|b| {
                (
                    target(b, &names),
                    format!("{} by {}", time(b.created_at), b.created_by),
                )
            })
            .collect(),
        decisions: records
            .iter()
            .map(|d| DecisionRow {
                at: time(d.created_at),
                model: names
                    .get(&d.model_id)
                    .cloned()
                    .unwrap_or_else(|| d.model_id.to_string()),
                hook: d.hook.as_str().to_string(),
                revision: d.revision_number,
                outcome: decisions(&match d.outcome.get("decisions") {
                    Some(Value::Array(a)) => Ok(a.clone()),
                    _ => Err(d.outcome.to_string()),
                }),
            })
            .collect(),
        models: models
            .iter()
            .map(|m| (m.id.to_string(), m.name.clone()))
            .collect(),
        chosen_model: q.model,
        replay,
        replay_error,
        replay_windows: REPLAY_WINDOWS,
    })
}
