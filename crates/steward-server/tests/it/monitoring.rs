//! Monitoring against real `steward serve` processes: a server killed with SIGKILL during
//! ingestion, again and again, loses no acknowledged batch and counts none twice when clients
//! retry with their idempotency keys; two servers on one database, both running the scheduler,
//! never evaluate a window twice.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use steward_store::testing::TestDb;

use crate::serve::{Deployment, Process, gql};

const ROWS: usize = 50;

/// A model with one numeric feature, its version, monitoring that waits `lateness` seconds, and
/// a baseline; returns the version id.
pub(crate) async fn monitored(p: &Process, owner: &str, name: &str, lateness: i64) -> String {
    let v = gql(&p.url, owner, "mutation($n: String!) { registerModel(input: {name: $n, ownerTeam: \"t\", riskTier: LOW}) { id } }", json!({"n": name})).await;
    let model = v["data"]["registerModel"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let v = gql(&p.url, owner, "mutation($m: ID!) { registerModelVersion(input: {modelId: $m, artifactUri: \"s3://m\", artifactDigest: \"sha256:abababababababababababababababababababababababababababababababab\", framework: \"f\", inputSchema: [{name: \"x\", type: FLOAT}]}) { id } }", json!({"m": model})).await;
    let version = v["data"]["registerModelVersion"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let v = gql(&p.url, owner, "mutation($m: ID!, $l: Int!) { configureMonitoring(input: {modelId: $m, latenessSeconds: $l}) { latenessSeconds } }", json!({"m": model, "l": lateness})).await;
    assert!(v.get("errors").is_none(), "{v}");
    let mut csv = String::from("x\n");
    for i in 0..200 {
        csv.push_str(&format!("{}\n", i as f64 / 200.0));
    }
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/model-versions/{version}/baselines", p.url))
        .bearer_auth(owner)
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    version
}

/// `ROWS` rows at `at`.
pub(crate) fn batch(at: &str) -> String {
    let mut csv = String::from("x,event_time\n");
    for i in 0..ROWS {
        csv.push_str(&format!("{},{at}\n", i as f64 / ROWS as f64));
    }
    csv
}

/// Sends a batch under `key`; `Some(duplicate)` when the server acknowledged it.
pub(crate) async fn send(
    url: &str,
    token: &str,
    version: &str,
    key: &str,
    body: &str,
) -> Option<bool> {
    let resp = reqwest::Client::new()
        .post(format!("{url}/v1/model-versions/{version}/observations"))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .header("idempotency-key", key)
        .body(body.to_string())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .ok()?;
    let status = resp.status().as_u16();
    let v: Value = serde_json::from_slice(&resp.bytes().await.ok()?).ok()?;
    match status {
        201 | 200 => Some(v["duplicate"].as_bool().unwrap_or(false)),
        _ => None,
    }
}

/// The start of the hour before the current one: a window that has ended.
pub(crate) fn last_hour() -> DateTime<Utc> {
    let now = Utc::now().timestamp();
    DateTime::from_timestamp((now / 3_600 - 1) * 3_600, 0).unwrap()
}

#[tokio::test]
async fn killing_the_server_during_ingestion_loses_no_acknowledged_batch_and_counts_none_twice() {
    let db = TestDb::new().await;
    let d = Deployment::on(&db);
    let off = [("STEWARD_MONITORING_SCHEDULER_INTERVAL_MS", "0")];
    let mut server = d.serve_with(&off);
    let (owner, officer) = d.tenant(&server).await;
    // The window of the last hour stays open for a week, so every row of it is profiled.
    let version = monitored(&server, &owner, "fraud", 7 * 86_400).await;
    let at = (last_hour() + chrono::Duration::minutes(10)).to_rfc3339();
    let body = batch(&at);
    let mut acknowledged: BTreeSet<String> = BTreeSet::new();
    let mut keys: Vec<String> = Vec::new();
    for round in 0..3 {
        let round_keys: Vec<String> = (0..24).map(|i| format!("r{round}-b{i}")).collect();
        keys.extend(round_keys.iter().cloned());
        let mut sends = Vec::new();
        for key in &round_keys {
            let (url, owner, version, key, body) = (
                server.url.clone(),
                owner.clone(),
                version.clone(),
                key.clone(),
                body.clone(),
            );
            sends.push(tokio::spawn(async move {
                let ack = send(&url, &owner, &version, &key, &body).await;
                (key, ack)
            }));
        }
        // Kill once some batches of this round are committed (their events are in the log):
        // every earlier round's batch has exactly one `ok` event.
        let earlier = keys.len() - round_keys.len();
        for _ in 0..2_000 {
            let v = gql(&server.url, &officer, "{ auditEvents(first: 100, filter: {action: \"observations.ingest\", outcome: OK}) { nodes { seq } } }", json!({})).await;
            let committed = v["data"]["auditEvents"]["nodes"].as_array().map(Vec::len);
            assert!(committed.is_some(), "{v}");
            if committed.unwrap_or(0) >= earlier + 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        for s in sends {
            let (key, ack) = s.await.unwrap();
            if ack.is_some() {
                acknowledged.insert(key);
            }
        }
        server = d.serve_with(&off);
        // Every client retries with its key: an acknowledged batch is a duplicate, the rest
        // count now.
        for key in &round_keys {
            let ack = send(&server.url, &owner, &version, key, &body).await;
            assert!(ack.is_some(), "{key} is accepted after the restart");
            if acknowledged.contains(key) {
                assert_eq!(
                    ack,
                    Some(true),
                    "{key} was acknowledged before the kill: a duplicate now"
                );
            }
        }
    }
    eprintln!(
        "{} of {} batches acknowledged before a kill",
        acknowledged.len(),
        keys.len()
    );
    let sre = d.token("acme", "sre");
    let v = gql(
        &server.url,
        &sre,
        "mutation($v: ID!) { evaluateNow(modelVersionId: $v) { rows } }",
        json!({"v": version}),
    )
    .await;
    assert_eq!(
        v["data"]["evaluateNow"][0]["rows"],
        json!(keys.len() * ROWS),
        "every batch counted exactly once: {v}"
    );
}

#[tokio::test]
async fn two_servers_running_the_scheduler_never_evaluate_a_window_twice() {
    let db = TestDb::new().await;
    let d = Deployment::on(&db);
    let fast = [("STEWARD_MONITORING_SCHEDULER_INTERVAL_MS", "50")];
    let a = d.serve_with(&fast);
    let b = d.serve_with(&fast);
    let (owner, officer) = d.tenant(&a).await;
    // Windows of the last hour that close a few seconds after their model's batch arrives, for
    // 12 models (the lateness is set per model, so a slow set-up cannot make a batch late): both
    // schedulers see them come due.
    let end = last_hour() + chrono::Duration::hours(1);
    let at = (last_hour() + chrono::Duration::minutes(20)).to_rfc3339();
    let mut versions = Vec::new();
    for m in 0..12 {
        let p = if m % 2 == 0 { &a } else { &b };
        let lateness = (Utc::now() - end).num_seconds() + 8;
        let version = monitored(p, &owner, &format!("m{m}"), lateness).await;
        let ack = send(&p.url, &owner, &version, &format!("k{m}"), &batch(&at)).await;
        assert_eq!(ack, Some(false));
        versions.push(version);
    }
    let windows = |v: &Value| -> Vec<String> {
        v["data"]["auditEvents"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["target"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    for _ in 0..600 {
        let v = gql(&a.url, &officer, "{ auditEvents(first: 100, filter: {action: \"monitoring.evaluate\"}) { nodes { outcome target { id } } } }", json!({})).await;
        let evaluated = windows(&v);
        let failed: Vec<&Value> = v["data"]["auditEvents"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["outcome"] != "OK")
            .collect();
        assert!(
            failed.is_empty(),
            "no evaluator lost a race it should not have entered: {failed:?}"
        );
        if evaluated.len() >= 12 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Both schedulers keep passing over the same, now evaluated, windows; give them some passes
    // to do wrong (an absence cannot be waited for on state).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let v = gql(&b.url, &officer, "{ auditEvents(first: 100, filter: {action: \"monitoring.evaluate\"}) { nodes { outcome target { id } } } }", json!({})).await;
    let mut per_window: BTreeMap<String, usize> = BTreeMap::new();
    for w in windows(&v) {
        *per_window.entry(w).or_default() += 1;
    }
    assert_eq!(
        per_window.len(),
        12,
        "every window evaluated: {per_window:?}"
    );
    assert!(
        per_window.values().all(|n| *n == 1),
        "no window evaluated twice: {per_window:?}"
    );
    for version in &versions {
        let v = gql(
            &a.url,
            &owner,
            "query($v: ID!) { windows(modelVersionId: $v) { status evaluatedBy slices { rows } } }",
            json!({"v": version}),
        )
        .await;
        assert_eq!(v["data"]["windows"][0]["status"], "EVALUATED", "{v}");
        assert_eq!(v["data"]["windows"][0]["evaluatedBy"], "system:scheduler");
        assert_eq!(v["data"]["windows"][0]["slices"][0]["rows"], json!(ROWS));
    }
}

#[tokio::test]
async fn steward_profile_computes_where_the_data_lives_what_the_server_would() {
    let db = TestDb::new().await;
    let d = Deployment::on(&db);
    let server = d.serve_with(&[("STEWARD_MONITORING_SCHEDULER_INTERVAL_MS", "0")]);
    let (owner, _) = d.tenant(&server).await;
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("amount,country,prediction\n");
    for i in 0..500 {
        csv.push_str(&format!(
            "{},{},{}\n",
            10.0 + (i * 37 % 500) as f64,
            ["DE", "FR", "ES"][i % 3],
            (i % 100) as f64 / 100.0
        ));
    }
    std::fs::write(dir.path().join("ref.csv"), &csv).unwrap();
    std::fs::write(
        dir.path().join("schema.json"),
        r#"[{"name": "amount", "type": "float"}, {"name": "country", "type": "CATEGORICAL"}]"#,
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
        .current_dir(dir.path())
        .args([
            "profile",
            "ref.csv",
            "--schema",
            "schema.json",
            "-o",
            "profile.json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let profile = std::fs::read_to_string(dir.path().join("profile.json")).unwrap();

    let v = gql(
        &server.url,
        &owner,
        "mutation { registerModel(input: {name: \"m\", ownerTeam: \"t\", riskTier: LOW}) { id } }",
        json!({}),
    )
    .await;
    let model = v["data"]["registerModel"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let v = gql(&server.url, &owner, "mutation($m: ID!) { registerModelVersion(input: {modelId: $m, artifactUri: \"s3://m\", artifactDigest: \"sha256:abababababababababababababababababababababababababababababababab\", framework: \"f\", inputSchema: [{name: \"amount\", type: FLOAT}, {name: \"country\", type: CATEGORICAL}]}) { id } }", json!({"m": model})).await;
    let version = v["data"]["registerModelVersion"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let upload = |ct: &'static str, body: String| {
        let (url, owner, version) = (server.url.clone(), owner.clone(), version.clone());
        async move {
            let resp = reqwest::Client::new()
                .post(format!("{url}/v1/model-versions/{version}/baselines"))
                .bearer_auth(owner)
                .header("content-type", ct)
                .body(body)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let v: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
            (status, v)
        }
    };
    let (s, by_cli) = upload("application/json", profile).await;
    assert_eq!(s, 201, "{by_cli}");
    let (s, by_server) = upload("text/csv", csv).await;
    assert_eq!(s, 201, "{by_server}");
    assert_eq!(by_cli["source"], "profile");
    assert_eq!(
        by_cli["fingerprint"], by_server["fingerprint"],
        "the same bins and categories"
    );
    assert_eq!(
        (by_cli["rows"].clone(), by_cli["features"].clone()),
        (json!(500), json!(3))
    );

    // A schema the file does not match is an error naming the column.
    std::fs::write(
        dir.path().join("bad.json"),
        r#"[{"name": "age", "type": "integer"}]"#,
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
        .current_dir(dir.path())
        .args(["profile", "ref.csv", "--schema", "bad.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("age"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
