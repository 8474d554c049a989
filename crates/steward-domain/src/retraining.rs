//! Retraining runs reported back: the orchestrator's job (or an operator) tells Steward how a
//! retraining it asked for is going — queued, running, succeeded with a candidate version,
//! failed — and what it cost. Each report is kept; the latest is the run's state.

use chrono::{DateTime, Utc};

use crate::ids::{ActionId, ModelVersionId};
use crate::validate::{self, Validated, ValidationError};

text_enum!(
    /// How a retraining run stands.
    RetrainingStatus, "status", "retraining status", {
        Queued => "queued",
        Running => "running",
        /// Finished; `candidate` names the version it registered, when it did.
        Succeeded => "succeeded",
        Failed => "failed",
        Cancelled => "cancelled",
    }
);

/// An amount of money (or of a unit such as `GPU-h`) given with its currency: both or neither,
/// the amount finite and not negative; errors name `field` (and `costCurrency`).
fn amount(field: &str, value: Option<f64>, currency: &Option<String>) -> Validated {
    match (value, currency) {
        (Some(c), Some(cur)) if c.is_finite() && c >= 0.0 => {
            validate::required_text("costCurrency", cur, 16)
        }
        (Some(_), Some(_)) => Err(ValidationError::new(
            field,
            "must be a finite amount, zero or more",
        )),
        (None, None) => Ok(()),
        _ => Err(ValidationError::new(
            field,
            format!("give {field} and costCurrency together"),
        )),
    }
}

/// A report on a retraining run.
#[derive(Clone, Debug, PartialEq)]
pub struct RetrainingReport {
    pub action_id: ActionId,
    pub status: RetrainingStatus,
    pub message: String,
    /// Where the run is seen in the orchestrator.
    pub external_url: Option<String>,
    /// The candidate version the run registered.
    pub candidate: Option<ModelVersionId>,
    /// What the run cost, in `cost_currency` (an ISO 4217 code, or a unit such as `GPU-h`).
    pub cost: Option<f64>,
    pub cost_currency: Option<String>,
    pub reported_by: String,
    pub reported_at: DateTime<Utc>,
}

/// A report to record.
#[derive(Clone, Debug)]
pub struct NewRetrainingReport {
    pub status: RetrainingStatus,
    pub message: String,
    pub external_url: Option<String>,
    pub candidate: Option<ModelVersionId>,
    pub cost: Option<f64>,
    pub cost_currency: Option<String>,
}

impl NewRetrainingReport {
    pub fn validate(&self) -> Validated {
        validate::text("message", &self.message, 2_000)?;
        if let Some(u) = &self.external_url {
            validate::uri("externalUrl", u)?;
        }
        amount("cost", self.cost, &self.cost_currency)?;
        if self.candidate.is_some() && self.status != RetrainingStatus::Succeeded {
            return Err(ValidationError::new(
                "modelVersionId",
                "only a succeeded run names the candidate version it registered",
            ));
        }
        Ok(())
    }
}

/// How much automatic retraining a model may start: at most `max_runs` per `period_hours`, none
/// within `cooldown_hours` of the last, and (when set) no more once the runs of the period
/// reported `max_cost` in `cost_currency`. A retrain decision beyond it is recorded as
/// suppressed, with the reason. Unset fields do not limit.
#[derive(Clone, Debug, PartialEq)]
pub struct RetrainingBudget {
    pub model_id: crate::ids::ModelId,
    pub max_runs: Option<i64>,
    pub period_hours: i64,
    pub cooldown_hours: Option<i64>,
    pub max_cost: Option<f64>,
    pub cost_currency: Option<String>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// Longest budget period: a year.
pub const MAX_BUDGET_HOURS: i64 = 24 * 366;

impl RetrainingBudget {
    pub fn validate(&self) -> Validated {
        if !(1..=MAX_BUDGET_HOURS).contains(&self.period_hours) {
            return Err(ValidationError::new(
                "periodHours",
                format!("must be between 1 and {MAX_BUDGET_HOURS}"),
            ));
        }
        if self.max_runs.is_some_and(|n| n < 0) {
            return Err(ValidationError::new("maxRuns", "must not be negative"));
        }
        if self
            .cooldown_hours
            .is_some_and(|c| !(0..=MAX_BUDGET_HOURS).contains(&c))
        {
            return Err(ValidationError::new(
                "cooldownHours",
                format!("must be between 0 and {MAX_BUDGET_HOURS}"),
            ));
        }
        amount("maxCost", self.max_cost, &self.cost_currency)
    }
}
