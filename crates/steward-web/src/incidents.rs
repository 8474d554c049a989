//! An incident: what opened it, its timeline (windows, decisions, acknowledgement,
//! resolution), the actions it led to and their delivery, and, through lineage, the retraining
//! run it started and the candidate that came of it.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use steward_domain::IncidentId;

use crate::pages::{Me, time};
use crate::session::SignedIn;
use crate::{WebState, render, service_error_page};

struct EventRow {
    at: String,
    kind: String,
    actor: String,
    note: String,
}

struct ActionRow {
    created: String,
    kind: String,
    target: String,
    status: String,
    attempts: i64,
}

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage {
    me: Me,
    id: String,
    key: String,
    summary: String,
    status: String,
    model_id: String,
    version_id: String,
    opened: String,
    acknowledged: String,
    resolved: String,
    events: Vec<EventRow>,
    actions: Vec<ActionRow>,
}

pub(crate) async fn incident(
    State(state): State<WebState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<IncidentId>() else {
        return crate::not_found().await;
    };
    let detail = match state.service.incident(&me.principal, id).await {
        Ok(d) => d,
        Err(e) => return service_error_page(&e),
    };
    let i = &detail.incident;
    let who = |by: &Option<String>, at: Option<chrono::DateTime<chrono::Utc>>| match (by, at) {
        (Some(b), Some(t)) => format!("{} by {b}", time(t)),
        (None, Some(t)) => time(t),
        _ => "not yet".to_string(),
    };
    let mut events: Vec<EventRow> = detail
        .events
        .iter()
        .map(|e| EventRow {
            at: time(e.at),
            kind: e.kind.clone(),
            actor: e.actor.clone(),
            note: e.note.clone(),
        })
        .collect();
    events.sort_by(|a, b| a.at.cmp(&b.at));
    render(&IncidentPage {
        me: Me::of(&me),
        id: i.id.to_string(),
        key: i.key.clone(),
        summary: i.summary.clone(),
        status: i.status.as_str().to_string(),
        model_id: i.model_id.to_string(),
        version_id: i.model_version_id.to_string(),
        opened: format!("{} by {}", time(i.opened_at), i.opened_by),
        acknowledged: who(&i.acknowledged_by, i.acknowledged_at),
        resolved: who(&i.resolved_by, i.resolved_at),
        events,
        actions: detail
            .actions
            .iter()
            .map(|a| ActionRow {
                created: time(a.created_at),
                kind: a.kind.clone(),
                target: a.target.clone().unwrap_or_else(|| "-".into()),
                status: a.status.as_str().to_string(),
                attempts: a.attempts,
            })
            .collect(),
    })
}
