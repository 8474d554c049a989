//! Tampering classes, each over many random positions: every trial must be detected, and the
//! untouched bundle must verify every time.

use rand::Rng;
use rand::rngs::StdRng;
use steward_audit::bundle::{VerifyError, VerifyOptions, verify_bundle};

use crate::support::{
    Log, bundle, checkpoint, event, full_bundle, join, key, lines, log, rng, trusting_bundle_key,
};

const TRIALS: u64 = 60;

/// Runs `tamper` on fresh random logs; the untouched bundle must verify and the tampered one
/// must not. Returns the errors for class-specific checks.
fn trials(
    class: &str,
    mut tamper: impl FnMut(&mut StdRng, &Log, Vec<Vec<u8>>) -> Vec<Vec<u8>>,
) -> Vec<VerifyError> {
    let k = key();
    let mut errors = Vec::new();
    for trial in 0..TRIALS {
        let mut r = rng(1000 + trial);
        let n = r.random_range(2..120);
        let l = log("acme", n, trial);
        let good = full_bundle(&k, &l);
        let opts = trusting_bundle_key();
        verify_bundle(&good, &opts)
            .unwrap_or_else(|e| panic!("{class}: untouched bundle failed: {e}"));
        let bad = join(&tamper(&mut r, &l, lines(&good)));
        assert_ne!(bad, good, "{class}: trial {trial} changed nothing");
        match verify_bundle(&bad, &opts) {
            Ok(s) => panic!("{class}: trial {trial} (n = {n}) not detected: {s:?}"),
            Err(e) => errors.push(e),
        }
    }
    errors
}

/// Index of a random event line (line 0 is the header, the last is the checkpoint).
fn event_line(r: &mut StdRng, lines: &[Vec<u8>]) -> usize {
    r.random_range(1..lines.len() - 1)
}

#[test]
fn a_flipped_byte_in_an_event_is_detected() {
    trials("flip", |r, _, mut ls| {
        let i = event_line(r, &ls);
        let j = r.random_range(0..ls[i].len());
        ls[i][j] ^= r.random_range(1..=255u8);
        ls
    });
}

#[test]
fn a_deleted_event_is_named() {
    let errors = trials("delete", |r, _, mut ls| {
        let i = event_line(r, &ls);
        ls.remove(i);
        ls
    });
    for e in errors {
        assert!(
            matches!(
                e,
                VerifyError::EventMissing { .. } | VerifyError::Truncated { .. }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("missing"), "{e}");
    }
}

#[test]
fn swapped_events_are_named_at_the_first_position() {
    let mut expected = Vec::new();
    let errors = trials("swap", |r, _, mut ls| {
        let i = event_line(r, &ls);
        let mut j = event_line(r, &ls);
        while j == i {
            j = event_line(r, &ls);
        }
        ls.swap(i, j);
        expected.push(i.min(j) as u64 - 1);
        ls
    });
    for (e, seq) in errors.iter().zip(expected) {
        assert!(
            e.to_string().starts_with(&format!("event seq {seq}")),
            "{e} (expected seq {seq})"
        );
    }
}

#[test]
fn a_forged_inserted_event_is_detected() {
    trials("insert", |r, l, mut ls| {
        let i = event_line(r, &ls);
        let seq = i as u64 - 1;
        let forged = event(&l.tenant, seq, 424242)
            .canonical_bytes()
            .expect("event");
        if r.random_bool(0.5) {
            // Inserted as is: a duplicate seq.
            ls.insert(i, forged);
        } else {
            // Replacing the original in place: same seq, same tenant, valid JSON.
            ls[i] = forged;
        }
        ls
    });
}

#[test]
fn a_truncated_tail_is_detected() {
    let errors = trials("truncate", |r, _, mut ls| {
        let events = ls.len() - 2;
        let cut = r.random_range(1..=events);
        let checkpoint = ls.pop().expect("checkpoint line");
        ls.truncate(ls.len() - cut);
        ls.push(checkpoint);
        ls
    });
    for e in errors {
        assert!(matches!(e, VerifyError::Truncated { .. }), "{e}");
    }
}

#[test]
fn a_truncated_log_is_caught_against_an_earlier_checkpoint() {
    // The log itself was cut back and signed again at the smaller size: only an earlier
    // checkpoint can tell, and it does.
    let k = key();
    for trial in 0..TRIALS {
        let mut r = rng(2000 + trial);
        let n = r.random_range(3..120);
        let l = log("acme", n, trial);
        let earlier = checkpoint(&k, &l, n);
        let m = r.random_range(1..n);
        let cut = bundle(&k, &l, 0, m, m);
        let opts = VerifyOptions {
            previous: Some(earlier),
            ..Default::default()
        };
        assert!(matches!(
            verify_bundle(&cut, &opts),
            Err(VerifyError::PreviousNewer { .. })
        ));
    }
}

/// Replaces one hex or base64 character of a JSON field in the checkpoint line.
fn edit_field(r: &mut StdRng, line: &[u8], field: &str) -> Vec<u8> {
    let text = String::from_utf8(line.to_vec()).expect("utf-8");
    let start = text.find(&format!("\"{field}\":\"")).expect("field") + field.len() + 4;
    let end = start + text[start..].find('"').expect("closing quote");
    let mut bytes = text.into_bytes();
    // Stay before base64 padding so the edit is a different value, not a decoding error only.
    let last = if field == "signature" {
        end - 3
    } else {
        end - 1
    };
    let i = r.random_range(start..=last);
    let alphabet = b"0123456789abcdef";
    let mut c = alphabet[r.random_range(0..16)];
    while c == bytes[i] {
        c = alphabet[r.random_range(0..16)];
    }
    bytes[i] = c;
    bytes
}

#[test]
fn an_edited_checkpoint_root_is_detected() {
    let errors = trials("root", |r, _, mut ls| {
        let last = ls.len() - 1;
        ls[last] = edit_field(r, &ls[last], "root_hash");
        ls
    });
    for e in errors {
        assert_eq!(e, VerifyError::CheckpointSignature);
    }
}

#[test]
fn an_edited_checkpoint_signature_is_detected() {
    let errors = trials("signature", |r, _, mut ls| {
        let last = ls.len() - 1;
        ls[last] = edit_field(r, &ls[last], "signature");
        ls
    });
    for e in errors {
        assert!(
            matches!(
                e,
                VerifyError::CheckpointSignature | VerifyError::Checkpoint(_)
            ),
            "{e}"
        );
    }
}

#[test]
fn an_event_of_another_tenant_is_named() {
    let mut expected = Vec::new();
    let errors = trials("tenant", |r, l, mut ls| {
        let other = log("globex", l.events.len() as u64, 77);
        let i = event_line(r, &ls);
        ls[i] = steward_audit::bundle::event_line(&other.events[i - 1]);
        expected.push(i as u64 - 1);
        ls
    });
    for (e, seq) in errors.iter().zip(expected) {
        assert_eq!(
            e.to_string(),
            format!("event seq {seq}: event of tenant globex in bundle of tenant acme")
        );
    }
}

/// An event whose content is changed but stays valid JSON is named by its sequence number:
/// the listed leaf hashes still reach the signed root, so the event that no longer hashes to its
/// leaf is the altered one.
#[test]
fn an_altered_event_is_named() {
    let mut expected = Vec::new();
    let errors = trials("alter", |r, _, mut ls| {
        let i = event_line(r, &ls);
        let text = String::from_utf8(ls[i].clone()).expect("utf-8");
        let at = text.find("\"action\":\"").expect("action field") + 10;
        let mut bytes = text.into_bytes();
        bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
        ls[i] = bytes;
        expected.push(i as u64 - 1);
        ls
    });
    for (e, seq) in errors.iter().zip(expected) {
        assert!(
            matches!(e, VerifyError::EventAltered { seq: s } if *s == seq),
            "{e}"
        );
    }
}
