//! Slack's incoming webhook contract: `POST` JSON to the webhook's URL; `200 ok` when the message
//! is posted; `400` with `invalid_payload` (not JSON), `no_text` (neither `text` nor `blocks`)
//! or `invalid_blocks` (a block Slack's Block Kit refuses: unknown type, a section without text
//! or fields, text over 3,000 characters, more than 50 blocks, 10 fields or 25 elements);
//! `404 no_service` for a URL that is no webhook. Rate limiting (429 with `Retry-After`) is
//! scripted by tests, as Slack's limit depends on the workspace.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::{Received, Verdict};

/// The webhook's path (Slack's are `/services/T…/B…/<secret>`).
pub(crate) const PATH: &str = "/services/T0LOOPBACK/B0LOOPBACK/loopbackloopbackloopback";

const MAX_BLOCKS: usize = 50;
const MAX_SECTION_TEXT: usize = 3_000;
const MAX_FIELDS: usize = 10;
const MAX_FIELD_TEXT: usize = 2_000;
const MAX_ELEMENTS: usize = 25;
const MAX_TEXT: usize = 40_000;

pub(crate) fn check(r: &Received) -> Verdict {
    let refuse = |status: StatusCode, word: &str, why: String| {
        Verdict::refuse(status, json!(word), format!("{word}: {why}"))
    };
    if r.path != PATH {
        return refuse(
            StatusCode::NOT_FOUND,
            "no_service",
            format!("no webhook at {}", r.path),
        );
    }
    let Some(msg) = r.json.as_ref().filter(|v| v.is_object()) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_payload",
            "the body is not a JSON object".into(),
        );
    };
    let text = msg.get("text").and_then(Value::as_str).unwrap_or_default();
    let blocks = msg.get("blocks");
    if text.is_empty() && blocks.is_none() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "no_text",
            "neither text nor blocks".into(),
        );
    }
    if text.chars().count() > MAX_TEXT {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_payload",
            "text over 40,000 characters".into(),
        );
    }
    if let Some(blocks) = blocks
        && let Err(why) = check_blocks(blocks)
    {
        return refuse(StatusCode::BAD_REQUEST, "invalid_blocks", why);
    }
    Verdict::ok(StatusCode::OK, json!("ok"))
}

fn text_object(v: &Value, max: usize, at: &str) -> Result<(), String> {
    let kind = v.get("type").and_then(Value::as_str);
    if !matches!(kind, Some("mrkdwn" | "plain_text")) {
        return Err(format!("{at}: a text object is mrkdwn or plain_text"));
    }
    let text = v.get("text").and_then(Value::as_str).unwrap_or_default();
    if text.is_empty() || text.chars().count() > max {
        return Err(format!("{at}: text must have 1 to {max} characters"));
    }
    Ok(())
}

fn check_blocks(blocks: &Value) -> Result<(), String> {
    let blocks = blocks.as_array().ok_or("blocks is not an array")?;
    if blocks.len() > MAX_BLOCKS {
        return Err(format!("{} blocks, at most {MAX_BLOCKS}", blocks.len()));
    }
    for (i, b) in blocks.iter().enumerate() {
        let at = format!("blocks[{i}]");
        match b.get("type").and_then(Value::as_str) {
            Some("section") => {
                let text = b.get("text");
                let fields = b.get("fields").and_then(Value::as_array);
                if text.is_none() && fields.is_none() {
                    return Err(format!("{at}: a section needs text or fields"));
                }
                if let Some(t) = text {
                    text_object(t, MAX_SECTION_TEXT, &at)?;
                }
                if let Some(f) = fields {
                    if f.len() > MAX_FIELDS {
                        return Err(format!("{at}: at most {MAX_FIELDS} fields"));
                    }
                    for (j, field) in f.iter().enumerate() {
                        text_object(field, MAX_FIELD_TEXT, &format!("{at}.fields[{j}]"))?;
                    }
                }
            }
            Some("context") | Some("actions") => {
                let elements = b
                    .get("elements")
                    .and_then(Value::as_array)
                    .ok_or(format!("{at}: elements missing"))?;
                if elements.is_empty() || elements.len() > MAX_ELEMENTS {
                    return Err(format!("{at}: 1 to {MAX_ELEMENTS} elements"));
                }
                for (j, e) in elements.iter().enumerate() {
                    let at = format!("{at}.elements[{j}]");
                    match e.get("type").and_then(Value::as_str) {
                        Some("button") => {
                            let t = e.get("text").ok_or(format!("{at}: a button needs text"))?;
                            text_object(t, 75, &at)?;
                        }
                        Some("mrkdwn" | "plain_text") => text_object(e, MAX_SECTION_TEXT, &at)?,
                        Some("image") => {}
                        other => return Err(format!("{at}: unknown element type {other:?}")),
                    }
                }
            }
            Some("divider") => {}
            Some("header") => {
                let t = b.get("text").ok_or(format!("{at}: a header needs text"))?;
                text_object(t, 150, &at)?;
            }
            other => return Err(format!("{at}: unknown block type {other:?}")),
        }
    }
    Ok(())
}
