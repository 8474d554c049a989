//! Holds: the human override. An SRE or governance officer puts a model on hold ("the fresh
//! data is contaminated by an outside event, do not retrain on it"); until the hold expires or is
//! lifted, the model's retraining and rollback decisions are recorded as suppressed instead of
//! delivered, with the hold's reason; alerts still go out.

use chrono::{DateTime, Utc};

use crate::ids::{HoldId, ModelId};
use crate::validate::{self, Validated, ValidationError};

/// Longest reason of a hold or its lifting.
pub const MAX_HOLD_REASON: usize = 1_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    pub id: HoldId,
    pub model_id: ModelId,
    pub reason: String,
    pub placed_by: String,
    pub placed_at: DateTime<Utc>,
    /// When it ends by itself; `None`: until lifted.
    pub until: Option<DateTime<Utc>>,
    pub lifted_by: Option<String>,
    pub lifted_at: Option<DateTime<Utc>>,
    pub lift_reason: Option<String>,
}

impl Hold {
    /// In force at `at`: not lifted, not expired.
    pub fn active_at(&self, at: DateTime<Utc>) -> bool {
        self.lifted_at.is_none() && self.until.is_none_or(|u| at < u)
    }

    /// Why a decision was suppressed, as the action and the decision record say it.
    pub fn explain(&self) -> String {
        let until = self.until.map_or("until lifted".to_string(), |u| {
            format!("until {}", u.to_rfc3339())
        });
        format!(
            "the model is on hold ({until}) by {}: {}",
            self.placed_by, self.reason
        )
    }
}

/// A hold to place.
#[derive(Clone, Debug)]
pub struct NewHold {
    pub model_id: ModelId,
    pub reason: String,
    pub until: Option<DateTime<Utc>>,
}

impl NewHold {
    /// A reason is required (the decision records repeat it); `until`, when given, is ahead.
    pub fn validate(&self, now: DateTime<Utc>) -> Validated {
        validate::required_text("input.reason", &self.reason, MAX_HOLD_REASON)?;
        if let Some(u) = self.until
            && u <= now
        {
            return Err(ValidationError::new(
                "input.until",
                "must be in the future (leave it out for a hold until lifted)",
            ));
        }
        Ok(())
    }
}
