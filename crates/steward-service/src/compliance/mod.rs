//! Compliance: a model's documentation (revisions its owners write) and compliance reports
//! assembled from what Steward already holds: the registry and lineage, baselines and windows,
//! policies and decision records, deployments and approvals, incidents and retraining, and the
//! audit log with its signed checkpoint and inclusion proofs checked here. Each section maps to
//! the frameworks' headings (`steward_domain::compliance`); what is missing is listed as a gap.

mod gaps;
mod inventory;
mod logs;
mod monitoring;
mod sections;

use serde_json::json;
use steward_domain::compliance::{ComplianceReport, FRAMEWORKS, ReportScope, Section, SectionKey};
use steward_domain::*;

use crate::audit::Record;
use crate::{MAX_PAGE_SIZE, Service, ServiceError, ServiceResult, Writes, scope_for};

/// A report's time stamps, minutes in UTC.
pub(crate) fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

impl Service {
    /// Writes a new revision of the model's documentation (model owners). A stale
    /// `expected_revision` is a conflict; the revision is audited with what it says.
    pub async fn document_model(
        &self,
        principal: &Principal,
        doc: DocumentModel,
    ) -> ServiceResult<ModelDocumentation> {
        let actor = principal.subject().to_string();
        let now = self.now();
        let model = doc.model_id;
        self.mutate(
            principal,
            Operation::DocumentModel,
            ("model", model.to_string()),
            async move |m: Writes| {
                let doc = doc.normalized();
                doc.validate()?;
                if self.store.model(&m.scope, model).await?.is_none() {
                    return Err(ServiceError::NotFound("model"));
                }
                let saved = self
                    .store
                    .document_model(&m.tx, &m.scope, &doc, &actor, now)
                    .await?;
                let payload = json!({"documentationRevision": saved.revision,
                    "intendedUse": saved.intended_use, "limitations": saved.limitations,
                    "humanOversight": saved.human_oversight, "note": saved.note});
                Ok((saved, Record::new("model", model, payload)))
            },
        )
        .await
    }

    /// The model's documentation revisions, newest first (the first is in force).
    pub async fn model_documentation(
        &self,
        principal: &Principal,
        model: ModelId,
    ) -> ServiceResult<Vec<ModelDocumentation>> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        if self.store.model(&scope, model).await?.is_none() {
            return Err(ServiceError::NotFound("model"));
        }
        Ok(self.store.model_documentation(&scope, model).await?)
    }

    /// The compliance report of one model (every section in full) or, with `None`, of the
    /// tenant (the inventory of its models, each model's gaps, the event logs).
    pub async fn compliance_report(
        &self,
        principal: &Principal,
        model: Option<ModelId>,
    ) -> ServiceResult<ComplianceReport> {
        let scope = scope_for(principal, Operation::ReadCompliance)?;
        let tenant = self
            .store
            .tenant_by_slug(principal.tenant_slug())
            .await?
            .ok_or(ServiceError::NotFound("tenant"))?;
        let models = match model {
            Some(id) => vec![
                self.store
                    .model(&scope, id)
                    .await?
                    .ok_or(ServiceError::NotFound("model"))?,
            ],
            None => {
                let page = PageRequest {
                    first: MAX_PAGE_SIZE,
                    after: None,
                };
                self.models(principal, ModelFilter::default(), page)
                    .await?
                    .items
            }
        };
        let health = self.model_health(principal).await?;
        let coverage = self.policy_coverage(principal, &models).await?;
        // One checkpoint for the whole report: the log's section and every proof refer to it.
        let signed = self.sign_head(tenant.id, &tenant.slug).await?;
        let mut reports = Vec::with_capacity(models.len());
        if model.is_some() {
            for (m, governing) in models.iter().zip(&coverage) {
                let h = health.iter().find(|h| h.model == m.name);
                let r = self
                    .model_report(principal, (m, &tenant), h, governing.as_ref(), &signed)
                    .await?;
                reports.push(r);
            }
        } else {
            // A tenant report keeps each model's gaps, judged from facts read for every model
            // at once; each model's sections are in its own report.
            let facts = self.store.gap_facts(&scope).await?;
            let open = IncidentFilter {
                model_id: None,
                status: Some(IncidentStatus::Open),
            };
            let open = self.incidents(principal, open, Some(10_000)).await?;
            let open: Vec<&Incident> = open.iter().collect();
            let now = self.now();
            for (m, governing) in models.iter().zip(&coverage) {
                let h = health.iter().find(|h| h.model == m.name);
                reports.push(gaps::of_model(
                    m,
                    &facts,
                    governing.as_ref(),
                    h,
                    (&open, now),
                ));
            }
        }
        let mut sections = Vec::new();
        if model.is_none() {
            sections.push(inventory::inventory_table(&models, &reports, &health));
        }
        sections.push(self.event_logs(&tenant, &signed).await?);
        let scope = match model.and(models.first()) {
            Some(m) => ReportScope::Model {
                id: m.id.to_string(),
                name: m.name.clone(),
            },
            None => ReportScope::Tenant,
        };
        Ok(ComplianceReport {
            generated_at: chrono::Utc::now(),
            generated_by: principal.subject().to_string(),
            tenant: tenant.slug,
            business_unit: tenant.name,
            scope,
            frameworks: FRAMEWORKS,
            sections,
            models: reports,
        })
    }
}

/// A section with nothing recorded: its gap says so.
pub(crate) fn empty(key: SectionKey, gap: &str) -> Section {
    let mut s = Section::new(key);
    s.gap(gap);
    s
}
