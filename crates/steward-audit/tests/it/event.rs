//! Events: canonical bytes, strict decoding, field rules.

use serde_json::json;
use steward_audit::event::{AuditEvent, AuditTime, EventError};

use crate::support::{event, tenant};

#[test]
fn canonical_bytes_round_trip_and_are_stable() {
    let e = event(&tenant("acme"), 41, 9);
    let bytes = e.canonical_bytes().expect("canonical");
    assert_eq!(AuditEvent::from_canonical(&bytes).expect("decodes"), e);
    assert_eq!(e.clone().canonical_bytes().expect("again"), bytes);
    assert!(!bytes.contains(&b'\n'));
    let text = String::from_utf8(bytes).expect("utf-8");
    assert!(text.starts_with(r#"{"action":"#), "{text}");
    assert!(text.contains(r#""seq":41,"#), "{text}");
    assert!(text.contains(r#""policy_revision":null"#), "{text}");
}

#[test]
fn non_canonical_or_foreign_shapes_are_refused() {
    let e = event(&tenant("acme"), 3, 1);
    let bytes = e.canonical_bytes().expect("canonical");
    let spaced = String::from_utf8(bytes.clone())
        .expect("utf-8")
        .replacen(':', ": ", 1);
    assert_eq!(
        AuditEvent::from_canonical(spaced.as_bytes()),
        Err(EventError::NotCanonical)
    );

    let mut value: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    value["extra"] = json!(1);
    let extra = steward_audit::jcs::to_vec(&value).expect("canonical");
    assert!(matches!(
        AuditEvent::from_canonical(&extra),
        Err(EventError::Malformed(_))
    ));
    assert!(matches!(
        AuditEvent::from_canonical(b"not json"),
        Err(EventError::Malformed(_))
    ));
}

#[test]
fn field_rules_are_enforced() {
    let base = event(&tenant("acme"), 3, 1);
    type Edit = Box<dyn Fn(&mut AuditEvent)>;
    let cases: Vec<(&str, Edit)> = vec![
        ("action", Box::new(|e| e.action = "Register".into())),
        ("action", Box::new(|e| e.action = "model.".into())),
        ("v", Box::new(|e| e.v = 2)),
        ("tenant", Box::new(|e| e.tenant.slug.clear())),
        ("actor.sub", Box::new(|e| e.actor.sub.clear())),
        ("seq", Box::new(|e| e.seq = 1 << 60)),
        ("target.kind", Box::new(|e| e.target.kind.clear())),
    ];
    for (field, edit) in cases {
        let mut e = base.clone();
        edit(&mut e);
        match e.canonical_bytes() {
            Err(EventError::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: expected invalid, got {other:?}"),
        }
    }
    let mut big = base.clone();
    big.payload = json!({"count": u64::MAX});
    assert!(matches!(
        big.canonical_bytes(),
        Err(EventError::Canonical(_))
    ));
}

#[test]
fn time_has_one_fixed_layout() {
    assert!(AuditTime::parse("2026-11-26T08:51:09.123456Z").is_ok());
    for bad in [
        "2026-11-26T08:51:09Z",
        "2026-11-26T08:51:09.123Z",
        "2026-11-26T08:51:09.123456+00:00",
        "2026-13-26T08:51:09.123456Z",
        "",
    ] {
        assert!(AuditTime::parse(bad).is_err(), "{bad}");
    }
    let now = AuditTime::now();
    assert_eq!(now.as_str().len(), 27);
    assert_eq!(AuditTime::parse(now.as_str()).expect("own layout"), now);
}
