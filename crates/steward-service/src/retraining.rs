//! Closing the retraining loop: the orchestrator's job reports how a retraining Steward asked for
//! is going (`POST /v1/retraining-runs/{id}/status`, the id being the retrain action's), with the
//! candidate version it registered and what it cost; each report is audited and lands on the
//! incident's timeline. The training run that registers the candidate names the same action
//! (`retrainingActionId`), which the registry turns into lineage: incident -> decision record ->
//! training run -> version.

use serde_json::json;
use steward_domain::*;

use crate::audit::Record;
use crate::{Service, ServiceError, ServiceResult, Writes, authorize};

impl Service {
    /// Records a report on retraining `action` (service accounts and model owners, who record
    /// training runs).
    pub async fn report_retraining(
        &self,
        principal: &Principal,
        action: ActionId,
        new: NewRetrainingReport,
    ) -> ServiceResult<RetrainingReport> {
        let actor = principal.subject().to_string();
        let now = self.now();
        self.mutate(
            principal,
            Operation::RecordTrainingRun,
            ("retraining_run", action.to_string()),
            async move |m: Writes| {
                new.validate()?;
                let r = self
                    .store
                    .insert_retraining_report(&m.tx, &m.scope, action, &new, &actor, now)
                    .await?;
                let payload = json!({"status": r.status.as_str(), "message": r.message,
                    "candidate": r.candidate.map(|c| c.to_string()), "cost": r.cost,
                    "costCurrency": r.cost_currency, "externalUrl": r.external_url});
                Ok((r, Record::new("retraining_run", action, payload)))
            },
        )
        .await
    }

    /// The reports on a retraining action, oldest first.
    pub async fn retraining_reports(
        &self,
        principal: &Principal,
        action: ActionId,
    ) -> ServiceResult<Vec<RetrainingReport>> {
        authorize(principal, Operation::ReadMonitoring)?;
        let scope = principal.scope().ok_or(ServiceError::NotFound("tenant"))?;
        Ok(self.store.retraining_reports(&scope, action).await?)
    }
}
