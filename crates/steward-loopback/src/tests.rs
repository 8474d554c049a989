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

#[tokio::test]
async fn kserve_applies_merge_patches_under_resource_version_and_refuses_stale_ones() {
    let r = Receiver::start(Contract::Kserve {
        namespace: "fraud".into(),
        name: "scorer".into(),
        storage_uri: "s3://m/v2".into(),
        token: Some("k8s-token".into()),
    })
    .await
    .unwrap();
    let c = reqwest::Client::new();
    let auth = ("authorization", "Bearer k8s-token");
    let get = |auth: bool| {
        let mut q = c.get(r.url());
        if auth {
            q = q.header("authorization", "Bearer k8s-token");
        }
        q.send()
    };
    assert_eq!(get(false).await.unwrap().status().as_u16(), 401);
    let isvc: Value =
        serde_json::from_str(&get(true).await.unwrap().text().await.unwrap()).unwrap();
    assert_eq!(isvc["metadata"]["resourceVersion"], "1");
    let patch = |rv: &str, body: Value, ctype: &str| {
        let mut body = body;
        body["metadata"] = json!({"resourceVersion": rv});
        c.patch(r.url())
            .header(auth.0, auth.1)
            .header("content-type", ctype)
            .body(body.to_string())
            .send()
    };
    let merge = "application/merge-patch+json";
    // A canary: the new storage URI takes 10%, the rolled-out revision the rest.
    let canary = json!({"spec": {"predictor": {"canaryTrafficPercent": 10, "model": {"storageUri": "s3://m/v3"}}}});
    let wrong_type = patch("1", canary.clone(), "application/json")
        .await
        .unwrap();
    assert_eq!(wrong_type.status().as_u16(), 415);
    let ok = patch("1", canary, merge).await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let after: Value = serde_json::from_str(&ok.text().await.unwrap()).unwrap();
    assert_eq!(after["metadata"]["resourceVersion"], "2");
    assert_eq!(
        after["spec"]["predictor"]["model"]["modelFormat"]["name"], "sklearn",
        "a merge patch keeps what it does not name"
    );
    assert_eq!(
        r.traffic(),
        vec![("s3://m/v3".to_string(), 10), ("s3://m/v2".to_string(), 90)]
    );
    // A writer that read revision 1 is refused, as the API server refuses it.
    let stale = json!({"spec": {"predictor": {"canaryTrafficPercent": 50}}});
    let refused = patch("1", stale, merge).await.unwrap();
    assert_eq!(refused.status().as_u16(), 409);
    let body: Value = serde_json::from_str(&refused.text().await.unwrap()).unwrap();
    assert_eq!(
        (body["kind"].as_str(), body["reason"].as_str()),
        (Some("Status"), Some("Conflict"))
    );
    assert_eq!(r.traffic()[0].1, 10, "a refused patch changes nothing");
    // Back to v2 with the canary field removed (null deletes it): v2 takes all traffic and the
    // spec names it, so the spec and the traffic agree.
    let back = json!({"spec": {"predictor": {"canaryTrafficPercent": null, "model": {"storageUri": "s3://m/v2"}}}});
    assert_eq!(
        patch("2", back, merge).await.unwrap().status().as_u16(),
        200
    );
    let isvc = r.inference_service();
    assert!(
        isvc["spec"]["predictor"]
            .get("canaryTrafficPercent")
            .is_none()
    );
    assert_eq!(r.traffic(), vec![("s3://m/v2".to_string(), 100)]);
}

#[tokio::test]
async fn seldon_accepts_whole_experiments_by_server_side_apply_and_refuses_the_rest() {
    let r = Receiver::start(Contract::Seldon {
        namespace: "fraud".into(),
        name: "scorer".into(),
        token: None,
    })
    .await
    .unwrap();
    let c = reqwest::Client::new();
    assert_eq!(c.get(r.url()).send().await.unwrap().status().as_u16(), 404);
    let apply = |body: Value, ctype: &str, query: &str| {
        c.patch(format!("{}{query}", r.url()))
            .header("content-type", ctype)
            .body(body.to_string())
            .send()
    };
    let ssa = "application/apply-patch+yaml";
    let exp = |spec: Value| {
        json!({"apiVersion": "mlops.seldon.io/v1alpha1", "kind": "Experiment",
            "metadata": {"name": "scorer"}, "spec": spec})
    };
    let split = exp(
        json!({"candidates": [{"name": "m-v2", "weight": 90}, {"name": "m-v3", "weight": 10}],
        "mirror": {"name": "m-v4", "percent": 20}}),
    );
    let q = "?fieldManager=steward&force=true";
    assert_eq!(
        apply(split.clone(), "application/merge-patch+json", q)
            .await
            .unwrap()
            .status()
            .as_u16(),
        415
    );
    assert_eq!(
        apply(split.clone(), ssa, "")
            .await
            .unwrap()
            .status()
            .as_u16(),
        400,
        "fieldManager"
    );
    let bad = exp(json!({"candidates": []}));
    assert_eq!(apply(bad, ssa, q).await.unwrap().status().as_u16(), 422);
    let bad = exp(json!({"candidates": [{"name": "m-v2", "weight": 1}], "default": "m-v9"}));
    assert_eq!(apply(bad, ssa, q).await.unwrap().status().as_u16(), 422);
    assert_eq!(apply(split, ssa, q).await.unwrap().status().as_u16(), 201);
    assert_eq!(
        r.traffic(),
        vec![
            ("m-v2".into(), 90),
            ("m-v3".into(), 10),
            ("mirror:m-v4".into(), 20)
        ]
    );
    // A second apply replaces the spec: the mirror left out is gone.
    let alone = exp(json!({"candidates": [{"name": "m-v2", "weight": 100}]}));
    assert_eq!(apply(alone, ssa, q).await.unwrap().status().as_u16(), 200);
    assert_eq!(r.traffic(), vec![("m-v2".into(), 100)]);
    let got: Value =
        serde_json::from_str(&c.get(r.url()).send().await.unwrap().text().await.unwrap()).unwrap();
    assert_eq!(got["metadata"]["resourceVersion"], "2");
}
