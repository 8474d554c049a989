//! Mutation root: every change to the registry. Each takes one `input` and returns what it
//! created or changed.

use async_graphql::{Context, Object};
use steward_domain as d;

use super::ctx;
use super::inputs::*;
use super::types::*;
use crate::error::gql;

#[derive(Default)]
pub struct RegistryMutation;

#[Object]
impl RegistryMutation {
    /// Creates a tenant (platform_admin only).
    async fn create_tenant(
        &self,
        c: &Context<'_>,
        input: CreateTenantInput,
    ) -> async_graphql::Result<Tenant> {
        let (svc, p) = ctx(c)?;
        let input = d::NewTenant {
            slug: input.slug,
            name: input.name,
        };
        svc.create_tenant(p, input)
            .await
            .map(Tenant::from)
            .map_err(gql)
    }

    async fn register_model(
        &self,
        c: &Context<'_>,
        input: RegisterModelInput,
    ) -> async_graphql::Result<Model> {
        let (svc, p) = ctx(c)?;
        svc.register_model(p, input.into())
            .await
            .map(Model::from)
            .map_err(gql)
    }

    /// Changes a model's description, owner team, risk tier or tags.
    async fn update_model(
        &self,
        c: &Context<'_>,
        input: UpdateModelInput,
    ) -> async_graphql::Result<Model> {
        let (svc, p) = ctx(c)?;
        let (id, change) = input.into_domain()?;
        svc.update_model(p, id, change)
            .await
            .map(Model::from)
            .map_err(gql)
    }

    /// Registers the next version of a model, optionally with the training run that produced it.
    async fn register_model_version(
        &self,
        c: &Context<'_>,
        input: RegisterModelVersionInput,
    ) -> async_graphql::Result<ModelVersion> {
        let (svc, p) = ctx(c)?;
        svc.register_model_version(p, input.into_domain()?)
            .await
            .map(ModelVersion::from)
            .map_err(gql)
    }

    async fn register_dataset(
        &self,
        c: &Context<'_>,
        input: RegisterDatasetInput,
    ) -> async_graphql::Result<Dataset> {
        let (svc, p) = ctx(c)?;
        let input = d::NewDataset {
            name: input.name,
            description: input.description,
        };
        svc.register_dataset(p, input)
            .await
            .map(Dataset::from)
            .map_err(gql)
    }

    async fn register_dataset_version(
        &self,
        c: &Context<'_>,
        input: RegisterDatasetVersionInput,
    ) -> async_graphql::Result<DatasetVersion> {
        let (svc, p) = ctx(c)?;
        svc.register_dataset_version(p, input.into_domain()?)
            .await
            .map(DatasetVersion::from)
            .map_err(gql)
    }

    async fn record_training_run(
        &self,
        c: &Context<'_>,
        input: TrainingRunInput,
    ) -> async_graphql::Result<TrainingRun> {
        let (svc, p) = ctx(c)?;
        svc.record_training_run(p, input.into_domain("input")?)
            .await
            .map(TrainingRun::from)
            .map_err(gql)
    }
}
