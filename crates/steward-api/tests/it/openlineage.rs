//! OpenLineage ingestion through `POST /api/v1/lineage` and Marquez's `GET /api/v1/lineage`:
//! a bound job's START and COMPLETE become dataset version -> training run -> model version;
//! an unbound job stays an external job; malformed events are 400 naming the field with
//! nothing stored; gzip bodies are read; another tenant's model cannot be named.

use std::io::Write;

use serde_json::{Value, json};
use steward_domain::Role;

use crate::app::*;

const RUN: &str = "7f0e3a7c-51c4-4d57-9a6b-6d1c1f0c2b11";

fn event(event_type: &str, job: &str, inputs: Value, outputs: Value) -> Value {
    json!({
        "eventType": event_type,
        "eventTime": "2026-03-01T10:00:00Z",
        "run": {"runId": RUN, "facets": {}},
        "job": {"namespace": "airflow-prod", "name": job,
                "facets": {"sourceCodeLocation": {"type": "git", "url": "https://git.example/ml", "version": "4f1c2e9"}}},
        "inputs": inputs,
        "outputs": outputs,
        "producer": "https://github.com/OpenLineage/OpenLineage/tree/1.54.0/client/python",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    })
}

fn transactions() -> Value {
    json!([{
        "namespace": "postgres://warehouse:5432", "name": "public.transactions",
        "facets": {
            "schema": {"fields": [{"name": "amount", "type": "DOUBLE"}, {"name": "country", "type": "VARCHAR(2)"}]},
            "version": {"datasetVersion": "2026-02-28"},
        },
        "inputFacets": {"inputStatistics": {"rowCount": 120000}},
    }])
}

async fn post(app: &TestApp, token: &str, body: &Value) -> (u16, Value) {
    let (s, v) = app
        .post(
            token,
            "/api/v1/lineage",
            "application/json",
            &[],
            body.to_string(),
        )
        .await;
    (s.as_u16(), v)
}

async fn counts(app: &TestApp, token: &str) -> Value {
    app.ok(
        token,
        "{ datasets { nodes { name latestVersion } } lineageJobs { name } }",
        json!({}),
    )
    .await
}

#[tokio::test]
async fn a_bound_jobs_run_becomes_a_training_run_of_the_version_it_registered() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let ci = app.token("acme", &[Role::Service]);
    let model = app
        .ok(
            &owner,
            REGISTER_MODEL,
            json!({"i": {"name": "fraud", "ownerTeam": "risk", "riskTier": "HIGH"}}),
        )
        .await["registerModel"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.ok(
        &owner,
        "mutation($m: ID!) { bindLineageJob(input: {namespace: \"airflow-prod\", name: \"train_fraud\", modelId: $m}) { id } }",
        json!({"m": model}),
    )
    .await;

    let (s, start) = post(
        &app,
        &ci,
        &event("START", "train_fraud", transactions(), json!([])),
    )
    .await;
    assert_eq!(s, 201, "{start}");
    assert!(
        start["trainingRunId"].is_null(),
        "no training run before the run ends: {start}"
    );
    // The version is registered by the job (through the MLflow API or GraphQL) before it ends.
    let version = app
        .ok(&ci, REGISTER_VERSION, json!({"i": {"modelId": model, "artifactUri": "s3://m/fraud/9", "artifactDigest": digest(), "framework": "xgboost"}}))
        .await["registerModelVersion"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let outputs = json!([{"namespace": "s3://models", "name": "fraud/9",
        "outputFacets": {"steward_modelVersion": {"_producer": "x", "_schemaURL": "x", "model": "fraud", "version": "1"},
                          "outputStatistics": {"rowCount": 1}}}]);
    let (s, done) = post(
        &app,
        &ci,
        &event("COMPLETE", "train_fraud", transactions(), outputs),
    )
    .await;
    assert_eq!(s, 201, "{done}");
    let run = done["trainingRunId"]
        .as_str()
        .expect("a training run")
        .to_string();
    assert_eq!(done["modelVersionIds"], json!([version]));
    assert_eq!(
        done["inputs"], start["inputs"],
        "the same dataset version both times"
    );

    let v = app
        .ok(&owner, "query($i: ID!) { modelVersion(id: $i) { trainingRun { id status codeCommit orchestrator orchestratorRunId startedAt endedAt inputDatasetVersions { rowCount schema { name type } uri } } } }", json!({"i": version}))
        .await;
    let tr = &v["modelVersion"]["trainingRun"];
    assert_eq!(tr["id"], run);
    assert_eq!(tr["status"], "SUCCEEDED");
    assert_eq!(tr["codeCommit"], "4f1c2e9");
    assert_eq!(tr["orchestratorRunId"], RUN);
    let input = &tr["inputDatasetVersions"][0];
    assert_eq!(input["rowCount"], 120000);
    assert_eq!(
        input["uri"],
        "postgres://warehouse:5432/public.transactions"
    );
    assert_eq!(
        input["schema"],
        json!([{"name": "amount", "type": "FLOAT"}, {"name": "country", "type": "STRING"}])
    );

    // Lineage: dataset version -> training run -> model version, and the job ran the run.
    let g = app
        .ok(&owner, "query($i: ID!) { lineage(nodeId: $i, direction: UPSTREAM, depth: 3) { nodes { kind label } edges { relation } } }", json!({"i": version}))
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
        "DATASET_VERSION",
        "JOB",
        "MODEL",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    // Marquez's view from the input dataset: dataset -> job -> model.
    let (s, m) = app
        .get(
            &owner,
            "/api/v1/lineage?nodeId=dataset:postgres://warehouse:5432:public.transactions&depth=2",
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{m}");
    let ids: Vec<&str> = m["graph"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"dataset:postgres://warehouse:5432:public.transactions"),
        "{ids:?}"
    );
    assert!(ids.contains(&"job:airflow-prod:train_fraud"), "{ids:?}");
    assert!(ids.contains(&"model:steward:fraud"), "{ids:?}");
    let job = m["graph"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "job:airflow-prod:train_fraud")
        .unwrap();
    assert_eq!(
        job["inEdges"][0]["origin"],
        "dataset:postgres://warehouse:5432:public.transactions"
    );
    assert!(
        job["outEdges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["destination"] == "model:steward:fraud"),
        "{job}"
    );

    // A later event of the ended run adds nothing: the same training run.
    let (_, again) = post(
        &app,
        &ci,
        &event("COMPLETE", "train_fraud", transactions(), json!([])),
    )
    .await;
    assert_eq!(again["trainingRunId"], run);
}

#[tokio::test]
async fn an_unbound_job_is_an_external_job_in_lineage() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let ci = app.token("acme", &[Role::Service]);
    let outputs = json!([{"namespace": "s3://features", "name": "fraud_features",
        "facets": {"schema": {"fields": [{"name": "amount_7d", "type": "double"}]}},
        "outputFacets": {"outputStatistics": {"rowCount": 500}}}]);
    let (s, v) = post(
        &app,
        &ci,
        &event("COMPLETE", "build_features", transactions(), outputs),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert!(v["trainingRunId"].is_null());
    let out = v["outputs"][0].as_str().unwrap().to_string();
    let g = app
        .ok(&ci, "query($i: ID!) { lineage(nodeId: $i, direction: UPSTREAM, depth: 2) { nodes { kind label } } }", json!({"i": out}))
        .await;
    let labels: Vec<(&str, &str)> = g["lineage"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["kind"].as_str().unwrap(), n["label"].as_str().unwrap()))
        .collect();
    assert!(
        labels.contains(&("JOB", "airflow-prod/build_features")),
        "{labels:?}"
    );
    assert!(
        labels.iter().any(|(k, _)| *k == "DATASET_VERSION"),
        "{labels:?}"
    );
    // A DatasetEvent and a JobEvent are taken too.
    let dataset_event = json!({"eventTime": "2026-03-01T10:00:00Z", "producer": "p",
        "dataset": {"namespace": "s3://features", "name": "fraud_features", "facets": {"version": {"datasetVersion": "v7"}}}});
    assert_eq!(post(&app, &ci, &dataset_event).await.0, 201);
    let job_event = json!({"eventTime": "2026-03-01T10:00:00Z", "producer": "p",
        "job": {"namespace": "airflow-prod", "name": "export"}, "inputs": [], "outputs": []});
    assert_eq!(post(&app, &ci, &job_event).await.0, 201);
    let c = counts(&app, &ci).await;
    assert_eq!(c["lineageJobs"].as_array().unwrap().len(), 2, "{c}");
}

#[tokio::test]
async fn malformed_events_name_the_field_and_store_nothing() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let ci = app.token("acme", &[Role::Service]);
    let before = counts(&app, &ci).await;
    let good = event("START", "train", transactions(), json!([]));
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let mut e = good.clone();
    e["run"]["runId"] = json!("not-a-uuid");
    cases.push((e, "run.runId"));
    let mut e = good.clone();
    e["eventTime"] = json!("yesterday");
    cases.push((e, "eventTime"));
    let mut e = good.clone();
    e["eventType"] = json!("EXPLODED");
    cases.push((e, "eventType"));
    let mut e = good.clone();
    e["inputs"][0]["inputFacets"]["inputStatistics"]["rowCount"] = json!(-5);
    cases.push((e, "inputs[0].inputStatistics.rowCount"));
    let mut e = good.clone();
    e["inputs"][0]["facets"]["schema"]["fields"][1]["name"] = json!("bad name");
    cases.push((e, "inputs[0].facets.schema.fields[1].name"));
    let mut e = good.clone();
    e["job"].as_object_mut().unwrap().remove("name");
    cases.push((e, "job.name"));
    let outputs = json!([{"namespace": "s3://m", "name": "x", "outputFacets": {"steward_modelVersion": {"model": "nobody", "version": "1"}}}]);
    cases.push((
        event("COMPLETE", "train", json!([]), outputs),
        "outputs[0].steward_modelVersion.model",
    ));
    for (body, field) in cases {
        let (s, v) = post(&app, &ci, &body).await;
        assert_eq!(s, 400, "{field}: {v}");
        let msg = v["errors"][0]["message"].as_str().unwrap();
        assert!(msg.contains(field), "{field} named in {msg}");
    }
    let (s, v) = app
        .post(&ci, "/api/v1/lineage", "application/json", &[], "{not json")
        .await;
    assert_eq!(s.as_u16(), 400, "{v}");
    assert_eq!(counts(&app, &ci).await, before, "nothing stored");
}

#[tokio::test]
async fn gzip_bodies_tokens_and_tenants() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    app.tenant("globex").await;
    let ci = app.token("acme", &[Role::Service]);
    let body = event("START", "train", transactions(), json!([])).to_string();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.as_bytes()).unwrap();
    let packed = gz.finish().unwrap();
    let (s, v) = app
        .post(
            &ci,
            "/api/v1/lineage",
            "application/json",
            &[("content-encoding", "gzip")],
            packed,
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{v}");
    let (s, _) = app
        .post(
            &ci,
            "/api/v1/lineage",
            "application/json",
            &[("content-encoding", "gzip")],
            body.clone(),
        )
        .await;
    assert_eq!(s.as_u16(), 400, "not gzip");
    let (s, _) = app
        .post(
            "not-a-token",
            "/api/v1/lineage",
            "application/json",
            &[],
            body.clone(),
        )
        .await;
    assert_eq!(s.as_u16(), 401);
    let viewer = app.token("acme", &[Role::Viewer]);
    let (s, v) = app
        .post(&viewer, "/api/v1/lineage", "application/json", &[], body)
        .await;
    assert_eq!(s.as_u16(), 403, "{v}");
    // Another tenant cannot name acme's model, nor read acme's lineage.
    let owner = app.token("acme", &[Role::ModelOwner]);
    app.ok(
        &owner,
        REGISTER_MODEL,
        json!({"i": {"name": "fraud", "ownerTeam": "t", "riskTier": "LOW"}}),
    )
    .await;
    let other = app.token("globex", &[Role::Service]);
    let outputs = json!([{"namespace": "s3://m", "name": "x", "outputFacets": {"steward_modelVersion": {"model": "fraud", "version": "1"}}}]);
    let (s, v) = post(
        &app,
        &other,
        &event("COMPLETE", "steal", json!([]), outputs),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    let (s, _) = app
        .get(
            &other,
            "/api/v1/lineage?nodeId=job:airflow-prod:train&depth=1",
        )
        .await;
    assert_eq!(s.as_u16(), 404);
}
