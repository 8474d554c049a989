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
