//! The event-log sections: the tenant's audit log as it stands (a checkpoint signed now and
//! verified against Steward's public key, the newest events proven included from their own
//! content, how far back the log reaches) and, per model, the events about it, proven the same
//! way. Counts and results only: the events themselves are for governance officers
//! (`audit.read`), through the audit page and the export.

use steward_audit::{AuditEvent, SignedCheckpoint};
use steward_domain::compliance::{Section, SectionKey};
use steward_domain::*;
use steward_store::AuditFilter;

use super::when;
use crate::{Service, ServiceError, ServiceResult};

/// Events the report proves included (the newest).
const PROVEN: u32 = 10;
/// A model's events the report reads to count and prove (page size of the scan).
const MODEL_EVENTS_PAGE: u32 = 500;
/// At most this many of a model's events are counted.
const MODEL_EVENTS_MAX: usize = 10_000;

impl Service {
    /// The tenant's log: size, signed checkpoint, signature, inclusion of the newest events,
    /// the oldest event (how far back the record reaches).
    pub(super) async fn event_logs(
        &self,
        tenant: &Tenant,
        signed: &SignedCheckpoint,
    ) -> ServiceResult<Section> {
        let mut s = Section::new(SectionKey::EventLogs);
        let size = signed.checkpoint.tree_size;
        s.fact("Events recorded", size.to_string());
        s.fact("Log", signed.checkpoint.origin.clone());
        s.fact("Signed root", signed.checkpoint.root_hash.to_hex());
        s.fact(
            "Signed",
            format!("{} with key {}", signed.checkpoint.timestamp, signed.key_id),
        );
        match self.audit_public_key().verify(signed) {
            Ok(()) => s.fact(
                "Checkpoint signature",
                "verified against Steward's public key",
            ),
            Err(e) => s.gap(format!("the checkpoint's signature does not verify: {e}")),
        }
        if size == 0 {
            s.gap("the audit log holds no event");
            return Ok(s);
        }
        let newest = self
            .store
            .audit_events(
                tenant.id,
                &AuditFilter::default(),
                size.checked_sub(u64::from(PROVEN) + 1),
                PROVEN,
            )
            .await?;
        self.prove(
            &mut s,
            tenant.id,
            &newest,
            signed,
            "newest events of the log",
        )
        .await?;
        let oldest = self
            .store
            .audit_events(tenant.id, &AuditFilter::default(), None, 1)
            .await?;
        if let Some(first) = oldest.first() {
            s.fact(
                "Retention",
                format!(
                    "append-only, nothing deleted: the log reaches back to {} (event 0); export it with `steward audit export` and verify offline with `steward audit verify`",
                    first.time
                ),
            );
        }
        Ok(s)
    }

    /// The events about one model (target `model`), counted, the newest proven included.
    pub(super) async fn model_events(
        &self,
        p: &Principal,
        m: &Model,
        signed: &SignedCheckpoint,
    ) -> ServiceResult<Section> {
        let mut s = Section::new(SectionKey::EventLogs);
        let tenant = p.tenant_id().ok_or(ServiceError::NotFound("tenant"))?;
        let filter = AuditFilter {
            target_kind: Some("model".into()),
            target_id: Some(m.id.to_string()),
            ..AuditFilter::default()
        };
        // Count every event about the model, keeping the newest to prove.
        let (mut counted, mut newest, mut after) = (0usize, Vec::<AuditEvent>::new(), None);
        loop {
            let page = self
                .store
                .audit_events(tenant, &filter, after, MODEL_EVENTS_PAGE)
                .await?;
            let full = page.len() == MODEL_EVENTS_PAGE as usize;
            after = page.last().map(|e| e.seq);
            counted += page.len();
            newest.extend(page);
            let excess = newest.len().saturating_sub(PROVEN as usize);
            newest.drain(..excess);
            if !full || counted >= MODEL_EVENTS_MAX {
                break;
            }
        }
        let more = if counted >= MODEL_EVENTS_MAX {
            " or more"
        } else {
            ""
        };
        s.fact("Events about the model", format!("{counted}{more}"));
        if let Some(last) = newest.last() {
            s.fact(
                "Latest",
                format!("{} {} by {}", last.time, last.action, last.actor.sub),
            );
        }
        if newest.is_empty() {
            s.gap("no audit event names the model");
            return Ok(s);
        }
        self.prove(
            &mut s,
            tenant,
            &newest,
            signed,
            "newest events about the model",
        )
        .await?;
        s.fact(
            "Registered",
            format!(
                "{} (the model's creation is in the log)",
                when(m.created_at)
            ),
        );
        Ok(s)
    }

    /// Checks each event's inclusion in the signed log and states the result (a failure is a
    /// gap naming the event).
    async fn prove(
        &self,
        s: &mut Section,
        tenant: TenantId,
        events: &[AuditEvent],
        signed: &SignedCheckpoint,
        what: &str,
    ) -> ServiceResult<()> {
        let mut proven = 0;
        for e in events {
            match self.check_included(tenant, e, signed).await? {
                Ok(()) => proven += 1,
                Err(why) => s.gap(format!(
                    "event {} is not proven in the signed log: {why}",
                    e.seq
                )),
            }
        }
        s.fact(
            "Inclusion",
            format!(
                "{proven} of the {} {what} proven included in the signed root of {} events, from their own content",
                events.len(),
                signed.checkpoint.tree_size
            ),
        );
        Ok(())
    }
}
