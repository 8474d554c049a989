//! Redaction: sensitive keys and personal fields become per-tenant HMACs an auditor can check.

use serde_json::json;
use steward_audit::redact::{RedactionKey, Redactor};

fn redactor(tenant_id: &str) -> Redactor {
    Redactor::new(RedactionKey::derive(b"master secret", tenant_id))
        .with_personal("/after/owners/*/email")
}

#[test]
fn sensitive_keys_and_personal_fields_are_replaced() {
    let mut payload = json!({
        "after": {
            "name": "fraud",
            "password": "hunter2",
            "webhook": {"access_token": "t0k", "refreshToken": "r", "tokenizer": "bpe", "API_KEY": 7},
            "owners": [{"email": "ana@example.com", "team": "risk"}, {"email": "bo@example.com"}]
        }
    });
    let original = payload.clone();
    let r = redactor("tenant-a");
    r.redact(&mut payload).expect("redacts");
    let text = payload.to_string();
    for secret in [
        "hunter2",
        "t0k",
        "\"r\"",
        "ana@example.com",
        "bo@example.com",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert_eq!(payload["after"]["name"], "fraud");
    assert_eq!(payload["after"]["webhook"]["tokenizer"], "bpe");
    assert_eq!(payload["after"]["owners"][0]["team"], "risk");
    assert!(payload["after"]["webhook"]["API_KEY"]["hmac-sha256"].is_string());

    // The auditor holding the value (and the tenant key) can check it; a wrong value fails.
    assert!(r.matches(
        &payload["after"]["password"],
        &original["after"]["password"]
    ));
    assert!(r.matches(&payload["after"]["webhook"]["API_KEY"], &json!(7)));
    assert!(!r.matches(&payload["after"]["password"], &json!("hunter3")));

    // Redacting twice changes nothing.
    let once = payload.clone();
    r.redact(&mut payload).expect("redacts");
    assert_eq!(payload, once);
}

#[test]
fn keys_are_per_tenant_and_match_a_plain_hmac() {
    let a = redactor("tenant-a")
        .redacted(&json!("hunter2"))
        .expect("mac");
    let b = redactor("tenant-b")
        .redacted(&json!("hunter2"))
        .expect("mac");
    assert_ne!(a, b);

    // Independent check with the hmac crate: HMAC-SHA256(key, UTF-8 of the string).
    use hmac::{Hmac, Mac};
    let key = RedactionKey::derive(b"master secret", "tenant-a");
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key.as_bytes()).expect("any length");
    mac.update(b"hunter2");
    assert_eq!(a["hmac-sha256"], hex::encode(mac.finalize().into_bytes()));
}

#[test]
fn secret_shaped_values_are_redacted_under_any_key() {
    let jwt =
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsInRlbmFudCI6ImFjbWUifQ.c2lnbmF0dXJlLWJ5dGVz";
    let pem = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n-----END PRIVATE KEY-----\n";
    let mut payload = json!({
        "after": {
            "db_conn": "postgres://svc:hunter2@db.internal:5432/features",
            "notes": ["pulled with redis://:s3cr3tpass@cache:6379/0", "plain text"],
            "private_key_pem": "not shaped like a key, but named like one",
            "gcpPrivateKey": "x",
            "passphrase": "correct horse",
            "bearer": "abc",
            "header": format!("Bearer {}", "A".repeat(40)),
            "cfg": {"signing": pem, "session": jwt},
            "github": "ghp_0123456789abcdefghijABCDEFGHIJ012345",
            "aws": "AKIAIOSFODNN7EXAMPLE",
            "slack": "https://hooks.slack.com/services/T000/B000/XXXXXXXX",
            // Not secrets: they stay readable.
            "artifact": "s3://models/fraud/v3/model.onnx",
            "source": "https://github.com/acme/fraud@v1.2.0",
            "digest": "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "description": "a basic model; bearer of good news",
            "private": false
        }
    });
    redactor("tenant-a").redact(&mut payload).expect("redacts");
    let text = payload.to_string();
    for secret in [
        "hunter2",
        "s3cr3tpass",
        "PRIVATE KEY",
        "eyJ",
        "correct horse",
        "AAAAAAAAAAAAAAAAAAAA",
        "ghp_",
        "AKIA",
        "hooks.slack.com",
        "named like one",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let after = &payload["after"];
    for redacted in [
        &after["db_conn"],
        &after["notes"][0],
        &after["gcpPrivateKey"],
        &after["bearer"],
        &after["header"],
        &after["cfg"]["signing"],
        &after["cfg"]["session"],
    ] {
        assert!(redacted["hmac-sha256"].is_string(), "{redacted}");
    }
    assert_eq!(after["notes"][1], "plain text");
    assert_eq!(after["artifact"], "s3://models/fraud/v3/model.onnx");
    assert_eq!(after["source"], "https://github.com/acme/fraud@v1.2.0");
    assert!(after["digest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(after["description"], "a basic model; bearer of good news");
    assert_eq!(after["private"], false);
}
