//! Backups end to end. SQLite: `steward backup`, an online copy of a running server's database
//! taken while it writes, restored by starting a server on the copy with the same key files;
//! writes after the backup are not in it. PostgreSQL (with `STEWARD_TEST_PG_URL`): `pg_dump` of
//! a running server's database restored with `pg_restore` into another. Either way the restored
//! audit log verifies against the operator's key and extends the checkpoint exported before the
//! backup.

use std::path::Path;
use std::process::Command;

use serde_json::json;
use steward_audit::{SignedCheckpoint, SigningKey, VerifyOptions, verify_bundle};
use steward_server::app::Application;
use steward_server::config::Config;
use steward_server::startup::mint_token;

use crate::serve::gql;

fn config(dir: &Path, db: &str) -> Config {
    let url = if db.starts_with("postgres") {
        db.to_string()
    } else {
        format!("sqlite://{}?mode=rwc", dir.join(db).display())
    };
    let mut c = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: url,
        ..Config::default()
    };
    // The restored server uses the original's key files, as an operator restoring would.
    c.audit.signing_key_file = Some(dir.join("steward.db.audit-ed25519.pem"));
    c.auth.dev_secret_file = Some(dir.join("steward.db.hs256.secret"));
    c
}

pub(crate) async fn export(url: &str, token: &str) -> Vec<u8> {
    reqwest::Client::new()
        .get(format!("{url}/v1/audit/export"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

/// A server on `config` with tenant `acme` and models `fraud` and `churn`, and the audit
/// export taken then.
struct Started {
    url: String,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    owner: String,
    officer: String,
    before: Vec<u8>,
}

async fn start_with_two_models(config: &Config) -> Started {
    let app = Application::build(config.clone()).await.unwrap();
    let url = format!("http://{}", app.addr());
    let server = tokio::spawn(app.run_until(std::future::pending()));
    let token =
        |role: &str, sub: &str| mint_token(config, "acme", &[role.into()], sub, "5m").unwrap();
    let create = "mutation { createTenant(input: {slug: \"acme\", name: \"Acme\"}) { slug } }";
    gql(&url, &token("platform_admin", "ops"), create, json!({})).await;
    let (owner, officer) = (
        token("model_owner", "olivia"),
        token("governance_officer", "gina"),
    );
    for n in ["fraud", "churn"] {
        let v = gql(&url, &owner, REGISTER, json!({"n": n})).await;
        assert!(v["data"]["registerModel"]["id"].is_string(), "{v}");
    }
    let before = export(&url, &officer).await;
    Started {
        url,
        server,
        owner,
        officer,
        before,
    }
}

const REGISTER: &str = "mutation($n: String!) { registerModel(input: {name: $n, ownerTeam: \"risk\", riskTier: LOW}) { id } }";

#[tokio::test]
async fn a_backup_restores_to_a_server_whose_audit_log_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let original = config(dir.path(), "steward.db");
    let Started {
        url,
        server,
        owner,
        officer,
        before,
    } = start_with_two_models(&original).await;

    // Online: the server keeps running while the copy is taken.
    let empty = dir.path().join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args([
            "backup",
            "--output",
            "backup.db",
            "--format",
            "json",
            "--database-url",
            &original.database_url,
        ])
        .current_dir(dir.path())
        .env("STEWARD_CONFIG", &empty)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(said["bytes"].as_u64().unwrap() > 0, "{said}");
    assert!(
        said["keys"].to_string().contains("audit-ed25519.pem"),
        "names the key file: {said}"
    );
    // Never over an existing file.
    let again = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args([
            "backup",
            "--output",
            "backup.db",
            "--database-url",
            &original.database_url,
        ])
        .current_dir(dir.path())
        .env("STEWARD_CONFIG", &empty)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwrites"));
    // Written after the backup: not in it.
    gql(&url, &owner, REGISTER, json!({"n": "after-the-backup"})).await;
    server.abort();

    let restored = config(dir.path(), "backup.db");
    serve_restored(&restored, dir.path(), (&owner, &officer), before)
        .await
        .abort();
}

/// Starts a server on the restored database: it holds the two models, and its audit log
/// verifies against the key and extends `before`'s checkpoint. The server keeps running.
async fn serve_restored(
    restored: &Config,
    dir: &Path,
    (owner, officer): (&str, &str),
    before: Vec<u8>,
) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    let app = Application::build(restored.clone()).await.unwrap();
    let url = format!("http://{}", app.addr());
    let server = tokio::spawn(app.run_until(std::future::pending()));
    let names = gql(&url, owner, "{ models { nodes { name } } }", json!({})).await;
    assert_eq!(
        names["data"]["models"]["nodes"],
        json!([{"name": "churn"}, {"name": "fraud"}]),
        "{names}"
    );
    let after = export(&url, officer).await;
    verify_extends(dir, before, &after);
    server
}

/// The restored server's audit log verifies against the key and extends `before`'s checkpoint.
fn verify_extends(dir: &Path, before: Vec<u8>, after: &[u8]) {
    let key = SigningKey::from_text(
        &std::fs::read_to_string(dir.join("steward.db.audit-ed25519.pem")).unwrap(),
    )
    .unwrap();
    let text = String::from_utf8(before).unwrap();
    let previous = SignedCheckpoint::from_json(text.trim_end().lines().last().unwrap()).unwrap();
    let size = previous.checkpoint.tree_size;
    let summary = verify_bundle(
        after,
        &VerifyOptions {
            trusted_key: Some(key.public_key()),
            previous: Some(previous),
            ..Default::default()
        },
    )
    .expect("the restored log verifies and extends the checkpoint taken before the backup");
    assert_eq!(summary.consistent_with, Some(size));
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} (PostgreSQL's client tools) must be installed: {e}"));
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_pg_dump_restores_to_a_server_whose_audit_log_verifies() {
    let want_pg = std::env::var("STEWARD_TEST_BACKEND").is_ok_and(|b| b == "postgres");
    if std::env::var("STEWARD_TEST_PG_URL").is_err() {
        // The SQLite run covers `steward backup` above; this one needs a PostgreSQL server.
        assert!(
            !want_pg,
            "STEWARD_TEST_BACKEND=postgres needs STEWARD_TEST_PG_URL"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // On PostgreSQL the operator creates the signing key once (replicas share it).
    let key = SigningKey::from_seed([7; 32]).to_pem().unwrap();
    std::fs::write(dir.path().join("steward.db.audit-ed25519.pem"), key).unwrap();
    let source = steward_store::testing::TestDb::new().await;
    let original = config(dir.path(), &source.url);
    let Started {
        url: _,
        server,
        owner,
        officer,
        before,
    } = start_with_two_models(&original).await;
    // The documented procedure (docs/operations.md), against the running server.
    let dump = dir.path().join("steward.dump");
    let dump = dump.to_str().unwrap();
    run("pg_dump", &["--format=custom", "--file", dump, &source.url]);
    server.abort();

    // Into another database (migrated, as a fresh install would be: --clean replaces it all).
    let target = steward_store::testing::TestDb::new().await;
    run(
        "pg_restore",
        &[
            "--clean",
            "--if-exists",
            "--no-owner",
            "--dbname",
            &target.url,
            dump,
        ],
    );
    let restored = config(dir.path(), &target.url);
    let server = serve_restored(&restored, dir.path(), (&owner, &officer), before).await;
    // The append-only triggers came back with the schema: the restored log refuses an edit.
    let edited = target
        .execute("UPDATE audit_events SET payload = '{}'")
        .await;
    assert!(edited.is_err(), "the restored audit log is append-only");
    server.abort();
}
