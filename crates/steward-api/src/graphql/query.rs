//! Query root: reads of the caller's tenant.

use async_graphql::{Context, ID, Object};
use steward_domain as d;

use super::types::*;
use super::{ctx, page, parse_id};
use crate::error::gql;

/// Reads of the registry and lineage.
#[derive(Default)]
pub struct RegistryQuery;

#[Object]
impl RegistryQuery {
    /// Who the token says you are.
    async fn me(&self, c: &Context<'_>) -> async_graphql::Result<Me> {
        let (_, p) = ctx(c)?;
        Ok(Me {
            subject: p.subject().to_string(),
            tenant: p.tenant_slug().to_string(),
            roles: p.roles().iter().map(|r| (*r).into()).collect(),
        })
    }

    /// Models of your tenant in name order, optionally filtered.
    #[graphql(
        complexity = "first.unwrap_or(super::DEFAULT_PAGE).max(0) as usize * child_complexity"
    )]
    async fn models(
        &self,
        c: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        name_prefix: Option<String>,
        tag: Option<String>,
        risk_tier: Option<RiskTier>,
    ) -> async_graphql::Result<Connection<Model>> {
        let (svc, p) = ctx(c)?;
        let filter = d::ModelFilter {
            name_prefix,
            tag,
            risk_tier: risk_tier.map(Into::into),
        };
        let page = svc
            .models(p, filter, page(first, after)?)
            .await
            .map_err(gql)?;
        Ok(Connection::from_page(page, Model::from))
    }

    async fn model(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<Model> {
        let (svc, p) = ctx(c)?;
        let id = d::ModelId::from_uuid(parse_id("id", &id)?);
        svc.model(p, id).await.map(Model::from).map_err(gql)
    }

    async fn model_by_name(&self, c: &Context<'_>, name: String) -> async_graphql::Result<Model> {
        let (svc, p) = ctx(c)?;
        svc.model_by_name(p, &name)
            .await
            .map(Model::from)
            .map_err(gql)
    }

    async fn model_version(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<ModelVersion> {
        let (svc, p) = ctx(c)?;
        let id = d::ModelVersionId::from_uuid(parse_id("id", &id)?);
        svc.model_version(p, id)
            .await
            .map(ModelVersion::from)
            .map_err(gql)
    }

    /// Datasets of your tenant in name order.
    #[graphql(
        complexity = "first.unwrap_or(super::DEFAULT_PAGE).max(0) as usize * child_complexity"
    )]
    async fn datasets(
        &self,
        c: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<Dataset>> {
        let (svc, p) = ctx(c)?;
        let page = svc.datasets(p, page(first, after)?).await.map_err(gql)?;
        Ok(Connection::from_page(page, Dataset::from))
    }

    async fn dataset(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<Dataset> {
        let (svc, p) = ctx(c)?;
        let id = d::DatasetId::from_uuid(parse_id("id", &id)?);
        svc.dataset(p, id).await.map(Dataset::from).map_err(gql)
    }

    async fn dataset_version(
        &self,
        c: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<DatasetVersion> {
        let (svc, p) = ctx(c)?;
        let id = d::DatasetVersionId::from_uuid(parse_id("id", &id)?);
        svc.dataset_version(p, id)
            .await
            .map(DatasetVersion::from)
            .map_err(gql)
    }

    async fn training_run(&self, c: &Context<'_>, id: ID) -> async_graphql::Result<TrainingRun> {
        let (svc, p) = ctx(c)?;
        let id = d::TrainingRunId::from_uuid(parse_id("id", &id)?);
        svc.training_run(p, id)
            .await
            .map(TrainingRun::from)
            .map_err(gql)
    }

    /// What a node was built from (upstream), what came of it (downstream), or both, up to
    /// `depth` steps (1-25, default 5). Any model, version, dataset, dataset version or training
    /// run id can start the walk.
    async fn lineage(
        &self,
        c: &Context<'_>,
        node_id: ID,
        #[graphql(default_with = "LineageDirection::Both")] direction: LineageDirection,
        #[graphql(default = 5)] depth: i32,
    ) -> async_graphql::Result<LineageGraph> {
        let (svc, p) = ctx(c)?;
        let node = parse_id("nodeId", &node_id)?;
        let depth = u32::try_from(depth).unwrap_or(0);
        svc.lineage(p, node, direction.into(), depth)
            .await
            .map(LineageGraph::from)
            .map_err(gql)
    }
}
