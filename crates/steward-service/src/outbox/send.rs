//! One HTTP delivery and what its answer means: delivered, worth retrying (no answer, 408, 429,
//! 5xx; with the target's `Retry-After` when it sends one), or refused for good (any other
//! 4xx: PagerDuty's 400 for an invalid event, a webhook's 410 Gone).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use steward_domain::{AttemptOutcome, TargetKind};

use super::OutboxSettings;
use super::guard;
use super::render::Request;

/// Longest excerpt of an answer kept with the attempt.
pub(crate) const EXCERPT_CHARS: usize = 512;
/// Most of an answer's body read (a Prefect deployment runs to a few kilobytes).
const BODY_BYTES: usize = 256 * 1024;

/// What came back.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub status: Option<u16>,
    pub retry_after: Option<Duration>,
    /// The start of the answer, as stored with the attempt.
    pub excerpt: String,
    /// The answer's body, up to `BODY_BYTES` (what an orchestrator's answer is read from).
    pub body: String,
    /// Why no answer came (connection refused, timeout, an address that is not public).
    pub error: Option<String>,
    /// Not sent because the target's address is not public: retrying cannot change that.
    pub blocked: bool,
    pub latency_ms: i64,
}

/// `Retry-After` as seconds or as an HTTP date (IMF-fixdate, which RFC 2822 parsing reads).
pub(crate) fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&Utc) - now;
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

pub(crate) async fn send(
    client: &reqwest::Client,
    req: Request,
    s: &OutboxSettings,
    now: DateTime<Utc>,
) -> Answer {
    let started = Instant::now();
    if !s.allow_private_networks
        && let Some(blocked) = guard::blocked_literal(&req.url)
    {
        return Answer {
            status: None,
            retry_after: None,
            excerpt: String::new(),
            body: String::new(),
            error: Some(blocked.to_string()),
            blocked: true,
            latency_ms: 0,
        };
    }
    let mut builder = client
        .request(req.method, &req.url)
        .timeout(s.request_timeout)
        .body(req.body);
    for (k, v) in &req.headers {
        builder = builder.header(*k, v);
    }
    // The delivery's span continues in the receiver's trace (W3C traceparent).
    for (k, v) in crate::propagation::current_headers() {
        builder = builder.header(k, v);
    }
    let result = builder.send().await;
    let latency = |s: Instant| i64::try_from(s.elapsed().as_millis()).unwrap_or(i64::MAX);
    match result {
        Err(e) => Answer {
            status: None,
            retry_after: None,
            excerpt: String::new(),
            body: String::new(),
            error: Some(describe(&e)),
            blocked: guard::was_blocked(&e),
            latency_ms: latency(started),
        },
        Ok(resp) => {
            let status = resp.status().as_u16();
            let retry = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry_after(v, now));
            let mut body = resp.text().await.unwrap_or_default();
            if body.len() > BODY_BYTES {
                let mut end = BODY_BYTES;
                while !body.is_char_boundary(end) {
                    end -= 1;
                }
                body.truncate(end);
            }
            Answer {
                status: Some(status),
                retry_after: retry,
                excerpt: body.chars().take(EXCERPT_CHARS).collect(),
                body,
                error: None,
                blocked: false,
                latency_ms: latency(started),
            }
        }
    }
}

/// An error without the URL (a Slack URL is a secret).
fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {detail}")
    }
}

/// What an answer means for the action: its outcome and a word on why.
pub(crate) fn judge(kind: TargetKind, a: &Answer) -> (AttemptOutcome, String) {
    let Some(status) = a.status else {
        let why = a.error.clone().unwrap_or_else(|| "no answer".into());
        let outcome = if a.blocked {
            AttemptOutcome::Dead
        } else {
            AttemptOutcome::Retry
        };
        return (outcome, why);
    };
    match status {
        200..=299 => {
            if kind == TargetKind::PagerDuty {
                // Events API v2 answers 202 {"status": "success", "message": ..., "dedup_key": ...}.
                let parsed: Option<serde_json::Value> = serde_json::from_str(&a.body).ok();
                let ok = parsed
                    .as_ref()
                    .and_then(|v| v["status"].as_str())
                    .is_some_and(|s| s == "success");
                if !ok {
                    return (
                        AttemptOutcome::Retry,
                        format!("PagerDuty answered {status} without status \"success\""),
                    );
                }
                let key = parsed
                    .as_ref()
                    .and_then(|v| v["dedup_key"].as_str())
                    .unwrap_or_default()
                    .to_string();
                return (
                    AttemptOutcome::Delivered,
                    format!("{status}: accepted, dedup_key {key}"),
                );
            }
            (AttemptOutcome::Delivered, format!("{status}: accepted"))
        }
        408 | 429 | 500..=599 => (AttemptOutcome::Retry, format!("{status}: try again later")),
        _ => (
            AttemptOutcome::Dead,
            format!("{status}: refused; retrying cannot change that"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: Option<u16>, body: &str) -> Answer {
        Answer {
            status,
            retry_after: None,
            excerpt: body.into(),
            body: body.into(),
            error: None,
            blocked: false,
            latency_ms: 1,
        }
    }

    #[test]
    fn answers_are_judged_as_the_targets_document_them() {
        let pd_ok = r#"{"status":"success","message":"Event processed","dedup_key":"k1"}"#;
        let (o, d) = judge(TargetKind::PagerDuty, &answer(Some(202), pd_ok));
        assert_eq!(o, AttemptOutcome::Delivered);
        assert!(d.contains("k1"), "{d}");
        let pd_bad = r#"{"status":"invalid event","message":"Event object is invalid"}"#;
        let (o, _) = judge(TargetKind::PagerDuty, &answer(Some(400), pd_bad));
        assert_eq!(o, AttemptOutcome::Dead);
        let (o, _) = judge(TargetKind::Slack, &answer(Some(429), "rate_limited"));
        assert_eq!(o, AttemptOutcome::Retry);
        let (o, _) = judge(TargetKind::Webhook, &answer(Some(503), ""));
        assert_eq!(o, AttemptOutcome::Retry);
        let (o, _) = judge(TargetKind::Webhook, &answer(Some(410), ""));
        assert_eq!(o, AttemptOutcome::Dead);
        let (o, _) = judge(TargetKind::Webhook, &answer(None, ""));
        assert_eq!(o, AttemptOutcome::Retry);
        let (o, _) = judge(TargetKind::Slack, &answer(Some(200), "ok"));
        assert_eq!(o, AttemptOutcome::Delivered);
        let blocked = Answer {
            blocked: true,
            ..answer(None, "")
        };
        let (o, _) = judge(TargetKind::Webhook, &blocked);
        assert_eq!(o, AttemptOutcome::Dead, "a private address stays private");
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(retry_after("30", now), Some(Duration::from_secs(30)));
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:29:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after("soon", now), None);
    }
}
