//! Export bundles and their offline verification: one NDJSON file holding a header, the
//! canonical events and the signed checkpoint (format in `docs/audit-bundle.md`).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::checkpoint::{PublicKey, SignedCheckpoint, origin_for};
use crate::event::{AuditEvent, AuditTime, TenantRef};
use crate::hash::{Hash, empty_root, leaf_hash};
use crate::rotation::{KeyRotation, follow_chain};
use crate::tree::{Frontier, NodeRef, TreeError, range_nodes};
pub use crate::verify_error::VerifyError;

/// Value of the header's `format` field.
pub const BUNDLE_FORMAT: &str = "steward-audit-bundle";
/// Value of the header's `version` field: 3 when it carries key rotations, else 2 (what earlier
/// verifiers read; a bundle without rotations is byte for byte what they knew).
pub const BUNDLE_VERSION: u32 = 2;
/// The version of a bundle that carries key rotations.
pub const BUNDLE_VERSION_ROTATIONS: u32 = 3;

/// First line of a bundle.
///
/// A bundle holds the events `[first_seq, first_seq + event_count)` of one tenant. When it does
/// not start at 0 or stops before the checkpoint's tree size, `left` and `right` carry the hashes
/// of the complete subtrees covering the leaves before and after, so the root can still be
/// recomputed; a full export has both empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleHeader {
    pub event_count: u64,
    pub first_seq: u64,
    pub format: String,
    pub key_id: String,
    pub left: Vec<Hash>,
    pub public_key: String,
    pub right: Vec<Hash>,
    /// Every signing-key rotation the server holds (version 3): the chain from an auditor's
    /// trusted key to the key that signed this bundle.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rotations: Vec<KeyRotation>,
    pub tenant: TenantRef,
    pub version: u32,
}

impl BundleHeader {
    /// A header for events `[first_seq, first_seq + event_count)`; `left` and `right` are the
    /// hashes read for the plans of [`export_plans`].
    pub fn new(
        tenant: TenantRef,
        first_seq: u64,
        event_count: u64,
        left: Vec<Hash>,
        right: Vec<Hash>,
        key: &PublicKey,
    ) -> Self {
        Self {
            event_count,
            first_seq,
            format: BUNDLE_FORMAT.into(),
            key_id: key.key_id(),
            left,
            public_key: key.to_base64(),
            right,
            rotations: Vec::new(),
            tenant,
            version: BUNDLE_VERSION,
        }
    }

    /// The header carrying `rotations` (version 3 when there are any).
    pub fn with_rotations(mut self, rotations: Vec<KeyRotation>) -> Self {
        if !rotations.is_empty() {
            self.version = BUNDLE_VERSION_ROTATIONS;
        }
        self.rotations = rotations;
        self
    }

    /// The header line, `\n` included. Fields are declared in sorted order and hold only
    /// strings, hex and small integers, so this compact JSON is also canonical.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).unwrap_or_default();
        line.push('\n');
        line
    }
}

/// The nodes an exporter reads for a bundle of events `[first_seq, first_seq + event_count)`
/// signed at `tree_size`: `(left, right)`, each at most about `2 * log2(tree_size)` nodes.
pub fn export_plans(
    first_seq: u64,
    event_count: u64,
    tree_size: u64,
) -> Result<(Vec<NodeRef>, Vec<NodeRef>), TreeError> {
    let end = first_seq
        .checked_add(event_count)
        .filter(|end| *end <= tree_size)
        .ok_or(TreeError::SizeOutOfRange {
            requested: first_seq.saturating_add(event_count),
            size: tree_size,
        })?;
    let (mut left, mut right) = (Vec::new(), Vec::new());
    range_nodes(0, first_seq, &mut left);
    range_nodes(end, tree_size, &mut right);
    Ok((left, right))
}

const LINE_PREFIX: &[u8] = b"{\"leaf\":\"";
const LINE_MIDDLE: &[u8] = b"\",\"event\":";

/// One event line of a bundle (without its newline): `{"leaf":"<hex>","event":<canonical>}`,
/// the event's canonical bytes verbatim with the leaf hash the signed tree commits to. Listing
/// the leaf lets a verifier name the first altered event instead of only reporting that the root
/// does not match; the line is still one JSON object (canonical, too: `event` sorts after `leaf`).
pub fn event_line(canonical: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(canonical.len() + 86);
    out.extend_from_slice(LINE_PREFIX);
    out.extend_from_slice(leaf_hash(canonical).to_hex().as_bytes());
    out.extend_from_slice(LINE_MIDDLE);
    out.extend_from_slice(canonical);
    out.push(b'}');
    out
}

/// Splits an event line into the listed leaf hash and the event's bytes.
fn parse_event_line(line: &[u8], seq: u64) -> Result<(Hash, &[u8]), VerifyError> {
    let bad = || VerifyError::BadEvent {
        seq,
        reason: "not an event line of the form {\"leaf\":\"<64 hex>\",\"event\":{...}}".into(),
    };
    let rest = line.strip_prefix(LINE_PREFIX).ok_or_else(bad)?;
    if rest.len() < 64 + LINE_MIDDLE.len() + 1 {
        return Err(bad());
    }
    let (hex, rest) = rest.split_at(64);
    let leaf = std::str::from_utf8(hex)
        .ok()
        .and_then(|h| Hash::from_hex(h).ok())
        .ok_or_else(bad)?;
    let event = rest
        .strip_prefix(LINE_MIDDLE)
        .and_then(|r| r.strip_suffix(b"}"))
        .ok_or_else(bad)?;
    Ok((leaf, event))
}

/// Builds a bundle in memory. A streaming exporter writes the same three parts itself:
/// [`BundleHeader::to_line`], each event's canonical bytes plus `\n`, then
/// [`SignedCheckpoint::to_json`] plus `\n`.
#[derive(Debug)]
pub struct BundleWriter {
    out: Vec<u8>,
}

impl BundleWriter {
    /// Starts a bundle with its header.
    pub fn new(header: &BundleHeader) -> Self {
        Self {
            out: header.to_line().into_bytes(),
        }
    }

    /// Adds one event's canonical bytes (which never contain a raw newline) as an event line.
    pub fn push_event(&mut self, canonical: &[u8]) {
        self.out.extend_from_slice(&event_line(canonical));
        self.out.push(b'\n');
    }

    /// Ends the bundle with its checkpoint.
    pub fn finish(mut self, checkpoint: &SignedCheckpoint) -> Vec<u8> {
        self.out.extend_from_slice(checkpoint.to_json().as_bytes());
        self.out.push(b'\n');
        self.out
    }
}

/// What the verifier trusts besides the bundle itself.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// An earlier checkpoint of the same log: the bundle must extend it.
    pub previous: Option<SignedCheckpoint>,
    /// The key obtained out of band (from the server's operator: `steward audit public-key`).
    pub trusted_key: Option<PublicKey>,
    /// Accept the key the bundle carries. Anyone can re-sign a forged bundle with a fresh key, so
    /// this proves only that the bundle is internally consistent; the auditor must compare the
    /// reported key id with the one they expect. Without this, a `trusted_key` or a `previous`
    /// checkpoint is required.
    pub trust_bundle_key: bool,
    /// Also decode every event against the schema and require RFC 8785 form (`--strict`).
    /// Off (the default), only `seq` and `tenant` are read and the bytes are hashed as given:
    /// integrity does not depend on the form, since the signed root commits to the exact bytes,
    /// and the strict check currently costs about 20 us per event.
    pub strict_events: bool,
}

/// What anchored the verifier's trust in the signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// The key is the one the caller obtained out of band.
    TrustedKey,
    /// The bundle's key also signed the earlier checkpoint the caller kept.
    PreviousCheckpoint,
    /// The caller accepted the key the bundle carries (`--trust-bundle-key`).
    BundleKey,
    /// The caller's key handed over, through the rotations the bundle carries, to the key that
    /// signed it ([`VerifiedSummary::key_chain`]).
    RotatedKey,
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSummary {
    pub tenant: TenantRef,
    pub origin: String,
    /// Events `[first_seq, first_seq + event_count)` were hashed from the bundle.
    pub first_seq: u64,
    pub event_count: u64,
    /// The signed tree size and root the events lead to.
    pub tree_size: u64,
    pub root_hash: Hash,
    pub timestamp: AuditTime,
    pub key_id: String,
    /// Why the signing key was believed.
    pub trust: Trust,
    /// The key ids from the trusted key to the signing key (one id without a rotation).
    pub key_chain: Vec<String>,
    /// Size of the previous checkpoint proven to be a prefix, when one was given.
    pub consistent_with: Option<u64>,
}

impl VerifiedSummary {
    /// True when the bundle holds every event of the signed tree.
    pub fn is_complete(&self) -> bool {
        self.first_seq == 0 && self.event_count == self.tree_size
    }
}

/// The two fields of an event the fast path reads.
#[derive(Deserialize)]
struct EventHead<'a> {
    #[serde(borrow)]
    tenant: TenantHead<'a>,
    seq: u64,
}

#[derive(Deserialize)]
struct TenantHead<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    slug: Cow<'a, str>,
}

/// The three regions of a bundle: header line, event lines, checkpoint line.
type Parts<'a> = (&'a [u8], &'a [u8], &'a [u8]);

/// Splits a bundle into header, event region and checkpoint line.
fn split(bytes: &[u8]) -> Result<Parts<'_>, VerifyError> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let first = body.iter().position(|b| *b == b'\n');
    let last = body.iter().rposition(|b| *b == b'\n');
    let (Some(first), Some(last)) = (first, last) else {
        return Err(VerifyError::Layout(
            "expected a header line, event lines and a checkpoint line".into(),
        ));
    };
    let events = if first == last {
        &body[first..first]
    } else {
        &body[first + 1..last]
    };
    Ok((&body[..first], events, &body[last + 1..]))
}

/// Verifies a bundle; see `docs/audit-bundle.md` for each check.
pub fn verify_bundle(
    bytes: &[u8],
    options: &VerifyOptions,
) -> Result<VerifiedSummary, VerifyError> {
    verify_bundle_with_progress(bytes, options, &mut |_, _| {})
}

/// [`verify_bundle`], telling `progress(events checked, events in the bundle)` every 4,096
/// events and at the end (a progress bar for large bundles).
pub fn verify_bundle_with_progress(
    bytes: &[u8],
    options: &VerifyOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VerifiedSummary, VerifyError> {
    let (header_line, events, checkpoint_line) = split(bytes)?;
    let header: BundleHeader =
        serde_json::from_slice(header_line).map_err(|e| VerifyError::Header(e.to_string()))?;
    let versions = [BUNDLE_VERSION, BUNDLE_VERSION_ROTATIONS];
    if header.format != BUNDLE_FORMAT || !versions.contains(&header.version) {
        return Err(VerifyError::Header(format!(
            "unsupported format {:?} version {}",
            header.format, header.version
        )));
    }
    let bundle_key =
        PublicKey::from_text(&header.public_key).map_err(|e| VerifyError::Key(e.to_string()))?;
    let key_chain = match &options.trusted_key {
        Some(trusted) => follow_chain(trusted, &header.rotations, &bundle_key).map_err(|e| {
            VerifyError::UntrustedKey {
                bundle: bundle_key.key_id(),
                trusted: trusted.key_id(),
                why: e.to_string(),
            }
        })?,
        None => vec![bundle_key.key_id()],
    };
    let key = bundle_key;
    let trust = if options.trusted_key.is_some() && key_chain.len() > 1 {
        Trust::RotatedKey
    } else if options.trusted_key.is_some() {
        Trust::TrustedKey
    } else if options.previous.is_some() {
        // check_previous below verifies the earlier checkpoint with this same key.
        Trust::PreviousCheckpoint
    } else if options.trust_bundle_key {
        Trust::BundleKey
    } else {
        return Err(VerifyError::NoTrustAnchor {
            key_id: bundle_key.key_id(),
        });
    };

    // The checkpoint is authenticated first: nothing else in the file is trusted until then.
    let checkpoint_text = std::str::from_utf8(checkpoint_line)
        .map_err(|_| VerifyError::Checkpoint("not UTF-8".into()))?;
    let signed = SignedCheckpoint::from_json(checkpoint_text)
        .map_err(|e| VerifyError::Checkpoint(e.to_string()))?;
    key.verify(&signed)
        .map_err(|_| VerifyError::CheckpointSignature)?;
    let checkpoint = &signed.checkpoint;
    let expected_origin = origin_for(&header.tenant.slug);
    if checkpoint.origin != expected_origin {
        return Err(VerifyError::Origin {
            found: checkpoint.origin.clone(),
            expected: expected_origin,
            slug: header.tenant.slug.clone(),
        });
    }

    let tree_size = checkpoint.tree_size;
    let end = header
        .first_seq
        .checked_add(header.event_count)
        .filter(|end| *end <= tree_size)
        .ok_or(VerifyError::BeyondCheckpoint {
            end: header.first_seq.saturating_add(header.event_count),
            tree_size,
        })?;
    let (left_plan, right_plan) = export_plans(header.first_seq, header.event_count, tree_size)
        .map_err(|e| VerifyError::Header(e.to_string()))?;
    for (side, plan, got) in [
        ("left", &left_plan, &header.left),
        ("right", &right_plan, &header.right),
    ] {
        if plan.len() != got.len() {
            return Err(VerifyError::FrontierCount {
                side,
                expected: plan.len(),
                got: got.len(),
            });
        }
    }

    let previous = match &options.previous {
        Some(prev) => Some(check_previous(
            prev,
            &key,
            checkpoint.origin.as_str(),
            tree_size,
        )?),
        None => None,
    };
    let previous_size = previous.map(|(size, _)| size);
    let mut previous_root = None;
    let mut note_root = |frontier: &Frontier| {
        if previous_size == Some(frontier.size()) && previous_root.is_none() {
            previous_root = Some(frontier.root());
        }
    };

    let mut frontier = Frontier::from_plan(header.first_seq, &header.left)
        .map_err(|e| VerifyError::Header(e.to_string()))?;
    note_root(&frontier);
    let mut expected = header.first_seq;
    let mut first_altered = None;
    if !events.is_empty() {
        for line in events.split(|b| *b == b'\n') {
            if expected == end {
                return Err(VerifyError::ExtraEvents {
                    seq: expected,
                    declared: header.event_count,
                });
            }
            let (listed, event) = parse_event_line(line, expected)?;
            check_event(event, expected, &header.tenant, options.strict_events)?;
            if first_altered.is_none() && leaf_hash(event) != listed {
                first_altered = Some(expected);
            }
            // The tree is built from the listed leaves: if they reach the signed root, each
            // listed leaf is authentic and an event that does not hash to its leaf was altered.
            frontier.push_leaf(listed, |_, _| {});
            expected += 1;
            note_root(&frontier);
            let done = expected - header.first_seq;
            if done.is_multiple_of(4096) {
                progress(done, header.event_count);
            }
        }
    }
    progress(expected - header.first_seq, header.event_count);
    if expected < end {
        return Err(VerifyError::Truncated {
            seq: expected,
            declared: header.event_count,
        });
    }
    for (node, hash) in right_plan.iter().zip(&header.right) {
        frontier
            .push_node(*node, *hash, |_, _| {})
            .map_err(|e| VerifyError::Header(e.to_string()))?;
        note_root(&frontier);
    }
    if frontier.size() != tree_size || frontier.root() != checkpoint.root_hash {
        return Err(VerifyError::RootMismatch { tree_size });
    }
    if let Some(seq) = first_altered {
        return Err(VerifyError::EventAltered { seq });
    }

    let consistent_with = match previous {
        None => None,
        Some((0, root)) if root == empty_root() => Some(0),
        Some((size, root)) => match previous_root {
            Some(found) if found == root => Some(size),
            Some(_) => return Err(VerifyError::Inconsistent { previous: size }),
            None => {
                return Err(VerifyError::PreviousOutside {
                    previous: size,
                    first_seq: header.first_seq,
                    end,
                });
            }
        },
    };

    Ok(VerifiedSummary {
        tenant: header.tenant,
        origin: checkpoint.origin.clone(),
        first_seq: header.first_seq,
        event_count: header.event_count,
        tree_size,
        root_hash: checkpoint.root_hash,
        timestamp: checkpoint.timestamp.clone(),
        key_id: key.key_id(),
        trust,
        key_chain,
        consistent_with,
    })
}

/// Checks the previous checkpoint on its own; returns its size and root.
fn check_previous(
    prev: &SignedCheckpoint,
    key: &PublicKey,
    origin: &str,
    tree_size: u64,
) -> Result<(u64, Hash), VerifyError> {
    key.verify(prev)
        .map_err(|e| VerifyError::Previous(e.to_string()))?;
    if prev.checkpoint.origin != origin {
        return Err(VerifyError::Previous(format!(
            "origin {:?} is not this log's {:?}",
            prev.checkpoint.origin, origin
        )));
    }
    if prev.checkpoint.tree_size > tree_size {
        return Err(VerifyError::PreviousNewer {
            previous: prev.checkpoint.tree_size,
            current: tree_size,
        });
    }
    Ok((prev.checkpoint.tree_size, prev.checkpoint.root_hash))
}

/// Checks one event line at position `seq`: its seq number, its tenant and, when strict, its
/// schema and canonical form.
fn check_event(line: &[u8], seq: u64, tenant: &TenantRef, strict: bool) -> Result<(), VerifyError> {
    let (found_seq, found_id, found_slug) = if strict {
        let event = AuditEvent::from_canonical(line).map_err(|e| VerifyError::BadEvent {
            seq,
            reason: e.to_string(),
        })?;
        (
            event.seq,
            Cow::Owned(event.tenant.id),
            Cow::Owned(event.tenant.slug),
        )
    } else {
        let head: EventHead<'_> =
            serde_json::from_slice(line).map_err(|e| VerifyError::BadEvent {
                seq,
                reason: format!("not an audit event: {e}"),
            })?;
        (head.seq, head.tenant.id, head.tenant.slug)
    };
    // Tenant first: a foreign event also carries a foreign seq, and its tenant is the real news.
    if found_id != tenant.id || found_slug != tenant.slug {
        return Err(VerifyError::WrongTenant {
            seq,
            found: found_slug.into_owned(),
            expected: tenant.slug.clone(),
        });
    }
    if found_seq > seq {
        return Err(VerifyError::EventMissing {
            seq,
            next: found_seq,
        });
    }
    if found_seq < seq {
        return Err(VerifyError::OutOfOrder {
            seq,
            found: found_seq,
        });
    }
    Ok(())
}
