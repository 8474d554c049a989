//! Auditing every mutation, fail closed, and the audit log's read side: events, signed
//! checkpoints, proofs and export bundles.
//!
//! Writes: a [`Mutation`](crate::Mutation) appends its event inside its own transaction on commit,
//! so the change and its record stand or fall together. A denied attempt, and an authorized one
//! that fails, are recorded in a transaction of their own (nothing else was written).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use steward_audit::{
    Actor, AuditEvent, AuditTime, Checkpoint, Hash, Outcome, PublicKey, RedactionKey, Redactor,
    SignedCheckpoint, SigningKey, Target, TenantRef, tree,
};
use steward_domain::*;
use steward_store::{AuditFilter, WriteTx};

use crate::{Service, ServiceError, ServiceResult, authorize};

/// The audit log's record types as the service hands them out (events, outcomes, tree hashes,
/// keys); callers above the service name them from here.
pub use steward_audit::{AuditEvent as Event, Hash as TreeHash, Outcome as EventOutcome};

/// The keys of the audit log: the Ed25519 key that signs checkpoints, and the secret that keys
/// the per-tenant HMACs replacing sensitive values.
pub struct AuditKeys {
    signing: SigningKey,
    redaction_master: [u8; 32],
}

impl AuditKeys {
    /// The redaction secret is derived from the signing key with a fixed label, so a deployment
    /// has one audit secret to keep; the two uses never share bytes.
    pub fn new(signing: SigningKey) -> ServiceResult<Self> {
        let pem = signing
            .to_pem()
            .map_err(|e| ServiceError::Internal(format!("audit key: {e}")))?;
        let mut h = Sha256::new();
        h.update(b"steward-audit-redaction/v1\n");
        h.update(pem.as_bytes());
        Ok(Self {
            signing,
            redaction_master: h.finalize().into(),
        })
    }

    /// Keys whose redaction secret was kept from an earlier signing key (after a rotation, so
    /// that a value redacted before and after it hashes alike).
    pub fn with_redaction_secret(signing: SigningKey, secret: [u8; 32]) -> Self {
        Self {
            signing,
            redaction_master: secret,
        }
    }

    /// The secret behind redacted values, to keep beside the next signing key at a rotation.
    pub fn redaction_secret(&self) -> [u8; 32] {
        self.redaction_master
    }

    /// The signing key (to sign a rotation statement naming its successor).
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// Keys from a freshly generated signing key (tests and benchmarks).
    pub fn generate() -> ServiceResult<Self> {
        let signing = SigningKey::generate()
            .map_err(|e| ServiceError::Internal(format!("audit key: {e}")))?;
        Self::new(signing)
    }

    pub fn public_key(&self) -> PublicKey {
        self.signing.public_key()
    }

    fn redactor(&self, tenant: TenantId) -> Redactor {
        Redactor::new(RedactionKey::derive(
            &self.redaction_master,
            &tenant.to_string(),
        ))
    }
}

/// What a mutation did, for its audit event.
pub(crate) struct Record {
    pub target_kind: &'static str,
    pub target_id: String,
    pub payload: Value,
}

/// Longest target id an event records. Ids Steward makes are UUIDs (36 characters); a longer
/// one came from a caller's raw input (a name in a denied request, say) and is cut, so nobody can
/// grow the append-only log by sending large values.
const MAX_TARGET_ID_CHARS: usize = 128;

/// Longest message an event of a denied or failed attempt records.
const MAX_ATTEMPT_MESSAGE_CHARS: usize = 512;

fn cut(value: &str, max: usize) -> String {
    if value.chars().count() <= max {
        value.to_string()
    } else {
        let head: String = value.chars().take(max).collect();
        format!("{head}...")
    }
}

impl Record {
    pub fn new(target_kind: &'static str, target_id: impl ToString, payload: Value) -> Self {
        Self {
            target_kind,
            target_id: cut(&target_id.to_string(), MAX_TARGET_ID_CHARS),
            payload,
        }
    }

    /// The record of a denied attempt: the target and the (bounded) reason.
    pub fn denial(target_kind: &'static str, target_id: &str, err: &ServiceError) -> Self {
        let reason = cut(&err.to_string(), MAX_ATTEMPT_MESSAGE_CHARS);
        Self::new(target_kind, target_id, json!({ "reason": reason }))
    }

    /// The record of an authorized attempt that failed: the target, code and (bounded) message.
    pub fn failure(target_kind: &'static str, target_id: &str, err: &ServiceError) -> Self {
        let message = cut(&err.to_string(), MAX_ATTEMPT_MESSAGE_CHARS);
        let payload = json!({"error": {"code": err.code(), "message": message}});
        Self::new(target_kind, target_id, payload)
    }
}

/// Denied attempts recorded per principal and operation in one [`DENIAL_WINDOW`]; beyond this
/// they are counted, and the count is written with the next recorded denial. A caller without
/// the right can therefore add at most this many events a minute, however fast it retries.
pub(crate) const MAX_DENIALS_PER_WINDOW: u32 = 10;
const DENIAL_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);
/// Principals remembered at most; beyond this the table starts afresh.
const MAX_DENIAL_KEYS: usize = 10_000;

/// One principal's denials of one operation: when the window started, how many were recorded
/// in it, how many were not since the last recorded one.
type DenialWindow = (std::time::Instant, u32, u64);

/// Coalesces repeated denials of one principal (see [`MAX_DENIALS_PER_WINDOW`]).
#[derive(Default)]
pub(crate) struct DenialLimiter {
    windows:
        std::sync::Mutex<std::collections::HashMap<(TenantId, String, Operation), DenialWindow>>,
}

impl DenialLimiter {
    /// `Some(suppressed)` when this denial is to be recorded (with the number of denials not
    /// recorded since the last one), `None` when it is only counted.
    pub(crate) fn admit(&self, tenant: TenantId, sub: &str, op: Operation) -> Option<u64> {
        let Ok(mut w) = self.windows.lock() else {
            return Some(0);
        };
        if w.len() >= MAX_DENIAL_KEYS {
            w.clear();
        }
        let now = std::time::Instant::now();
        let entry = w
            .entry((tenant, sub.to_string(), op))
            .or_insert((now, 0, 0));
        if now.duration_since(entry.0) >= DENIAL_WINDOW {
            entry.0 = now;
            entry.1 = 0;
        }
        if entry.1 < MAX_DENIALS_PER_WINDOW {
            entry.1 += 1;
            Some(std::mem::take(&mut entry.2))
        } else {
            entry.2 += 1;
            None
        }
    }
}

pub(crate) fn actor(p: &Principal) -> Actor {
    Actor {
        sub: p.subject().to_string(),
        roles: p.roles().iter().map(|r| r.as_str().to_string()).collect(),
    }
}

impl Service {
    /// Builds the event for `tenant` (seq is assigned by the store).
    pub(crate) fn event(
        &self,
        principal: &Principal,
        tenant: (TenantId, &str),
        op: Operation,
        outcome: Outcome,
        record: Record,
    ) -> ServiceResult<AuditEvent> {
        let mut payload = record.payload;
        self.audit
            .redactor(tenant.0)
            .redact(&mut payload)
            .map_err(|e| ServiceError::Internal(format!("redacting an audit payload: {e}")))?;
        Ok(AuditEvent {
            v: steward_audit::event::EVENT_VERSION,
            tenant: TenantRef {
                id: tenant.0.to_string(),
                slug: tenant.1.to_string(),
            },
            seq: 0,
            time: AuditTime::now(),
            actor: actor(principal),
            action: op.as_str().to_string(),
            target: Target {
                kind: record.target_kind.to_string(),
                id: record.target_id,
            },
            outcome,
            request_id: principal.request_id().map(str::to_string),
            payload,
            policy_revision: None,
        })
    }

    /// Appends `event` inside `tx`. Any failure fails the caller's transaction (fail closed).
    pub(crate) async fn append(
        &self,
        tx: &WriteTx,
        tenant: TenantId,
        event: AuditEvent,
    ) -> ServiceResult<()> {
        self.store
            .append_audit(tx, tenant, event)
            .await
            .map_err(|e| {
                self.metrics.audit_append_failed();
                tracing::error!(error = %e, "audit append failed; the mutation is refused");
                ServiceError::Unavailable(
                    "the audit log cannot be written; nothing was changed".into(),
                )
            })?;
        Ok(())
    }

    /// Records an attempt that changed nothing (denied, or failed after authorization) in a
    /// transaction of its own. A failure to record is logged; the caller's error stands.
    pub(crate) async fn record_attempt(
        &self,
        principal: &Principal,
        op: Operation,
        outcome: Outcome,
        record: Record,
    ) {
        let word = match outcome {
            Outcome::Ok => "ok",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
        };
        self.metrics.mutation(op.as_str(), word);
        let Some(tenant) = principal.tenant_id() else {
            tracing::info!(sub = principal.subject(), operation = %op, ?outcome, "attempt without a tenant log");
            return;
        };
        let result = async {
            let event = self.event(
                principal,
                (tenant, principal.tenant_slug()),
                op,
                outcome,
                record,
            )?;
            let tx = self.store.begin_write().await?;
            self.append(&tx, tenant, event).await?;
            tx.commit().await?;
            Ok::<(), ServiceError>(())
        }
        .await;
        if let Err(e) = result {
            tracing::error!(error = %e, operation = %op, "recording an audit attempt failed");
        }
    }

    fn audit_tenant(&self, principal: &Principal) -> ServiceResult<(TenantId, Option<String>)> {
        if principal.may(Operation::ReadAudit) {
            let t = principal
                .tenant_id()
                .ok_or(ServiceError::NotFound("tenant"))?;
            return Ok((t, None));
        }
        authorize(principal, Operation::ReadPlatformAudit)?;
        let t = principal
            .tenant_id()
            .ok_or(ServiceError::NotFound("tenant"))?;
        Ok((t, Some("tenant.".to_string())))
    }

    /// Events of the caller's tenant in sequence order. Platform admins see platform events only.
    pub async fn audit_events(
        &self,
        principal: &Principal,
        mut filter: AuditFilter,
        after_seq: Option<u64>,
        first: u32,
    ) -> ServiceResult<Vec<AuditEvent>> {
        let (tenant, prefix) = self.audit_tenant(principal)?;
        if first == 0 || first > crate::MAX_PAGE_SIZE {
            return Err(ServiceError::Invalid(format!(
                "first: must be between 1 and {}",
                crate::MAX_PAGE_SIZE
            )));
        }
        filter.action_prefix = prefix;
        Ok(self
            .store
            .audit_events(tenant, &filter, after_seq, first)
            .await?)
    }

    fn tree_err(e: steward_audit::TreeError) -> ServiceError {
        ServiceError::Invalid(e.to_string())
    }

    async fn root_at(&self, tenant: TenantId, size: u64) -> ServiceResult<Hash> {
        let nodes = self
            .store
            .audit_nodes(tenant, &tree::root_plan(size))
            .await?;
        tree::root_from(size, &nodes).map_err(|e| ServiceError::Internal(e.to_string()))
    }

    /// A checkpoint of the caller's tenant's log as it stands, signed now.
    pub async fn audit_checkpoint(&self, principal: &Principal) -> ServiceResult<SignedCheckpoint> {
        authorize(principal, Operation::ReadAudit)?;
        let tenant = principal
            .tenant_id()
            .ok_or(ServiceError::NotFound("tenant"))?;
        self.sign_head(tenant, principal.tenant_slug()).await
    }

    pub(crate) async fn sign_head(
        &self,
        tenant: TenantId,
        slug: &str,
    ) -> ServiceResult<SignedCheckpoint> {
        let size = self.store.audit_size(tenant).await?;
        let root = self.root_at(tenant, size).await?;
        self.audit
            .signing
            .sign(Checkpoint {
                origin: steward_audit::checkpoint::origin_for(slug),
                tree_size: size,
                root_hash: root,
                timestamp: AuditTime::now(),
            })
            .map_err(|e| ServiceError::Internal(format!("signing a checkpoint: {e}")))
    }

    pub fn audit_public_key(&self) -> PublicKey {
        self.audit.public_key()
    }

    /// The inclusion proof of event `seq` in the tree of `tree_size` events, with the leaf hash
    /// and the root it proves against.
    pub async fn audit_inclusion_proof(
        &self,
        principal: &Principal,
        seq: u64,
        tree_size: u64,
    ) -> ServiceResult<(Hash, Vec<Hash>, Hash)> {
        authorize(principal, Operation::ReadAudit)?;
        let tenant = principal
            .tenant_id()
            .ok_or(ServiceError::NotFound("tenant"))?;
        self.check_size(tenant, tree_size).await?;
        let plan = tree::inclusion_plan(seq, tree_size).map_err(Self::tree_err)?;
        let nodes = self.store.audit_nodes(tenant, &plan).await?;
        let proof = tree::inclusion_proof_from(seq, tree_size, &nodes).map_err(Self::tree_err)?;
        let leaf = self
            .store
            .audit_nodes(tenant, &[steward_audit::NodeRef::leaf(seq)])
            .await?;
        let root = self.root_at(tenant, tree_size).await?;
        Ok((leaf[0], proof, root))
    }

    /// Whether `event` is in the log `signed` commits to, checked as an auditor's tool would:
    /// its leaf hash recomputed from its content, its inclusion proof read from the stored tree,
    /// the path hashed up to the signed root. `Err` says why the check failed.
    pub(crate) async fn check_included(
        &self,
        tenant: TenantId,
        event: &AuditEvent,
        signed: &SignedCheckpoint,
    ) -> ServiceResult<Result<(), String>> {
        let size = signed.checkpoint.tree_size;
        let plan = tree::inclusion_plan(event.seq, size).map_err(Self::tree_err)?;
        let nodes = self.store.audit_nodes(tenant, &plan).await?;
        let path = tree::inclusion_proof_from(event.seq, size, &nodes).map_err(Self::tree_err)?;
        Ok(event
            .leaf_hash()
            .map_err(|e| e.to_string())
            .and_then(|leaf| {
                tree::verify_inclusion(&leaf, event.seq, size, &path, &signed.checkpoint.root_hash)
                    .map_err(|e| e.to_string())
            }))
    }

    /// The consistency proof between the trees of `from` and `to` events, with both roots.
    pub async fn audit_consistency_proof(
        &self,
        principal: &Principal,
        from: u64,
        to: u64,
    ) -> ServiceResult<(Vec<Hash>, Hash, Hash)> {
        authorize(principal, Operation::ReadAudit)?;
        let tenant = principal
            .tenant_id()
            .ok_or(ServiceError::NotFound("tenant"))?;
        self.check_size(tenant, to).await?;
        let plan = tree::consistency_plan(from, to).map_err(Self::tree_err)?;
        let nodes = self.store.audit_nodes(tenant, &plan).await?;
        let proof = tree::consistency_proof_from(from, to, &nodes).map_err(Self::tree_err)?;
        Ok((
            proof,
            self.root_at(tenant, from).await?,
            self.root_at(tenant, to).await?,
        ))
    }

    async fn check_size(&self, tenant: TenantId, size: u64) -> ServiceResult<()> {
        let current = self.store.audit_size(tenant).await?;
        if size > current {
            return Err(ServiceError::Invalid(format!(
                "treeSize: the log holds {current} events; {size} is beyond it"
            )));
        }
        Ok(())
    }

    /// Starts an export of events `[from, to)` (defaults: the whole log): the header and the
    /// checkpoint are fixed now; events are read page by page with [`Export::next_page`].
    pub async fn audit_export(
        &self,
        principal: &Principal,
        from: Option<u64>,
        to: Option<u64>,
    ) -> ServiceResult<Export> {
        authorize(principal, Operation::ReadAudit)?;
        let tenant = principal
            .tenant_id()
            .ok_or(ServiceError::NotFound("tenant"))?;
        let checkpoint = self.sign_head(tenant, principal.tenant_slug()).await?;
        let size = checkpoint.checkpoint.tree_size;
        let from = from.unwrap_or(0);
        let to = to.unwrap_or(size);
        if from > to || to > size {
            return Err(ServiceError::Invalid(format!(
                "from/to: must satisfy from <= to <= {size} (the log's size)"
            )));
        }
        let (left, right) =
            steward_audit::bundle::export_plans(from, to - from, size).map_err(Self::tree_err)?;
        let left = self.store.audit_nodes(tenant, &left).await?;
        let right = self.store.audit_nodes(tenant, &right).await?;
        let rotations = self.store.key_rotations().await?;
        let header = steward_audit::BundleHeader::new(
            TenantRef {
                id: tenant.to_string(),
                slug: principal.tenant_slug().to_string(),
            },
            from,
            to - from,
            left,
            right,
            &self.audit.public_key(),
        )
        .with_rotations(rotations);
        Ok(Export {
            service: self.clone(),
            tenant,
            next: from,
            end: to,
            header: Some(header.to_line()),
            checkpoint: Some(format!("{}\n", checkpoint.to_json())),
        })
    }
}

/// An export in progress: the header, then pages of events, then the checkpoint.
pub struct Export {
    service: Service,
    tenant: TenantId,
    next: u64,
    end: u64,
    header: Option<String>,
    checkpoint: Option<String>,
}

impl Export {
    /// The export as a stream of byte pages for an HTTP body. A body is read after its handler
    /// returns, outside the request's tenancy scope, so each page is read within the scope
    /// current now. A failure mid-stream is logged and ends the body with the error: a cut
    /// bundle fails to verify, which is the honest outcome of a broken export.
    pub fn into_stream(
        self,
    ) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
        let scope = crate::tenancy::current().unwrap_or(crate::tenancy::Tenancy::Nobody);
        futures_util::stream::unfold(self, move |mut export| async move {
            match crate::tenancy::within(scope, export.next_page()).await {
                Some(Ok(bytes)) => Some((Ok(bytes), export)),
                Some(Err(e)) => {
                    tracing::error!(error = %e, "audit export failed mid-stream");
                    Some((Err(std::io::Error::other(e.to_string())), export))
                }
                None => None,
            }
        })
    }
}

/// Events per page of an export: large enough to amortise the query, small enough to keep memory
/// flat (about 0.5 MiB per page).
const EXPORT_PAGE: u64 = 1000;

impl Export {
    /// The next piece of the bundle, or `None` when it is complete.
    pub async fn next_page(&mut self) -> Option<ServiceResult<Vec<u8>>> {
        if let Some(h) = self.header.take() {
            return Some(Ok(h.into_bytes()));
        }
        if self.next < self.end {
            let to = (self.next + EXPORT_PAGE).min(self.end);
            let page = self
                .service
                .store
                .audit_event_bytes(self.tenant, self.next, to)
                .await;
            return Some(match page {
                Ok(events) if events.len() as u64 == to - self.next => {
                    self.next = to;
                    let mut out = Vec::with_capacity(events.iter().map(|e| e.len() + 87).sum());
                    for e in events {
                        out.extend_from_slice(&steward_audit::bundle::event_line(e.as_bytes()));
                        out.push(b'\n');
                    }
                    Ok(out)
                }
                Ok(_) => Err(ServiceError::Internal(
                    "audit events missing from the log".into(),
                )),
                Err(e) => Err(e.into()),
            });
        }
        self.checkpoint.take().map(|c| Ok(c.into_bytes()))
    }
}

/// JSON of registry records for audit payloads.
pub(crate) mod payload {
    use super::*;

    pub fn model(m: &Model) -> Value {
        json!({"id": m.id.to_string(), "name": m.name, "description": m.description, "ownerTeam": m.owner_team,
               "riskTier": m.risk_tier.as_str(), "tags": m.tags})
    }

    pub fn version(v: &ModelVersion) -> Value {
        json!({"id": v.id.to_string(), "modelId": v.model_id.to_string(), "version": v.version,
               "artifactUri": v.artifact_uri, "artifactDigest": v.artifact_digest.to_string(), "framework": v.framework,
               "metrics": v.metrics,
               "tags": v.tags, "trainingRunId": v.training_run_id.map(|r| r.to_string())})
    }

    pub fn dataset(d: &Dataset) -> Value {
        json!({"id": d.id.to_string(), "name": d.name, "description": d.description})
    }

    pub fn dataset_version(v: &DatasetVersion) -> Value {
        json!({"id": v.id.to_string(), "datasetId": v.dataset_id.to_string(), "version": v.version, "uri": v.uri,
               "contentHash": v.content_hash.to_string(), "rowCount": v.row_count, "slice": v.slice})
    }

    pub fn run(r: &TrainingRun) -> Value {
        json!({"id": r.id.to_string(), "codeCommit": r.code_commit, "parameters": r.parameters,
               "inputDatasetVersions": r.input_dataset_versions.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
               "parentModelVersion": r.parent_model_version.map(|p| p.to_string()),
               "orchestrator": r.orchestrator, "orchestratorRunId": r.orchestrator_run_id, "status": r.status.as_str(),
               "retrainingAction": r.retraining_action.map(|a| a.to_string())})
    }
}
