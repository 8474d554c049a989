//! The registry's lifecycle through GraphQL: `renameModel`, `deleteModel`,
//! `deleteModelVersion`, `updateModelVersion` (its description) and
//! `transitionModelVersionStage` (MLflow's stages). The MLflow-compatible API makes the same
//! changes through the same service calls.

use async_graphql::{Context, ID, InputObject, Object};
use steward_domain as d;

use super::types::{Model, ModelVersion};
use super::{ctx, model_id, version_id};
use crate::error::gql;

type R<T> = async_graphql::Result<T>;

#[derive(InputObject)]
pub struct RenameModelInput {
    pub model_id: ID,
    pub name: String,
}

#[derive(InputObject)]
pub struct UpdateModelVersionInput {
    pub version_id: ID,
    pub description: String,
}

#[derive(InputObject)]
pub struct TransitionStageInput {
    pub version_id: ID,
    /// `None`, `Staging`, `Production` or `Archived`, in any case.
    pub stage: String,
    /// Move the model's other versions in that stage to `Archived`.
    #[graphql(default)]
    pub archive_existing_versions: bool,
}

#[derive(Default)]
pub struct LifecycleMutation;

#[Object]
impl LifecycleMutation {
    /// Renames a model (model_owner, governance_officer); lineage follows the name.
    async fn rename_model(&self, c: &Context<'_>, input: RenameModelInput) -> R<Model> {
        let (svc, p) = ctx(c)?;
        let m = svc
            .rename_model(p, model_id(&input.model_id)?, input.name)
            .await
            .map_err(gql)?;
        Ok(m.into())
    }

    /// Deletes a model and its versions (model_owner): refused while an endpoint serves it.
    /// The record stays (`deletedAt`); its name is free again.
    async fn delete_model(&self, c: &Context<'_>, model_id: ID) -> R<Model> {
        let (svc, p) = ctx(c)?;
        let m = svc
            .delete_model(p, super::model_id(&model_id)?)
            .await
            .map_err(gql)?;
        Ok(m.into())
    }

    /// Deletes a version (model_owner): refused while an endpoint serves it or a promotion of
    /// it is open. Its number is never handed out again.
    async fn delete_model_version(&self, c: &Context<'_>, version_id: ID) -> R<ModelVersion> {
        let (svc, p) = ctx(c)?;
        let v = svc
            .delete_model_version(p, super::version_id(&version_id)?)
            .await
            .map_err(gql)?;
        Ok(v.into())
    }

    /// Sets a version's description (model_owner, governance_officer).
    async fn update_model_version(
        &self,
        c: &Context<'_>,
        input: UpdateModelVersionInput,
    ) -> R<ModelVersion> {
        let (svc, p) = ctx(c)?;
        let v = svc
            .describe_model_version(p, version_id(&input.version_id)?, input.description)
            .await
            .map_err(gql)?;
        Ok(v.into())
    }

    /// Moves a version to an MLflow stage (model_owner, service); into or out of `Production`
    /// on a model an endpoint serves is refused (promotion requests move what serves).
    async fn transition_model_version_stage(
        &self,
        c: &Context<'_>,
        input: TransitionStageInput,
    ) -> R<ModelVersion> {
        let (svc, p) = ctx(c)?;
        let stage = d::Stage::parse_any_case("input.stage", &input.stage)
            .map_err(|e| crate::error::invalid(e.to_string()))?;
        let v = svc
            .transition_stage(
                p,
                version_id(&input.version_id)?,
                stage,
                input.archive_existing_versions,
            )
            .await
            .map_err(gql)?;
        Ok(v.into())
    }
}
