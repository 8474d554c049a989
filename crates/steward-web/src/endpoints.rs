//! An endpoint: what it serves, every revision of its desired state, its rollbacks, what served
//! at a chosen time, and the rollback form for those who may operate deployments.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use steward_domain::{DeploymentRevision, DesiredState, EndpointId, Operation};
use steward_service::RollbackInput;

use crate::pages::{Me, time};
use crate::session::{Csrf, SignedIn, checked};
use crate::{WebState, refusal_status, render, service_error_page};

/// Revisions shown on the page (the newest).
const REVISIONS: u64 = 200;

struct RevisionRow {
    number: i64,
    at: String,
    change: &'static str,
    serving: String,
    actor: String,
    reason: String,
    policy: String,
}

struct RollbackRow {
    number: i64,
    at: String,
    actor: String,
    from: String,
    to: String,
    reason: String,
    effective: String,
}

#[derive(Template)]
#[template(path = "endpoint.html")]
struct EndpointPage {
    me: Me,
    id: String,
    name: String,
    environment: String,
    model_id: String,
    target: String,
    revision: i64,
    serving: String,
    revisions: Vec<RevisionRow>,
    rollbacks: Vec<RollbackRow>,
    at: String,
    served_at: Option<String>,
    may_roll_back: bool,
    earlier: Vec<(i64, String)>,
    idempotency_key: String,
    error: Option<String>,
}

/// "v3 (90%) + canary v4 (10%), shadow v5".
fn serving(s: &DesiredState) -> String {
    let mut out = format!("v{} ({}%)", s.champion.version, s.champion.percent);
    if let Some(c) = s.canary {
        out.push_str(&format!(" + canary v{} ({}%)", c.version, c.percent));
    }
    if let Some(sh) = s.shadow {
        out.push_str(&format!(", shadow v{}", sh.version));
    }
    out
}

#[derive(Deserialize)]
pub(crate) struct AtQuery {
    /// `YYYY-MM-DDTHH:MM` (UTC), as a `datetime-local` input sends it.
    at: Option<String>,
}

pub(crate) async fn endpoint(
    State(state): State<WebState>,
    me: SignedIn,
    Path(id): Path<String>,
    Query(q): Query<AtQuery>,
) -> Response {
    page(&state, &me, &id, q.at.as_deref(), None).await
}

/// The page, with `error` above the rollback form when a rollback was refused.
async fn page(
    state: &WebState,
    me: &SignedIn,
    id: &str,
    at: Option<&str>,
    error: Option<(StatusCode, String)>,
) -> Response {
    let svc = &state.service;
    let p = &me.principal;
    let Ok(id) = id.parse::<EndpointId>() else {
        return crate::not_found().await;
    };
    let e = match svc.endpoint(p, id).await {
        Ok(e) => e,
        Err(err) => return service_error_page(&err),
    };
    let revisions = match svc.deployment_revisions(p, id, None, REVISIONS).await {
        Ok(r) => r,
        Err(err) => return service_error_page(&err),
    };
    let rollbacks = match svc.rollbacks(p, id, REVISIONS).await {
        Ok(r) => r,
        Err(err) => return service_error_page(&err),
    };
    let current = revisions.iter().max_by_key(|r| r.number);
    let served_at = match at.filter(|a| !a.is_empty()) {
        None => None,
        Some(a) => {
            let Ok(t) = chrono::NaiveDateTime::parse_from_str(a, "%Y-%m-%dT%H:%M") else {
                let msg = format!("{a:?} is not a time like 2026-12-01T14:30 (UTC)");
                return crate::error_page(StatusCode::BAD_REQUEST, "Not understood", &msg);
            };
            let found = match svc.served_at(p, id, t.and_utc()).await {
                Ok(r) => r,
                Err(err) => return service_error_page(&err),
            };
            Some(match found {
                Some(r) => format!(
                    "At {a} UTC: revision {} ({}), serving {}",
                    r.number,
                    r.change.as_str(),
                    serving(&r.state)
                ),
                None => format!("At {a} UTC the endpoint did not exist yet."),
            })
        }
    };
    let row = |r: &DeploymentRevision| RevisionRow {
        number: r.number,
        at: time(r.at),
        change: r.change.as_str(),
        serving: serving(&r.state),
        actor: r.actor.clone(),
        reason: r.reason.clone(),
        policy: r.policy_revision.clone().unwrap_or_default(),
    };
    let mut rows: Vec<RevisionRow> = revisions.iter().map(row).collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.number));
    let earlier = rows
        .iter()
        .filter(|r| Some(r.number) != current.map(|c| c.number))
        .map(|r| (r.number, format!("revision {}: {}", r.number, r.serving)))
        .collect();
    let (status, error) = match error {
        Some((s, m)) => (s, Some(m)),
        None => (StatusCode::OK, None),
    };
    let page = EndpointPage {
        me: Me::of(me),
        id: e.id.to_string(),
        name: e.name.clone(),
        environment: e.environment.clone(),
        model_id: e.model_id.to_string(),
        target: e
            .target
            .clone()
            .unwrap_or_else(|| "none (read by the serving side)".into()),
        revision: e.revision,
        serving: current.map(|c| serving(&c.state)).unwrap_or_default(),
        revisions: rows,
        rollbacks: rollbacks
            .iter()
            .map(|rb| RollbackRow {
                number: rb.revision.number,
                at: time(rb.revision.at),
                actor: rb.revision.actor.clone(),
                from: serving(&rb.from),
                to: serving(&rb.revision.state),
                reason: rb.revision.reason.clone(),
                effective: match (rb.effective_at, &e.target) {
                    (Some(t), _) => time(t),
                    (None, Some(_)) => "pending delivery".into(),
                    (None, None) => "no target to confirm it".into(),
                },
            })
            .collect(),
        at: at.unwrap_or_default().to_string(),
        served_at,
        may_roll_back: p.may(Operation::OperateDeployment),
        earlier,
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        error,
    };
    (status, render(&page)).into_response()
}

#[derive(Deserialize)]
pub(crate) struct RollbackForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    /// Empty: the last champion without an open incident.
    #[serde(default)]
    to_revision: String,
    expected_revision: Option<i64>,
    #[serde(default)]
    idempotency_key: String,
}

impl Csrf for RollbackForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The rollback form: one step back, as `rollback` in the API; a refusal (another change came
/// first, nothing earlier to go back to, a missing reason) is shown above the form.
pub(crate) async fn rollback(
    State(state): State<WebState>,
    headers: HeaderMap,
    me: SignedIn,
    Path(id): Path<String>,
    form: Result<Form<RollbackForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let form = match checked(&headers, &me, form) {
        Ok(f) => f,
        Err(refused) => return *refused,
    };
    let Some(form) = form else {
        let why = (
            StatusCode::BAD_REQUEST,
            "The form was not understood.".into(),
        );
        return page(&state, &me, &id, None, Some(why)).await;
    };
    let Ok(endpoint) = id.parse::<EndpointId>() else {
        return crate::not_found().await;
    };
    let to_revision = match form.to_revision.trim() {
        "" => None,
        n => match n.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                let why = (
                    StatusCode::BAD_REQUEST,
                    format!("{n:?} is not a revision number"),
                );
                return page(&state, &me, &id, None, Some(why)).await;
            }
        },
    };
    let input = RollbackInput {
        endpoint,
        reason: form.reason.trim().to_string(),
        incident: None,
        to_revision,
        expected_revision: form.expected_revision,
        idempotency_key: Some(form.idempotency_key).filter(|k| !k.is_empty()),
    };
    match state.service.rollback(&me.principal, input).await {
        Ok(rev) => Redirect::to(&format!("/ui/endpoints/{endpoint}#revision-{}", rev.number))
            .into_response(),
        Err(e @ steward_service::ServiceError::NotFound(_)) => service_error_page(&e),
        Err(e) => {
            let Some(status) = refusal_status(&e) else {
                return service_error_page(&e);
            };
            page(
                &state,
                &me,
                &id,
                None,
                Some((status, format!("Not rolled back: {e}"))),
            )
            .await
        }
    }
}
