//! Holds: SREs and governance officers put a model's automatic retraining and rollback on hold
//! and lift it; the window evaluation then records those decisions as suppressed (see
//! `outbox::route`). Every change is audited; the model's holds are listed.

use serde_json::json;
use steward_domain::*;

use crate::audit::Record;
use crate::{Service, ServiceError, ServiceResult, Writes, authorize};

impl Service {
    /// Puts the model on hold, replacing a hold in force (to extend or reword it).
    pub async fn place_hold(&self, principal: &Principal, new: NewHold) -> ServiceResult<Hold> {
        let actor = principal.subject().to_string();
        let now = self.now();
        let model = new.model_id;
        self.mutate(
            principal,
            Operation::HoldModel,
            ("model", model.to_string()),
            async move |m: Writes| {
                new.validate(now)?;
                if self.store.model(&m.scope, model).await?.is_none() {
                    return Err(ServiceError::NotFound("model"));
                }
                let hold = self
                    .store
                    .place_hold(&m.tx, &m.scope, &new, &actor, now)
                    .await?;
                let payload = json!({"hold": hold.id.to_string(), "placed": true,
                    "reason": hold.reason, "until": hold.until});
                Ok((hold, Record::new("model", model, payload)))
            },
        )
        .await
    }

    /// Lifts the model's hold, with a reason; NOT_FOUND when none is in force.
    pub async fn lift_hold(
        &self,
        principal: &Principal,
        model: ModelId,
        reason: String,
    ) -> ServiceResult<Hold> {
        let actor = principal.subject().to_string();
        let now = self.now();
        self.mutate(
            principal,
            Operation::HoldModel,
            ("model", model.to_string()),
            async move |m: Writes| {
                validate::required_text("reason", &reason, MAX_HOLD_REASON)?;
                let hold = self
                    .store
                    .lift_hold(&m.tx, &m.scope, model, &reason, &actor, now)
                    .await?;
                let payload = json!({"hold": hold.id.to_string(), "lifted": true,
                    "reason": reason});
                Ok((hold, Record::new("model", model, payload)))
            },
        )
        .await
    }

    /// The model's holds, newest first.
    pub async fn holds(&self, principal: &Principal, model: ModelId) -> ServiceResult<Vec<Hold>> {
        authorize(principal, Operation::ReadMonitoring)?;
        let scope = principal.scope().ok_or(ServiceError::NotFound("tenant"))?;
        if self.store.model(&scope, model).await?.is_none() {
            return Err(ServiceError::NotFound("model"));
        }
        Ok(self.store.holds(&scope, model).await?)
    }
}
