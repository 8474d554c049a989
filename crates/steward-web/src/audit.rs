//! The tenant's audit log: events with filters, the log's signed checkpoint checked against
//! Steward's public key, and for a chosen event an inclusion proof checked here, from the
//! event's own content to the checkpoint's root, as an auditor's tool would.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use steward_audit::tree::verify_inclusion;
use steward_service::AuditFilter;

use crate::pages::Me;
use crate::session::SignedIn;
use crate::{WebState, render, service_error_page};

/// Events per page.
const PAGE: u32 = 100;

#[derive(Deserialize, Default)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    outcome: String,
    /// Show events after this sequence number.
    after: Option<u64>,
    /// Check the inclusion proof of this event.
    prove: Option<u64>,
}

struct EventRow {
    seq: u64,
    time: String,
    actor: String,
    action: String,
    target: String,
    outcome: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    me: Me,
    action: String,
    actor: String,
    outcome: String,
    events: Vec<EventRow>,
    next: Option<u64>,
    tree_size: u64,
    root: String,
    key_id: String,
    signed_at: String,
    signature_ok: bool,
    proof: Option<(u64, bool, String)>,
}

pub(crate) async fn audit(
    State(state): State<WebState>,
    me: SignedIn,
    Query(q): Query<AuditQuery>,
) -> Response {
    let svc = &state.service;
    let p = &me.principal;
    let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let filter = AuditFilter {
        action: some(&q.action),
        actor: some(&q.actor),
        outcome: some(&q.outcome),
        ..AuditFilter::default()
    };
    let events = match svc.audit_events(p, filter, q.after, PAGE).await {
        Ok(e) => e,
        Err(e) => return service_error_page(&e),
    };
    let signed = match svc.audit_checkpoint(p).await {
        Ok(c) => c,
        Err(e) => return service_error_page(&e),
    };
    let signature_ok = svc.audit_public_key().verify(&signed).is_ok();
    let size = signed.checkpoint.tree_size;
    // The chosen event's inclusion: its leaf hash recomputed from its content, the proof, and
    // the signed root.
    let proof = match q.prove.filter(|s| *s < size) {
        None => None,
        Some(seq) => {
            let filter = AuditFilter::default();
            let event = match svc.audit_events(p, filter, seq.checked_sub(1), 1).await {
                Ok(e) => e.into_iter().find(|e| e.seq == seq),
                Err(e) => return service_error_page(&e),
            };
            let (_, path, _) = match svc.audit_inclusion_proof(p, seq, size).await {
                Ok(x) => x,
                Err(e) => return service_error_page(&e),
            };
            let checked = event
                .as_ref()
                .ok_or_else(|| "the event is not in this log".to_string())
                .and_then(|e| e.leaf_hash().map_err(|e| e.to_string()))
                .and_then(|leaf| {
                    verify_inclusion(&leaf, seq, size, &path, &signed.checkpoint.root_hash)
                        .map_err(|e| e.to_string())
                });
            Some(match checked {
                Ok(()) => (
                    seq,
                    true,
                    format!(
                        "event {seq}'s content hashes to a leaf that the {} hashes of its proof lead to the signed root of {size} events",
                        path.len()
                    ),
                ),
                Err(why) => (seq, false, why),
            })
        }
    };
    let next = if events.len() == PAGE as usize {
        events.last().map(|e| e.seq)
    } else {
        None
    };
    render(&AuditPage {
        me: Me::of(&me),
        action: q.action,
        actor: q.actor,
        outcome: q.outcome,
        events: events
            .iter()
            .map(|e| EventRow {
                seq: e.seq,
                time: e.time.to_string(),
                actor: e.actor.sub.clone(),
                action: e.action.clone(),
                target: format!("{} {}", e.target.kind, e.target.id),
                outcome: format!("{:?}", e.outcome).to_lowercase(),
            })
            .collect(),
        next,
        tree_size: size,
        root: signed.checkpoint.root_hash.to_hex(),
        key_id: signed.key_id.clone(),
        signed_at: signed.checkpoint.timestamp.to_string(),
        signature_ok,
        proof,
    })
}

/// The export button: the whole log as the bundle `steward audit verify` checks offline (a
/// header line, the events as NDJSON, the signed checkpoint), streamed page by page.
pub(crate) async fn export(State(state): State<WebState>, me: SignedIn) -> Response {
    let export = match state.service.audit_export(&me.principal, None, None).await {
        Ok(e) => e,
        Err(e) => return service_error_page(&e),
    };
    let file = format!(
        "attachment; filename=\"steward-audit-{}.ndjson\"",
        me.session.tenant_slug
    );
    (
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_string()),
            (header::CONTENT_DISPOSITION, file),
        ],
        axum::body::Body::from_stream(export.into_stream()),
    )
        .into_response()
}
