//! The server end to end: configuration -> start-up -> router through `Application::build` on
//! port 0, and two real `steward serve` processes on one database (SQLite, or PostgreSQL when
//! `STEWARD_TEST_PG_URL` is set) that never serve each other a stale read.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use steward_server::app::Application;
use steward_server::config::Config;
use steward_server::startup::mint_token;
use steward_store::testing::TestDb;

async fn gql(url: &str, token: &str, query: &str, variables: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{url}/graphql"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(json!({"query": query, "variables": variables}).to_string())
        .send()
        .await
        .expect("request");
    serde_json::from_slice(&resp.bytes().await.expect("body")).expect("json body")
}

#[tokio::test]
async fn configuration_reaches_the_router() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("steward.db").display()
        ),
        ..Config::default()
    };
    config.api.max_depth = 3;
    let app = Application::build(config.clone()).await.expect("builds");
    let url = format!("http://{}", app.addr());
    let server = tokio::spawn(app.run_until(std::future::pending()));

    let ready = reqwest::get(format!("{url}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let admin = mint_token(&config, "acme", &["platform_admin".into()], "ops", "5m").unwrap();
    let v = gql(
        &url,
        &admin,
        "mutation { createTenant(input: {slug: \"acme\", name: \"Acme\"}) { slug } }",
        json!({}),
    )
    .await;
    assert_eq!(v["data"]["createTenant"]["slug"], "acme", "{v}");
    // api.max_depth = 3 from the configuration holds at the router.
    let viewer = mint_token(&config, "acme", &["viewer".into()], "v", "5m").unwrap();
    let v = gql(
        &url,
        &viewer,
        "{ models { nodes { versions { nodes { model { name } } } } } }",
        json!({}),
    )
    .await;
    assert_eq!(v["errors"][0]["extensions"]["code"], "INVALID", "{v}");
    assert!(
        v["errors"][0]["message"].as_str().unwrap().contains("deep"),
        "{v}"
    );
    server.abort();
}

/// A `steward serve` process; killed when dropped.
struct Process {
    child: Child,
    url: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn steward(dir: &Path, database_url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_steward"));
    cmd.args(args)
        .current_dir(dir)
        .env("STEWARD_CONFIG", dir.join("steward.toml"))
        .env("STEWARD_DATABASE_URL", database_url)
        .env("STEWARD_AUDIT_SIGNING_KEY_FILE", dir.join("audit.pem"))
        .env("STEWARD_AUTH_DEV_SECRET_FILE", dir.join("dev.secret"));
    cmd
}

/// Starts `steward serve` on a free port and waits for the line naming it.
fn serve(dir: &Path, database_url: &str) -> Process {
    let mut child = steward(dir, database_url, &["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("steward serve starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(url) = line.strip_prefix("steward listening on ") {
                    break url.to_string();
                }
            }
            _ => panic!("steward serve exited before listening"),
        }
    };
    Process { child, url }
}

#[tokio::test]
async fn two_server_processes_on_one_database_never_serve_a_stale_read() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("steward.toml"), "").unwrap();
    let key = steward_audit::SigningKey::generate().unwrap();
    std::fs::write(dir.path().join("audit.pem"), key.to_pem().unwrap()).unwrap();
    // The first process creates the shared development secret; the second reads it.
    let a = serve(dir.path(), &db.url);
    let b = serve(dir.path(), &db.url);
    let token = |tenant: &str, role: &str| {
        let out = steward(
            dir.path(),
            &db.url,
            &["token", "--tenant", tenant, "--role", role, "--sub", "t"],
        )
        .output()
        .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let admin = token("acme", "platform_admin");
    gql(
        &a.url,
        &admin,
        "mutation { createTenant(input: {slug: \"acme\", name: \"Acme\"}) { slug } }",
        json!({}),
    )
    .await;
    let owner = token("acme", "model_owner");
    let list = "{ models(first: 100) { nodes { name } } }";
    let count = |v: &Value| v["data"]["models"]["nodes"].as_array().map_or(0, Vec::len);
    let mut stale = 0;
    for i in 0..40 {
        let (writer, reader) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        // The reader caches the list first; the write then lands through the other process.
        let before = count(&gql(&reader.url, &owner, list, json!({})).await);
        let v = gql(
            &writer.url,
            &owner,
            "mutation($n: String!) { registerModel(input: {name: $n, ownerTeam: \"t\", riskTier: LOW}) { id } }",
            json!({"n": format!("m{i}")}),
        )
        .await;
        assert!(v["data"]["registerModel"]["id"].is_string(), "{v}");
        let after = count(&gql(&reader.url, &owner, list, json!({})).await);
        assert_eq!(before, i);
        if after != i + 1 {
            stale += 1;
        }
    }
    assert_eq!(
        stale, 0,
        "reads that missed the other process's committed write"
    );
}
