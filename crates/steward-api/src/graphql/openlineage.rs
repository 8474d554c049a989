//! OpenLineage jobs through GraphQL: `lineageJobs` (every job events named, and its model),
//! `bindLineageJob` and `unbindLineageJob` (which job trains which model: its ended runs become
//! the model's training runs). Events themselves arrive at `POST /api/v1/lineage`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use steward_domain as d;

use super::{ctx, parse_id};
use crate::error::gql;

type R<T> = async_graphql::Result<T>;

#[derive(SimpleObject)]
pub struct LineageJob {
    /// Its node in `lineage` (kind JOB).
    pub id: ID,
    pub namespace: String,
    pub name: String,
    /// The model its runs train, when bound.
    pub model_id: Option<ID>,
    pub bound_by: Option<String>,
    pub bound_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<d::LineageJob> for LineageJob {
    fn from(j: d::LineageJob) -> Self {
        LineageJob {
            id: ID(j.id.to_string()),
            namespace: j.namespace,
            name: j.name,
            model_id: j.model_id.map(|m| ID(m.to_string())),
            bound_by: j.bound_by,
            bound_at: j.bound_at,
            created_at: j.created_at,
        }
    }
}

#[derive(InputObject)]
pub struct BindLineageJobInput {
    pub namespace: String,
    pub name: String,
    pub model_id: ID,
}

#[derive(InputObject)]
pub struct UnbindLineageJobInput {
    pub namespace: String,
    pub name: String,
}

#[derive(Default)]
pub struct LineageJobsQuery;

#[Object]
impl LineageJobsQuery {
    /// The tenant's OpenLineage jobs, by namespace and name.
    async fn lineage_jobs(&self, c: &Context<'_>) -> R<Vec<LineageJob>> {
        let (svc, p) = ctx(c)?;
        let jobs = svc.lineage_jobs(p).await.map_err(gql)?;
        Ok(jobs.into_iter().map(LineageJob::from).collect())
    }
}

#[derive(Default)]
pub struct LineageJobsMutation;

#[Object]
impl LineageJobsMutation {
    /// Binds a job to a model (model_owner, governance_officer); the job need not have sent an
    /// event yet.
    async fn bind_lineage_job(&self, c: &Context<'_>, input: BindLineageJobInput) -> R<LineageJob> {
        let (svc, p) = ctx(c)?;
        let model = d::ModelId::from_uuid(parse_id("input.modelId", &input.model_id)?);
        let j = svc
            .bind_lineage_job(p, (input.namespace, input.name), Some(model))
            .await
            .map_err(gql)?;
        Ok(j.into())
    }

    /// Unbinds a job: its later runs stay external jobs in lineage.
    async fn unbind_lineage_job(
        &self,
        c: &Context<'_>,
        input: UnbindLineageJobInput,
    ) -> R<LineageJob> {
        let (svc, p) = ctx(c)?;
        let j = svc
            .bind_lineage_job(p, (input.namespace, input.name), None)
            .await
            .map_err(gql)?;
        Ok(j.into())
    }
}
