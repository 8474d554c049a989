//! Hostile and malformed requests: each gets a clear error with the right code, and nothing is
//! partly written.

use axum::body::Body;
use serde_json::json;
use steward_domain::Role;

use crate::app::*;

async fn app_with_owner() -> (TestApp, String) {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let t = app.token("acme", &[Role::ModelOwner]);
    (app, t)
}

#[tokio::test]
async fn body_limit_applies_with_and_without_content_length() {
    let (app, t) = app_with_owner().await;
    let big = format!(
        "{{\"query\": \"{{ me {{ subject }} }}\", \"x\": \"{}\"}}",
        "a".repeat(2 * 1024 * 1024)
    );
    let (status, _) = app.raw(Some(&t), big.clone()).await;
    assert_eq!(status, 413, "with Content-Length");
    // A streamed body has no Content-Length; the limit must still stop it.
    let chunks = big
        .into_bytes()
        .chunks(64 * 1024)
        .map(bytes::Bytes::copy_from_slice)
        .collect();
    let (status, _) = app.raw(Some(&t), Body::new(Chunked(chunks))).await;
    assert_eq!(status, 413, "streamed");
}

/// A body that arrives in chunks with no length known in advance.
struct Chunked(std::collections::VecDeque<bytes::Bytes>);

impl http_body::Body for Chunked {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        std::task::Poll::Ready(self.0.pop_front().map(|b| Ok(http_body::Frame::data(b))))
    }
}

#[tokio::test]
async fn malformed_requests_are_refused_clearly() {
    let (app, t) = app_with_owner().await;
    let (status, v) = app.raw(Some(&t), "{not json").await;
    assert_eq!(
        (status.as_u16(), code(&v).as_str()),
        (400, "INVALID"),
        "{v}"
    );
    let (status, v) = app
        .raw(
            Some(&t),
            r#"[{"query":"{ me { subject } }"},{"query":"{ me { subject } }"}]"#,
        )
        .await;
    assert_eq!(
        (status.as_u16(), code(&v).as_str()),
        (400, "INVALID"),
        "{v}"
    );
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("batched")
    );
    let v = app.gql(&t, "{ me { subject ", json!({})).await;
    assert_eq!(code(&v), "INVALID", "unparsable GraphQL: {v}");
    let v = app.gql(&t, "{ me { sbject } }", json!({})).await;
    assert_eq!(code(&v), "INVALID");
    let msg = v["errors"][0]["message"].as_str().unwrap();
    assert!(!msg.contains("Did you mean"), "suggestions are off: {msg}");
    let v = app
        .gql(&t, "{ __schema { types { name } } }", json!({}))
        .await;
    assert!(v["data"]["__schema"].is_null(), "introspection is off: {v}");
}

#[tokio::test]
async fn deep_and_wide_queries_are_refused() {
    let (app, t) = app_with_owner().await;
    let s = seed(&app, &t).await;
    // Depth: versions -> model -> versions -> model ... beyond the limit.
    let mut q = String::from("id");
    for _ in 0..8 {
        q = format!("versions {{ nodes {{ model {{ {q} }} }} }}");
    }
    let v = app
        .gql(
            &t,
            &format!("query($id: ID!) {{ model(id: $id) {{ {q} }} }}"),
            json!({"id": s.model}),
        )
        .await;
    assert_eq!(code(&v), "INVALID", "{v}");
    // Complexity: 100 models x 100 versions x fields.
    let v = app
        .gql(&t, "{ models(first: 100) { nodes { versions(first: 100) { nodes { id version artifactUri tags } } } } }", json!({}))
        .await;
    assert_eq!(code(&v), "INVALID", "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("complex")
    );
    // Page sizes are capped.
    let v = app
        .gql(&t, "{ models(first: 101) { nodes { id } } }", json!({}))
        .await;
    assert_eq!(code(&v), "INVALID");
    let v = app
        .gql(&t, "{ models(first: -1) { nodes { id } } }", json!({}))
        .await;
    assert_eq!(code(&v), "INVALID");
    let v = app
        .gql(&t, "{ models(after: \"!!\") { nodes { id } } }", json!({}))
        .await;
    assert_eq!(code(&v), "INVALID");
}

#[tokio::test]
async fn bad_inputs_name_the_field_and_write_nothing() {
    let (app, t) = app_with_owner().await;
    let s = seed(&app, &t).await;
    let long = "x".repeat(129);
    let version = |over: serde_json::Value| {
        let mut i = json!({"modelId": s.model, "artifactUri": "s3://m/2", "artifactDigest": digest(), "framework": "xgboost"});
        for (k, v) in over.as_object().unwrap() {
            i[k] = v.clone();
        }
        json!({"i": i})
    };
    let cases = vec![
        (
            "empty model name",
            REGISTER_MODEL,
            json!({"i": {"name": "", "ownerTeam": "t", "riskTier": "LOW"}}),
            "input.name",
        ),
        (
            "long model name",
            REGISTER_MODEL,
            json!({"i": {"name": long, "ownerTeam": "t", "riskTier": "LOW"}}),
            "input.name",
        ),
        (
            "bad characters",
            REGISTER_MODEL,
            json!({"i": {"name": "a b;drop", "ownerTeam": "t", "riskTier": "LOW"}}),
            "input.name",
        ),
        (
            "unknown risk tier",
            REGISTER_MODEL,
            json!({"i": {"name": "x", "ownerTeam": "t", "riskTier": "EXTREME"}}),
            "riskTier",
        ),
        (
            "unknown input field",
            REGISTER_MODEL,
            json!({"i": {"name": "x", "ownerTeam": "t", "riskTier": "LOW", "color": "red"}}),
            "color",
        ),
        (
            "duplicate model",
            REGISTER_MODEL,
            json!({"i": {"name": "fraud", "ownerTeam": "t", "riskTier": "LOW"}}),
            "already exists",
        ),
        (
            "malformed digest",
            REGISTER_VERSION,
            version(json!({"artifactDigest": "md5:abc"})),
            "input.artifactDigest",
        ),
        (
            "uri without scheme",
            REGISTER_VERSION,
            version(json!({"artifactUri": "model.pkl"})),
            "input.artifactUri",
        ),
        (
            "malformed id",
            REGISTER_VERSION,
            version(json!({"modelId": "42"})),
            "input.modelId",
        ),
        (
            "duplicate metric",
            REGISTER_VERSION,
            version(json!({"metrics": [{"name": "auc", "value": 1}, {"name": "auc", "value": 2}]})),
            "auc",
        ),
        (
            "bad metric name",
            REGISTER_VERSION,
            version(json!({"metrics": [{"name": "a b", "value": 1}]})),
            "input.metrics",
        ),
        (
            "duplicate feature",
            REGISTER_VERSION,
            version(
                json!({"inputSchema": [{"name": "f", "type": "FLOAT"}, {"name": "f", "type": "FLOAT"}]}),
            ),
            "inputSchema[1]",
        ),
        (
            "both run forms",
            REGISTER_VERSION,
            version(json!({"trainingRunId": s.run, "trainingRun": {"codeCommit": "c"}})),
            "not both",
        ),
        (
            "missing run input",
            REGISTER_VERSION,
            version(
                json!({"trainingRun": {"codeCommit": "c", "inputDatasetVersionIds": [uuid::Uuid::now_v7().to_string()]}}),
            ),
            "dataset version",
        ),
        (
            "parameters not an object",
            REGISTER_VERSION,
            version(json!({"trainingRun": {"codeCommit": "c", "parameters": [1, 2]}})),
            "parameters",
        ),
        (
            "negative rows",
            REGISTER_DATASET_VERSION,
            json!({"i": {"datasetId": s.dataset, "uri": "s3://x", "contentHash": digest(), "rowCount": -1}}),
            "rowCount",
        ),
        (
            "time reversed",
            REGISTER_DATASET_VERSION,
            json!({"i": {"datasetId": s.dataset, "uri": "s3://x", "contentHash": digest(), "rowCount": 1, "timeStart": "2026-02-01T00:00:00Z", "timeEnd": "2026-01-01T00:00:00Z"}}),
            "timeEnd",
        ),
        (
            "bad timestamp",
            REGISTER_DATASET_VERSION,
            json!({"i": {"datasetId": s.dataset, "uri": "s3://x", "contentHash": digest(), "rowCount": 1, "timeStart": "yesterday"}}),
            "DateTime",
        ),
    ];
    let snapshot =
        "{ models { nodes { name latestVersion } } datasets { nodes { name latestVersion } } }";
    let before = app.ok(&t, snapshot, json!({})).await;
    for (name, q, vars, needle) in cases {
        let v = app.gql(&t, q, vars).await;
        let c = code(&v);
        assert!(
            c == "INVALID" || c == "CONFLICT" || c == "NOT_FOUND",
            "{name}: {v}"
        );
        let msg = v["errors"][0]["message"].as_str().unwrap();
        assert!(
            msg.contains(needle),
            "{name}: `{msg}` should mention `{needle}`"
        );
        assert!(
            !msg.to_lowercase().contains("sql"),
            "{name}: no SQL in messages: {msg}"
        );
    }
    assert_eq!(
        app.ok(&t, snapshot, json!({})).await,
        before,
        "nothing was partly written"
    );
    // Non-finite numbers cannot be expressed in JSON; an out-of-range literal is refused whole.
    let (status, v) = app
        .raw(Some(&t), format!(r#"{{"query": "mutation($i: RegisterModelVersionInput!) {{ registerModelVersion(input: $i) {{ id }} }}", "variables": {{"i": {{"modelId": "{}", "artifactUri": "s3://x", "artifactDigest": "{}", "framework": "f", "metrics": [{{"name": "auc", "value": 1e999}}]}}}}}}"#, s.model, digest()))
        .await;
    assert_eq!(
        (status.as_u16(), code(&v).as_str()),
        (400, "INVALID"),
        "{v}"
    );
    assert_eq!(app.ok(&t, snapshot, json!({})).await, before);
}
