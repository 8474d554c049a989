//! Key-value tags of models and versions, and aliases with their history, through GraphQL
//! (`registryTags`, `modelAliases`; `setRegistryTag`, `deleteRegistryTag`, `setModelAlias`,
//! `deleteModelAlias`). The MLflow-compatible API serves the same data.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use steward_domain as d;

use super::monitoring::id_of;
use super::{ctx, model_id};
use crate::error::gql;

type R<T> = async_graphql::Result<T>;

#[derive(SimpleObject)]
pub struct RegistryTag {
    pub model_id: ID,
    /// 0: a tag of the model itself.
    pub version: i64,
    pub key: String,
    pub value: String,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

impl From<d::RegistryTag> for RegistryTag {
    fn from(t: d::RegistryTag) -> Self {
        RegistryTag {
            model_id: id_of(t.model_id),
            version: t.version,
            key: t.key,
            value: t.value,
            updated_by: t.updated_by,
            updated_at: t.updated_at,
        }
    }
}

/// One placement of an alias: in force while `removedAt` is null.
#[derive(SimpleObject)]
pub struct ModelAlias {
    pub alias: String,
    pub version: i64,
    pub set_by: String,
    pub set_at: DateTime<Utc>,
    pub removed_by: Option<String>,
    pub removed_at: Option<DateTime<Utc>>,
}

impl From<d::ModelAlias> for ModelAlias {
    fn from(a: d::ModelAlias) -> Self {
        ModelAlias {
            alias: a.alias,
            version: a.version,
            set_by: a.set_by,
            set_at: a.set_at,
            removed_by: a.removed_by,
            removed_at: a.removed_at,
        }
    }
}

#[derive(Default)]
pub struct TagsQuery;

#[Object]
impl TagsQuery {
    /// The tags of a model and its versions.
    async fn registry_tags(&self, c: &Context<'_>, model_id: ID) -> R<Vec<RegistryTag>> {
        let (svc, p) = ctx(c)?;
        let m = model_id_checked(svc, p, &model_id).await?;
        let list = svc.registry_tags(p, m).await.map_err(gql)?;
        Ok(list.into_iter().map(Into::into).collect())
    }

    /// The model's aliases in force, or (`history: true`) every placement they ever had.
    async fn model_aliases(
        &self,
        c: &Context<'_>,
        model_id: ID,
        #[graphql(default)] history: bool,
    ) -> R<Vec<ModelAlias>> {
        let (svc, p) = ctx(c)?;
        let list = svc
            .model_aliases(p, super::model_id(&model_id)?, history)
            .await
            .map_err(gql)?;
        Ok(list.into_iter().map(Into::into).collect())
    }
}

/// The model id, checked to exist in the caller's tenant.
async fn model_id_checked(
    svc: &steward_service::Service,
    p: &d::Principal,
    id: &ID,
) -> R<d::ModelId> {
    let m = model_id(id)?;
    svc.model(p, m).await.map_err(gql)?;
    Ok(m)
}

#[derive(InputObject)]
pub struct SetRegistryTagInput {
    pub model_id: ID,
    /// A version number; 0 (the default): the model itself.
    #[graphql(default)]
    pub version: i64,
    pub key: String,
    pub value: String,
}

#[derive(InputObject)]
pub struct DeleteRegistryTagInput {
    pub model_id: ID,
    #[graphql(default)]
    pub version: i64,
    pub key: String,
}

#[derive(InputObject)]
pub struct SetModelAliasInput {
    pub model_id: ID,
    pub alias: String,
    pub version: i64,
}

#[derive(InputObject)]
pub struct DeleteModelAliasInput {
    pub model_id: ID,
    pub alias: String,
}

#[derive(Default)]
pub struct TagsMutation;

#[Object]
impl TagsMutation {
    /// Sets a tag of a model or of one of its versions (model_owner, service).
    async fn set_registry_tag(
        &self,
        c: &Context<'_>,
        input: SetRegistryTagInput,
    ) -> R<RegistryTag> {
        let (svc, p) = ctx(c)?;
        let t = svc
            .set_registry_tag(
                p,
                (model_id(&input.model_id)?, input.version),
                input.key,
                input.value,
            )
            .await
            .map_err(gql)?;
        Ok(t.into())
    }

    /// Deletes a tag (model_owner, service).
    async fn delete_registry_tag(&self, c: &Context<'_>, input: DeleteRegistryTagInput) -> R<bool> {
        let (svc, p) = ctx(c)?;
        svc.delete_registry_tag(p, (model_id(&input.model_id)?, input.version), input.key)
            .await
            .map_err(gql)?;
        Ok(true)
    }

    /// Points an alias at a version (model_owner, service); an alias an endpoint serves as its
    /// champion is refused (it moves with promotions).
    async fn set_model_alias(&self, c: &Context<'_>, input: SetModelAliasInput) -> R<ModelAlias> {
        let (svc, p) = ctx(c)?;
        let a = svc
            .set_model_alias(p, model_id(&input.model_id)?, input.alias, input.version)
            .await
            .map_err(gql)?;
        Ok(a.into())
    }

    /// Deletes an alias; its history stays (model_owner, service).
    async fn delete_model_alias(
        &self,
        c: &Context<'_>,
        input: DeleteModelAliasInput,
    ) -> R<ModelAlias> {
        let (svc, p) = ctx(c)?;
        let a = svc
            .delete_model_alias(p, model_id(&input.model_id)?, input.alias)
            .await
            .map_err(gql)?;
        Ok(a.into())
    }
}
