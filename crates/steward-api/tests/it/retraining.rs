//! Retraining runs started by the outbox: a drifted window's `retrain` decision delivered to a
//! Prefect 3 deployment and to Airflow 3 and 2 DAGs (loopback stand-ins enforcing their REST
//! contracts; the real Prefect server is tested in `steward-server/tests/it/prefect.rs`), with
//! the slice, the policy's params and the training data, and exactly one run even when the
//! answer is lost and the relay delivers again.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use steward_domain::Role;
use steward_loopback::{Contract, Receiver};
use steward_service::monitoring::Clock;

use crate::app::*;
use crate::monitoring::{Monitored, monitored, rows, send};

const PUT_TARGET: &str =
    "mutation($i: PutDeliveryTargetInput!) { putDeliveryTarget(input: $i) { name kind } }";
const DEPLOYMENT: &str = "9b1f6c2e-4d1a-4c55-9a57-1d2f3e4a5b6c";

/// Opens an incident when the drift state turns `drifting` and asks `orchestrator` to retrain
/// on the EU slice.
fn policy(orchestrator: &str, job: &str) -> String {
    format!(
        r#"
fn schedule() {{ "hourly" }}
fn on_window(ctx) {{
    if ctx.drift.state == "drifting" && !incident_open(ctx, "drift") {{
        return [
            open_incident("drift", "inputs drifting"),
            retrain(#{{ orchestrator: "{orchestrator}", job: "{job}", slice: #{{ region: "EU" }},
                        params: #{{ lookback_days: 30 }} }}),
        ];
    }}
    []
}}
"#
    )
}

/// Two drifted hourly windows: the drift state turns `drifting` and the policy retrains.
async fn drift(app: &TestApp, m: &Monitored) {
    for w in 0..2 {
        let at = format!("2026-03-01T{:02}:30:00Z", 13 + w);
        app.clock.set(at.parse().unwrap());
        let (s, v) = send(app, m, rows(200, 150.0, &["DE", "FR"], None, None), None).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let next = app.clock.now() + chrono::Duration::minutes(36);
        app.clock.set(next);
        assert_eq!(app.service.run_scheduler_tick().await.unwrap().evaluated, 1);
    }
}

async fn retrain_action(app: &TestApp, m: &Monitored, sre: &str) -> Value {
    let v = app
        .ok(
            sre,
            "query($m: ID!) { pendingActions(modelId: $m) { id kind status attempts incidentId deliveries { statusCode outcome detail } } }",
            json!({"m": m.model}),
        )
        .await;
    v["pendingActions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "retrain")
        .unwrap_or_else(|| panic!("no retrain: {v}"))
        .clone()
}

struct Setup {
    app: TestApp,
    m: Monitored,
    sre: String,
    officer: String,
}

async fn setup(orchestrator: &str, job: &str) -> Setup {
    let app = TestApp::new().await;
    let m = monitored(&app, "acme", &policy(orchestrator, job), &[]).await;
    Setup {
        sre: app.token("acme", &[Role::Sre]),
        officer: app.token("acme", &[Role::GovernanceOfficer]),
        app,
        m,
    }
}

impl Setup {
    /// Points the target the policy names at `url`.
    async fn target(&self, name: &str, kind: &str, url: &str, secret: Option<&str>) {
        self.app
            .ok(
                &self.officer,
                PUT_TARGET,
                json!({"i": {"name": name, "kind": kind, "url": url, "secret": secret}}),
            )
            .await;
    }

    /// Drifts the model, then delivers its retrain while the orchestrator holds its answer to
    /// the request matching `starts` past the relay's timeout (the run starts, the relay never
    /// hears), and delivers again five minutes later: the retrain's action after both.
    async fn lost_answer_then_redelivered(&self, orchestrator: &Receiver, starts: &str) -> Value {
        drift(&self.app, &self.m).await;
        orchestrator.set_delay_for(starts, Duration::from_secs(3));
        assert_eq!(self.deliver().await["retrying"], 1, "the answer was lost");
        orchestrator.set_delay(Duration::ZERO);
        self.app.clock.advance(chrono::Duration::minutes(5));
        assert_eq!(self.deliver().await["delivered"], 1);
        retrain_action(&self.app, &self.m, &self.sre).await
    }

    async fn deliver(&self) -> Value {
        self.app
            .ok(
                &self.sre,
                "mutation { deliverNow { claimed delivered retrying dead } }",
                json!({}),
            )
            .await["deliverNow"]
            .clone()
    }
}

#[tokio::test]
async fn a_retrain_starts_one_prefect_flow_run_with_the_slice_even_when_its_answer_is_lost() {
    let s = setup("prefect", "fraud/retrain-eu").await;
    let prefect = Receiver::start(Contract::Prefect {
        deployments: vec![(DEPLOYMENT.into(), "fraud".into(), "retrain-eu".into())],
    })
    .await
    .unwrap();
    s.target("prefect", "PREFECT", &prefect.url(), None).await;
    let a = s
        .lost_answer_then_redelivered(&prefect, "/create_flow_run")
        .await;
    let runs = prefect.runs();
    assert_eq!(runs.len(), 1, "the redelivery found the run: {runs:?}");
    assert_eq!(a["status"], "DELIVERED");
    let detail = a["deliveries"][1]["detail"].as_str().unwrap();
    assert!(detail.contains("already started"), "{detail}");
    let p = &runs[0].parameters;
    assert_eq!(runs[0].job, DEPLOYMENT);
    assert_eq!(
        runs[0].key.as_deref(),
        Some(format!("steward-{}", a["id"].as_str().unwrap()).as_str())
    );
    assert_eq!(p["lookback_days"], 30, "the policy's params: {p}");
    assert_eq!(p["steward"]["slice"], json!({"region": "EU"}));
    assert_eq!(p["steward"]["model"]["name"], "fraud");
    assert_eq!(p["steward"]["modelVersion"], s.m.version.as_str());
    assert_eq!(p["steward"]["incident"], a["incidentId"]);
    assert!(p["steward"]["trainingData"].is_array(), "{p}");
}

#[tokio::test]
async fn airflow_3_gets_a_token_and_one_dag_run_whose_redelivery_is_a_409() {
    let s = setup("airflow", "fraud_retrain").await;
    let airflow = Receiver::start(Contract::Airflow {
        api: 3,
        username: "steward".into(),
        password: "s3cret".into(),
        dags: vec!["fraud_retrain".into()],
    })
    .await
    .unwrap();
    s.target("airflow", "AIRFLOW", &airflow.url(), Some("steward:s3cret"))
        .await;
    let a = s.lost_answer_then_redelivered(&airflow, "/dagRuns").await;
    let runs = airflow.runs();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].id, format!("steward-{}", a["id"].as_str().unwrap()));
    assert_eq!(
        runs[0].parameters["steward"]["slice"],
        json!({"region": "EU"})
    );
    let codes: Vec<&Value> = a["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["statusCode"])
        .collect();
    assert_eq!(codes, [&Value::Null, &json!(409)], "{a}");
    // The request Airflow 3 accepted carried `logical_date: null` and nothing it forbids.
    let trigger = airflow
        .accepted()
        .into_iter()
        .find(|r| r.path.ends_with("/dagRuns"))
        .unwrap();
    let body = trigger.json.unwrap();
    assert!(body.as_object().unwrap().contains_key("logical_date"));
    assert_eq!(body["logical_date"], Value::Null);
}

#[tokio::test]
async fn airflow_2_basic_auth_and_refusals_that_retrying_cannot_change() {
    let s = setup("airflow", "fraud_retrain").await;
    let airflow = Receiver::start(Contract::Airflow {
        api: 2,
        username: "steward".into(),
        password: "s3cret".into(),
        dags: vec!["other_dag".into()],
    })
    .await
    .unwrap();
    s.target("airflow", "AIRFLOW", &airflow.url(), Some("steward:s3cret"))
        .await;
    drift(&s.app, &s.m).await;
    assert_eq!(s.deliver().await["dead"], 1, "no such DAG: 404");
    let a = retrain_action(&s.app, &s.m, &s.sre).await;
    let detail = a["deliveries"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("no DAG \"fraud_retrain\""), "{detail}");
    // A bad password is refused for good, too.
    s.target("airflow", "AIRFLOW", &airflow.url(), Some("steward:wrong"))
        .await;
    let replay = "mutation($a: ID!) { replayAction(actionId: $a) { status } }";
    s.app.ok(&s.sre, replay, json!({"a": a["id"]})).await;
    assert_eq!(s.deliver().await["dead"], 1);
    let a = retrain_action(&s.app, &s.m, &s.sre).await;
    assert_eq!(a["deliveries"][1]["statusCode"], 401, "{a}");
    assert!(airflow.runs().is_empty());
    // A target of the wrong shape is refused when it is put.
    let v = s
        .app
        .gql(
            &s.officer,
            PUT_TARGET,
            json!({"i": {"name": "airflow", "kind": "AIRFLOW", "url": "http://airflow:8080",
                   "secret": "steward:s3cret"}}),
        )
        .await;
    assert_eq!(code(&v), "INVALID", "{v}");
    assert!(v.to_string().contains("/api/v2"), "{v}");
}

/// A proxy in front of a real server (`upstream`: its root, `http://host:port`) that forwards
/// every request and, for the first one whose path ends with `lose`, throws the server's answer
/// away and answers 504: the server did the work, the relay never heard. Returns its own root.
async fn lossy_proxy(upstream: String, lose: &'static str) -> String {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, Method, Uri};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let lost = Arc::new(AtomicBool::new(false));
    let client = reqwest::Client::new();
    let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let (client, upstream, lost) = (client.clone(), upstream.clone(), Arc::clone(&lost));
        async move {
            let mut req = client
                .request(method, format!("{upstream}{}", uri.path()))
                .body(body);
            for h in ["content-type", "authorization"] {
                if let Some(v) = headers.get(h) {
                    req = req.header(h, v.clone());
                }
            }
            let resp = req.send().await.expect("upstream answers");
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            if uri.path().ends_with(lose) && !lost.swap(true, Ordering::SeqCst) {
                return (StatusCode::GATEWAY_TIMEOUT, "lost".to_string());
            }
            (StatusCode::from_u16(status).unwrap(), text)
        }
    };
    let app = axum::Router::new().fallback(handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// POSTs JSON; the status and the JSON answer.
async fn post_json(url: &str, body: Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url} answers: {e}"));
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The real Prefect 3 server: `.ci/run` starts `prefect server start` on loopback and runs this
/// with `--ignored` and `STEWARD_TEST_PREFECT_URL` (its API, `http://127.0.0.1:4200/api`).
#[tokio::test]
#[ignore = "needs a Prefect 3 server: .ci/run starts one and runs this with --ignored"]
async fn a_real_prefect_server_gets_one_flow_run_with_stewards_parameters() {
    let prefect = std::env::var("STEWARD_TEST_PREFECT_URL")
        .expect("STEWARD_TEST_PREFECT_URL names the Prefect API this test needs");
    let prefect = prefect.trim_end_matches('/').to_string();
    let flow_name = format!("steward-retrain-{}", uuid::Uuid::new_v4().simple());
    let (status, flow) = post_json(&format!("{prefect}/flows/"), json!({"name": flow_name})).await;
    assert!((200..300).contains(&status), "{flow}");
    // The deployment enforces its parameter schema, as `flow.deploy` makes it.
    let schema = json!({"title": "Parameters", "type": "object", "properties": {
        "steward": {"title": "steward", "type": "object"},
        "lookback_days": {"title": "lookback_days", "type": "integer"}},
        "required": ["steward"]});
    let (status, deployment) = post_json(
        &format!("{prefect}/deployments/"),
        json!({"name": "retrain-eu", "flow_id": flow["id"],
               "parameter_openapi_schema": schema, "enforce_parameter_schema": true}),
    )
    .await;
    assert!((200..300).contains(&status), "{deployment}");

    let s = setup("prefect", &format!("{flow_name}/retrain-eu")).await;
    let root = prefect.trim_end_matches("/api").to_string();
    let url = format!("{}/api", lossy_proxy(root, "/create_flow_run").await);
    s.target("prefect", "PREFECT", &url, None).await;
    drift(&s.app, &s.m).await;
    let pass = s.deliver().await;
    let a = retrain_action(&s.app, &s.m, &s.sre).await;
    assert_eq!(pass["retrying"], 1, "the answer was lost: {pass} {a}");
    s.app.clock.advance(chrono::Duration::minutes(5));
    let pass = s.deliver().await;
    let a = retrain_action(&s.app, &s.m, &s.sre).await;
    assert_eq!(pass["delivered"], 1, "{pass} {a}");
    let detail = a["deliveries"][1]["detail"].as_str().unwrap();
    assert!(detail.contains("already started"), "{a}");

    let (_, runs) = post_json(
        &format!("{prefect}/flow_runs/filter"),
        json!({"flow_runs": {"deployment_id": {"any_": [deployment["id"]]}}}),
    )
    .await;
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 1, "one flow run for one decision: {runs:?}");
    let run = &runs[0];
    let key = format!("steward-{}", a["id"].as_str().unwrap());
    assert_eq!(run["idempotency_key"], key.as_str());
    assert_eq!(run["parameters"]["lookback_days"], 30);
    assert_eq!(
        run["parameters"]["steward"]["slice"],
        json!({"region": "EU"})
    );
    assert_eq!(run["parameters"]["steward"]["incident"], a["incidentId"]);
    assert!(run["tags"].as_array().unwrap().contains(&json!("steward")));
}

#[tokio::test]
async fn dagster_launches_one_tagged_run_and_finds_it_again_after_a_lost_answer() {
    let s = setup("dagster", "fraud/ml/retrain_eu").await;
    let dagster = Receiver::start(Contract::Dagster {
        location: "fraud".into(),
        repository: "ml".into(),
        jobs: vec!["retrain_eu".into()],
    })
    .await
    .unwrap();
    s.target("dagster", "DAGSTER", &dagster.url(), None).await;
    let a = s.lost_answer_then_redelivered(&dagster, "launchRun").await;
    let runs = dagster.runs();
    assert_eq!(runs.len(), 1, "the lookup by tag found the run: {runs:?}");
    let detail = a["deliveries"][1]["detail"].as_str().unwrap();
    assert!(detail.contains("already launched"), "{a}");
    let p = &runs[0].parameters;
    assert_eq!(p["runConfig"], json!({"lookback_days": 30}), "{p}");
    assert_eq!(p["tags"]["steward/slice"], "{\"region\":\"EU\"}");
    assert_eq!(p["tags"]["steward/incident"], a["incidentId"]);
}

#[tokio::test]
async fn github_actions_dispatches_one_workflow_run_with_at_most_25_inputs() {
    let s = setup("github", "retrain.yml@release").await;
    let inputs = ["steward_key", "steward", "lookback_days"];
    let github = Receiver::start(Contract::GithubActions {
        repo: "acme/fraud".into(),
        token: "ghp_test".into(),
        workflows: vec![(
            "retrain.yml".into(),
            inputs.iter().map(|i| i.to_string()).collect(),
        )],
    })
    .await
    .unwrap();
    s.app
        .ok(
            &s.officer,
            PUT_TARGET,
            json!({"i": {"name": "github", "kind": "GITHUB_ACTIONS", "url": github.url(),
                   "secret": "ghp_test"}}),
        )
        .await;
    drift(&s.app, &s.m).await;
    github.set_delay_for("/dispatches", Duration::from_secs(3));
    assert_eq!(s.deliver().await["retrying"], 1);
    github.set_delay(Duration::ZERO);
    s.app.clock.advance(chrono::Duration::minutes(5));
    assert_eq!(s.deliver().await["delivered"], 1);
    let runs = github.runs();
    assert_eq!(
        runs.len(),
        1,
        "the run titled with the key was found: {runs:?}"
    );
    let a = retrain_action(&s.app, &s.m, &s.sre).await;
    let key = format!("steward-{}", a["id"].as_str().unwrap());
    assert_eq!(runs[0].key.as_deref(), Some(key.as_str()));
    let p = &runs[0].parameters;
    assert_eq!(p["lookback_days"], "30");
    let steward: Value = serde_json::from_str(p["steward"].as_str().unwrap()).unwrap();
    assert_eq!(steward["slice"], json!({"region": "EU"}));
    let dispatch = github
        .accepted()
        .into_iter()
        .find(|r| r.path.ends_with("/dispatches"))
        .unwrap();
    assert_eq!(dispatch.json.unwrap()["ref"], "release");
    // A repository URL of the wrong shape is refused when the target is put.
    let v = s
        .app
        .gql(
            &s.officer,
            PUT_TARGET,
            json!({"i": {"name": "github", "kind": "GITHUB_ACTIONS",
                   "url": "https://api.github.com/acme/fraud", "secret": "t"}}),
        )
        .await;
    assert_eq!(code(&v), "INVALID", "{v}");
}

#[tokio::test]
async fn the_loop_closes_incident_decision_run_and_candidate_in_lineage_and_on_the_timeline() {
    let s = setup("prefect", "fraud/retrain-eu").await;
    let prefect = Receiver::start(Contract::Prefect {
        deployments: vec![(DEPLOYMENT.into(), "fraud".into(), "retrain-eu".into())],
    })
    .await
    .unwrap();
    s.target("prefect", "PREFECT", &prefect.url(), None).await;
    drift(&s.app, &s.m).await;
    assert_eq!(s.deliver().await["delivered"], 1);
    let a = retrain_action(&s.app, &s.m, &s.sre).await;
    let action = a["id"].as_str().unwrap().to_string();
    // The flow run knows the action from its parameters and reports as a service account.
    let ci = s.app.token("acme", &[Role::Service]);
    let path = format!("/v1/retraining-runs/{action}/status");
    let report = |body: Value| {
        let (app, ci, path) = (&s.app, ci.clone(), path.clone());
        async move {
            app.post(&ci, &path, "application/json", &[], body.to_string())
                .await
        }
    };
    let (status, r) =
        report(json!({"status": "running", "externalUrl": "http://prefect/runs/1"})).await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    // The run registers its candidate with a training run naming the retraining.
    let v2 = s
        .app
        .ok(
            &ci,
            REGISTER_VERSION,
            json!({"i": {"modelId": s.m.model, "artifactUri": "s3://m/2", "artifactDigest": digest(),
                   "framework": "xgboost",
                   "trainingRun": {"codeCommit": "abc", "retrainingActionId": action}}}),
        )
        .await;
    let v2 = str_at(&v2, &["registerModelVersion", "id"]);
    let (status, r) = report(json!({"status": "succeeded", "modelVersionId": v2,
        "cost": 12.5, "costCurrency": "USD", "message": "AUC 0.94 on the EU holdout"}))
    .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    assert_eq!(r["modelVersionId"], v2.as_str());

    // Lineage: incident -> decision record -> training run -> candidate.
    let g = s
        .app
        .ok(
            &s.sre,
            "query($n: ID!) { lineage(nodeId: $n, direction: UPSTREAM, depth: 5) { nodes { id kind } edges { relation } } }",
            json!({"n": v2}),
        )
        .await;
    let kinds: Vec<&str> = g["lineage"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    for k in [
        "MODEL_VERSION",
        "TRAINING_RUN",
        "DECISION_RECORD",
        "INCIDENT",
    ] {
        assert!(kinds.contains(&k), "{k} in {g}");
    }
    let relations: Vec<&str> = g["lineage"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["relation"].as_str().unwrap())
        .collect();
    for r in ["PRODUCED", "TRIGGERED", "DECIDED"] {
        assert!(relations.contains(&r), "{r} in {g}");
    }
    assert!(
        g["lineage"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["id"] == a["incidentId"]),
        "{g}"
    );
    // The incident's timeline shows the run and the candidate; the action lists the reports.
    let i = s
        .app
        .ok(
            &s.sre,
            "query($i: ID!) { incident(id: $i) { timeline { kind note } } }",
            json!({"i": a["incidentId"]}),
        )
        .await;
    let timeline = i["incident"]["timeline"].as_array().unwrap();
    let kinds: Vec<&str> = timeline
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"retraining_running"), "{i}");
    let done = timeline
        .iter()
        .find(|e| e["kind"] == "retraining_succeeded")
        .unwrap_or_else(|| panic!("{i}"));
    assert!(done["note"].as_str().unwrap().contains(&v2), "{done}");
    let v = s
        .app
        .ok(
            &s.sre,
            "query($m: ID!) { pendingActions(modelId: $m) { kind reports { status cost costCurrency modelVersionId } } }",
            json!({"m": s.m.model}),
        )
        .await;
    let retrain = v["pendingActions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "retrain")
        .unwrap();
    assert_eq!(
        retrain["reports"],
        json!([{"status": "running", "cost": null, "costCurrency": null, "modelVersionId": null},
               {"status": "succeeded", "cost": 12.5, "costCurrency": "USD", "modelVersionId": v2}])
    );

    // Bad reports say what is wrong and change nothing.
    for (body, want, says) in [
        (json!({"status": "done"}), StatusCode::BAD_REQUEST, "status"),
        (
            json!({"status": "running", "colour": "red"}),
            StatusCode::BAD_REQUEST,
            "colour",
        ),
        (
            json!({"status": "running", "modelVersionId": v2}),
            StatusCode::BAD_REQUEST,
            "modelVersionId",
        ),
        (
            json!({"status": "failed", "cost": 3}),
            StatusCode::BAD_REQUEST,
            "costCurrency",
        ),
    ] {
        let (status, r) = report(body.clone()).await;
        assert_eq!(status, want, "{body}: {r}");
        assert!(r.to_string().contains(says), "{body}: {r}");
    }
    let missing = format!("/v1/retraining-runs/{}/status", uuid::Uuid::now_v7());
    let (status, _) = s
        .app
        .post(
            &ci,
            &missing,
            "application/json",
            &[],
            json!({"status": "running"}).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let viewer = s.app.token("acme", &[Role::Viewer]);
    let (status, _) = s
        .app
        .post(
            &viewer,
            &path,
            "application/json",
            &[],
            json!({"status": "running"}).to_string(),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let v = s
        .app
        .ok(
            &s.sre,
            "query($m: ID!) { pendingActions(modelId: $m) { kind reports { status } } }",
            json!({"m": s.m.model}),
        )
        .await;
    let n = v["pendingActions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "retrain")
        .unwrap()["reports"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(n, 2, "refused reports left nothing");
}

/// The real Airflow 3 (`airflow standalone`): `.ci/run` starts it with the DAG `fraud_retrain`
/// and runs this with `--ignored`, `STEWARD_TEST_AIRFLOW_URL` (its REST API, `…/api/v2`) and
/// `STEWARD_TEST_AIRFLOW_CREDENTIALS` (`user:password`).
#[tokio::test]
#[ignore = "needs an Airflow 3 server: .ci/run starts one and runs this with --ignored"]
async fn a_real_airflow_3_gets_one_dag_run_with_stewards_conf() {
    let api = std::env::var("STEWARD_TEST_AIRFLOW_URL")
        .expect("STEWARD_TEST_AIRFLOW_URL names the Airflow REST API this test needs");
    let credentials = std::env::var("STEWARD_TEST_AIRFLOW_CREDENTIALS")
        .expect("STEWARD_TEST_AIRFLOW_CREDENTIALS is user:password");
    let api = api.trim_end_matches('/').to_string();
    let root = api.trim_end_matches("/api/v2").to_string();
    let s = setup("airflow", "fraud_retrain").await;
    let proxy = lossy_proxy(root.clone(), "/dagRuns").await;
    s.target(
        "airflow",
        "AIRFLOW",
        &format!("{proxy}/api/v2"),
        Some(&credentials),
    )
    .await;
    drift(&s.app, &s.m).await;
    let pass = s.deliver().await;
    assert_eq!(pass["retrying"], 1, "the answer was lost: {pass}");
    s.app.clock.advance(chrono::Duration::minutes(5));
    assert_eq!(s.deliver().await["delivered"], 1);
    let a = retrain_action(&s.app, &s.m, &s.sre).await;
    assert_eq!(a["deliveries"][1]["statusCode"], 409, "{a}");
    let run_id = format!("steward-{}", a["id"].as_str().unwrap());
    // The run, read back from Airflow with a token of its own.
    let (user, password) = credentials.split_once(':').unwrap();
    let (status, token) = post_json(
        &format!("{root}/auth/token"),
        json!({"username": user, "password": password}),
    )
    .await;
    assert!((200..300).contains(&status), "{token}");
    let resp = reqwest::Client::new()
        .get(format!("{api}/dags/fraud_retrain/dagRuns/{run_id}"))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let run: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(run["dag_run_id"], run_id.as_str());
    assert_eq!(run["conf"]["steward"]["slice"], json!({"region": "EU"}));
    assert_eq!(run["conf"]["lookback_days"], 30);
}
