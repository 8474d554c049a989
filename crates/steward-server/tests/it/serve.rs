//! The server end to end: configuration -> start-up -> router through `Application::build` on
//! port 0, and two real `steward serve` processes on one database (SQLite, or PostgreSQL when
//! `STEWARD_TEST_PG_URL` is set) that never serve each other a stale read, and one of them killed
//! with SIGKILL mid-write leaving only whole records.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use steward_server::app::Application;
use steward_server::config::Config;
use steward_server::startup::mint_token;
use steward_store::testing::TestDb;

pub(crate) async fn gql(url: &str, token: &str, query: &str, variables: Value) -> Value {
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
pub(crate) struct Process {
    pub child: Child,
    pub url: String,
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

/// Starts `steward serve` on a free port, with `env` set, and waits for the line naming it.
fn serve(dir: &Path, database_url: &str, env: &[(&str, &str)]) -> Process {
    let mut cmd = steward(dir, database_url, &["serve", "--listen", "127.0.0.1:0"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
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

/// Processes sharing one database, one development secret and one audit signing key, as
/// replicas would.
pub(crate) struct Deployment {
    dir: tempfile::TempDir,
    database_url: String,
    key: steward_audit::SigningKey,
}

impl Deployment {
    /// Replicas serving `db` as production does: on PostgreSQL as a role that owns no table
    /// and that row security binds, migrating through the owner's URL.
    pub(crate) fn on(db: &TestDb) -> Deployment {
        let d = Deployment::new(&db.app_url);
        if db.app_url != db.url {
            let line = format!("database_migration_url = \"{}\"\n", db.url);
            std::fs::write(d.dir().join("steward.toml"), line).unwrap();
        }
        d
    }

    pub(crate) fn new(database_url: &str) -> Deployment {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("steward.toml"), "").unwrap();
        let key = steward_audit::SigningKey::generate().unwrap();
        std::fs::write(dir.path().join("audit.pem"), key.to_pem().unwrap()).unwrap();
        Deployment {
            dir,
            database_url: database_url.to_string(),
            key,
        }
    }

    /// Starts one more `steward serve`. The first creates the shared development secret.
    pub(crate) fn serve(&self) -> Process {
        serve(self.dir.path(), &self.database_url, &[])
    }

    /// Starts one more `steward serve` with extra environment (configuration) variables.
    pub(crate) fn serve_with(&self, env: &[(&str, &str)]) -> Process {
        serve(self.dir.path(), &self.database_url, env)
    }

    /// Runs another `steward` command with this deployment's configuration and `env` over it.
    pub(crate) fn run(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        let mut cmd = steward(self.dir.path(), &self.database_url, args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }

    /// The directory holding this deployment's configuration and keys.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn token(&self, tenant: &str, role: &str) -> String {
        let out = steward(
            self.dir.path(),
            &self.database_url,
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
    }

    /// Creates tenant `acme` through `p`; returns a model owner's and a governance officer's
    /// tokens.
    pub(crate) async fn tenant(&self, p: &Process) -> (String, String) {
        let admin = self.token("acme", "platform_admin");
        let v = gql(
            &p.url,
            &admin,
            "mutation { createTenant(input: {slug: \"acme\", name: \"Acme\"}) { slug } }",
            json!({}),
        )
        .await;
        assert_eq!(v["data"]["createTenant"]["slug"], "acme", "{v}");
        (
            self.token("acme", "model_owner"),
            self.token("acme", "governance_officer"),
        )
    }
}

const REGISTER: &str = "mutation($n: String!) { registerModel(input: {name: $n, ownerTeam: \"t\", riskTier: LOW}) { id } }";
const LIST: &str = "{ models(first: 100) { nodes { name } } }";

fn names(v: &Value) -> Vec<String> {
    v["data"]["models"]["nodes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| m["name"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn two_server_processes_on_one_database_never_serve_a_stale_read() {
    let db = TestDb::new().await;
    let d = Deployment::on(&db);
    let a = d.serve();
    let b = d.serve();
    let (owner, _) = d.tenant(&a).await;
    let mut stale = 0;
    for i in 0..40 {
        let (writer, reader) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        // The reader caches the list first; the write then lands through the other process.
        let before = names(&gql(&reader.url, &owner, LIST, json!({})).await).len();
        let v = gql(&writer.url, &owner, REGISTER, json!({"n": format!("m{i}")})).await;
        assert!(v["data"]["registerModel"]["id"].is_string(), "{v}");
        let after = names(&gql(&reader.url, &owner, LIST, json!({})).await).len();
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

/// A replica killed with SIGKILL in the middle of concurrent registrations leaves only whole
/// records: every model that exists has its audit event and every `ok` event its model, the
/// exported log verifies against the operator's key, and the other replica (and a restarted
/// one) carry on.
#[tokio::test]
async fn a_replica_killed_mid_write_leaves_only_whole_records() {
    let db = TestDb::new().await;
    let d = Deployment::on(&db);
    let mut a = d.serve();
    let b = d.serve();
    let (owner, officer) = d.tenant(&a).await;

    let mut writes = Vec::new();
    for i in 0..60 {
        let (url, owner) = (a.url.clone(), owner.clone());
        writes.push(tokio::spawn(async move {
            let resp = reqwest::Client::new()
                .post(format!("{url}/graphql"))
                .bearer_auth(owner)
                .header("content-type", "application/json")
                .body(json!({"query": REGISTER, "variables": {"n": format!("k{i}")}}).to_string())
                .send()
                .await;
            resp.is_ok()
        }));
    }
    // Kill once some registrations have committed and others are in flight.
    loop {
        let committed = names(&gql(&b.url, &owner, LIST, json!({})).await).len();
        if committed >= 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let mut answered = 0;
    for w in writes {
        answered += usize::from(w.await.unwrap());
    }

    // A COMMIT the killed process had already sent may still land on PostgreSQL after the kill
    // (its server-side session finishes it), between two reads; so compare the models and their
    // events as of the same moment: read both until two rounds agree, then they must match.
    let read = || async {
        let models = names(&gql(&b.url, &owner, LIST, json!({})).await);
        let events = gql(
            &b.url,
            &officer,
            "{ auditEvents(first: 100, filter: {action: \"model.register\", outcome: OK}) { nodes { target { id } payload } } }",
            json!({}),
        )
        .await;
        let mut recorded: Vec<String> = events["data"]["auditEvents"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["payload"]["after"]["name"].as_str().unwrap().to_string())
            .collect();
        let mut m = models.clone();
        m.sort();
        recorded.sort();
        (m, recorded)
    };
    let mut last = read().await;
    for _ in 0..50 {
        let now = read().await;
        if now == last {
            break;
        }
        last = now;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let (m, r) = last;
    let models = m.clone();
    assert!(models.len() >= 5 && models.len() <= 60, "{models:?}");
    eprintln!(
        "killed with {} of 60 registrations committed ({answered} answered)",
        models.len()
    );
    assert_eq!(m, r, "every model has its event and every event its model");

    // The log is whole: the export verifies against the operator's key.
    let bundle = reqwest::Client::new()
        .get(format!("{}/v1/audit/export", b.url))
        .bearer_auth(&officer)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let summary = steward_audit::verify_bundle(
        &bundle,
        &steward_audit::VerifyOptions {
            trusted_key: Some(d.key.public_key()),
            ..Default::default()
        },
    )
    .expect("the audit log verifies after the kill");
    assert!(summary.is_complete());

    // The survivor writes on, and a restarted replica sees everything.
    let v = gql(&b.url, &owner, REGISTER, json!({"n": "after-the-kill"})).await;
    assert!(v["data"]["registerModel"]["id"].is_string(), "{v}");
    let restarted = d.serve();
    let seen = names(&gql(&restarted.url, &owner, LIST, json!({})).await);
    assert_eq!(seen.len(), models.len() + 1);
}
