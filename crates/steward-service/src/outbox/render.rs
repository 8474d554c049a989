//! What an action looks like on the wire, per target kind: a Slack message (text and blocks), a
//! PagerDuty Events API v2 event (`trigger`, `acknowledge`, `resolve` under the incident's
//! `dedup_key`), or a Standard Webhooks delivery (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature: v1,<base64 HMAC-SHA256>`, one signature per active secret).

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use steward_domain::{PendingAction, TargetKind, TargetSecrets, webhook_key};

/// What the relay knows about an action beyond the action itself.
#[derive(Clone, Debug, Default)]
pub(crate) struct Context {
    pub tenant: String,
    pub model: String,
    /// Per slice of the action's window: (slice, composite drift score, drifted features).
    pub slices: Vec<(String, f64, i64)>,
    /// Where a person sees the incident (from `outbox.public_url`), when configured.
    pub link: Option<String>,
    /// For a retrain: the model version's training data, each dataset with its latest version
    /// (`{dataset, name, trainedOn, latestVersion, latestUri}`).
    pub training_data: Vec<Value>,
}

/// One HTTP request to a target.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    /// `GET`, `POST` or `PATCH`.
    pub method: reqwest::Method,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

/// PagerDuty's `summary` is at most 1,024 characters.
const PD_SUMMARY_CHARS: usize = 1_024;

fn text_of(action: &PendingAction, key: &str) -> String {
    action.payload[key].as_str().unwrap_or_default().to_string()
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A line a person reads: what happened to which model.
fn headline(action: &PendingAction, ctx: &Context) -> String {
    let summary = text_of(action, "summary");
    match action.kind.as_str() {
        "alert" => {
            let severity = text_of(action, "severity");
            format!("[{severity}] {}: {summary}", ctx.model)
        }
        "incident_acknowledged" => format!("Acknowledged: {}: {summary}", ctx.model),
        "incident_resolved" => {
            let note = text_of(action, "note");
            format!("Resolved: {}: {summary} ({note})", ctx.model)
        }
        "retrain" => {
            let job = text_of(action, "job");
            format!("Retraining requested for {}: job {job}", ctx.model)
        }
        other => format!("{other} for {}", ctx.model),
    }
}

/// The statistics behind the decision: the window's slices with their scores, worst first.
fn statistics(ctx: &Context) -> Vec<Value> {
    let mut s = ctx.slices.clone();
    s.sort_by(|a, b| b.1.total_cmp(&a.1));
    s.iter()
        .map(|(slice, score, drifted)| {
            json!({"slice": slice, "compositeScore": score, "driftedFeatures": drifted})
        })
        .collect()
}

fn slack(action: &PendingAction, ctx: &Context) -> Value {
    let text = headline(action, ctx);
    let mut fields = vec![
        json!({"type": "mrkdwn", "text": format!("*Model*\n{}", ctx.model)}),
        json!({"type": "mrkdwn", "text": format!("*Version*\n{}", action.model_version_id)}),
    ];
    if action.kind == "alert" {
        let severity = text_of(action, "severity");
        fields.push(json!({"type": "mrkdwn", "text": format!("*Severity*\n{severity}")}));
    }
    if let Some(i) = action.incident_id {
        fields.push(json!({"type": "mrkdwn", "text": format!("*Incident*\n{i}")}));
    }
    let mut blocks = vec![
        json!({"type": "section", "text": {"type": "mrkdwn", "text": cut(&text, 3_000)}}),
        json!({"type": "section", "fields": fields}),
    ];
    let lines: Vec<String> = statistics(ctx)
        .iter()
        .take(10)
        .map(|s| {
            let score = s["compositeScore"]
                .as_f64()
                .map_or("n/a".into(), |v| format!("{v:.3}"));
            format!(
                "• slice `{}`: composite drift {score}, {} drifted features",
                s["slice"].as_str().unwrap_or_default(),
                s["driftedFeatures"]
            )
        })
        .collect();
    if !lines.is_empty() {
        blocks
            .push(json!({"type": "section", "text": {"type": "mrkdwn", "text": lines.join("\n")}}));
    }
    if let Some(link) = &ctx.link {
        blocks.push(json!({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open the incident"}, "url": link}
        ]}));
    }
    blocks.push(json!({"type": "context", "elements": [
        {"type": "mrkdwn", "text": format!("Steward · tenant {} · action {}", ctx.tenant, action.id)}
    ]}));
    json!({"text": text, "blocks": blocks})
}

/// PagerDuty's severities are exactly Steward's four.
fn pagerduty(action: &PendingAction, ctx: &Context, routing_key: &str) -> Value {
    let dedup_key = action
        .incident_id
        .map_or(action.id.to_string(), |i| i.to_string());
    let event_action = match action.kind.as_str() {
        "incident_acknowledged" => "acknowledge",
        "incident_resolved" => "resolve",
        _ => "trigger",
    };
    if event_action != "trigger" {
        return json!({"routing_key": routing_key, "event_action": event_action, "dedup_key": dedup_key});
    }
    let severity = match text_of(action, "severity").as_str() {
        s @ ("critical" | "error" | "warning" | "info") => s.to_string(),
        _ => "warning".to_string(),
    };
    let mut event = json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": cut(&headline(action, ctx), PD_SUMMARY_CHARS),
            "source": format!("steward/{}/{}", ctx.tenant, ctx.model),
            "severity": severity,
            "component": ctx.model,
            "group": ctx.tenant,
            "class": action.kind,
            "custom_details": {
                "model_version": action.model_version_id.to_string(),
                "decision_record": action.decision_record_id.map(|d| d.to_string()),
                "window": action.window_id.map(|w| w.to_string()),
                "statistics": statistics(ctx),
            },
        },
    });
    if let Some(link) = &ctx.link {
        event["links"] = json!([{"href": link, "text": "Steward incident"}]);
    }
    event
}

/// The Standard Webhooks event type of an action: `alert.triggered`, `incident.resolved`, ...
fn event_type(kind: &str) -> String {
    match kind {
        "alert" => "alert.triggered".into(),
        "retrain" => "retrain.requested".into(),
        "rollback" => "rollback.requested".into(),
        other => other.replacen('_', ".", 1),
    }
}

fn webhook_body(action: &PendingAction, ctx: &Context, now: DateTime<Utc>) -> Value {
    json!({
        "type": event_type(&action.kind),
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": {
            "action": action.id.to_string(),
            "idempotencyKey": action.id.to_string(),
            "tenant": ctx.tenant,
            "model": {"id": action.model_id.to_string(), "name": ctx.model},
            "modelVersion": action.model_version_id.to_string(),
            "incident": action.incident_id.map(|i| i.to_string()),
            "window": action.window_id.map(|w| w.to_string()),
            "decisionRecord": action.decision_record_id.map(|d| d.to_string()),
            "decision": action.payload,
            "statistics": statistics(ctx),
            "trainingData": ctx.training_data,
            "link": ctx.link,
        },
    })
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` with a `whsec_` secret's key.
pub(crate) fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let key = webhook_key("secret", secret).map_err(|e| e.to_string())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    Ok(format!("v1,{sig}"))
}

/// The request that delivers `action` to a target of `kind`.
pub(crate) fn render(
    kind: TargetKind,
    secrets: &TargetSecrets,
    action: &PendingAction,
    ctx: &Context,
    now: DateTime<Utc>,
) -> Result<Request, String> {
    let json_type = ("content-type", "application/json".to_string());
    match kind {
        TargetKind::Slack => Ok(Request {
            method: reqwest::Method::POST,
            url: secrets.url.clone(),
            headers: vec![json_type],
            body: slack(action, ctx).to_string().into_bytes(),
        }),
        TargetKind::PagerDuty => {
            let key = secrets
                .secret
                .as_deref()
                .ok_or("the PagerDuty target has no routing key")?;
            Ok(Request {
                method: reqwest::Method::POST,
                url: secrets.url.clone(),
                headers: vec![json_type],
                body: pagerduty(action, ctx, key).to_string().into_bytes(),
            })
        }
        TargetKind::Prefect
        | TargetKind::Airflow
        | TargetKind::Dagster
        | TargetKind::GithubActions => Err(format!(
            "{} starts runs; it is not sent as a message",
            kind.as_str()
        )),
        TargetKind::Kserve | TargetKind::Seldon => Err(format!(
            "{} serves models; a {} action is not a deployment",
            kind.as_str(),
            action.kind
        )),
        TargetKind::Webhook => {
            let body = if action.kind == super::DEPLOY {
                super::serve::webhook_body(action, &ctx.tenant, now)
            } else {
                webhook_body(action, ctx, now)
            };
            let body = body.to_string().into_bytes();
            let id = action.id.to_string();
            let ts = now.timestamp();
            let mut sigs = Vec::new();
            for s in [&secrets.secret, &secrets.previous_secret]
                .into_iter()
                .flatten()
            {
                sigs.push(sign(s, &id, ts, &body)?);
            }
            if sigs.is_empty() {
                return Err("the webhook target has no signing secret".into());
            }
            Ok(Request {
                method: reqwest::Method::POST,
                url: secrets.url.clone(),
                headers: vec![
                    json_type,
                    ("webhook-id", id),
                    ("webhook-timestamp", ts.to_string()),
                    ("webhook-signature", sigs.join(" ")),
                ],
                body,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_the_standard_webhooks_example() {
        // The specification's worked example (standard-webhooks spec, "Verifying signatures").
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = br#"{"test": 2432232314}"#;
        let sig = sign(secret, id, 1_614_265_330, body).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn event_types_name_what_happened() {
        assert_eq!(event_type("alert"), "alert.triggered");
        assert_eq!(event_type("incident_resolved"), "incident.resolved");
        assert_eq!(event_type("incident_acknowledged"), "incident.acknowledged");
        assert_eq!(event_type("retrain"), "retrain.requested");
    }

    #[test]
    fn long_summaries_are_cut_for_pagerduty() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }
}
