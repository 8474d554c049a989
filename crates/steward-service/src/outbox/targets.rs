//! The tenant's delivery targets as governance officers and platform admins configure them.
//! Secrets go in and never come out: the API shows a target's kind, endpoint (scheme and host)
//! and whether a secret is set; the audit event records the secret (and a Slack URL, which is
//! one) under keys the audit log redacts to keyed hashes.

use serde_json::json;
use steward_domain::*;
use steward_store::PutTarget;

use crate::audit::Record;
use crate::{Service, ServiceError, ServiceResult, Writes, authorize};

impl Service {
    /// The tenant's delivery targets, by name, without their secrets.
    pub async fn delivery_targets(
        &self,
        principal: &Principal,
    ) -> ServiceResult<Vec<DeliveryTarget>> {
        authorize(principal, Operation::ReadMonitoring)?;
        let scope = principal.scope().ok_or(ServiceError::NotFound("tenant"))?;
        Ok(self.store.delivery_targets(&scope).await?)
    }

    /// Creates a target or replaces the one of that name (enabling it again). With `rotate`, a
    /// webhook's current secret keeps signing beside the new one until the next change.
    pub async fn put_delivery_target(
        &self,
        principal: &Principal,
        new: NewTarget,
        rotate: bool,
    ) -> ServiceResult<DeliveryTarget> {
        let actor = principal.subject().to_string();
        let at = self.now();
        let name = new.name.clone();
        self.mutate(
            principal,
            Operation::ManageDeliveryTargets,
            ("delivery_target", name),
            async move |m: Writes| {
                new.validate()?;
                if rotate && new.kind != TargetKind::Webhook {
                    return Err(ServiceError::Invalid(
                        "rotate: only a webhook's signing secret is rotated".into(),
                    ));
                }
                let put = PutTarget {
                    new: &new,
                    rotate,
                    actor: &actor,
                    at,
                };
                let (target, created) =
                    self.store.put_delivery_target(&m.tx, &m.scope, put).await?;
                let payload = json!({
                    "name": target.name,
                    "kind": target.kind.as_str(),
                    "endpoint": target.endpoint,
                    "created": created,
                    "rotating": target.rotating,
                    "url_secret": new.url,
                    "secret": new.secret,
                });
                Ok((
                    target.clone(),
                    Record::new("delivery_target", target.id, payload),
                ))
            },
        )
        .await
    }

    /// Disables a target; actions naming it wait, undelivered, until it is put again.
    pub async fn disable_delivery_target(
        &self,
        principal: &Principal,
        name: String,
    ) -> ServiceResult<DeliveryTarget> {
        let at = self.now();
        self.mutate(
            principal,
            Operation::ManageDeliveryTargets,
            ("delivery_target", name.clone()),
            async move |m: Writes| {
                let target = self
                    .store
                    .disable_delivery_target(&m.tx, &m.scope, &name, at)
                    .await?;
                let payload = json!({"name": target.name, "disabledAt": target.disabled_at});
                Ok((
                    target.clone(),
                    Record::new("delivery_target", target.id, payload),
                ))
            },
        )
        .await
    }
}
