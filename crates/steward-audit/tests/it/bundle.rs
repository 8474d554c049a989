//! Bundles that should verify: full, partial, empty, with a previous checkpoint.

use steward_audit::bundle::{Trust, VerifyError, VerifyOptions, verify_bundle};

use crate::support::{bundle, checkpoint, full_bundle, key, log, trusting_bundle_key};

#[test]
fn untouched_bundles_verify_at_every_small_size() {
    let k = key();
    for n in 0..40 {
        let l = log("acme", n, 1);
        let summary =
            verify_bundle(&full_bundle(&k, &l), &trusting_bundle_key()).expect("verifies");
        assert_eq!(summary.tree_size, n);
        assert!(summary.is_complete());
        assert_eq!(summary.root_hash, l.tree.root());
        assert_eq!(summary.origin, "steward/acme");
        assert_eq!(summary.trust, Trust::BundleKey);
    }
}

#[test]
fn partial_bundles_verify_through_their_frontiers() {
    let k = key();
    let l = log("acme", 77, 2);
    for (first, count, size) in [
        (0, 10, 77),
        (10, 20, 77),
        (33, 44, 77),
        (5, 0, 77),
        (64, 13, 77),
        (1, 1, 3),
        (20, 30, 60),
    ] {
        let b = bundle(&k, &l, first, count, size);
        let s = verify_bundle(&b, &trusting_bundle_key()).expect("verifies");
        assert_eq!(
            (s.first_seq, s.event_count, s.tree_size),
            (first, count, size)
        );
        assert!(!s.is_complete());
    }
}

#[test]
fn trusted_key_is_enforced() {
    let l = log("acme", 12, 3);
    let b = full_bundle(&key(), &l);
    let mut opts = VerifyOptions {
        trusted_key: Some(key().public_key()),
        ..Default::default()
    };
    assert_eq!(
        verify_bundle(&b, &opts).expect("trusted").trust,
        Trust::TrustedKey
    );
    opts.trusted_key = Some(steward_audit::SigningKey::from_seed([1; 32]).public_key());
    assert!(matches!(
        verify_bundle(&b, &opts),
        Err(VerifyError::UntrustedKey { .. })
    ));
}

#[test]
fn previous_checkpoints_are_checked_for_consistency() {
    let k = key();
    let l = log("acme", 50, 4);
    let b = full_bundle(&k, &l);
    for m in [0, 1, 7, 32, 49, 50] {
        let opts = VerifyOptions {
            previous: Some(checkpoint(&k, &l, m)),
            ..Default::default()
        };
        assert_eq!(
            verify_bundle(&b, &opts)
                .expect("consistent")
                .consistent_with,
            Some(m)
        );
    }
    // A partial bundle proves consistency for sizes inside its range and refuses others.
    let partial = bundle(&k, &l, 20, 10, 50);
    let inside = VerifyOptions {
        previous: Some(checkpoint(&k, &l, 25)),
        ..Default::default()
    };
    assert!(verify_bundle(&partial, &inside).is_ok());
    let outside = VerifyOptions {
        previous: Some(checkpoint(&k, &l, 5)),
        ..Default::default()
    };
    assert!(matches!(
        verify_bundle(&partial, &outside),
        Err(VerifyError::PreviousOutside { .. })
    ));
}

#[test]
fn a_rewritten_history_is_inconsistent_even_when_signed() {
    // The server itself (holding the key) rewrites event 10 and re-signs: the auditor's earlier
    // checkpoint exposes it.
    let k = key();
    let original = log("acme", 40, 5);
    let earlier = checkpoint(&k, &original, 30);
    let mut rewritten = log("acme", 40, 5);
    let forged = crate::support::event(&original.tenant, 10, 999)
        .canonical_bytes()
        .expect("event");
    rewritten.events[10] = forged;
    rewritten.tree = steward_audit::MemoryTree::new();
    for e in &rewritten.events {
        rewritten.tree.append_event(e).expect("append");
    }
    let b = full_bundle(&k, &rewritten);
    assert!(verify_bundle(&b, &trusting_bundle_key()).is_ok());
    let opts = VerifyOptions {
        previous: Some(earlier.clone()),
        ..Default::default()
    };
    assert_eq!(
        verify_bundle(&b, &opts),
        Err(VerifyError::Inconsistent { previous: 30 })
    );

    // A log that shrank below the earlier checkpoint is refused too.
    let shrunk = bundle(&k, &original, 0, 20, 20);
    assert_eq!(
        verify_bundle(&shrunk, &opts),
        Err(VerifyError::PreviousNewer {
            previous: 30,
            current: 20
        })
    );
}

#[test]
fn fast_mode_hashes_the_same_bytes() {
    let l = log("acme", 30, 6);
    let b = full_bundle(&key(), &l);
    let fast = VerifyOptions {
        strict_events: false,
        ..trusting_bundle_key()
    };
    assert_eq!(
        verify_bundle(&b, &fast),
        verify_bundle(&b, &trusting_bundle_key())
    );
}

#[test]
fn garbage_is_refused_without_panicking() {
    for bytes in [
        &b""[..],
        b"\n",
        b"{}",
        b"{}\n{}\n",
        b"\xff\xfe\n\n\n",
        b"{\"format\":1}\nx\n{}\n",
    ] {
        assert!(verify_bundle(bytes, &trusting_bundle_key()).is_err());
    }
}

#[test]
fn a_bundle_re_signed_with_a_fresh_key_verifies_only_when_its_key_is_taken_on_trust() {
    // The forger drops 23 of 25 events, rewrites an actor, and re-signs with a key of their own:
    // the bundle is internally consistent, so only the key can tell.
    let real = key();
    let original = log("acme", 25, 8);
    let earlier = checkpoint(&real, &original, 10);
    let mut forged = log("acme", 2, 8);
    let mut rewritten = crate::support::event(&forged.tenant, 1, 8);
    rewritten.actor.sub = "someone-else".into();
    forged.events[1] = rewritten.canonical_bytes().expect("event");
    forged.tree = steward_audit::MemoryTree::new();
    for e in &forged.events {
        forged.tree.append_event(e).expect("append");
    }
    let forger = steward_audit::SigningKey::from_seed([9; 32]);
    let b = full_bundle(&forger, &forged);

    // Nothing to anchor the key: refused, and the message names the three ways out.
    let err = verify_bundle(&b, &VerifyOptions::default()).unwrap_err();
    assert_eq!(
        err,
        VerifyError::NoTrustAnchor {
            key_id: forger.public_key().key_id()
        }
    );
    let text = err.to_string();
    for flag in ["--key", "--previous-checkpoint", "--trust-bundle-key"] {
        assert!(text.contains(flag), "{text}");
    }
    // The operator's key exposes the forger's.
    let with_key = VerifyOptions {
        trusted_key: Some(real.public_key()),
        ..Default::default()
    };
    assert!(matches!(
        verify_bundle(&b, &with_key),
        Err(VerifyError::UntrustedKey { .. })
    ));
    // So does a checkpoint the auditor kept from earlier: the forger cannot sign it.
    let with_previous = VerifyOptions {
        previous: Some(earlier),
        ..Default::default()
    };
    assert!(matches!(
        verify_bundle(&b, &with_previous),
        Err(VerifyError::Previous(_))
    ));
    // Taken on trust, it verifies, and says so: the auditor must compare the key id.
    let s = verify_bundle(&b, &trusting_bundle_key()).expect("self-consistent");
    assert_eq!(s.trust, Trust::BundleKey);
    assert_eq!(s.key_id, forger.public_key().key_id());
    assert_ne!(s.key_id, real.public_key().key_id());
}
