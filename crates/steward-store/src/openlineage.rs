//! What OpenLineage ingestion keeps: jobs (and the model each is bound to), runs by
//! OpenLineage's run id, every event as received, and which Steward dataset version each
//! OpenLineage dataset version became. Writes run in the caller's transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use steward_domain::*;
use uuid::Uuid;

use crate::entities::{lineage_edges, model_versions, ol_datasets, ol_events, ol_jobs, ol_runs};
use crate::lineage::NewNode;
use crate::{Store, StoreResult, WriteTx};

/// A run as the events so far describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OlRun {
    pub run_id: Uuid,
    pub job_id: Uuid,
    pub state: String,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub inputs: Vec<Uuid>,
    pub outputs: Vec<Uuid>,
    pub training_run_id: Option<Uuid>,
}

/// An event as received, to keep.
pub struct OlEventRow<'a> {
    pub run_id: Option<Uuid>,
    pub kind: &'a str,
    pub event_type: Option<&'a str>,
    pub event_time: DateTime<Utc>,
    pub body: &'a str,
    pub received_by: &'a str,
    pub received_at: DateTime<Utc>,
}

fn job(r: ol_jobs::Model) -> LineageJob {
    LineageJob {
        id: r.id,
        namespace: r.namespace,
        name: r.name,
        model_id: r.model_id.map(ModelId::from_uuid),
        bound_by: r.bound_by,
        bound_at: r.bound_at,
        created_at: r.created_at,
    }
}

fn ids(json: &str) -> StoreResult<Vec<Uuid>> {
    serde_json::from_str(json).map_err(|e| crate::codec::corrupt("ol_runs.inputs", e))
}

fn ids_json(ids: &[Uuid]) -> String {
    serde_json::Value::from(ids.iter().map(Uuid::to_string).collect::<Vec<_>>()).to_string()
}

impl Store {
    /// The job `(namespace, name)`, created with its lineage node when first named.
    pub async fn ol_job(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        (namespace, name): (&str, &str),
        at: DateTime<Utc>,
    ) -> StoreResult<LineageJob> {
        use ol_jobs::Column as C;
        let tenant = scope.tenant_id().as_uuid();
        let found = ol_jobs::Entity::find()
            .filter(C::TenantId.eq(tenant))
            .filter(C::Namespace.eq(namespace))
            .filter(C::Name.eq(name))
            .one(&tx.txn)
            .await?;
        if let Some(r) = found {
            return Ok(job(r));
        }
        let row = ol_jobs::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(tenant),
            namespace: Set(namespace.to_string()),
            name: Set(name.to_string()),
            model_id: Set(None),
            bound_by: Set(None),
            bound_at: Set(None),
            created_at: Set(at),
        }
        .insert(&tx.txn)
        .await?;
        tx.add_lineage(
            scope,
            NewNode {
                id: row.id,
                kind: NodeKind::Job,
                label: format!("{namespace}/{name}"),
                from: &[],
            },
        )
        .await?;
        Ok(job(row))
    }

    /// Binds the job to `model` (or unbinds it with `None`); the job is created when new.
    pub async fn bind_ol_job(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        key: (&str, &str),
        model: Option<ModelId>,
        (actor, at): (&str, DateTime<Utc>),
    ) -> StoreResult<LineageJob> {
        let j = self.ol_job(tx, scope, key, at).await?;
        let row = ol_jobs::ActiveModel {
            id: Set(j.id),
            model_id: Set(model.map(|m| m.as_uuid())),
            bound_by: Set(Some(actor.to_string())),
            bound_at: Set(Some(at)),
            ..Default::default()
        }
        .update(&tx.txn)
        .await?;
        Ok(job(row))
    }

    /// The tenant's jobs, by namespace and name.
    pub async fn ol_jobs(&self, scope: &TenantScope) -> StoreResult<Vec<LineageJob>> {
        use ol_jobs::Column as C;
        Ok(ol_jobs::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .order_by_asc(C::Namespace)
            .order_by_asc(C::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(job)
            .collect())
    }

    /// The Steward dataset, and version when `version_hash` names one seen before, of an
    /// OpenLineage dataset.
    pub async fn ol_dataset(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        (namespace, name, version_hash): (&str, &str, &str),
    ) -> StoreResult<(Option<DatasetId>, Option<DatasetVersionId>)> {
        use ol_datasets::Column as C;
        let rows = ol_datasets::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::Namespace.eq(namespace))
            .filter(C::Name.eq(name))
            .all(&tx.txn)
            .await?;
        let dataset = rows.first().map(|r| DatasetId::from_uuid(r.dataset_id));
        let version = rows
            .iter()
            .find(|r| r.version_hash == version_hash)
            .map(|r| DatasetVersionId::from_uuid(r.dataset_version_id));
        Ok((dataset, version))
    }

    /// Remembers which Steward dataset version an OpenLineage dataset version became.
    pub async fn put_ol_dataset(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        (namespace, name, version_hash): (&str, &str, &str),
        (dataset, version): (DatasetId, DatasetVersionId),
    ) -> StoreResult<()> {
        ol_datasets::ActiveModel {
            tenant_id: Set(scope.tenant_id().as_uuid()),
            namespace: Set(namespace.to_string()),
            name: Set(name.to_string()),
            version_hash: Set(version_hash.to_string()),
            dataset_id: Set(dataset.as_uuid()),
            dataset_version_id: Set(version.as_uuid()),
        }
        .insert(&tx.txn)
        .await?;
        Ok(())
    }

    /// The OpenLineage names of Steward datasets that came from events.
    pub async fn ol_dataset_names(
        &self,
        scope: &TenantScope,
        datasets: &[Uuid],
    ) -> StoreResult<HashMap<Uuid, (String, String)>> {
        use ol_datasets::Column as C;
        Ok(ol_datasets::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::DatasetId.is_in(datasets.iter().copied()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| (r.dataset_id, (r.namespace, r.name)))
            .collect())
    }

    /// The Steward dataset an OpenLineage dataset became, outside a transaction.
    pub async fn ol_dataset_id(
        &self,
        scope: &TenantScope,
        (namespace, name): (&str, &str),
    ) -> StoreResult<Option<Uuid>> {
        use ol_datasets::Column as C;
        Ok(ol_datasets::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::Namespace.eq(namespace))
            .filter(C::Name.eq(name))
            .one(&self.db)
            .await?
            .map(|r| r.dataset_id))
    }

    /// A run, read in the caller's transaction.
    pub async fn ol_run(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        run_id: Uuid,
    ) -> StoreResult<Option<OlRun>> {
        use ol_runs::Column as C;
        let Some(r) = ol_runs::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::RunId.eq(run_id))
            .one(&tx.txn)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(OlRun {
            run_id: r.run_id,
            job_id: r.job_id,
            state: r.state,
            started_at: r.started_at,
            ended_at: r.ended_at,
            inputs: ids(&r.inputs)?,
            outputs: ids(&r.outputs)?,
            training_run_id: r.training_run_id,
        }))
    }

    /// Writes a run as it now stands (insert or replace).
    pub async fn put_ol_run(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        run: &OlRun,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        use ol_runs::Column as C;
        ol_runs::Entity::insert(ol_runs::ActiveModel {
            tenant_id: Set(scope.tenant_id().as_uuid()),
            run_id: Set(run.run_id),
            job_id: Set(run.job_id),
            state: Set(run.state.clone()),
            started_at: Set(run.started_at),
            ended_at: Set(run.ended_at),
            inputs: Set(ids_json(&run.inputs)),
            outputs: Set(ids_json(&run.outputs)),
            training_run_id: Set(run.training_run_id),
            updated_at: Set(at),
        })
        .on_conflict(
            OnConflict::columns([C::TenantId, C::RunId])
                .update_columns([
                    C::State,
                    C::StartedAt,
                    C::EndedAt,
                    C::Inputs,
                    C::Outputs,
                    C::TrainingRunId,
                    C::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(&tx.txn)
        .await?;
        Ok(())
    }

    /// Keeps an event as received.
    pub async fn insert_ol_event(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        e: OlEventRow<'_>,
    ) -> StoreResult<Uuid> {
        let id = Uuid::now_v7();
        ol_events::ActiveModel {
            id: Set(id),
            tenant_id: Set(scope.tenant_id().as_uuid()),
            run_id: Set(e.run_id),
            kind: Set(e.kind.to_string()),
            event_type: Set(e.event_type.map(str::to_owned)),
            event_time: Set(e.event_time),
            body: Set(e.body.to_string()),
            received_by: Set(e.received_by.to_string()),
            received_at: Set(e.received_at),
        }
        .insert(&tx.txn)
        .await?;
        Ok(id)
    }

    /// Adds lineage edges between existing nodes; an edge already there stays as it is.
    pub async fn add_edges(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        edges: &[(Uuid, Uuid, EdgeRelation)],
    ) -> StoreResult<()> {
        use lineage_edges::Column as C;
        if edges.is_empty() {
            return Ok(());
        }
        let tenant = scope.tenant_id().as_uuid();
        lineage_edges::Entity::insert_many(edges.iter().map(|(src, dst, rel)| {
            lineage_edges::ActiveModel {
                tenant_id: Set(tenant),
                src_id: Set(*src),
                dst_id: Set(*dst),
                relation: Set(rel.as_str().to_string()),
            }
        }))
        .on_conflict(
            OnConflict::columns([C::SrcId, C::DstId, C::Relation])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&tx.txn)
        .await?;
        Ok(())
    }

    /// Records `run` as the training run of a version that names none; false when the version
    /// already names another run.
    pub async fn link_version_run(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        version: ModelVersionId,
        run: TrainingRunId,
    ) -> StoreResult<bool> {
        use model_versions::Column as V;
        let done = model_versions::Entity::update_many()
            .col_expr(
                V::TrainingRunId,
                sea_orm::sea_query::Expr::value(run.as_uuid()),
            )
            .filter(V::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(V::Id.eq(version.as_uuid()))
            .filter(V::TrainingRunId.is_null())
            .exec(&tx.txn)
            .await?;
        Ok(done.rows_affected == 1)
    }
}
