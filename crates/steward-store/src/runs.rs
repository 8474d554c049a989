//! Training runs: the code, parameters and input data versions behind a model version.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use steward_domain::{
    DatasetVersionId, EdgeRelation, NewTrainingRun, NodeKind, TenantScope, TrainingRun,
    TrainingRunId,
};
use uuid::Uuid;

use crate::entities::{dataset_versions, model_versions, training_run_inputs, training_runs};
use crate::lineage::NewNode;
use crate::{Store, StoreError, StoreResult, WriteTx, codec};

impl Store {
    /// Records a run and its lineage edges (input dataset versions, and the base model version for
    /// a fine-tune). Every referenced record must belong to the caller's tenant.
    pub async fn record_training_run(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        actor: &str,
        input: &NewTrainingRun,
    ) -> StoreResult<TrainingRun> {
        let tenant = scope.tenant_id().as_uuid();
        let input_ids: Vec<Uuid> = input
            .input_dataset_versions
            .iter()
            .map(|d| d.as_uuid())
            .collect();
        let mut unique = input_ids.clone();
        unique.sort();
        unique.dedup();
        if unique.len() != input_ids.len() {
            return Err(StoreError::Invalid(
                "input.trainingRun.inputDatasetVersions: a dataset version is listed twice".into(),
            ));
        }
        if !input_ids.is_empty() {
            let found = dataset_versions::Entity::find()
                .filter(dataset_versions::Column::TenantId.eq(tenant))
                .filter(dataset_versions::Column::Id.is_in(input_ids.clone()))
                .all(&tx.txn)
                .await?;
            if found.len() != input_ids.len() {
                return Err(StoreError::NotFound("dataset version"));
            }
        }
        if let Some(parent) = input.parent_model_version {
            model_versions::Entity::find_by_id(parent.as_uuid())
                .filter(model_versions::Column::TenantId.eq(tenant))
                .one(&tx.txn)
                .await?
                .ok_or(StoreError::NotFound("parent model version"))?;
        }
        let triggered_by = match input.retraining_action {
            Some(a) => Some(self.retraining_lineage(tx, scope, a).await?),
            None => None,
        };
        let id = TrainingRunId::generate();
        let params = serde_json::Value::Object(input.parameters.clone()).to_string();
        let row = training_runs::ActiveModel {
            id: Set(id.as_uuid()),
            tenant_id: Set(tenant),
            code_commit: Set(input.code_commit.clone()),
            parameters: Set(params),
            parent_model_version_id: Set(input.parent_model_version.map(|p| p.as_uuid())),
            orchestrator: Set(input.orchestrator.clone()),
            orchestrator_run_id: Set(input.orchestrator_run_id.clone()),
            status: Set(input.status.as_str().to_string()),
            started_at: Set(input.started_at),
            ended_at: Set(input.ended_at),
            created_by: Set(actor.to_string()),
            created_at: Set(Utc::now()),
            retraining_action_id: Set(input.retraining_action.map(|a| a.as_uuid())),
        }
        .insert(&tx.txn)
        .await?;
        if !input_ids.is_empty() {
            training_run_inputs::Entity::insert_many(input_ids.iter().enumerate().map(|(i, d)| {
                training_run_inputs::ActiveModel {
                    training_run_id: Set(id.as_uuid()),
                    dataset_version_id: Set(*d),
                    tenant_id: Set(tenant),
                    position: Set(i32::try_from(i).unwrap_or(i32::MAX)),
                }
            }))
            .exec(&tx.txn)
            .await?;
        }
        let mut from: Vec<(uuid::Uuid, EdgeRelation)> = input_ids
            .iter()
            .map(|d| (*d, EdgeRelation::InputTo))
            .collect();
        if let Some(parent) = input.parent_model_version {
            from.push((parent.as_uuid(), EdgeRelation::BaseOf));
        }
        if let Some(decision) = triggered_by {
            from.push((decision, EdgeRelation::Triggered));
        }
        tx.add_lineage(
            scope,
            NewNode {
                id: id.as_uuid(),
                kind: NodeKind::TrainingRun,
                label: run_label(input),
                from: &from,
            },
        )
        .await?;
        codec::training_run(row, input.input_dataset_versions.clone())
    }

    pub async fn training_run(
        &self,
        scope: &TenantScope,
        id: TrainingRunId,
    ) -> StoreResult<Option<TrainingRun>> {
        let Some(row) = training_runs::Entity::find_by_id(id.as_uuid())
            .filter(training_runs::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let inputs = training_run_inputs::Entity::find()
            .filter(training_run_inputs::Column::TrainingRunId.eq(row.id))
            .order_by_asc(training_run_inputs::Column::Position)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| DatasetVersionId::from_uuid(r.dataset_version_id))
            .collect();
        codec::training_run(row, inputs).map(Some)
    }
}

fn run_label(input: &NewTrainingRun) -> String {
    let commit: String = input.code_commit.chars().take(12).collect();
    match (&input.orchestrator, &input.orchestrator_run_id) {
        (Some(o), Some(r)) => format!("run {commit} ({o} {r})"),
        _ => format!("run {commit}"),
    }
}
