//! The registry's lifecycle through GraphQL: renaming (lineage follows), deleting versions and
//! models (stamps; refused while served; numbers never reused; names free again; deleting again
//! changes nothing), a version's description and its MLflow stage (`Production` of a served
//! model refused).

use serde_json::{Value, json};
use steward_domain::Role;

use crate::app::*;

const VERSION: &str = "query($i: ID!) { modelVersion(id: $i) { version description stage runId runLink deletedAt deletedBy } }";

async fn register_version(app: &TestApp, token: &str, model: &str, extra: Value) -> (String, i64) {
    let mut input = json!({"modelId": model, "artifactUri": "s3://m/x", "artifactDigest": digest(), "framework": "f"});
    if let (Some(i), Some(e)) = (input.as_object_mut(), extra.as_object()) {
        i.extend(e.clone());
    }
    let v = app.ok(token, REGISTER_VERSION, json!({"i": input})).await;
    let r = &v["registerModelVersion"];
    (
        r["id"].as_str().unwrap().to_string(),
        r["version"].as_i64().unwrap(),
    )
}

#[tokio::test]
async fn deleting_versions_keeps_records_and_numbers() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let ci = app.token("acme", &[Role::Service]);
    let s = seed(&app, &owner).await;

    // The served version: refused, nothing written.
    let v = app
        .gql(
            &owner,
            "mutation($i: ID!) { deleteModelVersion(versionId: $i) { id } }",
            json!({"i": s.version}),
        )
        .await;
    assert_eq!(code(&v), "FAILED_PRECONDITION", "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("fraud-prod"),
        "{v}"
    );
    let kept = app.ok(&owner, VERSION, json!({"i": s.version})).await;
    assert!(kept["modelVersion"]["deletedAt"].is_null());

    // An unserved version with an alias: the CI account may not delete, the owner may.
    let (id, n) = register_version(
        &app,
        &owner,
        &s.model,
        json!({"description": "retrained", "runId": "r-1", "runLink": "https://ml.example/r-1"}),
    )
    .await;
    let got = app.ok(&owner, VERSION, json!({"i": id})).await;
    assert_eq!(got["modelVersion"]["description"], "retrained");
    assert_eq!(got["modelVersion"]["runId"], "r-1");
    assert_eq!(got["modelVersion"]["runLink"], "https://ml.example/r-1");
    app.ok(
        &owner,
        "mutation($i: SetModelAliasInput!) { setModelAlias(input: $i) { alias } }",
        json!({"i": {"modelId": s.model, "alias": "challenger", "version": n}}),
    )
    .await;
    let del = "mutation($i: ID!) { deleteModelVersion(versionId: $i) { deletedAt deletedBy } }";
    let v = app.gql(&ci, del, json!({"i": id})).await;
    assert_eq!(code(&v), "FORBIDDEN", "{v}");
    let first = app.ok(&owner, del, json!({"i": id})).await;
    let at = first["deleteModelVersion"]["deletedAt"].clone();
    assert!(at.is_string(), "{first}");
    // Again: allowed, changes nothing.
    let again = app.ok(&owner, del, json!({"i": id})).await;
    assert_eq!(again["deleteModelVersion"]["deletedAt"], at);

    // The record stays by id; lists, numbers and aliases skip it.
    let got = app.ok(&owner, VERSION, json!({"i": id})).await;
    assert_eq!(got["modelVersion"]["deletedAt"], at);
    let listed = app
        .ok(
            &owner,
            "query($i: ID!) { model(id: $i) { latestVersion versions { nodes { version } } } }",
            json!({"i": s.model}),
        )
        .await;
    let numbers: Vec<i64> = listed["model"]["versions"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert!(!numbers.contains(&n), "{numbers:?}");
    let aliases = app
        .ok(
            &owner,
            "query($i: ID!) { modelAliases(modelId: $i) { alias } }",
            json!({"i": s.model}),
        )
        .await;
    assert_eq!(
        aliases["modelAliases"],
        json!([]),
        "the alias ended with the version"
    );
    let (_, next) = register_version(&app, &owner, &s.model, json!({})).await;
    assert_eq!(
        next,
        n + 1,
        "a deleted version's number is never handed out again"
    );

    // A deleted version takes no observations.
    let (status, body) = app
        .post(
            &owner,
            &format!("/v1/model-versions/{id}/observations"),
            "application/x-ndjson",
            &[],
            predictions(5, 0.5, None),
        )
        .await;
    assert_eq!(status.as_u16(), 412, "{body}");
    assert!(body.to_string().contains("deleted"), "{body}");
}

#[tokio::test]
async fn deleting_a_model_frees_its_name_and_keeps_its_record() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let s = seed(&app, &owner).await;
    let del = "mutation($i: ID!) { deleteModel(modelId: $i) { name deletedAt } }";

    // A served model: refused.
    let v = app.gql(&owner, del, json!({"i": s.model})).await;
    assert_eq!(code(&v), "FAILED_PRECONDITION", "{v}");

    let scratch = app
        .ok(
            &owner,
            "{ modelByName(name: \"scratch\") { id } }",
            json!({}),
        )
        .await["modelByName"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let gone = app.ok(&owner, del, json!({"i": scratch})).await;
    assert!(gone["deleteModel"]["deletedAt"].is_string(), "{gone}");
    let v = app
        .gql(
            &owner,
            "{ modelByName(name: \"scratch\") { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&v), "NOT_FOUND", "{v}");
    let kept = app
        .ok(&owner, VERSION, json!({"i": s.doomed_version}))
        .await;
    assert!(
        kept["modelVersion"]["deletedAt"].is_string(),
        "its versions go with it: {kept}"
    );
    let models = app
        .ok(&owner, "{ models { nodes { name } } }", json!({}))
        .await;
    assert!(!models.to_string().contains("scratch"), "{models}");
    // The name is free again; the old record is still there by id.
    app.ok(
        &owner,
        REGISTER_MODEL,
        json!({"i": {"name": "scratch", "ownerTeam": "t", "riskTier": "LOW"}}),
    )
    .await;
    let old = app
        .ok(
            &owner,
            "query($i: ID!) { model(id: $i) { name deletedBy } }",
            json!({"i": scratch}),
        )
        .await;
    assert_eq!(old["model"]["name"], "scratch");
    assert!(old["model"]["deletedBy"].is_string());
}

#[tokio::test]
async fn renaming_moves_the_name_and_the_lineage_labels() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let s = seed(&app, &owner).await;
    let rename = "mutation($i: RenameModelInput!) { renameModel(input: $i) { name } }";
    let v = app
        .gql(
            &owner,
            rename,
            json!({"i": {"modelId": s.model, "name": "scratch"}}),
        )
        .await;
    assert_eq!(code(&v), "CONFLICT", "{v}");
    let v = app
        .gql(
            &owner,
            rename,
            json!({"i": {"modelId": s.model, "name": "bad name!"}}),
        )
        .await;
    assert_eq!(code(&v), "INVALID", "{v}");
    let v = app
        .ok(
            &owner,
            rename,
            json!({"i": {"modelId": s.model, "name": "fraud-eu"}}),
        )
        .await;
    assert_eq!(v["renameModel"]["name"], "fraud-eu");
    let g = app
        .ok(&owner, "query($i: ID!) { lineage(nodeId: $i, direction: UPSTREAM, depth: 1) { nodes { id label } } }", json!({"i": s.version}))
        .await;
    let labels: Vec<&str> = g["lineage"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["label"].as_str())
        .collect();
    assert!(labels.contains(&"fraud-eu v1"), "{labels:?}");
    assert!(labels.contains(&"fraud-eu"), "{labels:?}");
    assert!(
        !labels.iter().any(|l| l.starts_with("fraud ")),
        "{labels:?}"
    );
}

#[tokio::test]
async fn stages_move_but_not_production_of_a_served_model() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let s = seed(&app, &owner).await;
    let stage = "mutation($i: TransitionStageInput!) { transitionModelVersionStage(input: $i) { version stage } }";

    // fraud is served by fraud-prod: Staging is fine, Production is not.
    let v = app
        .ok(
            &owner,
            stage,
            json!({"i": {"versionId": s.version, "stage": "staging"}}),
        )
        .await;
    assert_eq!(v["transitionModelVersionStage"]["stage"], "Staging");
    let v = app
        .gql(
            &owner,
            stage,
            json!({"i": {"versionId": s.version, "stage": "Production"}}),
        )
        .await;
    assert_eq!(code(&v), "FORBIDDEN", "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("promotion request"),
        "{v}"
    );
    let v = app
        .gql(
            &owner,
            stage,
            json!({"i": {"versionId": s.version, "stage": "Live"}}),
        )
        .await;
    assert_eq!(code(&v), "INVALID", "{v}");

    // scratch is served nowhere: Production, and archiving the one before.
    let scratch = app
        .ok(
            &owner,
            "{ modelByName(name: \"scratch\") { id } }",
            json!({}),
        )
        .await["modelByName"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (second, _) = register_version(&app, &owner, &scratch, json!({})).await;
    app.ok(
        &owner,
        stage,
        json!({"i": {"versionId": s.doomed_version, "stage": "Production"}}),
    )
    .await;
    app.ok(
        &owner,
        stage,
        json!({"i": {"versionId": second, "stage": "Production", "archiveExistingVersions": true}}),
    )
    .await;
    let first = app
        .ok(&owner, VERSION, json!({"i": s.doomed_version}))
        .await;
    assert_eq!(first["modelVersion"]["stage"], "Archived");

    let d = app
        .ok(
            &owner,
            "mutation($i: UpdateModelVersionInput!) { updateModelVersion(input: $i) { description } }",
            json!({"i": {"versionId": second, "description": "the spring retrain"}}),
        )
        .await;
    assert_eq!(d["updateModelVersion"]["description"], "the spring retrain");
}
