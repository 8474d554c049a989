//! Policies through the API: revisions (draft, publish, roll back), bindings and their
//! resolution, evaluations and their decision records, hostile contexts, runaway scripts; one
//! module per concept, and the helpers they share here.

mod bindings;
mod evaluations;
mod revisions;
mod runaway;

use serde_json::{Value, json};

use crate::app::*;

pub const HIGH_RISK_PROMOTION: &str =
    include_str!("../../../../../policies/high-risk-promotion.rhai");

/// Creates a policy with `source` as revision 1, published; returns its id.
pub async fn published(app: &TestApp, author: &str, name: &str, source: &str) -> String {
    let id = str_at(
        &app.ok(author, CREATE_POLICY, json!({"i": {"name": name}}))
            .await,
        &["createPolicy", "id"],
    );
    app.ok(
        author,
        PROPOSE,
        json!({"i": {"policyId": id, "source": source}}),
    )
    .await;
    app.ok(author, PUBLISH, json!({"i": {"policyId": id, "number": 1}}))
        .await;
    id
}

/// A policy's active revision number and its revisions as (number, status), newest first, with
/// the raw revision nodes.
pub async fn revision_states(
    app: &TestApp,
    token: &str,
    id: &str,
) -> (Value, Vec<(i64, String)>, Vec<Value>) {
    let v = app
        .ok(token, "query($i: ID!) { policy(id: $i) { activeRevisionNumber revisions { nodes { number status publishedBy source } } } }", json!({"i": id}))
        .await;
    let nodes = v["policy"]["revisions"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    let states = nodes
        .iter()
        .map(|n| {
            (
                n["number"].as_i64().unwrap(),
                n["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (v["policy"]["activeRevisionNumber"].clone(), states, nodes)
}

/// The resolution of `model`: which binding governs it and why.
pub async fn resolution(app: &TestApp, token: &str, model: &str) -> Value {
    let q = "query($m: ID!) { policyResolution(modelId: $m) { binding { id kind policyId } explanation } }";
    app.ok(token, q, json!({"m": model})).await["policyResolution"].clone()
}

/// Registers a low-risk model `name` with one version; returns (model id, version id).
pub async fn model_with_version(app: &TestApp, owner: &str, name: &str) -> (String, String) {
    let model = str_at(
        &app.ok(
            owner,
            REGISTER_MODEL,
            json!({"i": {"name": name, "ownerTeam": "t", "riskTier": "LOW"}}),
        )
        .await,
        &["registerModel", "id"],
    );
    let version = str_at(
        &app.ok(owner, REGISTER_VERSION, json!({"i": {"modelId": model, "artifactUri": "s3://m", "artifactDigest": digest(), "framework": "f"}}))
            .await,
        &["registerModelVersion", "id"],
    );
    (model, version)
}

pub async fn record_count(app: &TestApp, token: &str) -> usize {
    app.ok(
        token,
        "{ decisionRecords(first: 100) { nodes { id } } }",
        json!({}),
    )
    .await["decisionRecords"]["nodes"]
        .as_array()
        .unwrap()
        .len()
}
