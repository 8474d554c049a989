//! GraphQL output types: thin wrappers over domain records, converted explicitly.

use async_graphql::{ComplexObject, Context, ID, Json, SimpleObject};
use chrono::{DateTime, Utc};
use steward_domain as d;

use super::{ctx, page};
use crate::error::gql;

mirror_enum!(RiskTier, d::RiskTier, { High, Medium, Low });
mirror_enum!(FeatureType, d::FeatureType, { Float, Integer, Boolean, String, Categorical, Timestamp });
mirror_enum!(RunStatus, d::RunStatus, { Running, Succeeded, Failed, Cancelled });
mirror_enum!(NodeKind, d::NodeKind, { Dataset, DatasetVersion, TrainingRun, Model, ModelVersion, Incident, DecisionRecord, Job });
mirror_enum!(EdgeRelation, d::EdgeRelation, { HasVersion, InputTo, BaseOf, Produced, Decided, Triggered, Ran });
mirror_enum!(LineageDirection, d::LineageDirection, { Upstream, Downstream, Both });
mirror_enum!(Role, d::Role, { Viewer, ModelOwner, PolicyAuthor, Sre, GovernanceOfficer, Service, PlatformAdmin });

#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

/// A page of results.
#[derive(SimpleObject)]
#[graphql(concrete(name = "ModelConnection", params(Model)))]
#[graphql(concrete(name = "ModelVersionConnection", params(ModelVersion)))]
#[graphql(concrete(name = "DatasetConnection", params(Dataset)))]
#[graphql(concrete(name = "DatasetVersionConnection", params(DatasetVersion)))]
#[graphql(concrete(name = "PolicyConnection", params(super::policy::Policy)))]
#[graphql(concrete(
    name = "PolicyRevisionConnection",
    params(super::policy::PolicyRevision)
))]
#[graphql(concrete(
    name = "DecisionRecordConnection",
    params(super::policy::DecisionRecord)
))]
pub struct Connection<T: async_graphql::OutputType> {
    pub nodes: Vec<T>,
    pub page_info: PageInfo,
}

impl<T: async_graphql::OutputType> Connection<T> {
    pub fn from_page<D>(page: d::Page<D>, f: impl Fn(D) -> T) -> Self {
        Connection {
            nodes: page.items.into_iter().map(f).collect(),
            page_info: PageInfo {
                has_next_page: page.has_next_page,
                end_cursor: page.end_cursor,
            },
        }
    }
}

#[derive(SimpleObject)]
pub struct Me {
    pub subject: String,
    pub tenant: String,
    pub roles: Vec<Role>,
}

#[derive(SimpleObject)]
pub struct Tenant {
    pub id: ID,
    pub slug: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<d::Tenant> for Tenant {
    fn from(t: d::Tenant) -> Self {
        Tenant {
            id: ID(t.id.to_string()),
            slug: t.slug,
            name: t.name,
            created_at: t.created_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct Feature {
    pub name: String,
    #[graphql(name = "type")]
    pub kind: FeatureType,
}

fn features(f: Vec<d::Feature>) -> Vec<Feature> {
    f.into_iter()
        .map(|f| Feature {
            name: f.name,
            kind: f.kind.into(),
        })
        .collect()
}

/// Features returned when `first` is omitted.
pub const DEFAULT_FEATURES: i32 = 100;
/// Most features one page may ask for.
pub const MAX_FEATURES_PAGE: i32 = 1000;

/// A page of a feature list (`offset` then `first`). A schema holds up to 10,000 features, so
/// it is paged like every other list, and counted in the query's complexity by the page it asks
/// for (each 10 features one item): an unbounded list would let one cheap-looking query return
/// megabytes.
fn feature_page(
    all: &[Feature],
    first: Option<i32>,
    offset: Option<i32>,
) -> async_graphql::Result<Vec<&Feature>> {
    let first = first.unwrap_or(DEFAULT_FEATURES);
    if !(0..=MAX_FEATURES_PAGE).contains(&first) {
        return Err(crate::error::invalid(format!(
            "first: must be between 0 and {MAX_FEATURES_PAGE}"
        )));
    }
    let offset = usize::try_from(offset.unwrap_or(0))
        .map_err(|_| crate::error::invalid("offset: must not be negative"))?;
    Ok(all.iter().skip(offset).take(first as usize).collect())
}

#[derive(SimpleObject)]
pub struct Metric {
    pub name: String,
    pub value: f64,
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Model {
    pub id: ID,
    pub name: String,
    pub description: String,
    pub owner_team: String,
    pub risk_tier: RiskTier,
    pub tags: Vec<String>,
    /// The highest version number registered so far (0 before the first).
    pub latest_version: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set once deleted: lists and names skip it (and its name is free), its record stays.
    pub deleted_by: Option<String>,
    pub deleted_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub domain_id: d::ModelId,
}

#[ComplexObject]
impl Model {
    /// Versions, newest first.
    #[graphql(
        complexity = "first.unwrap_or(super::DEFAULT_PAGE).max(0) as usize * child_complexity"
    )]
    async fn versions(
        &self,
        c: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<ModelVersion>> {
        let (svc, p) = ctx(c)?;
        let page = svc
            .model_versions(p, self.domain_id, page(first, after)?)
            .await
            .map_err(gql)?;
        Ok(Connection::from_page(page, ModelVersion::from))
    }
}

impl From<d::Model> for Model {
    fn from(m: d::Model) -> Self {
        Model {
            id: ID(m.id.to_string()),
            domain_id: m.id,
            name: m.name,
            description: m.description,
            owner_team: m.owner_team,
            risk_tier: m.risk_tier.into(),
            tags: m.tags,
            latest_version: m.latest_version,
            created_by: m.created_by,
            created_at: m.created_at,
            updated_at: m.updated_at,
            deleted_by: m.deleted.as_ref().map(|d| d.by.clone()),
            deleted_at: m.deleted.map(|d| d.at),
        }
    }
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ModelVersion {
    pub id: ID,
    pub model_id: ID,
    pub version: i64,
    pub artifact_uri: String,
    /// `sha256:<hex>`.
    pub artifact_digest: String,
    pub framework: String,
    #[graphql(skip)]
    pub input_schema: Vec<Feature>,
    /// Holdout metrics, by name.
    pub metrics: Vec<Metric>,
    pub tags: Vec<String>,
    pub description: String,
    /// MLflow's stage: `None`, `Staging`, `Production` or `Archived` (a label; what serves
    /// moves through promotion requests).
    pub stage: String,
    /// The producing run's id in its own system (an MLflow run), and a link to it.
    pub run_id: Option<String>,
    pub run_link: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The last change of its description or stage.
    pub updated_at: DateTime<Utc>,
    /// Set once deleted: lists and names skip it, its record stays.
    pub deleted_by: Option<String>,
    pub deleted_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub model: d::ModelId,
    #[graphql(skip)]
    pub run: Option<d::TrainingRunId>,
}

#[ComplexObject]
impl ModelVersion {
    /// The input features, `first` (default 100, at most 1000) from `offset`.
    #[graphql(
        complexity = "(first.unwrap_or(DEFAULT_FEATURES).max(0) as usize).div_ceil(10) * child_complexity"
    )]
    async fn input_schema(
        &self,
        first: Option<i32>,
        offset: Option<i32>,
    ) -> async_graphql::Result<Vec<&Feature>> {
        feature_page(&self.input_schema, first, offset)
    }

    /// How many input features the version has.
    async fn input_schema_size(&self) -> usize {
        self.input_schema.len()
    }

    async fn model(&self, c: &Context<'_>) -> async_graphql::Result<Model> {
        let (svc, p) = ctx(c)?;
        svc.model(p, self.model).await.map(Model::from).map_err(gql)
    }

    /// The run that produced this version, if one was recorded.
    async fn training_run(&self, c: &Context<'_>) -> async_graphql::Result<Option<TrainingRun>> {
        let Some(id) = self.run else { return Ok(None) };
        let (svc, p) = ctx(c)?;
        svc.training_run(p, id)
            .await
            .map(|r| Some(r.into()))
            .map_err(gql)
    }
}

impl From<d::ModelVersion> for ModelVersion {
    fn from(v: d::ModelVersion) -> Self {
        ModelVersion {
            id: ID(v.id.to_string()),
            model_id: ID(v.model_id.to_string()),
            model: v.model_id,
            run: v.training_run_id,
            version: v.version,
            artifact_uri: v.artifact_uri,
            artifact_digest: v.artifact_digest.to_string(),
            framework: v.framework,
            input_schema: features(v.input_schema),
            metrics: v
                .metrics
                .into_iter()
                .map(|(name, value)| Metric { name, value })
                .collect(),
            tags: v.tags,
            description: v.notes.description,
            stage: v.stage.as_str().to_string(),
            run_id: v.notes.run_id,
            run_link: v.notes.run_link,
            created_by: v.created_by,
            created_at: v.created_at,
            updated_at: v.updated_at,
            deleted_by: v.deleted.as_ref().map(|d| d.by.clone()),
            deleted_at: v.deleted.map(|d| d.at),
        }
    }
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Dataset {
    pub id: ID,
    pub name: String,
    pub description: String,
    pub latest_version: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub domain_id: d::DatasetId,
}

#[ComplexObject]
impl Dataset {
    /// Versions, newest first.
    #[graphql(
        complexity = "first.unwrap_or(super::DEFAULT_PAGE).max(0) as usize * child_complexity"
    )]
    async fn versions(
        &self,
        c: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<DatasetVersion>> {
        let (svc, p) = ctx(c)?;
        let page = svc
            .dataset_versions(p, self.domain_id, page(first, after)?)
            .await
            .map_err(gql)?;
        Ok(Connection::from_page(page, DatasetVersion::from))
    }
}

impl From<d::Dataset> for Dataset {
    fn from(x: d::Dataset) -> Self {
        Dataset {
            id: ID(x.id.to_string()),
            domain_id: x.id,
            name: x.name,
            description: x.description,
            latest_version: x.latest_version,
            created_by: x.created_by,
            created_at: x.created_at,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct DatasetVersion {
    pub id: ID,
    pub dataset_id: ID,
    pub version: i64,
    pub uri: String,
    /// `sha256:<hex>`.
    pub content_hash: String,
    pub row_count: i64,
    #[graphql(skip)]
    pub schema: Vec<Feature>,
    pub slice: Option<String>,
    pub time_start: Option<DateTime<Utc>>,
    pub time_end: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    pub dataset: d::DatasetId,
}

#[ComplexObject]
impl DatasetVersion {
    /// The columns, `first` (default 100, at most 1000) from `offset`.
    #[graphql(
        complexity = "(first.unwrap_or(DEFAULT_FEATURES).max(0) as usize).div_ceil(10) * child_complexity"
    )]
    async fn schema(
        &self,
        first: Option<i32>,
        offset: Option<i32>,
    ) -> async_graphql::Result<Vec<&Feature>> {
        feature_page(&self.schema, first, offset)
    }

    /// How many columns the schema has.
    async fn schema_size(&self) -> usize {
        self.schema.len()
    }

    async fn dataset(&self, c: &Context<'_>) -> async_graphql::Result<Dataset> {
        let (svc, p) = ctx(c)?;
        svc.dataset(p, self.dataset)
            .await
            .map(Dataset::from)
            .map_err(gql)
    }
}

impl From<d::DatasetVersion> for DatasetVersion {
    fn from(v: d::DatasetVersion) -> Self {
        DatasetVersion {
            id: ID(v.id.to_string()),
            dataset_id: ID(v.dataset_id.to_string()),
            dataset: v.dataset_id,
            version: v.version,
            uri: v.uri,
            content_hash: v.content_hash.to_string(),
            row_count: v.row_count,
            schema: features(v.schema),
            slice: v.slice,
            time_start: v.time_start,
            time_end: v.time_end,
            created_by: v.created_by,
            created_at: v.created_at,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct TrainingRun {
    pub id: ID,
    pub code_commit: String,
    pub parameters: Json<serde_json::Map<String, serde_json::Value>>,
    pub orchestrator: Option<String>,
    pub orchestrator_run_id: Option<String>,
    pub status: RunStatus,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The retraining (the `retrain` action in the outbox) this run carried out.
    pub retraining_action_id: Option<ID>,
    #[graphql(skip)]
    pub inputs: Vec<d::DatasetVersionId>,
    #[graphql(skip)]
    pub parent: Option<d::ModelVersionId>,
}

#[ComplexObject]
impl TrainingRun {
    /// The dataset versions the run trained on, in the order recorded.
    #[graphql(complexity = "10 * child_complexity")]
    async fn input_dataset_versions(
        &self,
        c: &Context<'_>,
    ) -> async_graphql::Result<Vec<DatasetVersion>> {
        let (svc, p) = ctx(c)?;
        let mut out = Vec::with_capacity(self.inputs.len());
        for id in &self.inputs {
            out.push(svc.dataset_version(p, *id).await.map_err(gql)?.into());
        }
        Ok(out)
    }

    /// The version this run fine-tuned, if any.
    async fn parent_model_version(
        &self,
        c: &Context<'_>,
    ) -> async_graphql::Result<Option<ModelVersion>> {
        let Some(id) = self.parent else {
            return Ok(None);
        };
        let (svc, p) = ctx(c)?;
        svc.model_version(p, id)
            .await
            .map(|v| Some(v.into()))
            .map_err(gql)
    }
}

impl From<d::TrainingRun> for TrainingRun {
    fn from(r: d::TrainingRun) -> Self {
        TrainingRun {
            id: ID(r.id.to_string()),
            code_commit: r.code_commit,
            parameters: Json(r.parameters),
            orchestrator: r.orchestrator,
            orchestrator_run_id: r.orchestrator_run_id,
            status: r.status.into(),
            started_at: r.started_at,
            ended_at: r.ended_at,
            created_by: r.created_by,
            created_at: r.created_at,
            retraining_action_id: r.retraining_action.map(|a| ID(a.to_string())),
            inputs: r.input_dataset_versions,
            parent: r.parent_model_version,
        }
    }
}

#[derive(SimpleObject)]
pub struct LineageNode {
    pub id: ID,
    pub kind: NodeKind,
    pub label: String,
    /// Steps from the start node.
    pub depth: i32,
}

#[derive(SimpleObject)]
pub struct LineageEdge {
    pub from: ID,
    pub to: ID,
    pub relation: EdgeRelation,
}

#[derive(SimpleObject)]
pub struct LineageGraph {
    pub nodes: Vec<LineageNode>,
    pub edges: Vec<LineageEdge>,
    /// True when the walk reached more than 5,000 steps and only the nearest were kept.
    pub truncated: bool,
}

impl From<d::LineageGraph> for LineageGraph {
    fn from(g: d::LineageGraph) -> Self {
        LineageGraph {
            nodes: g
                .nodes
                .into_iter()
                .map(|n| LineageNode {
                    id: ID(n.id.to_string()),
                    kind: n.kind.into(),
                    label: n.label,
                    depth: i32::try_from(n.depth).unwrap_or(i32::MAX),
                })
                .collect(),
            edges: g
                .edges
                .into_iter()
                .map(|e| LineageEdge {
                    from: ID(e.from.to_string()),
                    to: ID(e.to.to_string()),
                    relation: e.relation.into(),
                })
                .collect(),
            truncated: g.truncated,
        }
    }
}
