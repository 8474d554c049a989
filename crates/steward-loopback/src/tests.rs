//! The receivers against hand-made requests: each contract accepts what its peer accepts and
//! refuses what it refuses, with the peer's answers.

use super::*;

async fn post(url: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let mut req = reqwest::Client::new().post(url).body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap())
}

const JSON: (&str, &str) = ("content-type", "application/json");

#[tokio::test]
async fn slack_accepts_text_and_blocks_and_refuses_what_slack_refuses() {
    let r = Receiver::start(Contract::Slack).await.unwrap();
    let ok = json!({"text": "hi", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]});
    assert_eq!(
        post(&r.url(), &[JSON], &ok.to_string()).await,
        (200, "ok".into())
    );
    let (s, b) = post(&r.url(), &[JSON], "{not json").await;
    assert_eq!((s, b.as_str()), (400, "invalid_payload"));
    let (s, b) = post(&r.url(), &[JSON], "{}").await;
    assert_eq!((s, b.as_str()), (400, "no_text"));
    let bad = json!({"text": "x", "blocks": [{"type": "section"}]});
    let (s, b) = post(&r.url(), &[JSON], &bad.to_string()).await;
    assert_eq!((s, b.as_str()), (400, "invalid_blocks"));
    let long = json!({"text": "x", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "a".repeat(3001)}}]});
    assert_eq!(post(&r.url(), &[JSON], &long.to_string()).await.0, 400);
    let wrong = r.url().replace("/services/", "/other/");
    assert_eq!(post(&wrong, &[JSON], &ok.to_string()).await.0, 404);
    r.script([Scripted::rate_limited(30)]);
    assert_eq!(post(&r.url(), &[JSON], &ok.to_string()).await.0, 429);
    assert_eq!(post(&r.url(), &[JSON], &ok.to_string()).await.0, 200);
    assert_eq!(r.accepted().len(), 2);
    assert_eq!(r.received().len(), 8);
}

#[tokio::test]
async fn pagerduty_checks_events_and_follows_incidents() {
    let key = "R0UT1NGKEY0123456789abcdefABCDEF";
    let r = Receiver::start(Contract::PagerDuty {
        routing_key: key.into(),
    })
    .await
    .unwrap();
    let resolve = json!({"routing_key": key, "event_action": "resolve", "dedup_key": "i-1"});
    let (s, body) = post(&r.url(), &[JSON], &resolve.to_string()).await;
    assert_eq!(s, 202, "PagerDuty accepts a resolve it cannot match");
    assert!(body.contains("success"));
    assert!(
        r.received()[0]
            .problem
            .as_deref()
            .unwrap()
            .contains("before any trigger")
    );
    let trigger = json!({"routing_key": key, "event_action": "trigger", "dedup_key": "i-1",
        "payload": {"summary": "drift", "source": "steward", "severity": "warning"}});
    assert_eq!(post(&r.url(), &[JSON], &trigger.to_string()).await.0, 202);
    assert_eq!(r.incident_state("i-1").as_deref(), Some("triggered"));
    assert_eq!(post(&r.url(), &[JSON], &resolve.to_string()).await.0, 202);
    assert_eq!(r.incident_state("i-1").as_deref(), Some("resolved"));
    let mut bad = trigger.clone();
    bad["payload"]["severity"] = json!("high");
    let (s, body) = post(&r.url(), &[JSON], &bad.to_string()).await;
    assert_eq!(s, 400);
    assert!(
        body.contains("invalid event") && body.contains("severity"),
        "{body}"
    );
    let mut wrong = trigger.clone();
    wrong["routing_key"] = json!("x".repeat(32));
    assert_eq!(post(&r.url(), &[JSON], &wrong.to_string()).await.0, 400);
}

#[tokio::test]
async fn webhook_verifies_signatures_of_any_current_secret_and_flags_replays() {
    let old = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let new = "whsec_bmV3LXNlY3JldC1uZXctc2VjcmV0LW5ldyE=";
    let r = Receiver::start(Contract::Webhook {
        secrets: vec![new.into()],
    })
    .await
    .unwrap();
    let body = r#"{"type":"alert.triggered"}"#;
    let both = format!(
        "{} {}",
        sign(old, "msg_1", 1_700_000_000, body.as_bytes()).unwrap(),
        sign(new, "msg_1", 1_700_000_000, body.as_bytes()).unwrap()
    );
    let h = [
        JSON,
        ("webhook-id", "msg_1"),
        ("webhook-timestamp", "1700000000"),
        ("webhook-signature", both.as_str()),
    ];
    assert_eq!(post(&r.url(), &h, body).await.0, 200);
    assert_eq!(post(&r.url(), &h, body).await.0, 200);
    assert!(r.received()[1].duplicate, "a redelivery is recognised");
    let only_old = sign(old, "msg_2", 1_700_000_000, body.as_bytes()).unwrap();
    let h2 = [
        JSON,
        ("webhook-id", "msg_2"),
        ("webhook-timestamp", "1700000000"),
        ("webhook-signature", only_old.as_str()),
    ];
    assert_eq!(post(&r.url(), &h2, body).await.0, 401);
    let tampered = [
        JSON,
        ("webhook-id", "msg_1"),
        ("webhook-timestamp", "1700000001"),
        ("webhook-signature", both.as_str()),
    ];
    assert_eq!(post(&r.url(), &tampered, body).await.0, 401);
    assert_eq!(post(&r.url(), &[JSON], body).await.0, 400);
}
