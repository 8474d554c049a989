//! PagerDuty's Events API v2 contract: `POST /v2/enqueue` with a JSON event; `202` with
//! `{"status": "success", "message": "Event processed", "dedup_key": …}`; `400` with
//! `{"status": "invalid event", "message": "Event object is invalid", "errors": […]}` for an
//! event PagerDuty refuses (wrong routing key, unknown `event_action`, a trigger without
//! `payload.summary`, `payload.source` or a severity among critical, error, warning and info, a
//! summary over 1,024 characters, an acknowledge or resolve without `dedup_key`).
//!
//! The receiver also follows incidents by `dedup_key` as PagerDuty does; an acknowledge or
//! resolve of a key never triggered is accepted (as PagerDuty does) but recorded as a problem,
//! so a test sees an order violation.

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::{Received, Verdict};

pub(crate) const PATH: &str = "/v2/enqueue";

const MAX_SUMMARY: usize = 1_024;
const MAX_DEDUP_KEY: usize = 255;

pub(crate) fn check(
    r: &Received,
    routing_key: &str,
    incidents: &mut HashMap<String, String>,
) -> Verdict {
    if r.path != PATH {
        return Verdict::refuse(
            StatusCode::NOT_FOUND,
            json!({"status": "not found"}),
            format!("no endpoint at {}", r.path),
        );
    }
    let mut errors = Vec::new();
    let event = r.json.as_ref().filter(|v| v.is_object());
    let Some(event) = event else {
        return invalid(vec!["the body is not a JSON object".into()]);
    };
    let s = |k: &str| event.get(k).and_then(Value::as_str);
    if s("routing_key") != Some(routing_key) {
        errors.push("routing_key: not this integration's key".to_string());
    }
    let action = s("event_action").unwrap_or_default();
    let dedup = s("dedup_key").map(str::to_owned);
    if let Some(k) = &dedup
        && (k.is_empty() || k.chars().count() > MAX_DEDUP_KEY)
    {
        errors.push(format!("dedup_key: 1 to {MAX_DEDUP_KEY} characters"));
    }
    match action {
        "trigger" => {
            let p = event.get("payload");
            let ps = |k: &str| p.and_then(|p| p.get(k)).and_then(Value::as_str);
            match ps("summary") {
                None | Some("") => errors.push("payload.summary is missing".into()),
                Some(t) if t.chars().count() > MAX_SUMMARY => {
                    errors.push(format!("payload.summary over {MAX_SUMMARY} characters"))
                }
                _ => {}
            }
            if ps("source").is_none_or(str::is_empty) {
                errors.push("payload.source is missing".into());
            }
            if !matches!(
                ps("severity"),
                Some("critical" | "error" | "warning" | "info")
            ) {
                errors.push("payload.severity must be critical, error, warning or info".into());
            }
        }
        "acknowledge" | "resolve" if dedup.is_none() => {
            errors.push(format!("dedup_key is required to {action}"));
        }
        "acknowledge" | "resolve" => {}
        other => errors.push(format!(
            "event_action {other:?} is not trigger, acknowledge or resolve"
        )),
    }
    if !errors.is_empty() {
        return invalid(errors);
    }
    // PagerDuty makes up a key for a trigger without one.
    let key = dedup.unwrap_or_else(|| format!("generated-{}", incidents.len()));
    let before = incidents.get(&key).cloned();
    let problem = match (action, before.as_deref()) {
        ("trigger", _) => {
            incidents.insert(key.clone(), "triggered".into());
            None
        }
        (_, None) => Some(format!("{action} of {key} before any trigger")),
        (_, Some("resolved")) => Some(format!("{action} of {key}, already resolved")),
        ("acknowledge", _) => {
            incidents.insert(key.clone(), "acknowledged".into());
            None
        }
        _ => {
            incidents.insert(key.clone(), "resolved".into());
            None
        }
    };
    Verdict {
        status: StatusCode::ACCEPTED,
        body: json!({"status": "success", "message": "Event processed", "dedup_key": key}),
        problem,
        duplicate: false,
    }
}

fn invalid(errors: Vec<String>) -> Verdict {
    let problem = errors.join("; ");
    Verdict::refuse(
        StatusCode::BAD_REQUEST,
        json!({"status": "invalid event", "message": "Event object is invalid", "errors": errors}),
        problem,
    )
}
