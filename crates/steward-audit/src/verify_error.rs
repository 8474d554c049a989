//! Why a bundle failed verification (see [`crate::bundle::verify_bundle`]).

/// Why a bundle failed verification; the first problem found, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("bundle layout invalid: {0}")]
    Layout(String),
    #[error("bundle header invalid: {0}")]
    Header(String),
    #[error("bundle public key invalid: {0}")]
    Key(String),
    #[error("bundle is signed by key {bundle}, not by the trusted key {trusted} ({why})")]
    UntrustedKey {
        bundle: String,
        trusted: String,
        why: String,
    },
    #[error(
        "nothing to check the signing key against: the bundle carries its own key {key_id}, and anyone can re-sign a forged bundle with a fresh key; give the key obtained from the server's operator (--key), an earlier checkpoint you kept (--previous-checkpoint), or accept the bundle's key explicitly after comparing its id (--trust-bundle-key)"
    )]
    NoTrustAnchor { key_id: String },
    #[error("checkpoint invalid: {0}")]
    Checkpoint(String),
    #[error("checkpoint signature invalid")]
    CheckpointSignature,
    #[error("checkpoint origin {found:?} does not match tenant {slug:?} (expected {expected:?})")]
    Origin {
        found: String,
        expected: String,
        slug: String,
    },
    #[error(
        "header declares events up to seq {end} but the checkpoint covers only {tree_size} events"
    )]
    BeyondCheckpoint { end: u64, tree_size: u64 },
    #[error("header lists {got} {side} hashes where {expected} are needed")]
    FrontierCount {
        side: &'static str,
        expected: usize,
        got: usize,
    },
    #[error("event seq {seq} missing (the next event in the bundle has seq {next})")]
    EventMissing { seq: u64, next: u64 },
    #[error(
        "event seq {seq} missing: the bundle ends before the {declared} events its header declares"
    )]
    Truncated { seq: u64, declared: u64 },
    #[error(
        "event seq {seq}: found seq {found} again or out of order (duplicated, swapped or inserted event)"
    )]
    OutOfOrder { seq: u64, found: u64 },
    #[error("event seq {seq}: event of tenant {found} in bundle of tenant {expected}")]
    WrongTenant {
        seq: u64,
        found: String,
        expected: String,
    },
    #[error("event seq {seq}: {reason}")]
    BadEvent { seq: u64, reason: String },
    #[error(
        "event seq {seq}: altered: its bytes do not hash to the leaf the signed tree commits to"
    )]
    EventAltered { seq: u64 },
    #[error("event seq {seq}: more events than the {declared} the header declares")]
    ExtraEvents { seq: u64, declared: u64 },
    #[error(
        "root mismatch: the listed leaves do not hash to the signed root of tree size {tree_size} (events and their leaf hashes were altered together, or the header's hashes were)"
    )]
    RootMismatch { tree_size: u64 },
    #[error("previous checkpoint invalid: {0}")]
    Previous(String),
    #[error(
        "previous checkpoint has size {previous}, larger than this bundle's {current}: the log shrank"
    )]
    PreviousNewer { previous: u64, current: u64 },
    #[error(
        "previous checkpoint at size {previous} cannot be checked with events {first_seq}..{end}; export from seq 0"
    )]
    PreviousOutside {
        previous: u64,
        first_seq: u64,
        end: u64,
    },
    #[error(
        "not consistent with the previous checkpoint: the log at size {previous} differs from it (history rewritten)"
    )]
    Inconsistent { previous: u64 },
}
