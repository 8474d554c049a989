//! Registry behaviour through the API: version numbering, idempotent retries, pagination,
//! metadata updates and lineage.

use serde_json::{Value, json};
use steward_domain::Role;

use crate::app::*;

#[tokio::test]
async fn idempotent_registration_returns_the_first_result() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let t = app.token("acme", &[Role::Service]);
    let s = seed(&app, &app.token("acme", &[Role::ModelOwner])).await;
    let input = json!({"i": {"modelId": s.model, "artifactUri": "s3://m/2", "artifactDigest": digest(), "framework": "f",
        "idempotencyKey": "ci-build-77", "trainingRun": {"codeCommit": "def", "inputDatasetVersionIds": [s.dataset_version]}}});
    let first = app.ok(&t, REGISTER_VERSION, input.clone()).await;
    let mut retries = Vec::new();
    for _ in 0..5 {
        let app_ref = &app;
        let t = t.clone();
        let input = input.clone();
        retries.push(async move { app_ref.ok(&t, REGISTER_VERSION, input).await });
    }
    for r in futures_join(retries).await {
        assert_eq!(r, first, "a retry returns the first result");
    }
    let model = app
        .ok(
            &t,
            "query($id: ID!) { model(id: $id) { latestVersion } }",
            json!({"id": s.model}),
        )
        .await;
    assert_eq!(
        model["model"]["latestVersion"], 2,
        "one new version, not six"
    );
    // The same key with a different request is a conflict, not a silent success.
    let mut other = input.clone();
    other["i"]["artifactUri"] = json!("s3://m/other");
    let v = app.gql(&t, REGISTER_VERSION, other).await;
    assert_eq!(code(&v), "CONFLICT", "{v}");
}

async fn futures_join<F: std::future::Future>(fs: Vec<F>) -> Vec<F::Output> {
    let mut out = Vec::new();
    for f in fs {
        out.push(f.await);
    }
    out
}

#[tokio::test]
async fn model_page_with_versions_metrics_and_lineage() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let t = app.token("acme", &[Role::ModelOwner]);
    let s = seed(&app, &t).await;
    for (i, auc) in [0.80, 0.81, 0.82, 0.83].into_iter().enumerate() {
        app.ok(&t, REGISTER_VERSION, json!({"i": {"modelId": s.model, "artifactUri": format!("s3://m/{i}"), "artifactDigest": digest(), "framework": "f",
            "metrics": [{"name": "auc", "value": auc}]}})).await;
    }
    let page = app
        .ok(&t, "query($id: ID!) { model(id: $id) { name riskTier tags versions(first: 3) { nodes { version metrics { name value } } pageInfo { hasNextPage endCursor } } } }", json!({"id": s.model}))
        .await;
    let m = &page["model"];
    assert_eq!(m["riskTier"], "HIGH");
    assert_eq!(m["tags"], json!(["eu"]));
    let versions: Vec<i64> = m["versions"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, vec![5, 4, 3]);
    assert_eq!(
        m["versions"]["nodes"][0]["metrics"],
        json!([{"name": "auc", "value": 0.83}])
    );
    let cursor = m["versions"]["pageInfo"]["endCursor"].as_str().unwrap();
    let rest = app
        .ok(&t, "query($id: ID!, $c: String) { model(id: $id) { versions(first: 3, after: $c) { nodes { version } pageInfo { hasNextPage } } } }", json!({"id": s.model, "c": cursor}))
        .await;
    assert_eq!(
        rest["model"]["versions"]["nodes"],
        json!([{"version": 2}, {"version": 1}])
    );
    assert_eq!(rest["model"]["versions"]["pageInfo"]["hasNextPage"], false);

    let up = app
        .ok(&t, "query($id: ID!) { lineage(nodeId: $id, direction: UPSTREAM, depth: 3) { nodes { kind label depth } edges { relation } } }", json!({"id": s.version}))
        .await;
    let labels: Vec<&str> = up["lineage"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"transactions v1") && labels.contains(&"fraud v1"),
        "{labels:?}"
    );
    let down = app
        .ok(&t, "query($id: ID!) { lineage(nodeId: $id, direction: DOWNSTREAM) { nodes { kind label } } }", json!({"id": s.dataset_version}))
        .await;
    assert!(
        down["lineage"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["label"] == "fraud v1")
    );
    let v = app
        .gql(
            &t,
            "query($id: ID!) { lineage(nodeId: $id, depth: 26) { nodes { id } } }",
            json!({"id": s.version}),
        )
        .await;
    assert_eq!(code(&v), "INVALID");
    let run = app
        .ok(&t, "query($id: ID!) { trainingRun(id: $id) { codeCommit status inputDatasetVersions { uri dataset { name } } } }", json!({"id": s.run}))
        .await;
    assert_eq!(
        run["trainingRun"]["inputDatasetVersions"][0]["dataset"]["name"],
        "transactions"
    );
    assert_eq!(run["trainingRun"]["status"], "SUCCEEDED");
}

#[tokio::test]
async fn update_model_changes_metadata_only() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let s = seed(&app, &owner).await;
    let officer = app.token("acme", &[Role::GovernanceOfficer]);
    let v = app
        .ok(&officer, "mutation($id: ID!) { updateModel(input: {id: $id, riskTier: LOW, tags: [\"b\", \"a\", \"b\"]}) { riskTier tags latestVersion } }", json!({"id": s.model}))
        .await;
    assert_eq!(
        v["updateModel"],
        json!({"riskTier": "LOW", "tags": ["a", "b"], "latestVersion": 1})
    );
    let v = app
        .gql(
            &officer,
            "mutation($id: ID!) { updateModel(input: {id: $id}) { id } }",
            json!({"id": s.model}),
        )
        .await;
    assert_eq!(
        code(&v),
        "INVALID",
        "an update that changes nothing is refused: {v}"
    );
    let listed = app
        .ok(
            &owner,
            "{ models(riskTier: LOW, tag: \"a\", namePrefix: \"fr\") { nodes { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["models"]["nodes"], json!([{"name": "fraud"}]));
}

#[tokio::test]
async fn cached_reads_follow_writes_and_principals() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let viewer = app.token("acme", &[Role::Viewer]);
    let s = seed(&app, &owner).await;
    let page =
        "query($id: ID!) { model(id: $id) { latestVersion versions { nodes { version } } } }";
    for _ in 0..3 {
        let v = app.ok(&owner, page, json!({"id": s.model})).await;
        assert_eq!(v["model"]["latestVersion"], 1);
    }
    // A write makes the next identical read see it, for every principal.
    app.ok(&owner, REGISTER_VERSION, json!({"i": {"modelId": s.model, "artifactUri": "s3://m/2", "artifactDigest": digest(), "framework": "f"}})).await;
    for t in [&owner, &viewer] {
        let v = app.ok(t, page, json!({"id": s.model})).await;
        assert_eq!(v["model"]["latestVersion"], 2);
        assert_eq!(v["model"]["versions"]["nodes"].as_array().unwrap().len(), 2);
    }
    // So does a denied attempt (it writes the audit log), and answers never cross principals.
    let me = "{ me { roles } }";
    assert_eq!(
        app.ok(&owner, me, json!({})).await["me"]["roles"],
        json!(["MODEL_OWNER"])
    );
    assert_eq!(
        app.ok(&viewer, me, json!({})).await["me"]["roles"],
        json!(["VIEWER"])
    );
    let officer = app.token("acme", &[Role::GovernanceOfficer]);
    let count = "{ auditEvents(first: 100) { nodes { seq } } }";
    let before = app.ok(&officer, count, json!({})).await["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .len();
    let v = app
        .gql(
            &viewer,
            REGISTER_MODEL,
            json!({"i": {"name": "x", "ownerTeam": "t", "riskTier": "LOW"}}),
        )
        .await;
    assert_eq!(code(&v), "FORBIDDEN");
    let after = app.ok(&officer, count, json!({})).await["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(after, before + 1, "audit reads are never served stale");
}

/// The risk tier decides a model's approval requirements: an owner cannot lower it to escape
/// them (nor raise it), while the rest of the metadata stays theirs. The refusal is audited as a
/// denial and changes nothing.
#[tokio::test]
async fn only_a_governance_officer_moves_a_models_risk_tier() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let officer = app.token("acme", &[Role::GovernanceOfficer]);
    let s = seed(&app, &owner).await;
    let update =
        "mutation($i: UpdateModelInput!) { updateModel(input: $i) { riskTier description } }";
    let read = "query($id: ID!) { model(id: $id) { riskTier description } }";

    let v = app
        .gql(
            &owner,
            update,
            json!({"i": {"id": s.model, "riskTier": "LOW", "description": "cheaper"}}),
        )
        .await;
    assert_eq!(code(&v), "FORBIDDEN", "{v}");
    let message = v["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("risk tier"), "{message}");
    let m = app.ok(&owner, read, json!({"id": s.model})).await;
    assert_eq!(
        m["model"]["riskTier"], "HIGH",
        "nothing of the refused change remains"
    );
    assert_ne!(m["model"]["description"], "cheaper");

    // Naming the tier the model already has is no move; other metadata is the owner's.
    let v = app
        .ok(
            &owner,
            update,
            json!({"i": {"id": s.model, "riskTier": "HIGH", "description": "owned"}}),
        )
        .await;
    assert_eq!(
        v["updateModel"],
        json!({"riskTier": "HIGH", "description": "owned"})
    );
    let v = app
        .ok(
            &officer,
            update,
            json!({"i": {"id": s.model, "riskTier": "MEDIUM"}}),
        )
        .await;
    assert_eq!(v["updateModel"]["riskTier"], "MEDIUM");

    let events = app
        .ok(&officer, "{ auditEvents(first: 100, filter: {action: \"model.update\"}) { nodes { outcome actor { sub } } } }", json!({}))
        .await;
    let outcomes: Vec<&str> = events["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "DENIED").count(),
        1,
        "{events}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| **o == "OK").count(),
        2,
        "{events}"
    );
}

/// The MLflow-compatible routes through the router: MLflow's error shape and codes, a version
/// registered with its digest tag, and calls not built yet answering 404 (never a 5xx). The real
/// mlflow client is driven against a real server in tests/mlflow (pytest, in CI).
#[tokio::test]
async fn the_mlflow_routes_answer_in_mlflows_shapes() {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let call = |method: &str, path: &str, body: Option<Value>, token: Option<&str>| {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let body = body.map_or(Body::empty(), |b| Body::from(b.to_string()));
        let router = app.router.clone();
        let req = req
            .header("content-type", "application/json")
            .body(body)
            .unwrap();
        async move {
            let resp = router.oneshot(req).await.unwrap();
            let status = resp.status().as_u16();
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .unwrap();
            (
                status,
                serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null),
            )
        }
    };
    let m = "/api/2.0/mlflow";
    let (s, v) = call(
        "POST",
        &format!("{m}/registered-models/create"),
        Some(json!({"name": "fraud"})),
        None,
    )
    .await;
    assert_eq!(
        (s, v["error_code"].as_str()),
        (401, Some("UNAUTHENTICATED")),
        "{v}"
    );
    let (s, v) = call(
        "POST",
        &format!("{m}/registered-models/create"),
        Some(json!({"name": "fraud", "tags": [{"key": "steward.risk_tier", "value": "high"}]})),
        Some(&owner),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["registered_model"]["name"], "fraud");
    let (s, v) = call(
        "POST",
        &format!("{m}/model-versions/create"),
        Some(json!({"name": "fraud", "source": "s3://m/1"})),
        Some(&owner),
    )
    .await;
    assert_eq!(
        (s, v["error_code"].as_str()),
        (400, Some("INVALID_PARAMETER_VALUE")),
        "{v}"
    );
    let tags = json!([{"key": "steward.artifact_digest", "value": digest()}]);
    let (s, v) = call(
        "POST",
        &format!("{m}/model-versions/create"),
        Some(json!({"name": "fraud", "source": "s3://m/1", "tags": tags})),
        Some(&owner),
    )
    .await;
    assert_eq!(
        (s, v["model_version"]["version"].as_str()),
        (200, Some("1")),
        "{v}"
    );
    let (s, v) = call(
        "GET",
        &format!("{m}/model-versions/get?name=fraud&version=1"),
        None,
        Some(&owner),
    )
    .await;
    assert_eq!(
        (s, v["model_version"]["status"].as_str()),
        (200, Some("READY")),
        "{v}"
    );
    let (s, v) = call(
        "GET",
        &format!("{m}/registered-models/get?name=nobody"),
        None,
        Some(&owner),
    )
    .await;
    assert_eq!(
        (s, v["error_code"].as_str()),
        (404, Some("RESOURCE_DOES_NOT_EXIST")),
        "{v}"
    );
    let (s, v) = call(
        "POST",
        &format!("{m}/registered-models/create"),
        Some(json!({"name": "fraud"})),
        Some(&owner),
    )
    .await;
    assert_eq!(
        (s, v["error_code"].as_str()),
        (400, Some("RESOURCE_ALREADY_EXISTS")),
        "{v}"
    );
    let (s, v) = call(
        "POST",
        &format!("{m}/registered-models/create"),
        Some(json!([1])),
        Some(&owner),
    )
    .await;
    assert_eq!(
        (s, v["error_code"].as_str()),
        (400, Some("INVALID_PARAMETER_VALUE")),
        "{v}"
    );
    let (s, v) = call(
        "POST",
        &format!("{m}/webhooks"),
        Some(json!({"name": "fraud", "url": "https://x.example"})),
        Some(&owner),
    )
    .await;
    assert_eq!(
        (s, v["error_code"].as_str()),
        (404, Some("ENDPOINT_NOT_FOUND")),
        "{v}"
    );
    let (s, v) = call("GET", "/api/3.0/mlflow/server-info", None, None).await;
    assert_eq!(
        (s, v["workspaces_enabled"].as_bool()),
        (200, Some(true)),
        "{v}"
    );
    // Another tenant's model reads as missing.
    app.tenant("globex").await;
    let stranger = app.token("globex", &[Role::ModelOwner]);
    let (s, _) = call(
        "GET",
        &format!("{m}/registered-models/get?name=fraud"),
        None,
        Some(&stranger),
    )
    .await;
    assert_eq!(s, 404);
}
