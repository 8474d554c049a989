//! Key-value tags of models and versions, and aliases with their history (model owners and
//! their CI). An alias an endpoint serves as its champion moves only with the endpoint's
//! champion (docs/deployments.md): setting or deleting it here is refused.

use serde_json::json;
use steward_domain::*;
use steward_store::NewTag;

use crate::audit::Record;
use crate::{Service, ServiceError, ServiceResult, Writes, authorize_on, scope_for};

impl Service {
    /// The model, and the version when one is named (0: none), in the caller's tenant.
    async fn tag_target(&self, m: &Writes, model: ModelId, version: i64) -> ServiceResult<()> {
        if self.store.model(&m.scope, model).await?.is_none() {
            return Err(ServiceError::NotFound("model"));
        }
        if version != 0
            && self
                .store
                .model_version_by_number(&m.scope, model, version)
                .await?
                .is_none()
        {
            return Err(ServiceError::NotFound("model version"));
        }
        Ok(())
    }

    /// Sets a tag of the model (`version` 0) or of one version; replaces its value.
    pub async fn set_registry_tag(
        &self,
        principal: &Principal,
        (model, version): (ModelId, i64),
        key: String,
        value: String,
    ) -> ServiceResult<RegistryTag> {
        let actor = principal.subject().to_string();
        let now = self.now();
        self.mutate(
            principal,
            Operation::TagModel,
            ("model", model.to_string()),
            async move |m: Writes| {
                validate_tag(&key, &value)?;
                self.tag_target(&m, model, version).await?;
                let t = NewTag {
                    model,
                    version,
                    key: &key,
                    value: &value,
                    actor: &actor,
                    at: now,
                };
                self.store.set_tag(&m.tx, &m.scope, t).await?;
                let payload = json!({"version": version, "key": key, "value": value});
                let tag = RegistryTag {
                    model_id: model,
                    version,
                    key,
                    value,
                    updated_by: actor,
                    updated_at: now,
                };
                Ok((tag, Record::new("model", model, payload)))
            },
        )
        .await
    }

    /// Deletes a tag; NOT_FOUND when it is not set.
    pub async fn delete_registry_tag(
        &self,
        principal: &Principal,
        (model, version): (ModelId, i64),
        key: String,
    ) -> ServiceResult<()> {
        self.mutate(
            principal,
            Operation::TagModel,
            ("model", model.to_string()),
            async move |m: Writes| {
                self.tag_target(&m, model, version).await?;
                self.store
                    .delete_tag(&m.tx, &m.scope, (model, version), &key)
                    .await?;
                let payload = json!({"version": version, "key": key, "deleted": true});
                Ok(((), Record::new("model", model, payload)))
            },
        )
        .await
    }

    /// The tags of a model and its versions.
    pub async fn registry_tags(
        &self,
        principal: &Principal,
        model: ModelId,
    ) -> ServiceResult<Vec<RegistryTag>> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        Ok(self.store.tags(&scope, model).await?)
    }

    /// Refuses to move `alias` by hand when an endpoint of the model serves it as its champion.
    async fn alias_free(
        &self,
        m: &Writes,
        principal: &Principal,
        model: ModelId,
        alias: &str,
    ) -> ServiceResult<()> {
        let served = self
            .store
            .endpoints_of_model_in(&m.tx, &m.scope, model)
            .await?
            .iter()
            .any(|(e, _)| e.champion_alias.as_deref() == Some(alias));
        authorize_on(
            principal,
            Operation::SetAlias,
            &Resource::Alias {
                serves_endpoint: served,
            },
        )
    }

    /// Points `alias` at version `version` of the model (moving it when set elsewhere).
    pub async fn set_model_alias(
        &self,
        principal: &Principal,
        model: ModelId,
        alias: String,
        version: i64,
    ) -> ServiceResult<ModelAlias> {
        let actor = principal.subject().to_string();
        let now = self.now();
        self.mutate(
            principal,
            Operation::SetAlias,
            ("model", model.to_string()),
            async move |m: Writes| {
                validate_alias(&alias)?;
                if version < 1 {
                    return Err(ServiceError::Invalid(format!(
                        "version: {version} is not a version number"
                    )));
                }
                self.tag_target(&m, model, version).await?;
                self.alias_free(&m, principal, model, &alias).await?;
                let before = self
                    .store
                    .set_alias(&m.tx, &m.scope, (model, &alias), version, (&actor, now))
                    .await?;
                let payload =
                    json!({"alias": alias, "version": version, "from": before.map(|b| b.version)});
                let placed = ModelAlias {
                    model_id: model,
                    alias,
                    version,
                    set_by: actor,
                    set_at: now,
                    removed_by: None,
                    removed_at: None,
                };
                Ok((placed, Record::new("model", model, payload)))
            },
        )
        .await
    }

    /// Deletes `alias`; NOT_FOUND when it is not set. Its history stays.
    pub async fn delete_model_alias(
        &self,
        principal: &Principal,
        model: ModelId,
        alias: String,
    ) -> ServiceResult<ModelAlias> {
        let actor = principal.subject().to_string();
        let now = self.now();
        self.mutate(
            principal,
            Operation::SetAlias,
            ("model", model.to_string()),
            async move |m: Writes| {
                self.tag_target(&m, model, 0).await?;
                self.alias_free(&m, principal, model, &alias).await?;
                let removed = self
                    .store
                    .remove_alias(&m.tx, &m.scope, (model, &alias), (&actor, now))
                    .await?
                    .ok_or(ServiceError::NotFound("alias"))?;
                let payload = json!({"alias": alias, "version": removed.version, "deleted": true});
                Ok((removed, Record::new("model", model, payload)))
            },
        )
        .await
    }

    /// The model's aliases in force, or every placement they ever had (`history`).
    pub async fn model_aliases(
        &self,
        principal: &Principal,
        model: ModelId,
        history: bool,
    ) -> ServiceResult<Vec<ModelAlias>> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        if self.store.model(&scope, model).await?.is_none() {
            return Err(ServiceError::NotFound("model"));
        }
        Ok(self.store.aliases(&scope, model, history).await?)
    }
}
