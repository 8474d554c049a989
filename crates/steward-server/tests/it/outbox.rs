//! The outbox relay in real `steward serve` processes: two replicas on one database (SQLite, or
//! PostgreSQL when `STEWARD_TEST_PG_URL` is set) both relaying; first running quietly (every
//! alert delivered exactly once: the leases hold), then with one replica killed by SIGKILL again
//! and again while a slow receiver holds its requests (every alert delivered at least once; a
//! duplicate only where a replica died between the receiver's acceptance and its own record, and
//! the receiver recognises it by its `webhook-id`).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use steward_loopback::{Contract, Receiver};
use steward_store::testing::TestDb;

use crate::monitoring::{batch, last_hour, monitored, send};
use crate::serve::{Deployment, Process, gql};

pub(crate) const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// Hourly windows; every window evaluated alerts the `hooks` channel.
const POLICY: &str = r#"
fn schedule() { "hourly" }

fn on_window(ctx) {
    [alert("warning", `${ctx.model.name}: window evaluated`, "hooks")]
}
"#;
const BATCH: &str = "4";

/// Publishes `POLICY` as the tenant default and points `hooks` at `receiver`.
pub(crate) async fn set_up(d: &Deployment, p: &Process, officer: &str, receiver: &Receiver) {
    let author = d.token("acme", "policy_author");
    let v = gql(
        &p.url,
        &author,
        "mutation { createPolicy(input: {name: \"every-window\"}) { id } }",
        json!({}),
    )
    .await;
    let policy = v["data"]["createPolicy"]["id"].clone();
    for (q, vars) in [
        (
            "mutation($p: ID!, $s: String!) { proposePolicyRevision(input: {policyId: $p, source: $s}) { created } }",
            json!({"p": policy, "s": POLICY}),
        ),
        (
            "mutation($p: ID!) { publishPolicyRevision(input: {policyId: $p, number: 1}) { number } }",
            json!({"p": policy}),
        ),
        (
            "mutation($p: ID!) { bindPolicy(input: {policyId: $p, tenantDefault: true}) { id } }",
            json!({"p": policy}),
        ),
    ] {
        let v = gql(&p.url, &author, q, vars).await;
        assert!(v.get("errors").is_none(), "{v}");
    }
    set_target(p, officer, receiver).await;
}

/// Points `hooks` at `receiver` (enabling it).
async fn set_target(p: &Process, officer: &str, receiver: &Receiver) {
    let v = gql(
        &p.url,
        officer,
        "mutation($u: String!, $s: String!) { putDeliveryTarget(input: {name: \"hooks\", kind: WEBHOOK, url: $u, secret: $s}) { name } }",
        json!({"u": receiver.url(), "s": SECRET}),
    )
    .await;
    assert!(v.get("errors").is_none(), "{v}");
}

/// `models` monitored models with `hours` evaluated windows each: as many alerts.
pub(crate) async fn alerts(
    p: &Process,
    owner: &str,
    sre: &str,
    prefix: &str,
    models: usize,
    hours: i64,
) {
    for m in 0..models {
        // The windows wait a week for late rows; `evaluateNow` closes them.
        let version = monitored(p, owner, &format!("{prefix}{m}"), 7 * 86_400).await;
        for h in 0..hours {
            let at = (last_hour() - chrono::Duration::hours(h) + chrono::Duration::minutes(5))
                .to_rfc3339();
            let key = format!("{prefix}{m}-{h}");
            assert!(
                send(&p.url, owner, &version, &key, &batch(&at))
                    .await
                    .is_some()
            );
        }
        let v = gql(
            &p.url,
            sre,
            "mutation($v: ID!) { evaluateNow(modelVersionId: $v) { windowId } }",
            json!({"v": version}),
        )
        .await;
        assert_eq!(
            v["data"]["evaluateNow"].as_array().map(Vec::len),
            Some(usize::try_from(hours).unwrap()),
            "{v}"
        );
    }
}

/// The tenant's actions, by id: (status, attempts, recorded deliveries).
async fn actions(p: &Process, sre: &str) -> BTreeMap<String, (String, i64, usize)> {
    let v = gql(
        &p.url,
        sre,
        "{ pendingActions(first: 500) { id status attempts deliveries { outcome } } }",
        json!({}),
    )
    .await;
    v["data"]["pendingActions"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_string(),
                (
                    a["status"].as_str().unwrap().to_string(),
                    a["attempts"].as_i64().unwrap(),
                    a["deliveries"].as_array().unwrap().len(),
                ),
            )
        })
        .collect()
}

/// Waits until all `n` actions are delivered.
pub(crate) async fn delivered(
    p: &Process,
    sre: &str,
    n: usize,
) -> BTreeMap<String, (String, i64, usize)> {
    let mut last = BTreeMap::new();
    for _ in 0..600 {
        last = actions(p, sre).await;
        if last.len() == n && last.values().all(|(s, ..)| s == "DELIVERED") {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not all {n} actions delivered: {last:?}");
}

/// How many times the receiver accepted each `webhook-id`.
fn received(receiver: &Receiver) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in receiver.accepted() {
        let id = r.header("webhook-id").unwrap_or_default().to_string();
        *out.entry(id).or_default() += 1;
    }
    out
}

#[tokio::test]
async fn two_relaying_replicas_deliver_each_alert_once_and_survive_sigkill_losing_none() {
    let db = TestDb::new().await;
    let d = Deployment::on(&db);
    let env = [
        ("STEWARD_MONITORING_SCHEDULER_INTERVAL_MS", "0"),
        ("STEWARD_OUTBOX_INTERVAL_MS", "20"),
        ("STEWARD_OUTBOX_ALLOW_PRIVATE_NETWORKS", "true"),
        ("STEWARD_OUTBOX_LEASE_SECONDS", "2"),
        ("STEWARD_OUTBOX_BATCH", BATCH),
    ];
    let a = d.serve_with(&env);
    let mut b = d.serve_with(&env);
    let (owner, officer) = d.tenant(&a).await;
    let sre = d.token("acme", "sre");
    let hook = Receiver::start(Contract::Webhook {
        secrets: vec![SECRET.into()],
    })
    .await
    .unwrap();
    set_up(&d, &a, &officer, &hook).await;

    // Quietly: both relays race for the same rows; each alert reaches the receiver once.
    alerts(&b, &owner, &sre, "quiet", 4, 3).await;
    let done = delivered(&a, &sre, 12).await;
    let got = received(&hook);
    assert_eq!(got.len(), 12, "{got:?}");
    assert!(got.values().all(|n| *n == 1), "no double delivery: {got:?}");
    assert!(
        done.values()
            .all(|(_, attempts, rows)| *attempts == 1 && *rows == 1)
    );

    // Under fire: 24 alerts held back (their target disabled) and then let go at once; the
    // receiver holds each answer 300 ms; replica b is killed every 400 ms.
    let v = gql(
        &a.url,
        &officer,
        "mutation { disableDeliveryTarget(name: \"hooks\") { name } }",
        json!({}),
    )
    .await;
    assert!(v.get("errors").is_none(), "{v}");
    alerts(&a, &owner, &sre, "loud", 6, 4).await;
    hook.set_delay(Duration::from_millis(300));
    set_target(&a, &officer, &hook).await;
    let mut kills = 0;
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        b.child.kill().unwrap();
        b.child.wait().unwrap();
        kills += 1;
        b = d.serve_with(&env);
    }
    let done = delivered(&a, &sre, 36).await;
    let got = received(&hook);
    assert!(
        done.keys().all(|id| got.contains_key(id)),
        "every alert reached the receiver: {done:?} / {got:?}"
    );
    for (id, (_, attempts, rows)) in &done {
        assert_eq!(
            usize::try_from(*attempts).unwrap(),
            *rows,
            "{id}: every recorded attempt is listed"
        );
    }
    let doubled: usize = got.values().map(|n| n - 1).sum();
    let batch: usize = BATCH.parse().unwrap();
    assert!(
        doubled <= kills * batch,
        "a duplicate only for what a killed relay had in flight: {doubled} after {kills} kills"
    );
    let flagged = hook.accepted().iter().filter(|r| r.duplicate).count();
    assert_eq!(flagged, doubled, "the receiver recognised each by its id");
    assert!(
        doubled > 0,
        "some kill found requests in flight (else this test proves nothing about them)"
    );
    eprintln!("{kills} kills, {doubled} duplicate deliveries of 36 alerts");
    drop(b);
}
