//! The outbox relay end to end: an evaluated window's alert (and the incident's acknowledgement
//! and resolution) delivered through GraphQL's `deliverNow` to loopback receivers that enforce
//! Slack's, PagerDuty's and Standard Webhooks' contracts, on the app's driven clock: backoff and
//! `Retry-After`, dead letter and replay, order per incident, a relay killed mid-delivery, key
//! rotation, secrets that never come back out, and private addresses refused by default.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use steward_domain::Role;
use steward_loopback::{Contract, Receiver, Scripted};
use steward_service::OutboxSettings;

use crate::app::*;

const PUT_TARGET: &str = "mutation($i: PutDeliveryTargetInput!) { putDeliveryTarget(input: $i) { name kind endpoint hasSecret rotating } }";
const DELIVER: &str = "mutation { deliverNow { claimed delivered retrying dead } }";
const ACTIONS: &str = "query($m: ID!) { pendingActions(modelId: $m) { id kind status target attempts nextAttemptAt lastError incidentId
    deliveries { attempt at statusCode latencyMs outcome detail responseExcerpt } } }";
const ROUTING_KEY: &str = "R0UT1NGKEY0123456789abcdefABCDEF";
const SECRET_A: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const SECRET_B: &str = "whsec_bmV3LXNlY3JldC1uZXctc2VjcmV0LW5ldyE=";

/// A seeded tenant (one incident, its alert pending for `ml-monitoring`) with the tokens the
/// tests use.
struct World {
    app: TestApp,
    seeded: Seeded,
    officer: String,
    sre: String,
}

async fn world_with(app: TestApp) -> World {
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let seeded = seed(&app, &owner).await;
    World {
        officer: app.token("acme", &[Role::GovernanceOfficer]),
        sre: app.token("acme", &[Role::Sre]),
        app,
        seeded,
    }
}

async fn world() -> World {
    world_with(TestApp::new().await).await
}

impl World {
    /// Points `ml-monitoring` (the channel the seeded policy alerts) at `receiver`.
    async fn target(&self, kind: &str, receiver: &Receiver, secret: Option<&str>) -> Value {
        self.put(kind, &receiver.url(), secret, false).await
    }

    async fn put(&self, kind: &str, url: &str, secret: Option<&str>, rotate: bool) -> Value {
        let v = self
            .app
            .ok(
                &self.officer,
                PUT_TARGET,
                json!({"i": {"name": "ml-monitoring", "kind": kind, "url": url, "secret": secret,
                       "rotate": rotate}}),
            )
            .await;
        v["putDeliveryTarget"].clone()
    }

    async fn deliver(&self) -> Value {
        self.app.ok(&self.sre, DELIVER, json!({})).await["deliverNow"].clone()
    }

    /// The model's actions, oldest first.
    async fn actions(&self) -> Vec<Value> {
        let v = self
            .app
            .ok(&self.sre, ACTIONS, json!({"m": self.seeded.model}))
            .await;
        let mut list = v["pendingActions"].as_array().unwrap().clone();
        list.reverse();
        list
    }

    async fn action(&self, id: &str) -> Value {
        let list = self.actions().await;
        list.into_iter()
            .find(|a| a["id"] == id)
            .unwrap_or_else(|| panic!("no action {id}"))
    }

    /// `acknowledge` or `resolve` the seeded incident.
    async fn incident(&self, verb: &str) {
        let q = format!(
            "mutation($i: IncidentNoteInput!) {{ {verb}Incident(input: $i) {{ status }} }}"
        );
        let i = json!({"i": {"incidentId": self.seeded.incident, "note": "seen by the test"}});
        self.app.ok(&self.sre, &q, i).await;
    }

    fn advance(&self, secs: i64) {
        self.app.clock.advance(chrono::Duration::seconds(secs));
    }
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn an_alert_reaches_slack_with_text_blocks_and_the_statistics_behind_it() {
    let w = world().await;
    let slack = Receiver::start(Contract::Slack).await.unwrap();
    let t = w.target("SLACK", &slack, None).await;
    assert_eq!(
        t,
        json!({"name": "ml-monitoring", "kind": "SLACK", "endpoint": format!("http://{}/…", slack.addr()),
               "hasSecret": false, "rotating": false})
    );
    assert_eq!(
        w.deliver().await,
        json!({"claimed": 1, "delivered": 1, "retrying": 0, "dead": 0})
    );
    let got = slack.accepted();
    assert_eq!(got.len(), 1, "{:?}", slack.received());
    let msg = got[0].json.clone().unwrap();
    assert!(
        msg["text"].as_str().unwrap().starts_with("[warning] "),
        "{msg}"
    );
    let blocks = msg["blocks"].to_string();
    assert!(blocks.contains("*Severity*\\nwarning"), "{blocks}");
    assert!(blocks.contains(&w.seeded.incident), "{blocks}");
    assert!(blocks.contains("composite drift"), "{blocks}");
    let a = w.action(&w.seeded.action).await;
    assert_eq!(a["status"], "DELIVERED");
    assert_eq!(a["attempts"], 1);
    let d = &a["deliveries"][0];
    assert_eq!(
        (&d["statusCode"], &d["outcome"], &d["responseExcerpt"]),
        (&json!(200), &json!("DELIVERED"), &json!("ok"))
    );
    assert!(d["latencyMs"].as_i64().unwrap() >= 0);
    assert_eq!(
        w.deliver().await["claimed"],
        0,
        "a delivered action is not sent again"
    );
}

#[tokio::test]
async fn pagerduty_is_triggered_acknowledged_and_resolved_under_the_incident_id() {
    let w = world().await;
    let pd = Receiver::start(Contract::PagerDuty {
        routing_key: ROUTING_KEY.into(),
    })
    .await
    .unwrap();
    w.target("PAGER_DUTY", &pd, Some(ROUTING_KEY)).await;
    w.deliver().await;
    w.incident("acknowledge").await;
    w.deliver().await;
    w.incident("resolve").await;
    w.deliver().await;
    let got = pd.accepted();
    let seen: Vec<(&str, &str)> = got
        .iter()
        .map(|r| {
            let e = r.json.as_ref().unwrap();
            (
                e["event_action"].as_str().unwrap(),
                e["dedup_key"].as_str().unwrap(),
            )
        })
        .collect();
    let i = w.seeded.incident.as_str();
    assert_eq!(
        seen,
        [("trigger", i), ("acknowledge", i), ("resolve", i)],
        "{:?}",
        pd.received()
    );
    assert!(got.iter().all(|r| r.problem.is_none()));
    assert_eq!(pd.incident_state(i).as_deref(), Some("resolved"));
    let trigger = got[0].json.as_ref().unwrap();
    assert_eq!(trigger["payload"]["severity"], "warning");
    assert!(
        trigger["payload"]["custom_details"]["statistics"][0]["compositeScore"].is_number(),
        "{trigger}"
    );
    let kinds: Vec<(String, String)> = w
        .actions()
        .await
        .iter()
        .map(|a| (a["kind"].to_string(), a["status"].to_string()))
        .collect();
    assert_eq!(
        kinds.iter().filter(|(_, s)| s == "\"DELIVERED\"").count(),
        3,
        "{kinds:?}"
    );
}

#[tokio::test]
async fn an_invalid_event_is_dead_at_once_and_a_rate_limit_waits_for_retry_after() {
    let w = world().await;
    let pd = Receiver::start(Contract::PagerDuty {
        routing_key: ROUTING_KEY.into(),
    })
    .await
    .unwrap();
    // PagerDuty answers 400 to a key it does not know: retrying cannot help.
    w.target("PAGER_DUTY", &pd, Some(&"Z".repeat(32))).await;
    assert_eq!(w.deliver().await["dead"], 1);
    let a = w.action(&w.seeded.action).await;
    assert_eq!((&a["status"], &a["attempts"]), (&json!("DEAD"), &json!(1)));
    let d = &a["deliveries"][0];
    assert_eq!(d["statusCode"], 400);
    assert!(
        d["responseExcerpt"]
            .as_str()
            .unwrap()
            .contains("invalid event"),
        "{d}"
    );
    // Replayed towards Slack, which rate-limits the first try for two minutes.
    let slack = Receiver::start(Contract::Slack).await.unwrap();
    w.target("SLACK", &slack, None).await;
    slack.script([Scripted::rate_limited(120)]);
    let replay = "mutation($a: ID!) { replayAction(actionId: $a) { status attempts } }";
    let v = w
        .app
        .ok(&w.sre, replay, json!({"a": w.seeded.action}))
        .await;
    assert_eq!(
        v["replayAction"],
        json!({"status": "PENDING", "attempts": 1})
    );
    assert_eq!(w.deliver().await["retrying"], 1);
    let a = w.action(&w.seeded.action).await;
    let tried = time(&a["deliveries"][1]["at"]);
    let next = time(&a["nextAttemptAt"]);
    assert!(
        next - tried >= chrono::Duration::seconds(120),
        "{tried} -> {next}"
    );
    w.advance(60);
    assert_eq!(w.deliver().await["claimed"], 0, "Retry-After is honoured");
    w.advance(61);
    assert_eq!(w.deliver().await["delivered"], 1);
    assert_eq!(slack.accepted().len(), 1);
    let a = w.action(&w.seeded.action).await;
    assert_eq!(
        (&a["status"], &a["attempts"]),
        (&json!("DELIVERED"), &json!(3))
    );
    // A delivered action cannot be replayed.
    let v = w
        .app
        .gql(&w.sre, replay, json!({"a": w.seeded.action}))
        .await;
    assert_eq!(code(&v), "CONFLICT", "{v}");
}

#[tokio::test]
async fn after_max_attempts_an_action_is_dead_until_an_sre_replays_it() {
    let app = TestApp::with_outbox(OutboxSettings {
        allow_private_networks: true,
        max_attempts: 3,
        ..OutboxSettings::default()
    })
    .await;
    let w = world_with(app).await;
    let hook = Receiver::start(Contract::Webhook {
        secrets: vec![SECRET_A.into()],
    })
    .await
    .unwrap();
    w.target("WEBHOOK", &hook, Some(SECRET_A)).await;
    hook.set_down(true);
    for _ in 0..3 {
        w.deliver().await;
        w.advance(600);
    }
    let a = w.action(&w.seeded.action).await;
    assert_eq!((&a["status"], &a["attempts"]), (&json!("DEAD"), &json!(3)));
    let codes: Vec<&Value> = a["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["statusCode"])
        .collect();
    assert_eq!(codes, [&json!(503), &json!(503), &json!(503)]);
    assert_eq!(
        w.deliver().await["claimed"],
        0,
        "dead letters are not retried"
    );
    // Only SREs replay: a model owner is refused.
    let owner = w.app.token("acme", &[Role::ModelOwner]);
    let replay = "mutation($a: ID!) { replayAction(actionId: $a) { status } }";
    let v = w
        .app
        .gql(&owner, replay, json!({"a": w.seeded.action}))
        .await;
    assert_eq!(code(&v), "FORBIDDEN");
    w.app
        .ok(&w.sre, replay, json!({"a": w.seeded.action}))
        .await;
    hook.set_down(false);
    assert_eq!(w.deliver().await["delivered"], 1);
    let got = hook.accepted();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].header("webhook-id"), Some(w.seeded.action.as_str()));
    let body = got[0].json.as_ref().unwrap();
    assert_eq!(body["type"], "alert.triggered");
    assert_eq!(body["data"]["incident"], w.seeded.incident.as_str());
}

#[tokio::test]
async fn a_receiver_down_ten_minutes_gets_trigger_acknowledge_and_resolve_in_order() {
    let w = world().await;
    let pd = Receiver::start(Contract::PagerDuty {
        routing_key: ROUTING_KEY.into(),
    })
    .await
    .unwrap();
    w.target("PAGER_DUTY", &pd, Some(ROUTING_KEY)).await;
    pd.set_down(true);
    w.deliver().await;
    // The incident moves on while PagerDuty is away; both changes are due at once, the
    // trigger is backing off: the relay must not send them first.
    w.incident("acknowledge").await;
    w.incident("resolve").await;
    for _ in 0..20 {
        w.advance(30);
        w.deliver().await;
    }
    assert!(pd.accepted().is_empty());
    pd.set_down(false);
    for _ in 0..60 {
        w.advance(30);
        w.deliver().await;
        if pd.accepted().len() == 3 {
            break;
        }
    }
    let order: Vec<String> = pd
        .accepted()
        .iter()
        .map(|r| r.json.as_ref().unwrap()["event_action"].to_string())
        .collect();
    assert_eq!(order, ["\"trigger\"", "\"acknowledge\"", "\"resolve\""]);
    assert!(
        pd.received().iter().all(|r| r.problem.is_none()),
        "no event reached PagerDuty out of order"
    );
    // Every attempt was recorded: the trigger's many 503s, then one success each.
    for a in w.actions().await {
        if a["target"] != "ml-monitoring" {
            continue;
        }
        let deliveries = a["deliveries"].as_array().unwrap();
        assert_eq!(deliveries.len() as i64, a["attempts"].as_i64().unwrap());
        assert_eq!(a["status"], "DELIVERED", "{a}");
        assert_eq!(deliveries.last().unwrap()["outcome"], "DELIVERED");
    }
    let trigger = w.action(&w.seeded.action).await;
    assert!(trigger["attempts"].as_i64().unwrap() > 3, "{trigger}");
}

#[tokio::test]
async fn a_relay_killed_mid_delivery_redelivers_with_the_same_webhook_id_after_its_lease() {
    let w = world().await;
    let hook = Receiver::start(Contract::Webhook {
        secrets: vec![SECRET_A.into()],
    })
    .await
    .unwrap();
    w.target("WEBHOOK", &hook, Some(SECRET_A)).await;
    hook.script([Scripted::Stall(Duration::from_secs(30))]);
    let service = w.app.service.clone();
    let relay = tokio::spawn(async move { service.run_relay_pass().await });
    for _ in 0..200 {
        if !hook.received().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(hook.received().len(), 1, "the request is in flight");
    // The relay dies with its request in flight: nothing recorded, the lease committed.
    relay.abort();
    let _ = relay.await;
    let a = w.action(&w.seeded.action).await;
    assert_eq!(
        (&a["status"], &a["attempts"]),
        (&json!("PENDING"), &json!(0))
    );
    assert_eq!(
        w.deliver().await["claimed"],
        0,
        "another relay waits for the lease"
    );
    w.advance(61);
    assert_eq!(w.deliver().await["delivered"], 1);
    let ids: Vec<Option<String>> = hook
        .received()
        .iter()
        .map(|r| r.header("webhook-id").map(str::to_owned))
        .collect();
    assert_eq!(
        ids,
        [Some(w.seeded.action.clone()), Some(w.seeded.action.clone())],
        "the receiver can drop the duplicate by its webhook-id"
    );
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_old_one_until_the_next_change() {
    let w = world().await;
    // The receiver has already moved to the new secret.
    let hook = Receiver::start(Contract::Webhook {
        secrets: vec![SECRET_B.into()],
    })
    .await
    .unwrap();
    w.target("WEBHOOK", &hook, Some(SECRET_A)).await;
    let t = w.put("WEBHOOK", &hook.url(), Some(SECRET_B), true).await;
    assert_eq!(t["rotating"], true);
    assert_eq!(w.deliver().await["delivered"], 1);
    let sig = hook.accepted()[0]
        .header("webhook-signature")
        .unwrap()
        .to_string();
    assert_eq!(sig.split(' ').count(), 2, "{sig}");
    // A receiver still on the old secret verifies the same delivery too.
    let r = &hook.accepted()[0];
    let old = steward_loopback::sign(
        SECRET_A,
        r.header("webhook-id").unwrap(),
        r.header("webhook-timestamp").unwrap().parse().unwrap(),
        r.body.as_bytes(),
    )
    .unwrap();
    assert!(sig.split(' ').any(|s| s == old));
    // Put again without rotating: only the new secret signs; an old-secret receiver refuses.
    let t = w.put("WEBHOOK", &hook.url(), Some(SECRET_B), false).await;
    assert_eq!(t["rotating"], false);
    hook.set_secrets(vec![SECRET_A.into()]);
    w.incident("acknowledge").await;
    assert_eq!(w.deliver().await["dead"], 1, "401 is not retried");
    assert_eq!(hook.received().last().unwrap().status, 401);
}

#[tokio::test]
async fn secrets_go_in_and_never_come_out_of_the_api_or_the_audit_log() {
    let w = world().await;
    let slack_url = "https://hooks.slack.com/services/T0SECRET/B0SECRET/xoxbSuperSecretPath";
    let put = |name: &str, kind: &str, url: &str, secret: Option<&str>| json!({"i": {"name": name, "kind": kind, "url": url, "secret": secret}});
    for vars in [
        put("chat", "SLACK", slack_url, None),
        put(
            "hook",
            "WEBHOOK",
            "https://hooks.example.com/x",
            Some(SECRET_B),
        ),
        put(
            "pager",
            "PAGER_DUTY",
            "https://events.pagerduty.com/v2/enqueue",
            Some(ROUTING_KEY),
        ),
    ] {
        w.app.ok(&w.officer, PUT_TARGET, vars).await;
    }
    let listed = w
        .app
        .ok(
            &w.sre,
            "{ deliveryTargets { id name kind endpoint description hasSecret rotating createdBy createdAt updatedAt disabledAt } }",
            json!({}),
        )
        .await
        .to_string();
    let audit = w
        .app
        .ok(
            &w.officer,
            "{ auditEvents(first: 100) { nodes { action payload canonical } } }",
            json!({}),
        )
        .await
        .to_string();
    for secret in [
        "T0SECRET/B0SECRET",
        "xoxbSuperSecretPath",
        &SECRET_B["whsec_".len()..],
        ROUTING_KEY,
    ] {
        assert!(!listed.contains(secret), "{secret} listed: {listed}");
        assert!(!audit.contains(secret), "{secret} in the audit log");
    }
    assert!(listed.contains("https://hooks.slack.com"), "{listed}");
    assert!(audit.contains("hmac-sha256"), "redacted, not dropped");
    // Bad input names the field and writes nothing.
    let bad = w
        .app
        .gql(
            &w.officer,
            PUT_TARGET,
            put(
                "pager2",
                "PAGER_DUTY",
                "https://events.pagerduty.com",
                Some("short"),
            ),
        )
        .await;
    assert_eq!(code(&bad), "INVALID", "{bad}");
    assert!(bad.to_string().contains("secret"), "{bad}");
    let names = w
        .app
        .ok(&w.sre, "{ deliveryTargets { name } }", json!({}))
        .await;
    assert_eq!(names["deliveryTargets"].as_array().unwrap().len(), 4);
    // SREs read targets but do not change them.
    let v = w
        .app
        .gql(&w.sre, PUT_TARGET, put("x", "SLACK", slack_url, None))
        .await;
    assert_eq!(code(&v), "FORBIDDEN");
}

#[tokio::test]
async fn a_disabled_target_holds_its_actions_until_it_is_put_again() {
    let w = world().await;
    let slack = Receiver::start(Contract::Slack).await.unwrap();
    w.target("SLACK", &slack, None).await;
    w.app
        .ok(
            &w.officer,
            "mutation { disableDeliveryTarget(name: \"ml-monitoring\") { disabledAt } }",
            json!({}),
        )
        .await;
    assert_eq!(w.deliver().await["claimed"], 0);
    assert_eq!(w.action(&w.seeded.action).await["status"], "PENDING");
    w.target("SLACK", &slack, None).await;
    assert_eq!(w.deliver().await["delivered"], 1);
    assert_eq!(slack.accepted().len(), 1);
}

#[tokio::test]
async fn private_addresses_are_refused_unless_the_operator_allows_them() {
    let w = world_with(TestApp::with_outbox(OutboxSettings::default()).await).await;
    let slack = Receiver::start(Contract::Slack).await.unwrap();
    w.target("SLACK", &slack, None).await;
    assert_eq!(w.deliver().await["dead"], 1);
    assert!(slack.received().is_empty(), "nothing was sent");
    let a = w.action(&w.seeded.action).await;
    let detail = a["deliveries"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("not a public address"), "{detail}");
    // A name that resolves to loopback is refused by the resolver, the address checked being
    // the one connected to.
    let url = slack.url().replace("127.0.0.1", "localhost");
    w.put("SLACK", &url, None, false).await;
    let replay = "mutation($a: ID!) { replayAction(actionId: $a) { status } }";
    w.app
        .ok(&w.sre, replay, json!({"a": w.seeded.action}))
        .await;
    assert_eq!(w.deliver().await["dead"], 1);
    assert!(slack.received().is_empty());
    let a = w.action(&w.seeded.action).await;
    let detail = a["deliveries"][1]["detail"].as_str().unwrap();
    assert!(detail.contains("not a public address"), "{detail}");
}
