//! Holds: an SRE puts a drifting model on hold; its retraining decision is recorded as
//! suppressed with the hold's reason (on the action and the decision record) while its alert
//! still goes out; after the hold is lifted the next retraining goes; a hold with an end lapses
//! by itself; only SREs and governance officers hold, and every change is audited.

use axum::http::StatusCode;
use serde_json::{Value, json};
use steward_domain::Role;
use steward_service::monitoring::Clock;

use crate::app::*;
use crate::monitoring::{Monitored, monitored, rows, send};

/// Each window: an alert, and a retraining while the inputs drift.
const POLICY: &str = r#"
fn schedule() { "hourly" }
fn on_window(ctx) {
    if ctx.drift.composite < 0.3 { return []; }
    [alert("warning", "inputs drifting", "pager"),
     retrain(#{ orchestrator: "airflow", job: "retrain" })]
}
"#;
const PLACE: &str =
    "mutation($i: PlaceHoldInput!) { placeHold(input: $i) { id active until placedBy reason } }";
const LIFT: &str =
    "mutation($i: LiftHoldInput!) { liftHold(input: $i) { active liftedBy liftReason } }";

/// One drifted hourly window evaluated at `hour`; the model's actions of that window.
async fn window(app: &TestApp, m: &Monitored, hour: u32) -> Vec<Value> {
    app.clock
        .set(format!("2026-03-01T{hour:02}:30:00Z").parse().unwrap());
    let (s, v) = send(app, m, rows(200, 150.0, &["DE", "FR"], None, None), None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let next = app.clock.now() + chrono::Duration::minutes(36);
    app.clock.set(next);
    assert_eq!(app.service.run_scheduler_tick().await.unwrap().evaluated, 1);
    let v = app
        .ok(
            &m.owner,
            "query($m: ID!) { pendingActions(modelId: $m) { kind status lastError decisionRecordId windowId } }",
            json!({"m": m.model}),
        )
        .await;
    let all = v["pendingActions"].as_array().unwrap().clone();
    let newest = all[0]["windowId"].clone();
    all.into_iter()
        .filter(|a| a["windowId"] == newest)
        .collect()
}

/// The tenant's `pager` (Slack) and `airflow` (webhook) targets, at an address nobody serves:
/// the tests look at routing, not delivery.
async fn targets(app: &TestApp, officer: &str) {
    for (name, kind) in [("pager", "SLACK"), ("airflow", "WEBHOOK")] {
        let secret = (kind == "WEBHOOK").then_some("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        app.ok(
            officer,
            "mutation($i: PutDeliveryTargetInput!) { putDeliveryTarget(input: $i) { name } }",
            json!({"i": {"name": name, "kind": kind, "url": "http://127.0.0.1:9/x", "secret": secret}}),
        )
        .await;
    }
}

fn status_of<'a>(actions: &'a [Value], kind: &str) -> &'a Value {
    &actions.iter().find(|a| a["kind"] == kind).unwrap()["status"]
}

#[tokio::test]
async fn a_hold_suppresses_retraining_but_not_alerts_until_it_is_lifted_or_lapses() {
    let app = TestApp::new().await;
    let m = monitored(&app, "acme", POLICY, &[]).await;
    let sre = app.token("acme", &[Role::Sre]);
    let officer = app.token("acme", &[Role::GovernanceOfficer]);
    targets(&app, &officer).await;
    // Model owners do not hold; the reason is required.
    let v = app
        .gql(
            &m.owner,
            PLACE,
            json!({"i": {"modelId": m.model, "reason": "x"}}),
        )
        .await;
    assert_eq!(code(&v), "FORBIDDEN", "{v}");
    let v = app
        .gql(
            &sre,
            PLACE,
            json!({"i": {"modelId": m.model, "reason": " "}}),
        )
        .await;
    assert_eq!(code(&v), "INVALID", "{v}");

    let reason = "a marketing campaign skews this week's traffic: do not retrain on it";
    let h = app
        .ok(
            &sre,
            PLACE,
            json!({"i": {"modelId": m.model, "reason": reason}}),
        )
        .await;
    assert_eq!(h["placeHold"]["active"], true);
    let held = window(&app, &m, 13).await;
    assert_eq!(status_of(&held, "alert"), "PENDING", "alerts still go");
    assert_eq!(status_of(&held, "retrain"), "SUPPRESSED");
    let retrain = held.iter().find(|a| a["kind"] == "retrain").unwrap();
    assert!(
        retrain["lastError"].as_str().unwrap().contains(reason),
        "{retrain}"
    );
    let rec = app
        .ok(
            &sre,
            "query($i: ID!) { decisionRecord(id: $i) { outcome } }",
            json!({"i": retrain["decisionRecordId"]}),
        )
        .await;
    let suppressed = &rec["decisionRecord"]["outcome"]["suppressed"];
    assert_eq!(suppressed[0]["kind"], "retrain", "{rec}");
    assert!(suppressed[0]["reason"].as_str().unwrap().contains(reason));
    // Suppressed actions are never claimed.
    let pass = app
        .ok(&sre, "mutation { deliverNow { claimed } }", json!({}))
        .await;
    assert_eq!(pass["deliverNow"]["claimed"], 1, "only the alert: {pass}");

    let lifted = app
        .ok(
            &officer,
            LIFT,
            json!({"i": {"modelId": m.model, "reason": "campaign over"}}),
        )
        .await;
    assert_eq!(lifted["liftHold"]["active"], false);
    assert_eq!(lifted["liftHold"]["liftReason"], "campaign over");
    assert_eq!(status_of(&window(&app, &m, 14).await, "retrain"), "PENDING");
    let v = app
        .gql(
            &sre,
            LIFT,
            json!({"i": {"modelId": m.model, "reason": "again"}}),
        )
        .await;
    assert_eq!(code(&v), "NOT_FOUND", "no hold in force: {v}");

    // A hold with an end lapses by itself.
    let until = "2026-03-01T17:00:00Z";
    app.ok(
        &sre,
        PLACE,
        json!({"i": {"modelId": m.model, "reason": "until the backfill lands", "until": until}}),
    )
    .await;
    assert_eq!(
        status_of(&window(&app, &m, 15).await, "retrain"),
        "SUPPRESSED"
    );
    assert_eq!(status_of(&window(&app, &m, 16).await, "retrain"), "PENDING");
    let v = app
        .ok(
            &sre,
            "query($m: ID!) { holds(modelId: $m) { active reason liftedBy } }",
            json!({"m": m.model}),
        )
        .await;
    let holds = v["holds"].as_array().unwrap();
    assert_eq!(holds.len(), 2, "{v}");
    assert!(holds.iter().all(|h| h["active"] == false), "{v}");
    // Each change is one audit event of `model.hold`.
    let log = app
        .ok(
            &officer,
            "{ auditEvents(first: 100, filter: {action: \"model.hold\"}) { nodes { outcome } } }",
            json!({}),
        )
        .await;
    let outcomes: Vec<&str> = log["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "OK").count(), 3, "{log}");
}

#[tokio::test]
async fn a_retraining_budget_suppresses_runs_beyond_its_count_cooldown_and_cost() {
    let app = TestApp::new().await;
    let m = monitored(&app, "acme", POLICY, &[]).await;
    let officer = app.token("acme", &[Role::GovernanceOfficer]);
    let sre = app.token("acme", &[Role::Sre]);
    targets(&app, &officer).await;
    let set = "mutation($i: SetRetrainingBudgetInput!) { setRetrainingBudget(input: $i) { maxRuns periodHours cooldownHours maxCost costCurrency } }";
    // Bad budgets name the field.
    for (i, field) in [
        (json!({"modelId": m.model, "periodHours": 0}), "periodHours"),
        (json!({"modelId": m.model, "maxCost": 5.0}), "maxCost"),
        (json!({"modelId": m.model, "maxRuns": -1}), "maxRuns"),
    ] {
        let v = app.gql(&sre, set, json!({"i": i})).await;
        assert_eq!(code(&v), "INVALID", "{v}");
        assert!(v.to_string().contains(field), "{v}");
    }
    let v = app
        .gql(
            &officer,
            set,
            json!({"i": {"modelId": m.model, "maxRuns": 1}}),
        )
        .await;
    assert_eq!(
        code(&v),
        "FORBIDDEN",
        "model owners and SREs set budgets: {v}"
    );

    // Two runs a day, three hours apart at least.
    app.ok(
        &sre,
        set,
        json!({"i": {"modelId": m.model, "maxRuns": 2, "periodHours": 24, "cooldownHours": 3}}),
    )
    .await;
    assert_eq!(status_of(&window(&app, &m, 1).await, "retrain"), "PENDING");
    let cooling = window(&app, &m, 2).await;
    assert_eq!(status_of(&cooling, "retrain"), "SUPPRESSED");
    assert_eq!(
        status_of(&cooling, "alert"),
        "PENDING",
        "alerts are not budgeted"
    );
    let why = cooling.iter().find(|a| a["kind"] == "retrain").unwrap()["lastError"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(why.contains("cooling down"), "{why}");
    assert_eq!(status_of(&window(&app, &m, 4).await, "retrain"), "PENDING");
    let spent = window(&app, &m, 8).await;
    let why = spent.iter().find(|a| a["kind"] == "retrain").unwrap()["lastError"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(why.contains("2 of 2 runs"), "{why}");
    let rec = app
        .ok(
            &sre,
            "query($i: ID!) { decisionRecord(id: $i) { outcome } }",
            json!({"i": spent[0]["decisionRecordId"]}),
        )
        .await;
    assert_eq!(
        rec["decisionRecord"]["outcome"]["suppressed"][0]["kind"], "retrain",
        "{rec}"
    );

    // A cost ceiling: the runs' reported cost counts, in the budget's currency.
    app.ok(
        &sre,
        set,
        json!({"i": {"modelId": m.model, "periodHours": 24, "maxCost": 10.0, "costCurrency": "USD"}}),
    )
    .await;
    let pending = window(&app, &m, 9).await;
    assert_eq!(status_of(&pending, "retrain"), "PENDING");
    let v = app
        .ok(
            &sre,
            "query($m: ID!) { pendingActions(modelId: $m, status: PENDING) { id kind } }",
            json!({"m": m.model}),
        )
        .await;
    let ci = app.token("acme", &[Role::Service]);
    for a in v["pendingActions"].as_array().unwrap() {
        if a["kind"] != "retrain" {
            continue;
        }
        let path = format!("/v1/retraining-runs/{}/status", a["id"].as_str().unwrap());
        let body = json!({"status": "failed", "cost": 4.0, "costCurrency": "USD"}).to_string();
        let (s, r) = app.post(&ci, &path, "application/json", &[], body).await;
        assert_eq!(s, StatusCode::CREATED, "{r}");
    }
    // Three runs in the period reported 4 USD each: 12 of 10 spent.
    let over = window(&app, &m, 10).await;
    let why = over.iter().find(|a| a["kind"] == "retrain").unwrap()["lastError"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(why.contains("of 10.00 USD"), "{why}");
    let b = app
        .ok(
            &m.owner,
            "query($m: ID!) { retrainingBudget(modelId: $m) { maxRuns maxCost costCurrency } }",
            json!({"m": m.model}),
        )
        .await;
    assert_eq!(
        b["retrainingBudget"],
        json!({"maxRuns": null, "maxCost": 10.0, "costCurrency": "USD"})
    );
}

#[tokio::test]
async fn one_incident_starts_one_retraining_run_unless_asked_again_after_the_cooldown() {
    // Every drifted window continues the incident and asks for a retraining.
    const ASKS_EVERY_WINDOW: &str = r#"
fn schedule() { "hourly" }
fn on_window(ctx) {
    if ctx.drift.composite < 0.3 { return []; }
    [open_incident("drift", "inputs drifting"), retrain(#{ orchestrator: "airflow", job: "retrain" })]
}
"#;
    let app = TestApp::new().await;
    let m = monitored(&app, "acme", ASKS_EVERY_WINDOW, &[]).await;
    let officer = app.token("acme", &[Role::GovernanceOfficer]);
    let sre = app.token("acme", &[Role::Sre]);
    app.ok(
        &officer,
        "mutation($i: PutDeliveryTargetInput!) { putDeliveryTarget(input: $i) { name } }",
        json!({"i": {"name": "airflow", "kind": "WEBHOOK", "url": "http://127.0.0.1:9/x",
               "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}),
    )
    .await;
    assert_eq!(status_of(&window(&app, &m, 1).await, "retrain"), "PENDING");
    let again = window(&app, &m, 2).await;
    assert_eq!(status_of(&again, "retrain"), "SUPPRESSED");
    let why = again[0]["lastError"].as_str().unwrap();
    assert!(why.contains("incident drift already started"), "{why}");
    // With a cooldown, the incident may ask again once it has passed.
    app.ok(
        &sre,
        "mutation($i: SetRetrainingBudgetInput!) { setRetrainingBudget(input: $i) { cooldownHours } }",
        json!({"i": {"modelId": m.model, "periodHours": 24, "cooldownHours": 3}}),
    )
    .await;
    assert_eq!(
        status_of(&window(&app, &m, 3).await, "retrain"),
        "SUPPRESSED"
    );
    assert_eq!(status_of(&window(&app, &m, 5).await, "retrain"), "PENDING");
}
