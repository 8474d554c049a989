//! `steward audit public-key` and `steward audit verify` end to end: the operator prints the key,
//! the auditor verifies against it; a bundle re-signed with another key fails unless its key is
//! taken on trust explicitly.

use std::path::Path;
use std::process::Command;

use serde_json::json;
use steward_audit::bundle::{BundleWriter, export_plans};
use steward_audit::checkpoint::{Checkpoint, SigningKey, origin_for};
use steward_audit::event::{
    Actor, AuditEvent, AuditTime, EVENT_VERSION, Outcome, Target, TenantRef,
};
use steward_audit::{BundleHeader, MemoryTree};
use tempfile::TempDir;

fn steward(cwd: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .current_dir(cwd)
        .env("STEWARD_CONFIG", cwd.join("steward-test.toml"))
        .env_remove("STEWARD_DATABASE_URL")
        .env_remove("STEWARD_AUDIT_SIGNING_KEY_FILE")
        .output()
        .expect("the steward binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A complete bundle of `n` events of tenant `acme`, signed by `key`.
fn bundle(key: &SigningKey, n: u64) -> Vec<u8> {
    let tenant = TenantRef {
        id: "0190f3c2-acme".into(),
        slug: "acme".into(),
    };
    let mut tree = MemoryTree::new();
    let mut events = Vec::new();
    for seq in 0..n {
        let bytes = AuditEvent {
            v: EVENT_VERSION,
            tenant: tenant.clone(),
            seq,
            time: AuditTime::parse(&format!("2026-11-26T08:00:{seq:02}.000000Z")).unwrap(),
            actor: Actor {
                sub: "alice".into(),
                roles: vec!["model_owner".into()],
            },
            action: "model.register".into(),
            target: Target {
                kind: "model".into(),
                id: format!("m-{seq}"),
            },
            outcome: Outcome::Ok,
            request_id: None,
            payload: json!({"after": {"name": format!("fraud-{seq}")}}),
            policy_revision: None,
        }
        .canonical_bytes()
        .unwrap();
        tree.append_event(&bytes).unwrap();
        events.push(bytes);
    }
    let (left, right) = export_plans(0, n, n).unwrap();
    let header = BundleHeader::new(
        tenant,
        0,
        n,
        tree.read(&left).unwrap(),
        tree.read(&right).unwrap(),
        &key.public_key(),
    );
    let mut writer = BundleWriter::new(&header);
    for e in &events {
        writer.push_event(e);
    }
    let checkpoint = key
        .sign(Checkpoint {
            origin: origin_for("acme"),
            tree_size: n,
            root_hash: tree.root(),
            timestamp: AuditTime::parse("2026-11-26T09:00:00.000000Z").unwrap(),
        })
        .unwrap();
    writer.finish(&checkpoint)
}

#[test]
fn the_auditor_verifies_against_the_operators_key_and_a_forgery_fails() {
    let dir = TempDir::new().unwrap();
    let real = SigningKey::from_seed([3; 32]);
    std::fs::write(dir.path().join("signing.pem"), real.to_pem().unwrap()).unwrap();
    std::fs::write(dir.path().join("acme.ndjson"), bundle(&real, 25)).unwrap();
    let forger = SigningKey::from_seed([4; 32]);
    std::fs::write(dir.path().join("forged.ndjson"), bundle(&forger, 2)).unwrap();

    // The operator prints the public key where the signing key lives.
    let (code, pem, err) = steward(
        dir.path(),
        &["audit", "public-key", "--signing-key-file", "signing.pem"],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    assert!(!pem.contains("PRIVATE"), "{pem}");
    assert!(err.contains(&real.public_key().key_id()), "{err}");
    std::fs::write(dir.path().join("steward-audit-public.pem"), &pem).unwrap();

    let verify = |args: &[&str]| {
        let mut all = vec!["audit", "verify"];
        all.extend_from_slice(args);
        steward(dir.path(), &all)
    };
    let (code, out, _) = verify(&["acme.ndjson", "--key", "steward-audit-public.pem"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("(the trusted key)"), "{out}");

    // Without anything to trust, even a genuine bundle is not declared OK.
    let (code, out, _) = verify(&["acme.ndjson"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("--trust-bundle-key"), "{out}");

    // The forged bundle: refused with the operator's key, with or without --strict.
    for strict in [false, true] {
        let mut args = vec!["forged.ndjson", "--key", "steward-audit-public.pem"];
        if strict {
            args.push("--strict");
        }
        let (code, out, _) = verify(&args);
        assert_eq!(code, Some(1), "{out}");
        assert!(out.contains("not by the trusted key"), "{out}");
    }
    // An earlier checkpoint the auditor kept exposes it too.
    let (code, out, _) = verify(&["forged.ndjson", "--previous-checkpoint", "acme.ndjson"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("previous checkpoint invalid"), "{out}");
    // Taken on trust it passes, naming the forger's key id for the auditor to compare.
    let (code, out, _) = verify(&["forged.ndjson", "--trust-bundle-key"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains(&forger.public_key().key_id()), "{out}");
    assert!(out.contains("taken on trust"), "{out}");
}

#[test]
fn json_output_is_one_document_with_the_same_verdict() {
    let dir = TempDir::new().unwrap();
    let real = SigningKey::from_seed([3; 32]);
    std::fs::write(dir.path().join("signing.pem"), real.to_pem().unwrap()).unwrap();
    std::fs::write(dir.path().join("acme.ndjson"), bundle(&real, 50)).unwrap();
    let (code, out, err) = steward(
        dir.path(),
        &[
            "audit",
            "public-key",
            "--signing-key-file",
            "signing.pem",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let key: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(key["keyId"], real.public_key().key_id());
    std::fs::write(dir.path().join("k.pem"), key["pem"].as_str().unwrap()).unwrap();
    let (code, out, err) = steward(
        dir.path(),
        &[
            "audit",
            "verify",
            "acme.ndjson",
            "--key",
            "k.pem",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(
        (v["ok"].as_bool(), v["eventCount"].as_u64()),
        (Some(true), Some(50))
    );
    assert_eq!(v["trust"], "trusted_key");
    // Not a terminal: no progress bar on standard error.
    assert_eq!(err, "", "nothing on stderr when it is not a terminal");
    let (code, out, _) = steward(
        dir.path(),
        &["audit", "verify", "acme.ndjson", "--format", "json"],
    );
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    assert_eq!(v["ok"], false);
    assert!(
        v["error"].as_str().unwrap().contains("--trust-bundle-key"),
        "{v}"
    );
}

#[test]
fn shell_completions_cover_every_command() {
    let dir = TempDir::new().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let (code, out, err) = steward(dir.path(), &["completions", shell]);
        assert_eq!(code, Some(0), "{err}");
        for sub in ["serve", "drift", "deploy", "audit", "completions"] {
            assert!(out.contains(sub), "{shell} completes {sub}");
        }
    }
    let (code, _, err) = steward(dir.path(), &["completions", "tcsh"]);
    assert_eq!(code, Some(2), "{err}");
}

#[test]
fn public_key_without_a_key_file_says_where_it_looked() {
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("steward-test.toml"),
        "database_url = \"sqlite://nowhere.db?mode=rwc\"\n",
    )
    .unwrap();
    let (code, _, err) = steward(dir.path(), &["audit", "public-key"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("nowhere.db.audit-ed25519.pem"), "{err}");
    assert!(
        !dir.path().join("nowhere.db.audit-ed25519.pem").exists(),
        "printing the key never creates one"
    );
}
