//! The registry's lifecycle after registration: renaming a model, deleting models and versions,
//! a version's description and its MLflow stage (docs/ecosystem.md). Each is one audited
//! mutation. A delete is a stamp, never a removal (lineage, decisions and the audit log keep
//! naming the record), refused while an endpoint serves what it would delete; deleting again
//! what is deleted changes nothing.

use serde_json::json;
use steward_domain::*;

use crate::audit::Record;
use crate::{Service, ServiceError, ServiceResult, Writes, authorize_on, scope_for};

impl Service {
    /// Renames a model (`model.update`); a live model of the tenant with that name is a
    /// CONFLICT. Lineage labels follow the name.
    pub async fn rename_model(
        &self,
        principal: &Principal,
        id: ModelId,
        name: String,
    ) -> ServiceResult<Model> {
        let now = self.now();
        self.mutate(
            principal,
            Operation::UpdateModel,
            ("model", id.to_string()),
            async |m: Writes| {
                validate::name("input.name", &name)?;
                let old = self
                    .store
                    .rename_model(&m.tx, &m.scope, id, &name, now)
                    .await?;
                Ok((
                    (),
                    Record::new("model", id, json!({"from": old, "to": name})),
                ))
            },
        )
        .await?;
        self.model(principal, id).await
    }

    /// Refuses a delete while an endpoint of `model` serves it (any of its versions, or
    /// `version` when named) or a promotion of it is open.
    async fn unserved(
        &self,
        m: &Writes,
        model: ModelId,
        version: Option<ModelVersionId>,
    ) -> ServiceResult<()> {
        for (e, rev) in self
            .store
            .endpoints_of_model_in(&m.tx, &m.scope, model)
            .await?
        {
            let s = &rev.state;
            let served = [Some(&s.champion), s.canary.as_ref(), s.shadow.as_ref()];
            if version.is_none_or(|v| served.iter().flatten().any(|x| x.version_id == v)) {
                return Err(ServiceError::Precondition(format!(
                    "endpoint `{}` serves {} (revision {}): roll it to another version first",
                    e.name,
                    if version.is_some() {
                        "this version"
                    } else {
                        "this model"
                    },
                    rev.number
                )));
            }
        }
        if let Some(v) = version {
            let open = self
                .store
                .promotion_requests(Some(&m.tx), &m.scope, None, &OPEN_REQUESTS, 1_000)
                .await?;
            if let Some(r) = open.iter().find(|r| r.candidate_version_id == v) {
                return Err(ServiceError::Precondition(format!(
                    "promotion request {} of this version is {}: withdraw it first",
                    r.id, r.status
                )));
            }
        }
        Ok(())
    }

    /// Deletes a model and its versions (`model.delete`): refused while an endpoint serves the
    /// model; its aliases end; its name is free again. Deleting a deleted model changes nothing.
    pub async fn delete_model(&self, principal: &Principal, id: ModelId) -> ServiceResult<Model> {
        let actor = principal.subject().to_string();
        let now = self.now();
        self.mutate(
            principal,
            Operation::DeleteModel,
            ("model", id.to_string()),
            async |m: Writes| {
                let model = self
                    .store
                    .model(&m.scope, id)
                    .await?
                    .ok_or(ServiceError::NotFound("model"))?;
                if model.deleted.is_some() {
                    let p = json!({"name": model.name, "alreadyDeleted": true});
                    return Ok(((), Record::new("model", id, p)));
                }
                self.unserved(&m, id, None).await?;
                let versions = self
                    .store
                    .delete_model(&m.tx, &m.scope, id, (&actor, now))
                    .await?;
                let p = json!({"name": model.name, "deleted": true, "versions": versions});
                Ok(((), Record::new("model", id, p)))
            },
        )
        .await?;
        self.model(principal, id).await
    }

    /// Deletes a version (`model.delete`): refused while an endpoint serves it or a promotion
    /// of it is open; the aliases naming it end; its number is never handed out again.
    /// Deleting a deleted version changes nothing.
    pub async fn delete_model_version(
        &self,
        principal: &Principal,
        id: ModelVersionId,
    ) -> ServiceResult<ModelVersion> {
        let actor = principal.subject().to_string();
        let now = self.now();
        self.mutate(
            principal,
            Operation::DeleteModel,
            ("model_version", id.to_string()),
            async |m: Writes| {
                let v = self.version_by_uuid(&m.scope, id.as_uuid()).await?;
                if v.deleted.is_some() {
                    let p = json!({"version": v.version, "alreadyDeleted": true});
                    return Ok(((), Record::new("model_version", id, p)));
                }
                self.unserved(&m, v.model_id, Some(id)).await?;
                let ended = self
                    .store
                    .delete_model_version(&m.tx, &m.scope, (v.model_id, v.version), (&actor, now))
                    .await?;
                let p = json!({"version": v.version, "deleted": true, "aliasesEnded": ended});
                Ok(((), Record::new("model_version", id, p)))
            },
        )
        .await?;
        self.model_version(principal, id).await
    }

    /// Sets a live version's description (`model.update`, like a model's metadata).
    pub async fn describe_model_version(
        &self,
        principal: &Principal,
        id: ModelVersionId,
        description: String,
    ) -> ServiceResult<ModelVersion> {
        let now = self.now();
        self.mutate(
            principal,
            Operation::UpdateModel,
            ("model_version", id.to_string()),
            async |m: Writes| {
                validate::text("input.description", &description, validate::MAX_TEXT_LEN)?;
                let v = self.version_by_uuid(&m.scope, id.as_uuid()).await?;
                self.store
                    .set_version_description(
                        &m.tx,
                        &m.scope,
                        (v.model_id, v.version),
                        &description,
                        now,
                    )
                    .await?;
                let p = json!({"version": v.version, "before": v.notes.description,
                    "after": description});
                Ok(((), Record::new("model_version", id, p)))
            },
        )
        .await?;
        self.model_version(principal, id).await
    }

    /// Moves a live version to an MLflow stage (`model.alias`); `archive_others` archives the
    /// model's other versions in that stage. Into or out of `Production` on a model an endpoint
    /// serves is refused: what serves moves through promotion requests.
    pub async fn transition_stage(
        &self,
        principal: &Principal,
        id: ModelVersionId,
        stage: Stage,
        archive_others: bool,
    ) -> ServiceResult<ModelVersion> {
        let now = self.now();
        self.mutate(
            principal,
            Operation::SetAlias,
            ("model_version", id.to_string()),
            async |m: Writes| {
                let v = self.version_by_uuid(&m.scope, id.as_uuid()).await?;
                let production = stage == Stage::Production || v.stage == Stage::Production;
                let served = !self
                    .store
                    .endpoints_of_model_in(&m.tx, &m.scope, v.model_id)
                    .await?
                    .is_empty();
                let resource = Resource::Stage {
                    moves_served_production: production && served,
                };
                authorize_on(principal, Operation::SetAlias, &resource)?;
                let archived = self
                    .store
                    .set_version_stage(
                        &m.tx,
                        &m.scope,
                        (v.model_id, v.version),
                        stage,
                        archive_others,
                        now,
                    )
                    .await?;
                let p = json!({"version": v.version, "from": v.stage.as_str(),
                    "to": stage.as_str(), "archived": archived});
                Ok(((), Record::new("model_version", id, p)))
            },
        )
        .await?;
        self.model_version(principal, id).await
    }

    /// The newest live version of the model in each stage that has one.
    pub async fn latest_versions_by_stage(
        &self,
        principal: &Principal,
        model: ModelId,
    ) -> ServiceResult<Vec<ModelVersion>> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        Ok(self.store.latest_versions_by_stage(&scope, model).await?)
    }
}

/// Promotion requests still in flight.
const OPEN_REQUESTS: [RequestStatus; 3] = [
    RequestStatus::AwaitingApproval,
    RequestStatus::Rolling,
    RequestStatus::Paused,
];
