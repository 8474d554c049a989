//! GraphQL fields of the audit log: events, signed checkpoints and proofs (governance officers).

use async_graphql::{Context, InputObject, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use steward_service::AuditFilter;
use steward_service::audit::{Event, EventOutcome, TreeHash};

use super::ctx;
use crate::error::{gql, invalid};

mirror_enum!(AuditOutcome, EventOutcome, { Ok, Denied, Failed });

impl AuditOutcome {
    fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Ok => "ok",
            AuditOutcome::Denied => "denied",
            AuditOutcome::Failed => "failed",
        }
    }
}

#[derive(SimpleObject)]
pub struct AuditActor {
    pub sub: String,
    pub roles: Vec<String>,
}

#[derive(SimpleObject)]
pub struct AuditTarget {
    pub kind: String,
    pub id: String,
}

#[derive(SimpleObject)]
pub struct AuditEvent {
    /// Position in the tenant's log (0-based, gapless), also the leaf index in its Merkle tree.
    pub seq: u64,
    pub time: String,
    pub actor: AuditActor,
    pub action: String,
    pub target: AuditTarget,
    pub outcome: AuditOutcome,
    pub request_id: Option<String>,
    /// What changed; sensitive values appear as `{"hmac-sha256": ...}`.
    pub payload: Json<serde_json::Value>,
    pub policy_revision: Option<String>,
    /// The event's RFC 8785 canonical JSON, exactly as hashed into the tree.
    pub canonical: String,
}

impl From<Event> for AuditEvent {
    fn from(e: Event) -> Self {
        let canonical = e
            .canonical_bytes()
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        AuditEvent {
            seq: e.seq,
            time: e.time.as_str().to_string(),
            actor: AuditActor {
                sub: e.actor.sub,
                roles: e.actor.roles,
            },
            action: e.action,
            target: AuditTarget {
                kind: e.target.kind,
                id: e.target.id,
            },
            outcome: e.outcome.into(),
            request_id: e.request_id,
            payload: Json(e.payload),
            policy_revision: e.policy_revision,
            canonical,
        }
    }
}

#[derive(SimpleObject)]
pub struct AuditEventPage {
    pub nodes: Vec<AuditEvent>,
    /// Pass as `afterSeq` for the next page; null at the end.
    pub next_after_seq: Option<u64>,
}

#[derive(InputObject, Default)]
pub struct AuditEventFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub outcome: Option<AuditOutcome>,
}

#[derive(SimpleObject)]
pub struct AuditCheckpoint {
    pub origin: String,
    pub tree_size: u64,
    pub root_hash: String,
    pub timestamp: String,
    pub key_id: String,
    /// The whole signed checkpoint as JSON, as `steward audit verify --previous-checkpoint` reads it.
    pub signed: String,
    /// The Ed25519 public key, PEM.
    pub public_key_pem: String,
}

#[derive(SimpleObject)]
pub struct InclusionProof {
    pub seq: u64,
    pub tree_size: u64,
    pub leaf_hash: String,
    pub proof: Vec<String>,
    pub root_hash: String,
}

#[derive(SimpleObject)]
pub struct ConsistencyProof {
    pub from_size: u64,
    pub to_size: u64,
    pub proof: Vec<String>,
    pub from_root: String,
    pub to_root: String,
}

fn hexes(hs: &[TreeHash]) -> Vec<String> {
    hs.iter().map(|h| h.to_hex()).collect()
}

#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The tenant's audit events in sequence order (governance_officer; platform_admin sees
    /// platform events only).
    #[graphql(
        complexity = "first.unwrap_or(super::DEFAULT_PAGE).max(0) as usize * child_complexity"
    )]
    async fn audit_events(
        &self,
        c: &Context<'_>,
        filter: Option<AuditEventFilter>,
        first: Option<i32>,
        after_seq: Option<u64>,
    ) -> async_graphql::Result<AuditEventPage> {
        let (svc, p) = ctx(c)?;
        let f = filter.unwrap_or_default();
        let filter = AuditFilter {
            from: f.from,
            to: f.to,
            actor: f.actor,
            action: f.action,
            action_prefix: None,
            target_kind: f.target_kind,
            target_id: f.target_id,
            outcome: f.outcome.map(|o| o.as_str().to_string()),
        };
        let first = u32::try_from(first.unwrap_or(super::DEFAULT_PAGE))
            .map_err(|_| invalid("first: must not be negative"))?;
        let events = svc
            .audit_events(p, filter, after_seq, first)
            .await
            .map_err(gql)?;
        let next_after_seq = (events.len() == first as usize)
            .then(|| events.last().map(|e| e.seq))
            .flatten();
        Ok(AuditEventPage {
            nodes: events.into_iter().map(AuditEvent::from).collect(),
            next_after_seq,
        })
    }

    /// A checkpoint of the log as it stands, signed now with the server's Ed25519 key.
    async fn audit_checkpoint(&self, c: &Context<'_>) -> async_graphql::Result<AuditCheckpoint> {
        let (svc, p) = ctx(c)?;
        let signed = svc.audit_checkpoint(p).await.map_err(gql)?;
        let key = svc.audit_public_key();
        Ok(AuditCheckpoint {
            origin: signed.checkpoint.origin.clone(),
            tree_size: signed.checkpoint.tree_size,
            root_hash: signed.checkpoint.root_hash.to_hex(),
            timestamp: signed.checkpoint.timestamp.as_str().to_string(),
            key_id: signed.key_id.clone(),
            signed: signed.to_json(),
            public_key_pem: key.to_pem().unwrap_or_default(),
        })
    }

    /// Proof that event `seq` is in the log of `treeSize` events.
    async fn audit_inclusion_proof(
        &self,
        c: &Context<'_>,
        seq: u64,
        tree_size: u64,
    ) -> async_graphql::Result<InclusionProof> {
        let (svc, p) = ctx(c)?;
        let (leaf, proof, root) = svc
            .audit_inclusion_proof(p, seq, tree_size)
            .await
            .map_err(gql)?;
        Ok(InclusionProof {
            seq,
            tree_size,
            leaf_hash: leaf.to_hex(),
            proof: hexes(&proof),
            root_hash: root.to_hex(),
        })
    }

    /// Proof that the log of `toSize` events extends the log of `fromSize` events unchanged.
    async fn audit_consistency_proof(
        &self,
        c: &Context<'_>,
        from_size: u64,
        to_size: u64,
    ) -> async_graphql::Result<ConsistencyProof> {
        let (svc, p) = ctx(c)?;
        let (proof, from_root, to_root) = svc
            .audit_consistency_proof(p, from_size, to_size)
            .await
            .map_err(gql)?;
        Ok(ConsistencyProof {
            from_size,
            to_size,
            proof: hexes(&proof),
            from_root: from_root.to_hex(),
            to_root: to_root.to_hex(),
        })
    }
}
