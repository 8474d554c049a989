//! Monitoring end to end through the API: a baseline uploaded, observations streamed per slice,
//! windows closed by the scheduler on a driven clock, drift per feature and slice, incidents that
//! do not flap, pending actions; and the bad input around it (refused whole, naming row and
//! column, nothing counted), idempotent retries, late rows.

use axum::http::StatusCode;
use serde_json::{Value, json};
use steward_domain::Role;
use steward_service::monitoring::Clock;

use crate::app::*;

/// Hourly; a drifting slice opens one incident and asks for a retraining on that slice; a slice
/// back to stable resolves it.
const SLICE_POLICY: &str = r#"
fn schedule() { "hourly" }
fn on_window(ctx) {
    let out = [];
    for s in ctx.drift.slices {
        let key = `drift-${s.name}`;
        if s.state == "drifting" && !incident_open(ctx, key) {
            out.push(open_incident(key, `drift in ${s.name}`));
            out.push(retrain(#{ orchestrator: "prefect", job: "retrain-fraud", slice: s.filter }));
        }
        if s.state == "stable" && incident_open(ctx, key) {
            out.push(resolve_incident(key));
        }
    }
    out
}
"#;

/// Hourly; the whole window's drift state decides, nothing else.
pub(crate) const STATE_POLICY: &str = r#"
fn schedule() { "hourly" }
fn on_window(ctx) {
    if ctx.drift.state == "drifting" && !incident_open(ctx, "drift") {
        return [open_incident("drift", `composite ${ctx.drift.composite}`)];
    }
    if ctx.drift.state == "stable" && incident_open(ctx, "drift") {
        return [resolve_incident("drift")];
    }
    []
}
"#;

pub(crate) struct Monitored {
    pub owner: String,
    pub model: String,
    pub version: String,
}

/// A tenant with a model (`amount` numeric, `country` categorical), a version, the policy bound
/// to the model, monitoring configured, and a baseline of 600 rows.
pub(crate) async fn monitored(
    app: &TestApp,
    tenant: &str,
    policy: &str,
    slices: &[&str],
) -> Monitored {
    app.tenant(tenant).await;
    let owner = app.token(tenant, &[Role::ModelOwner]);
    let author = app.token(tenant, &[Role::PolicyAuthor]);
    let model = str_at(
        &app.ok(
            &owner,
            REGISTER_MODEL,
            json!({"i": {"name": "fraud", "ownerTeam": "risk", "riskTier": "HIGH"}}),
        )
        .await,
        &["registerModel", "id"],
    );
    let version = str_at(
        &app.ok(&owner, REGISTER_VERSION, json!({"i": {"modelId": model, "artifactUri": "s3://m/1",
            "artifactDigest": digest(), "framework": "xgboost",
            "metrics": [{"name": "accuracy", "value": 0.9}, {"name": "auc", "value": 0.95}],
            "inputSchema": [{"name": "amount", "type": "FLOAT"}, {"name": "country", "type": "CATEGORICAL"}]}}))
            .await,
        &["registerModelVersion", "id"],
    );
    let p = str_at(
        &app.ok(&author, CREATE_POLICY, json!({"i": {"name": "watch"}}))
            .await,
        &["createPolicy", "id"],
    );
    app.ok(
        &author,
        PROPOSE,
        json!({"i": {"policyId": p, "source": policy}}),
    )
    .await;
    app.ok(&author, PUBLISH, json!({"i": {"policyId": p, "number": 1}}))
        .await;
    app.ok(
        &author,
        BIND,
        json!({"i": {"policyId": p, "modelId": model}}),
    )
    .await;
    app.ok(
        &owner,
        "mutation($i: ConfigureMonitoringInput!) { configureMonitoring(input: $i) { sliceColumns } }",
        json!({"i": {"modelId": model, "sliceColumns": slices, "latenessSeconds": 300,
               "hysteresis": {"high": 0.2, "low": 0.05, "minConsecutive": 2, "cooldownWindows": 1}}}),
    )
    .await;
    let (status, b) = app
        .post(
            &owner,
            &format!("/v1/model-versions/{version}/baselines"),
            "text/csv",
            &[],
            rows(600, 0.0, &["DE", "FR"], None, None),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{b}");
    assert_eq!(
        (b["rows"].as_i64(), b["features"].as_i64()),
        (Some(600), Some(3)),
        "{b}"
    );
    Monitored {
        owner,
        model,
        version,
    }
}

/// CSV rows: `amount` spread over [100, 200) plus `shift`, `country` cycling through
/// `countries`, a `prediction`, and a `region` and `event_time` column when given.
pub(crate) fn rows(
    n: usize,
    shift: f64,
    countries: &[&str],
    region: Option<&str>,
    at: Option<&str>,
) -> String {
    let mut csv = String::from("amount,country,prediction");
    if region.is_some() {
        csv.push_str(",region");
    }
    if at.is_some() {
        csv.push_str(",event_time");
    }
    csv.push('\n');
    for i in 0..n {
        let amount = 100.0 + 100.0 * ((i * 7919) % n) as f64 / n as f64 + shift;
        let country = countries[i % countries.len()];
        let prediction = ((i * 104_729) % n) as f64 / n as f64;
        csv.push_str(&format!("{amount},{country},{prediction}"));
        if let Some(r) = region {
            csv.push_str(&format!(",{r}"));
        }
        if let Some(t) = at {
            csv.push_str(&format!(",{t}"));
        }
        csv.push('\n');
    }
    csv
}

pub(crate) async fn send(
    app: &TestApp,
    m: &Monitored,
    body: String,
    key: Option<&str>,
) -> (StatusCode, Value) {
    let headers: Vec<(&str, &str)> = key.map(|k| ("idempotency-key", k)).into_iter().collect();
    app.post(
        &m.owner,
        &format!("/v1/model-versions/{}/observations", m.version),
        "text/csv",
        &headers,
        body,
    )
    .await
}

/// The version's windows (newest first), each with `fields`.
async fn windows(app: &TestApp, m: &Monitored, fields: &str) -> Value {
    let query = format!("query($v: ID!) {{ windows(modelVersionId: $v) {{ {fields} }} }}");
    app.ok(&m.owner, &query, json!({"v": m.version})).await["windows"].clone()
}

/// Moves the clock to `at` and runs one scheduler pass.
pub(crate) async fn tick(app: &TestApp, at: &str) -> steward_service::monitoring::SchedulerTick {
    app.clock.set(at.parse().unwrap());
    app.service.run_scheduler_tick().await.unwrap()
}

#[tokio::test]
async fn drift_in_one_slice_opens_one_incident_and_asks_to_retrain_that_slice() {
    let app = TestApp::new().await;
    let m = monitored(&app, "acme", SLICE_POLICY, &["region"]).await;
    // Six hours; the EU slice's amounts shift from the third hour on, the US slice stays put.
    for h in 0..6 {
        let at = format!("2026-03-01T{:02}:30:00Z", h);
        app.clock.set(at.parse().unwrap());
        let eu_shift = if h >= 2 { 80.0 } else { 0.0 };
        let (s, v) = send(
            &app,
            &m,
            rows(300, eu_shift, &["DE", "FR"], Some("EU"), None),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let (s, v) = send(
            &app,
            &m,
            rows(300, 0.0, &["DE", "FR"], Some("US"), None),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        // Nothing is due before the window's end plus its lateness.
        let early = tick(&app, &format!("2026-03-01T{:02}:59:00Z", h)).await;
        assert_eq!(early.evaluated, 0);
        let due = tick(&app, &format!("2026-03-01T{:02}:05:01Z", h + 1)).await;
        assert_eq!(due.evaluated, 1, "hour {h}");
    }
    let v = app
        .ok(&m.owner, "query($v: ID!) { windows(modelVersionId: $v) { status evaluatedBy lateRows slices { slice rows composite driftedFeatures features { feature verdict adjustedPValue effectSize } } } }", json!({"v": m.version}))
        .await;
    let windows = v["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 6);
    for w in windows {
        assert_eq!(w["status"], "EVALUATED");
        assert_eq!(w["evaluatedBy"], "system:scheduler");
        let names: Vec<&str> = w["slices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["slice"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["", "EU", "US"], "the whole window and each slice");
    }
    // Newest first: the last window's EU slice drifted on `amount`, US did not.
    let last = &windows[0]["slices"];
    let eu = &last[1];
    assert_eq!(eu["rows"], 300);
    assert_eq!(eu["features"][0]["feature"], "amount");
    assert_eq!(eu["features"][0]["verdict"], "drift");
    assert!(eu["features"][0]["adjustedPValue"].as_f64().unwrap() < 0.05);
    assert_eq!(last[2]["driftedFeatures"], 0, "US is calm: {}", last[2]);

    let incidents = app
        .ok(&m.owner, "query($m: ID!) { incidents(modelId: $m) { key status summary openedBy timeline { kind } actions { kind payload } } }", json!({"m": m.model}))
        .await["incidents"]
        .clone();
    assert_eq!(
        incidents.as_array().unwrap().len(),
        1,
        "one incident, not one per window: {incidents}"
    );
    let i = &incidents[0];
    assert_eq!(
        (i["key"].as_str(), i["status"].as_str()),
        (Some("drift-EU"), Some("OPEN"))
    );
    assert_eq!(i["openedBy"], "system:scheduler");
    assert_eq!(i["actions"][0]["kind"], "retrain");
    assert_eq!(i["actions"][0]["payload"]["slice"], json!({"region": "EU"}));
    let pending = app
        .ok(
            &m.owner,
            "query($m: ID!) { pendingActions(modelId: $m) { kind status target lastError decisionRecordId } }",
            json!({"m": m.model}),
        )
        .await;
    // The tenant has no target of the orchestrator's name: reported, not silently dropped.
    let a = &pending["pendingActions"][0];
    assert_eq!(pending["pendingActions"].as_array().unwrap().len(), 1);
    assert_eq!(
        (a["kind"].as_str(), a["status"].as_str()),
        (Some("retrain"), Some("UNDELIVERABLE"))
    );
    let target = a["target"].as_str().unwrap();
    assert!(
        a["lastError"]
            .as_str()
            .unwrap()
            .contains(&format!("no delivery target named {target:?}")),
        "{a}"
    );
    let rec = app
        .ok(
            &m.owner,
            "query($i: ID!) { decisionRecord(id: $i) { outcome } }",
            json!({"i": a["decisionRecordId"]}),
        )
        .await;
    let undeliverable = &rec["decisionRecord"]["outcome"]["undeliverable"];
    assert_eq!(undeliverable[0]["kind"], "retrain", "{rec}");
    assert_eq!(undeliverable[0]["target"], target, "{rec}");

    // The chart of `amount` in the EU slice: calm, then drifted once the shift began.
    let t = app
        .ok(&m.owner, "query($v: ID!) { driftTimeline(modelVersionId: $v, feature: \"amount\", slice: \"EU\") { rows result { verdict } } }", json!({"v": m.version}))
        .await;
    let verdicts: Vec<&str> = t["driftTimeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["result"]["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(
        verdicts,
        ["no_drift", "no_drift", "drift", "drift", "drift", "drift"]
    );
}

#[tokio::test]
async fn a_score_oscillating_around_the_threshold_for_48_windows_opens_exactly_one_incident() {
    let app = TestApp::new().await;
    let m = monitored(&app, "acme", STATE_POLICY, &[]).await;
    // Two drifted windows enter the drifting state; then drifted and calm windows alternate, so
    // the score crosses both thresholds every hour.
    for w in 0..48 {
        let day = 1 + w / 24;
        let at = format!("2026-03-{:02}T{:02}:30:00Z", day, w % 24);
        app.clock.set(at.parse().unwrap());
        let drifted = w < 2 || w % 2 == 0;
        let shift = if drifted { 150.0 } else { 0.0 };
        let (s, v) = send(&app, &m, rows(200, shift, &["DE", "FR"], None, None), None).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let next = app.clock.now() + chrono::Duration::minutes(36);
        app.clock.set(next);
        assert_eq!(
            app.service.run_scheduler_tick().await.unwrap().evaluated,
            1,
            "window {w}"
        );
    }
    let v = app
        .ok(&m.owner, "query($m: ID!) { incidents(modelId: $m) { key status } windows(modelVersionId: $m2, first: 100) { id } }"
            .replace("$m2", "$v").replace("query($m: ID!)", "query($m: ID!, $v: ID!)").as_str(),
            json!({"m": m.model, "v": m.version}))
        .await;
    assert_eq!(v["windows"].as_array().unwrap().len(), 48);
    assert_eq!(
        v["incidents"],
        json!([{"key": "drift", "status": "OPEN"}]),
        "{v}"
    );
}

/// As `STATE_POLICY`, paging `pager` and asking for a retraining when the incident opens.
const PAGING_POLICY: &str = r#"
fn schedule() { "hourly" }
fn on_window(ctx) {
    if ctx.drift.state == "drifting" && !incident_open(ctx, "drift") {
        return [
            open_incident("drift", `composite ${ctx.drift.composite}`),
            alert("error", "inputs drifting", "pager"),
            retrain(#{ orchestrator: "airflow", job: "retrain" }),
        ];
    }
    if ctx.drift.state == "stable" && incident_open(ctx, "drift") {
        return [resolve_incident("drift")];
    }
    []
}
"#;

#[tokio::test]
async fn a_flapping_score_for_48_windows_pages_once_resolves_once_and_retrains_at_most_once() {
    use steward_loopback::{Contract, Receiver};
    let app = TestApp::new().await;
    let m = monitored(&app, "acme", PAGING_POLICY, &[]).await;
    let key = "R0UT1NGKEY0123456789abcdefABCDEF";
    let pd = Receiver::start(Contract::PagerDuty {
        routing_key: key.into(),
    })
    .await
    .unwrap();
    let officer = app.token("acme", &[Role::GovernanceOfficer]);
    let sre = app.token("acme", &[Role::Sre]);
    app.ok(
        &officer,
        "mutation($i: PutDeliveryTargetInput!) { putDeliveryTarget(input: $i) { name } }",
        json!({"i": {"name": "pager", "kind": "PAGER_DUTY", "url": pd.url(), "secret": key}}),
    )
    .await;
    // 48 flapping windows as above, then three calm ones; the relay runs after each.
    for w in 0..51 {
        let day = 1 + w / 24;
        let at = format!("2026-03-{:02}T{:02}:30:00Z", day, w % 24);
        app.clock.set(at.parse().unwrap());
        let drifted = w < 48 && (w < 2 || w % 2 == 0);
        let shift = if drifted { 150.0 } else { 0.0 };
        let (s, v) = send(&app, &m, rows(200, shift, &["DE", "FR"], None, None), None).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let next = app.clock.now() + chrono::Duration::minutes(36);
        app.clock.set(next);
        assert_eq!(app.service.run_scheduler_tick().await.unwrap().evaluated, 1);
        app.ok(&sre, "mutation { deliverNow { claimed } }", json!({}))
            .await;
    }
    let events: Vec<String> = pd
        .accepted()
        .iter()
        .map(|r| {
            r.json.as_ref().unwrap()["event_action"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(events, ["trigger", "resolve"], "{:?}", pd.received());
    assert!(pd.received().iter().all(|r| r.problem.is_none()));
    let v = app
        .ok(
            &m.owner,
            "query($m: ID!) { pendingActions(modelId: $m) { kind } incidents(modelId: $m) { status } }",
            json!({"m": m.model}),
        )
        .await;
    let retrains = v["pendingActions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "retrain")
        .count();
    assert_eq!(retrains, 1, "{v}");
    assert_eq!(v["incidents"], json!([{"status": "RESOLVED"}]));
}

#[tokio::test]
async fn a_retried_batch_counts_once_and_a_reused_key_is_refused() {
    let app = TestApp::new().await;
    let m = monitored(&app, "acme", STATE_POLICY, &[]).await;
    let body = rows(100, 0.0, &["DE"], None, None);
    let (s, first) = send(&app, &m, body.clone(), Some("batch-1")).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    assert_eq!(first["duplicate"], false);
    let (s, again) = send(&app, &m, body.clone(), Some("batch-1")).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(
        (again["duplicate"].as_bool(), again["batchId"].clone()),
        (Some(true), first["batchId"].clone())
    );
    let (s, other) = send(
        &app,
        &m,
        rows(100, 1.0, &["DE"], None, None),
        Some("batch-1"),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{other}");
    assert!(
        other["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("another payload")
    );
    let (s, v) = send(&app, &m, body, Some("batch-2")).await;
    assert_eq!(s, StatusCode::CREATED, "a new key is a new batch: {v}");
    app.clock.set("2026-03-01T13:10:00Z".parse().unwrap());
    app.service.run_scheduler_tick().await.unwrap();
    let w = windows(&app, &m, "slices { rows }").await;
    assert_eq!(w[0]["slices"][0]["rows"], 200, "batch-1 once, batch-2 once");
}

#[tokio::test]
async fn bad_batches_are_refused_whole_naming_the_row_and_column() {
    let app = TestApp::new().await;
    let m = monitored(&app, "acme", STATE_POLICY, &[]).await;
    let good = "amount,country,prediction\n120,DE,0.5\n";
    // A bad row deep in a large body (past the first record batches, which are profiled
    // already when it is read) refuses the body whole just the same.
    let big = format!("{good}{}", "120,DE,0.5\n".repeat(99_999));
    assert!(big.len() > 1 << 20);
    let cases: Vec<(&str, String, StatusCode, &[&str])> = vec![
        (
            "a value of the wrong type in a large body",
            format!("{big}abc,FR,0.5\n"),
            StatusCode::BAD_REQUEST,
            &["amount", "row 100001", "line 100002"],
        ),
        (
            "NaN in a large body",
            format!("{big}NaN,FR,0.5\n"),
            StatusCode::BAD_REQUEST,
            &["amount", "row 100001", "non-finite"],
        ),
        (
            "a missing feature",
            "amount,prediction\n120,0.5\n".into(),
            StatusCode::BAD_REQUEST,
            &["country"],
        ),
        (
            "a value of the wrong type",
            format!("{good}abc,FR,0.5\n"),
            StatusCode::BAD_REQUEST,
            &["amount", "row 2", "line 3"],
        ),
        (
            "NaN",
            format!("{good}NaN,FR,0.5\n"),
            StatusCode::BAD_REQUEST,
            &["amount", "row 2", "non-finite"],
        ),
        (
            "infinity",
            format!("{good}120,FR,inf\n"),
            StatusCode::BAD_REQUEST,
            &["prediction", "row 2"],
        ),
        (
            "no rows",
            "amount,country,prediction\n".into(),
            StatusCode::BAD_REQUEST,
            &["no"],
        ),
        (
            "an event time far in the future",
            "amount,country,prediction,event_time\n1,DE,0.5,2027-01-01T00:00:00Z\n".into(),
            StatusCode::BAD_REQUEST,
            &["event_time", "row 1", "future"],
        ),
    ];
    for (what, body, status, names) in cases {
        let (s, v) = send(&app, &m, body, None).await;
        assert_eq!(s, status, "{what}: {v}");
        let msg = v["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for n in names {
            assert!(msg.contains(n), "{what}: {msg:?} should name {n}");
        }
    }
    let (s, v) = app
        .post(
            &m.owner,
            &format!("/v1/model-versions/{}/observations", m.version),
            "application/xml",
            &[],
            "<rows/>",
        )
        .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    assert_eq!(
        code(&v),
        "UNSUPPORTED_MEDIA_TYPE",
        "the REST error shape: {v}"
    );
    let (s, v) = app
        .post(
            &m.owner,
            &format!("/v1/model-versions/{}/observations", uuid::Uuid::now_v7()),
            "text/csv",
            &[],
            good,
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::NOT_FOUND, "NOT_FOUND".to_string()),
        "{v}"
    );
    let (s, v) = app
        .post(
            &m.owner,
            "/v1/model-versions/not-a-uuid/observations",
            "text/csv",
            &[],
            good,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // Nothing of the refused batches was counted: no window exists yet.
    let w = windows(&app, &m, "id").await;
    assert_eq!(w, json!([]));
    // A viewer may read but not send.
    let viewer = app.token("acme", &[Role::Viewer]);
    let (s, v) = app
        .post(
            &viewer,
            &format!("/v1/model-versions/{}/observations", m.version),
            "text/csv",
            &[],
            good,
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::FORBIDDEN, "FORBIDDEN".to_string())
    );
}

#[tokio::test]
async fn a_version_without_a_baseline_says_to_upload_one() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let s = seed(&app, &owner).await;
    let v2 = str_at(
        &app.ok(&owner, REGISTER_VERSION, json!({"i": {"modelId": s.model, "artifactUri": "s3://m/2", "artifactDigest": digest(), "framework": "f"}}))
            .await,
        &["registerModelVersion", "id"],
    );
    let (status, v) = app
        .post(
            &owner,
            &format!("/v1/model-versions/{v2}/observations"),
            "application/x-ndjson",
            &[],
            predictions(5, 0.5, None),
        )
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("baseline"),
        "{v}"
    );
}

#[tokio::test]
async fn uploads_past_the_size_limit_are_refused_with_413() {
    let api = steward_api::ApiConfig {
        max_upload_bytes: 64 * 1024,
        ..Default::default()
    };
    let app = TestApp::with(hs256_config(), api).await;
    let m = monitored(&app, "acme", STATE_POLICY, &[]).await;
    let (s, _) = send(&app, &m, rows(5_000, 0.0, &["DE"], None, None), None).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    let (s, v) = send(&app, &m, rows(500, 0.0, &["DE"], None, None), None).await;
    assert_eq!(s, StatusCode::CREATED, "under the limit: {v}");
}

#[tokio::test]
async fn rows_for_a_closed_window_are_counted_as_late() {
    let app = TestApp::new().await;
    let m = monitored(&app, "acme", STATE_POLICY, &[]).await;
    let (s, v) = send(&app, &m, rows(50, 0.0, &["DE"], None, None), None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(tick(&app, "2026-03-01T13:06:00Z").await.evaluated, 1);
    // An hour later, a straggler of the 12:00 window and a row of an hour nobody sent before.
    let mut body = rows(7, 0.0, &["DE"], None, Some("2026-03-01T12:40:00Z"));
    body.push_str(
        &rows(3, 0.0, &["DE"], None, Some("2026-03-01T10:15:00Z"))
            .lines()
            .skip(1)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    );
    let (s, v) = send(&app, &m, body, None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["lateRows"], 10, "{v}");
    let w = windows(&app, &m, "start lateRows status").await;
    assert_eq!(
        w,
        json!([
            {"start": "2026-03-01T12:00:00+00:00", "lateRows": 7, "status": "EVALUATED"},
            {"start": "2026-03-01T10:00:00+00:00", "lateRows": 3, "status": "EVALUATED"},
        ])
    );
}

#[tokio::test]
async fn sres_acknowledge_and_resolve_incidents_and_the_timeline_says_who() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let s = seed(&app, &owner).await;
    let sre = app.token("acme", &[Role::Sre]);
    let ack = "mutation($i: IncidentNoteInput!) { acknowledgeIncident(input: $i) { status acknowledgedBy } }";
    let resolve = "mutation($i: IncidentNoteInput!) { resolveIncident(input: $i) { status resolution resolvedBy } }";
    let v = app
        .gql(&owner, ack, json!({"i": {"incidentId": s.incident}}))
        .await;
    assert_eq!(
        code(&v),
        "FORBIDDEN",
        "model owners do not handle incidents"
    );
    let v = app
        .ok(
            &sre,
            ack,
            json!({"i": {"incidentId": s.incident, "note": "looking"}}),
        )
        .await;
    assert_eq!(v["acknowledgeIncident"]["status"], "ACKNOWLEDGED");
    let v = app
        .gql(&sre, resolve, json!({"i": {"incidentId": s.incident}}))
        .await;
    assert_eq!(code(&v), "INVALID", "a reason is required: {v}");
    let v = app
        .ok(
            &sre,
            resolve,
            json!({"i": {"incidentId": s.incident, "note": "retrained upstream"}}),
        )
        .await;
    assert_eq!(v["resolveIncident"]["status"], "RESOLVED");
    assert_eq!(v["resolveIncident"]["resolution"], "retrained upstream");
    let v = app
        .gql(
            &sre,
            resolve,
            json!({"i": {"incidentId": s.incident, "note": "again"}}),
        )
        .await;
    assert_eq!(code(&v), "CONFLICT", "{v}");
    let t = app
        .ok(
            &owner,
            "query($i: ID!) { incident(id: $i) { timeline { kind actor note windowId } } }",
            json!({"i": s.incident}),
        )
        .await;
    let kinds: Vec<(&str, &str)> = t["incident"]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("opened", "tester"),
            ("acknowledged", "tester"),
            ("resolved", "tester")
        ]
    );
    assert!(
        t["incident"]["timeline"][0]["windowId"].as_str().is_some(),
        "opened by a window's evaluation"
    );
}

#[tokio::test]
async fn a_sagemaker_baseline_and_data_capture_monitor_like_any_other() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let model = str_at(
        &app.ok(
            &owner,
            REGISTER_MODEL,
            json!({"i": {"name": "churn", "ownerTeam": "crm", "riskTier": "LOW"}}),
        )
        .await,
        &["registerModel", "id"],
    );
    let version = str_at(
        &app.ok(&owner, REGISTER_VERSION, json!({"i": {"modelId": model, "artifactUri": "s3://m/1",
            "artifactDigest": digest(), "framework": "sklearn",
            "inputSchema": [{"name": "age", "type": "INTEGER"}, {"name": "income", "type": "FLOAT"},
                            {"name": "country", "type": "CATEGORICAL"}, {"name": "score", "type": "FLOAT"}]}}))
            .await,
        &["registerModelVersion", "id"],
    );
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../steward-drift/tests/data/sagemaker"
    );
    let read = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{f}")).unwrap()).unwrap()
    };
    let body =
        json!({"statistics": read("statistics.json"), "constraints": read("constraints.json")});
    let path = format!("/v1/model-versions/{version}/baselines?source=sagemaker");
    let (s, b) = app
        .post(&owner, &path, "application/json", &[], body.to_string())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    assert_eq!(
        (b["source"].as_str(), b["rows"].as_i64()),
        (Some("sagemaker"), Some(5000)),
        "{b}"
    );
    let (s, v) = app
        .post(
            &owner,
            &path,
            "application/json",
            &[],
            "{\"statistics\": 1}",
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");

    // Fifty captured requests, as an endpoint writes them.
    let mut lines = String::new();
    for i in 0..50 {
        let event = json!({
            "captureData": {
                "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT",
                    "data": format!("{},{}.5,DE,0.{}", 30 + i % 20, 40_000 + 100 * i, i % 10), "encoding": "CSV"},
                "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT",
                    "data": "0.93", "encoding": "CSV"}
            },
            "eventMetadata": {"eventId": format!("e-{i}"), "inferenceTime": "2026-03-01T12:10:00Z"},
            "eventVersion": "0"
        });
        lines.push_str(&format!("{event}\n"));
    }
    let path = format!("/v1/model-versions/{version}/observations?format=sagemaker-capture");
    let (s, v) = app
        .post(&owner, &path, "application/x-ndjson", &[], lines)
        .await;
    assert_eq!(
        (s, v["rows"].as_i64()),
        (StatusCode::CREATED, Some(50)),
        "{v}"
    );
    let broken = "{\"captureData\": {\"endpointInput\": {\"data\": \"1,2\", \"encoding\": \"CSV\"}}, \"eventMetadata\": {\"eventId\": \"x\", \"inferenceTime\": \"2026-03-01T12:10:00Z\"}}\n";
    let (s, v) = app
        .post(&owner, &path, "application/x-ndjson", &[], broken)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("row 1"),
        "{v}"
    );
    assert_eq!(tick(&app, "2026-03-02T00:06:00Z").await.evaluated, 1);
    let w = app
        .ok(&owner, "query($v: ID!) { windows(modelVersionId: $v) { slices { rows features { feature } } } }", json!({"v": version}))
        .await;
    assert_eq!(w["windows"][0]["slices"][0]["rows"], 50);
    assert_eq!(
        w["windows"][0]["slices"][0]["features"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test]
async fn delayed_labels_join_by_prediction_id_and_give_performance_with_its_confidence() {
    let app = TestApp::new().await;
    let m = monitored(&app, "acme", STATE_POLICY, &[]).await;
    let mut csv = String::from("amount,country,prediction,prediction_id\n");
    for i in 0..400 {
        csv.push_str(&format!(
            "{},DE,{},p{i}\n",
            100 + i % 100,
            (i * 37 % 100) as f64 / 100.0
        ));
    }
    let (s, v) = send(&app, &m, csv, None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Labels arrive later: 300 of the predictions, labels that do not follow the scores (the
    // model's accuracy is gone), 5 ids nobody predicted, and 2 labels sent twice.
    let mut labels = String::from("prediction_id,label\n");
    for i in 0..300 {
        labels.push_str(&format!("p{i},{}\n", i % 2));
    }
    for i in 0..5 {
        labels.push_str(&format!("nobody-{i},1\n"));
    }
    labels.push_str("p1,0\np2,1\n");
    app.clock.set("2026-03-01T12:50:00Z".parse().unwrap());
    let path = format!("/v1/model-versions/{}/labels", m.version);
    let key = [("idempotency-key", "labels-1")];
    let (s, v) = app
        .post(&m.owner, &path, "text/csv", &key, labels.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (
            v["labels"].as_i64(),
            v["matched"].as_i64(),
            v["unmatched"].as_i64(),
            v["alreadyLabelled"].as_i64()
        ),
        (Some(307), Some(300), Some(5), Some(2)),
        "{v}"
    );
    assert_eq!(
        v["labelDelaySeconds"]["median"],
        50 * 60,
        "sent at 12:00, labelled at 12:50: {v}"
    );
    let (s, again) = app.post(&m.owner, &path, "text/csv", &key, labels).await;
    assert_eq!(
        (s, again["duplicate"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{again}"
    );
    let (s, bad) = app
        .post(
            &m.owner,
            &path,
            "text/csv",
            &[],
            "prediction_id,label\np1,\n",
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    assert!(
        bad["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("label"),
        "{bad}"
    );

    assert_eq!(tick(&app, "2026-03-01T13:06:00Z").await.evaluated, 1);
    let w = app
        .ok(&m.owner, "query($v: ID!) { windows(modelVersionId: $v) { decisionRecordId performance { slice labelledRows metrics { metric value lower upper n baseline degraded } } } }", json!({"v": m.version}))
        .await;
    let perf = &w["windows"][0]["performance"][0];
    assert_eq!(
        (perf["slice"].as_str(), perf["labelledRows"].as_u64()),
        (Some(""), Some(300)),
        "{w}"
    );
    let acc = &perf["metrics"][0];
    assert_eq!(
        (
            acc["metric"].as_str(),
            acc["n"].as_u64(),
            acc["baseline"].as_f64()
        ),
        (Some("accuracy"), Some(300), Some(0.9))
    );
    let (lo, value, hi) = (
        acc["lower"].as_f64().unwrap(),
        acc["value"].as_f64().unwrap(),
        acc["upper"].as_f64().unwrap(),
    );
    assert!(lo < value && value < hi && hi < 0.9, "{acc}");
    assert_eq!(
        acc["degraded"], true,
        "accuracy about 0.5 against a holdout of 0.9"
    );
    assert_eq!(perf["metrics"][1]["metric"], "auc");
    // The policy saw the performance in its context.
    let record = w["windows"][0]["decisionRecordId"]
        .as_str()
        .unwrap()
        .to_string();
    let input = app
        .ok(
            &m.owner,
            "query($i: ID!) { decisionRecord(id: $i) { input } }",
            json!({"i": record}),
        )
        .await;
    assert_eq!(
        input["decisionRecord"]["input"]["performance"]["labelled_rows"], 300,
        "{input}"
    );
}

#[tokio::test]
async fn business_kpis_are_summed_per_window_and_slice_and_reach_the_policy() {
    let app = TestApp::new().await;
    let m = monitored(&app, "acme", SLICE_POLICY, &["region"]).await;
    let (s, v) = send(&app, &m, rows(100, 0.0, &["DE"], Some("EU"), None), None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let body = "kpi,value,region\nfraud_losses,120.5,EU\nfraud_losses,79.5,EU\nfraud_losses,10,US\nconversion,0.2,EU\n";
    let path = format!("/v1/model-versions/{}/kpis", m.version);
    let key = [("idempotency-key", "kpi-1")];
    let (s, v) = app.post(&m.owner, &path, "text/csv", &key, body).await;
    assert_eq!(
        (s, v["rows"].as_i64()),
        (StatusCode::CREATED, Some(4)),
        "{v}"
    );
    let (s, v) = app.post(&m.owner, &path, "text/csv", &key, body).await;
    assert_eq!(
        (s, v["duplicate"].as_bool()),
        (StatusCode::OK, Some(true)),
        "summed once: {v}"
    );
    let (s, v) = app
        .post(
            &m.owner,
            &path,
            "text/csv",
            &[],
            "kpi,value\nfraud_losses,NaN\n",
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("row 1"),
        "{v}"
    );
    assert_eq!(tick(&app, "2026-03-01T13:06:00Z").await.evaluated, 1);
    let w = app
        .ok(&m.owner, "query($v: ID!) { windows(modelVersionId: $v) { decisionRecordId kpis { slice name total count mean } } }", json!({"v": m.version}))
        .await;
    assert_eq!(
        w["windows"][0]["kpis"],
        json!([
            {"slice": "", "name": "conversion", "total": 0.2, "count": 1, "mean": 0.2},
            {"slice": "", "name": "fraud_losses", "total": 210.0, "count": 3, "mean": 70.0},
            {"slice": "EU", "name": "conversion", "total": 0.2, "count": 1, "mean": 0.2},
            {"slice": "EU", "name": "fraud_losses", "total": 200.0, "count": 2, "mean": 100.0},
            {"slice": "US", "name": "fraud_losses", "total": 10.0, "count": 1, "mean": 10.0},
        ])
    );
    let record = w["windows"][0]["decisionRecordId"]
        .as_str()
        .unwrap()
        .to_string();
    let input = app
        .ok(
            &m.owner,
            "query($i: ID!) { decisionRecord(id: $i) { input } }",
            json!({"i": record}),
        )
        .await["decisionRecord"]["input"]
        .clone();
    assert_eq!(input["kpis"]["fraud_losses"]["total"], 210.0, "{input}");
    assert_eq!(
        input["drift"]["slices"][0]["kpis"]["fraud_losses"]["mean"], 100.0,
        "{input}"
    );
}

#[tokio::test]
async fn batches_merge_into_one_part_per_slice_and_a_new_baseline_mid_window_stays_apart() {
    let app = TestApp::new().await;
    let m = monitored(&app, "acme", STATE_POLICY, &["region"]).await;
    for (i, region) in ["EU", "US", "EU", "EU", "US"].iter().enumerate() {
        let at = format!("2026-03-01T12:{:02}:00Z", 10 + i);
        let body = rows(40 + i, 0.0, &["DE"], Some(region), Some(&at));
        let (s, v) = send(&app, &m, body, None).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let w = windows(&app, &m, "id").await;
    let window: steward_domain::WindowId = str_at(&w, &["0", "id"]).parse().unwrap();
    let tenant = app.service.tenant_by_slug("acme").await.unwrap().unwrap();
    let reader = steward_domain::Principal::system(
        steward_domain::SystemActor::Scheduler,
        "acme",
        Some(tenant.id),
    );
    let (parts, _) = app.db.profile_bytes(&reader, window).await.unwrap();
    let shape: Vec<(String, i64)> = parts.iter().map(|p| (p.0.clone(), p.1)).collect();
    // Five batches, two slices: one part each, holding every row.
    assert_eq!(shape, [("EU".into(), 40 + 42 + 43), ("US".into(), 41 + 44)]);

    // A new baseline mid-window: its rows cannot merge with rows counted against the old one.
    let (s, b) = app
        .post(
            &m.owner,
            &format!("/v1/model-versions/{}/baselines", m.version),
            "text/csv",
            &[],
            rows(500, 50.0, &["DE", "FR"], None, None),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{b}");
    let body = rows(30, 0.0, &["DE"], Some("EU"), Some("2026-03-01T12:30:00Z"));
    let (s, v) = send(&app, &m, body, None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (parts, _) = app.db.profile_bytes(&reader, window).await.unwrap();
    let shape: Vec<(String, i64)> = parts.iter().map(|p| (p.0.clone(), p.1)).collect();
    assert_eq!(shape.len(), 3, "{shape:?}");
    assert!(shape.contains(&("EU".into(), 30)), "{shape:?}");

    assert_eq!(tick(&app, "2026-03-01T13:06:00Z").await.evaluated, 1);
    let v = windows(&app, &m, "evaluation slices { slice rows }").await;
    let win = &v[0];
    // The new baseline is active: its 30 rows are evaluated, the 210 of the old one reported.
    assert_eq!(win["evaluation"]["rowsOfOtherBaselines"], 210, "{win}");
    assert_eq!(
        win["slices"],
        json!([{"slice": "", "rows": 30}, {"slice": "EU", "rows": 30}])
    );
    let (parts, done) = app.db.profile_bytes(&reader, window).await.unwrap();
    assert!(
        parts.is_empty(),
        "parts are deleted once evaluated: {parts:?}"
    );
    assert_eq!(done.len(), 2);
}

#[tokio::test]
async fn rows_that_arrive_after_the_window_closed_are_a_finding_of_its_evaluation() {
    let app = TestApp::new().await;
    let m = monitored(&app, "acme", STATE_POLICY, &[]).await;
    let at = Some("2026-03-01T12:20:00Z");
    let (s, v) = send(&app, &m, rows(45, 0.0, &["DE"], None, at), None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Closed at 13:05; five rows of it come at 13:05:30, before the scheduler's pass.
    app.clock.set("2026-03-01T13:05:30Z".parse().unwrap());
    let (s, v) = send(&app, &m, rows(5, 0.0, &["DE"], None, at), None).await;
    assert_eq!(
        (s, v["lateRows"].as_i64()),
        (StatusCode::CREATED, Some(5)),
        "{v}"
    );
    assert_eq!(tick(&app, "2026-03-01T13:06:00Z").await.evaluated, 1);
    let w = windows(&app, &m, "lateRows evaluation decisionRecordId").await;
    let win = &w[0];
    assert_eq!(win["lateRows"], 5);
    assert_eq!(win["evaluation"]["lateRowsAtEvaluation"], 5, "{win}");
    let finding = &win["evaluation"]["findings"][0];
    assert_eq!(finding["kind"], "late_rows", "{win}");
    assert!(
        (finding["value"].as_f64().unwrap() - 0.1).abs() < 1e-9,
        "{finding}"
    );
    // The policy saw it in ctx.quality.
    let record = app
        .ok(
            &m.owner,
            "query($id: ID!) { decisionRecord(id: $id) { input } }",
            json!({"id": win["decisionRecordId"]}),
        )
        .await;
    let quality = &record["decisionRecord"]["input"]["quality"];
    assert!(
        quality
            .as_array()
            .is_some_and(|q| q.iter().any(|f| f["kind"] == "late_rows")),
        "{record}"
    );
}
