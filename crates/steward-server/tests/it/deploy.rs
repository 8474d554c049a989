//! `steward deploy request` against a running server, as a pipeline runs it: exit 0 when
//! promoted, 1 when rejected, 2 on errors; `--wait` follows the approvals and prints each change.

use std::process::{Command, Output};

use serde_json::{Value, json};
use steward_server::app::Application;
use steward_server::config::Config;
use steward_server::startup::mint_token;

use crate::serve::gql;

fn deploy(url: &str, token: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_steward"));
    cmd.arg("deploy")
        .arg("request")
        .args(args)
        .env("STEWARD_URL", url)
        .env("STEWARD_TOKEN", token);
    cmd
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

async fn ok(url: &str, token: &str, query: &str, variables: Value) -> Value {
    let v = gql(url, token, query, variables).await;
    assert!(v.get("errors").is_none(), "{v}");
    v["data"].clone()
}

/// A model of `tier` with versions 1 and 2 and an endpoint `name` serving version 1.
async fn endpoint(url: &str, owner: &str, sre: &str, name: &str, tier: &str) {
    let m = ok(
        url,
        owner,
        "mutation($i: RegisterModelInput!) { registerModel(input: $i) { id } }",
        json!({"i": {"name": name, "ownerTeam": "t", "riskTier": tier}}),
    )
    .await["registerModel"]["id"]
        .clone();
    let mut versions = Vec::new();
    for i in 1..=2 {
        let v = ok(
            url,
            owner,
            "mutation($i: RegisterModelVersionInput!) { registerModelVersion(input: $i) { id } }",
            json!({"i": {"modelId": m, "artifactUri": format!("s3://{name}/{i}"),
                "artifactDigest": format!("sha256:{}", "ab".repeat(32)), "framework": "sklearn",
                "metrics": [{"name": "auc", "value": 0.8}]}}),
        )
        .await;
        versions.push(v["registerModelVersion"]["id"].clone());
    }
    ok(
        url,
        sre,
        "mutation($i: CreateEndpointInput!) { createEndpoint(input: $i) { id } }",
        json!({"i": {"modelId": m, "name": name, "environment": "prod",
            "championVersionId": versions[0], "reason": "first"}}),
    )
    .await;
}

// The command runs as a child process waited on in place: the server needs threads of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_requests_promotions_and_waits_for_the_approvals() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("steward.db").display()
        ),
        ..Config::default()
    };
    let app = Application::build(config.clone()).await.expect("builds");
    let url = format!("http://{}", app.addr());
    let server = tokio::spawn(app.run_until(std::future::pending()));
    let token =
        |role: &str, sub: &str| mint_token(&config, "acme", &[role.into()], sub, "10m").unwrap();
    let admin = token("platform_admin", "ops");
    ok(
        &url,
        &admin,
        "mutation { createTenant(input: {slug: \"acme\", name: \"Acme\"}) { slug } }",
        json!({}),
    )
    .await;
    let (owner, sre, ci) = (
        token("model_owner", "mo"),
        token("sre", "sam"),
        token("service", "ci"),
    );
    endpoint(&url, &owner, &sre, "ranker", "LOW").await;
    endpoint(&url, &owner, &sre, "fraud", "HIGH").await;

    // A low-risk model without a policy: promoted at once.
    let out = deploy(&url, &ci, &["--endpoint", "ranker", "--version", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("PROMOTED"), "{}", text(&out));

    // A high-risk one waits for two governance officers; the pipeline prints the progress.
    let child = deploy(
        &url,
        &ci,
        &[
            "--endpoint",
            "fraud",
            "--version",
            "2",
            "--wait",
            "--poll",
            "1",
            "--timeout",
            "60s",
        ],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let pending = "{ promotionRequests(status: [AWAITING_APPROVAL]) { id } }";
    let id = loop {
        let v = ok(&url, &sre, pending, json!({})).await;
        if let Some(id) = v["promotionRequests"][0]["id"].as_str() {
            break id.to_string();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let approve = "mutation($i: RequestReasonInput!) { approvePromotion(input: $i) { status } }";
    for officer in ["gina", "gus"] {
        tokio::time::sleep(std::time::Duration::from_millis(1_200)).await;
        ok(
            &url,
            &token("governance_officer", officer),
            approve,
            json!({"i": {"requestId": id, "reason": "reviewed"}}),
        )
        .await;
    }
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("AWAITING_APPROVAL (0 of 2 approvals by governance_officer)"),
        "{said}"
    );
    assert!(said.contains("PROMOTED"), "{said}");

    // A rejected request exits 1; an unknown endpoint is an error (2).
    let child = deploy(
        &url,
        &ci,
        &[
            "--endpoint",
            "fraud",
            "--version",
            "1",
            "--wait",
            "--poll",
            "1",
        ],
    )
    .stdout(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let id = loop {
        let v = ok(&url, &sre, pending, json!({})).await;
        if let Some(id) = v["promotionRequests"][0]["id"].as_str() {
            break id.to_string();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    ok(
        &url,
        &token("governance_officer", "gina"),
        "mutation($i: RequestReasonInput!) { rejectPromotion(input: $i) { status } }",
        json!({"i": {"requestId": id, "reason": "not before the audit"}}),
    )
    .await;
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = deploy(&url, &ci, &["--endpoint", "nope", "--version", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("NOT_FOUND"), "{}", text(&out));
    server.abort();
}
