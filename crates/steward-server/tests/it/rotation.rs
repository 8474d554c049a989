//! Audit signing-key rotation end to end: the operator rotates with `steward audit rotate-key`,
//! restarts on the new key, and an auditor who only ever trusted the first key verifies the
//! new bundles through the rotation they carry; the old bundle still verifies with the old key;
//! a value redacted before and after hashes alike; a second rotation away from the same key is
//! refused; an altered rotation statement breaks the chain.

use serde_json::{Value, json};
use steward_store::testing::TestDb;

use crate::backup::export;
use crate::serve::{Deployment, gql};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn put_target(url: &str, officer: &str) {
    let v = gql(
        url,
        officer,
        "mutation($s: String!) { putDeliveryTarget(input: {name: \"hooks\", kind: WEBHOOK, url: \"https://hooks.example.com/h\", secret: $s}) { name } }",
        json!({"s": SECRET}),
    )
    .await;
    assert!(v.get("errors").is_none(), "{v}");
}

/// The redacted values (`{"hmac-sha256": …}`) of each of the bundle's delivery-target events.
fn redacted(bundle: &[u8]) -> Vec<Vec<String>> {
    let text = String::from_utf8(bundle.to_vec()).unwrap();
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if v["event"]["action"] != "delivery_target.manage" {
            continue;
        }
        let s = v["event"]["payload"].to_string();
        let hashes = s.split("\"hmac-sha256\":\"").skip(1);
        out.push(
            hashes
                .map(|h| h.split('"').next().unwrap().to_string())
                .collect(),
        );
    }
    out
}

fn verify(d: &Deployment, bundle: &str, key: &str) -> (bool, Value) {
    let out = d.run(
        &["audit", "verify", bundle, "--key", key, "--format", "json"],
        &[],
    );
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), v)
}

#[tokio::test]
async fn an_auditor_trusting_the_first_key_follows_the_rotation_to_the_new_one() {
    let db = TestDb::new().await;
    let d = Deployment::on(&db);
    let dir = d.dir().to_path_buf();
    let p = d.serve();
    let (_, officer) = d.tenant(&p).await;
    put_target(&p.url, &officer).await;
    std::fs::write(dir.join("before.ndjson"), export(&p.url, &officer).await).unwrap();
    let out = d.run(&["audit", "public-key"], &[]);
    assert!(out.status.success());
    std::fs::write(dir.join("old.pub"), &out.stdout).unwrap();

    // Rotate to a new key while the server runs, then restart on it.
    let new = steward_audit::SigningKey::generate().unwrap();
    let new_path = dir.join("new.pem");
    std::fs::write(&new_path, new.to_pem().unwrap()).unwrap();
    let out = d.run(
        &[
            "audit",
            "rotate-key",
            "--new-key",
            new_path.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rotated: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rotated["to"], new.public_key().key_id());
    assert!(dir.join("new.pem.redaction").exists());
    let again = d.run(
        &[
            "audit",
            "rotate-key",
            "--new-key",
            new_path.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(again.status.code(), Some(2), "one rotation away from a key");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("rotated away from already"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    drop(p);
    let p = d.serve_with(&[("STEWARD_AUDIT_SIGNING_KEY_FILE", new_path.to_str().unwrap())]);
    put_target(&p.url, &officer).await;
    let after = export(&p.url, &officer).await;
    std::fs::write(dir.join("after.ndjson"), &after).unwrap();

    // The auditor holds only the first key.
    let old_pub = dir.join("old.pub");
    let old_pub = old_pub.to_str().unwrap();
    let after_path = dir.join("after.ndjson");
    let (ok, v) = verify(&d, after_path.to_str().unwrap(), old_pub);
    assert!(ok, "{v}");
    assert_eq!(v["trust"], "rotated_key", "{v}");
    assert_eq!(v["keyChain"], json!([rotated["from"], rotated["to"]]));
    assert_eq!(v["keyId"], new.public_key().key_id());
    let before_path = dir.join("before.ndjson");
    let (ok, v) = verify(&d, before_path.to_str().unwrap(), old_pub);
    assert!(
        ok && v["trust"] == "trusted_key",
        "the old bundle still verifies: {v}"
    );

    // The same secret, redacted before and after the rotation, hashes alike.
    let events = redacted(&after);
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(!events[0].is_empty(), "{events:?}");
    assert!(
        events[0].iter().all(|h| events[1].contains(h)),
        "{events:?}"
    );

    // An altered statement (its incoming key swapped for Mallory's) breaks the chain.
    let mallory = steward_audit::SigningKey::generate().unwrap().public_key();
    let text = String::from_utf8(after).unwrap();
    let forged = text.replacen(
        &format!("\"to_public_key\":\"{}\"", new.public_key().to_base64()),
        &format!("\"to_public_key\":\"{}\"", mallory.to_base64()),
        1,
    );
    assert_ne!(forged, text);
    let forged_path = dir.join("forged.ndjson");
    std::fs::write(&forged_path, forged).unwrap();
    let (ok, v) = verify(&d, forged_path.to_str().unwrap(), old_pub);
    assert!(!ok, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap_or_default()
            .contains("signature"),
        "{v}"
    );
}
