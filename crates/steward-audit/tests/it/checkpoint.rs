//! Checkpoints: the signed text, signatures, key encodings.

use steward_audit::checkpoint::{
    Checkpoint, CheckpointError, PublicKey, SignedCheckpoint, SigningKey,
};
use steward_audit::event::AuditTime;
use steward_audit::{Hash, leaf_hash};

fn sample() -> Checkpoint {
    Checkpoint {
        origin: "steward/acme".into(),
        tree_size: 42,
        root_hash: leaf_hash(b"root"),
        timestamp: AuditTime::parse("2026-11-26T09:00:00.000000Z").expect("layout"),
    }
}

#[test]
fn signed_message_is_the_documented_text() {
    let c = sample();
    let text = String::from_utf8(c.signed_message().expect("message")).expect("utf-8");
    assert_eq!(
        text,
        format!(
            "steward-audit-checkpoint/v1\nsteward/acme\n42\n{}\n2026-11-26T09:00:00.000000Z\n",
            c.root_hash.to_hex()
        )
    );
    let mut bad = c;
    bad.origin = "steward/acme\n99".into();
    assert!(bad.signed_message().is_err());
}

#[test]
fn signatures_verify_and_edits_are_caught() {
    let key = SigningKey::generate().expect("randomness");
    let public = key.public_key();
    let signed = key.sign(sample()).expect("sign");
    public.verify(&signed).expect("verifies");

    let json = signed.to_json();
    assert_eq!(SignedCheckpoint::from_json(&json).expect("parses"), signed);

    let mut edited = signed.clone();
    edited.checkpoint.tree_size = 43;
    assert_eq!(public.verify(&edited), Err(CheckpointError::BadSignature));
    let mut edited = signed.clone();
    edited.checkpoint.root_hash = Hash([0; 32]);
    assert_eq!(public.verify(&edited), Err(CheckpointError::BadSignature));

    let other = SigningKey::from_seed([1; 32]).public_key();
    assert!(matches!(
        other.verify(&signed),
        Err(CheckpointError::WrongKey { .. })
    ));
}

#[test]
fn keys_round_trip_through_every_config_form() {
    let key = SigningKey::from_seed([9; 32]);
    let pem = key.to_pem().expect("pem");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let again = SigningKey::from_text(&pem).expect("pem parses");
    assert_eq!(again.public_key(), key.public_key());
    let hex_seed = hex::encode([9u8; 32]);
    assert_eq!(
        SigningKey::from_text(&hex_seed).expect("hex").public_key(),
        key.public_key()
    );

    let public = key.public_key();
    let public_pem = public.to_pem().expect("pem");
    assert!(public_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    assert_eq!(PublicKey::from_text(&public_pem).expect("pem"), public);
    assert_eq!(
        PublicKey::from_text(&public.to_base64()).expect("b64"),
        public
    );
    assert_eq!(public.key_id().len(), 16);
    assert!(!format!("{key:?}").contains(&hex_seed));

    for bad in [
        "",
        "not a key",
        "AAAA",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
    ] {
        assert!(SigningKey::from_text(bad).is_err(), "{bad}");
        assert!(PublicKey::from_text(bad).is_err(), "{bad}");
    }
}
