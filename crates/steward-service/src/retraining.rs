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

/// A budget to set: the fields of [`RetrainingBudget`] a caller chooses.
#[derive(Clone, Debug)]
pub struct BudgetInput {
    pub model_id: ModelId,
    pub max_runs: Option<i64>,
    pub period_hours: i64,
    pub cooldown_hours: Option<i64>,
    pub max_cost: Option<f64>,
    pub cost_currency: Option<String>,
}

impl Service {
    /// Sets the model's retraining budget (model owners and SREs, who tune its monitoring).
    pub async fn set_retraining_budget(
        &self,
        principal: &Principal,
        input: BudgetInput,
    ) -> ServiceResult<RetrainingBudget> {
        let actor = principal.subject().to_string();
        let now = self.now();
        let model = input.model_id;
        self.mutate(
            principal,
            Operation::ConfigureMonitoring,
            ("model", model.to_string()),
            async move |m: Writes| {
                let b = RetrainingBudget {
                    model_id: model,
                    max_runs: input.max_runs,
                    period_hours: input.period_hours,
                    cooldown_hours: input.cooldown_hours,
                    max_cost: input.max_cost,
                    cost_currency: input.cost_currency,
                    updated_by: actor,
                    updated_at: now,
                };
                b.validate()?;
                if self.store.model(&m.scope, model).await?.is_none() {
                    return Err(ServiceError::NotFound("model"));
                }
                let b = self
                    .store
                    .put_retraining_budget(&m.tx, &m.scope, &b)
                    .await?;
                let payload = json!({"retrainingBudget": {"maxRuns": b.max_runs,
                    "periodHours": b.period_hours, "cooldownHours": b.cooldown_hours,
                    "maxCost": b.max_cost, "costCurrency": b.cost_currency}});
                Ok((b, Record::new("model", model, payload)))
            },
        )
        .await
    }

    /// The model's retraining budget, if one is set.
    pub async fn retraining_budget(
        &self,
        principal: &Principal,
        model: ModelId,
    ) -> ServiceResult<Option<RetrainingBudget>> {
        authorize(principal, Operation::ReadMonitoring)?;
        let scope = principal.scope().ok_or(ServiceError::NotFound("tenant"))?;
        if self.store.model(&scope, model).await?.is_none() {
            return Err(ServiceError::NotFound("model"));
        }
        Ok(self.store.retraining_budget(&scope, model).await?)
    }

    /// Why a retraining of `model` decided at `now` may not start, if it may not: one incident
    /// (the one live under `incident_key`, which the evaluation continues) starts at most one
    /// run, unless the budget's cooldown has passed since; and the budget's limits.
    pub(crate) async fn over_budget(
        &self,
        m: &Writes,
        model: ModelId,
        incident_key: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> ServiceResult<Option<String>> {
        let b = self
            .store
            .retraining_budget_in(&m.tx, &m.scope, model)
            .await?;
        if let Some(key) = incident_key
            && let Some(at) = self
                .store
                .incident_last_retrain(&m.tx, &m.scope, model, key)
                .await?
        {
            let cooled = b
                .as_ref()
                .and_then(|b| b.cooldown_hours)
                .is_some_and(|h| now >= at + chrono::Duration::hours(h));
            if !cooled {
                return Ok(Some(format!(
                    "incident {key} already started a retraining run at {} (one per incident, unless asked again after the budget's cooldown)",
                    at.to_rfc3339()
                )));
            }
        }
        let Some(b) = b else {
            return Ok(None);
        };
        let since = now - chrono::Duration::hours(b.period_hours);
        let spent = self
            .store
            .retraining_spent(&m.tx, &m.scope, model, since, b.cost_currency.as_deref())
            .await?;
        if let (Some(cooldown), Some(last)) = (b.cooldown_hours, spent.last_at) {
            let until = last + chrono::Duration::hours(cooldown);
            if now < until {
                return Ok(Some(format!(
                    "retraining budget: cooling down until {} ({cooldown} h after the last run)",
                    until.to_rfc3339()
                )));
            }
        }
        if let Some(max) = b.max_runs
            && spent.runs >= max
        {
            return Ok(Some(format!(
                "retraining budget: {} of {max} runs in {} h used",
                spent.runs, b.period_hours
            )));
        }
        if let (Some(max), Some(cur)) = (b.max_cost, &b.cost_currency)
            && spent.cost >= max
        {
            return Ok(Some(format!(
                "retraining budget: {:.2} of {max:.2} {cur} in {} h spent",
                spent.cost, b.period_hours
            )));
        }
        Ok(None)
    }
}
