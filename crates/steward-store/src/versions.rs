//! Model versions: numbered per model, immutable, linked to the run that produced them. Also the
//! idempotency keys that let a CI job retry a registration safely.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use steward_domain::{
    EdgeRelation, ModelId, ModelVersion, ModelVersionId, NewModelVersion, NodeKind, Page,
    PageRequest, Stage, TenantScope, TrainingRunRef,
};
use uuid::Uuid;

use crate::datasets::version_cursor;
use crate::entities::{idempotency_keys, model_versions, training_runs};
use crate::lineage::NewNode;
use crate::models::into_page;
use crate::{Store, StoreError, StoreResult, WriteTx, codec};

/// A client-chosen key naming one logical request, with a hash of the request's content, so a
/// retry returns the first result and a different request under the same key is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey {
    pub operation: &'static str,
    pub key: String,
    pub request_hash: String,
}

impl Store {
    /// Registers a version of `input.model_id`, recording its training run first when the input
    /// carries a new one. Runs inside the caller's transaction.
    pub async fn register_model_version(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        actor: &str,
        input: &NewModelVersion,
    ) -> StoreResult<ModelVersion> {
        let tenant = scope.tenant_id().as_uuid();
        let (version, model_name) = self
            .next_version(tx, scope, "models", input.model_id.as_uuid())
            .await?
            .ok_or(StoreError::NotFound("model"))?;
        let run_id = match &input.training_run {
            None => None,
            Some(TrainingRunRef::New(run)) => {
                Some(self.record_training_run(tx, scope, actor, run).await?.id)
            }
            Some(TrainingRunRef::Existing(id)) => {
                training_runs::Entity::find_by_id(id.as_uuid())
                    .filter(training_runs::Column::TenantId.eq(tenant))
                    .one(&tx.txn)
                    .await?
                    .ok_or(StoreError::NotFound("training run"))?;
                Some(*id)
            }
        };
        let id = ModelVersionId::generate();
        let row = model_versions::ActiveModel {
            id: Set(id.as_uuid()),
            tenant_id: Set(tenant),
            model_id: Set(input.model_id.as_uuid()),
            version: Set(version),
            artifact_uri: Set(input.artifact_uri.clone()),
            artifact_digest: Set(input.artifact_digest.as_hex().to_string()),
            framework: Set(input.framework.clone()),
            input_schema: Set(codec::schema_to_json(&input.input_schema)),
            metrics: Set(codec::metrics_to_json(&input.metrics)),
            tags: Set(codec::tags_to_json(&input.tags)),
            training_run_id: Set(run_id.map(|r| r.as_uuid())),
            created_by: Set(actor.to_string()),
            created_at: Set(Utc::now()),
            description: Set(input.notes.description.clone()),
            stage: Set(Stage::None.as_str().to_string()),
            run_id: Set(input.notes.run_id.clone()),
            run_link: Set(input.notes.run_link.clone()),
            updated_at: Set(None),
            deleted_at: Set(None),
            deleted_by: Set(None),
        }
        .insert(&tx.txn)
        .await
        .map_err(|e| {
            StoreError::unique(e, || {
                "this training run already produced a model version; register a new run".into()
            })
        })?;
        let mut from = vec![(input.model_id.as_uuid(), EdgeRelation::HasVersion)];
        if let Some(run) = run_id {
            from.push((run.as_uuid(), EdgeRelation::Produced));
        }
        tx.add_lineage(
            scope,
            NewNode {
                id: id.as_uuid(),
                kind: NodeKind::ModelVersion,
                label: format!("{model_name} v{version}"),
                from: &from,
            },
        )
        .await?;
        codec::model_version(row)
    }

    pub async fn model_version(
        &self,
        scope: &TenantScope,
        id: ModelVersionId,
    ) -> StoreResult<Option<ModelVersion>> {
        model_versions::Entity::find_by_id(id.as_uuid())
            .filter(model_versions::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .one(&self.db)
            .await?
            .map(codec::model_version)
            .transpose()
    }

    /// Version `number` of `model`.
    pub async fn model_version_by_number(
        &self,
        scope: &TenantScope,
        model: ModelId,
        number: i64,
    ) -> StoreResult<Option<ModelVersion>> {
        use model_versions::Column as C;
        model_versions::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::ModelId.eq(model.as_uuid()))
            .filter(C::Version.eq(number))
            .filter(C::DeletedAt.is_null())
            .one(&self.db)
            .await?
            .map(codec::model_version)
            .transpose()
    }

    /// Versions `[offset, offset + limit)` of `model` by number (newest first unless
    /// `ascending`), and how many the model has.
    pub async fn model_versions_window(
        &self,
        scope: &TenantScope,
        model: ModelId,
        (offset, limit): (u64, u64),
        ascending: bool,
    ) -> StoreResult<(Vec<ModelVersion>, u64)> {
        use model_versions::Column as C;
        let q = model_versions::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::ModelId.eq(model.as_uuid()))
            .filter(C::DeletedAt.is_null());
        let total = sea_orm::PaginatorTrait::count(q.clone(), &self.db).await?;
        let q = if ascending {
            q.order_by_asc(C::Version)
        } else {
            q.order_by_desc(C::Version)
        };
        let rows = q.offset(offset).limit(limit).all(&self.db).await?;
        let items = rows
            .into_iter()
            .map(codec::model_version)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((items, total))
    }

    /// Versions of one model, newest first.
    pub async fn model_versions(
        &self,
        scope: &TenantScope,
        model: ModelId,
        page: &PageRequest,
    ) -> StoreResult<Page<ModelVersion>> {
        let mut q = model_versions::Entity::find()
            .filter(model_versions::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(model_versions::Column::ModelId.eq(model.as_uuid()))
            .filter(model_versions::Column::DeletedAt.is_null());
        if let Some(after) = &page.after {
            q = q.filter(model_versions::Column::Version.lt(version_cursor(after)?));
        }
        let rows = q
            .order_by_desc(model_versions::Column::Version)
            .limit(u64::from(page.first) + 1)
            .all(&self.db)
            .await?;
        into_page(
            rows,
            page.first,
            |r| r.version.to_string(),
            codec::model_version,
        )
    }

    /// The result a key already names: `Ok(Some(id))` for a retry of the same request,
    /// `Err(Conflict)` when the key was used for a different request, `Ok(None)` when unused.
    pub async fn idempotent_result(
        &self,
        scope: &TenantScope,
        key: &IdempotencyKey,
    ) -> StoreResult<Option<Uuid>> {
        let row = idempotency_keys::Entity::find()
            .filter(idempotency_keys::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(idempotency_keys::Column::Operation.eq(key.operation))
            .filter(idempotency_keys::Column::Key.eq(key.key.as_str()))
            .limit(1)
            .one(&self.db)
            .await?;
        match row {
            None => Ok(None),
            Some(r) if r.request_hash == key.request_hash => Ok(Some(r.result_id)),
            Some(_) => Err(StoreError::Conflict(format!(
                "idempotency key `{}` was already used for a different request",
                key.key
            ))),
        }
    }

    /// Claims `key` for `result` inside the transaction that creates the result. Fails with
    /// `Conflict` if a concurrent request claimed it first; the caller then reads that result.
    pub async fn claim_idempotency_key(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        key: &IdempotencyKey,
        result: Uuid,
    ) -> StoreResult<()> {
        idempotency_keys::ActiveModel {
            tenant_id: Set(scope.tenant_id().as_uuid()),
            operation: Set(key.operation.to_string()),
            key: Set(key.key.clone()),
            request_hash: Set(key.request_hash.clone()),
            result_id: Set(result),
            created_at: Set(Utc::now()),
        }
        .insert(&tx.txn)
        .await
        .map_err(|e| {
            if StoreError::is_unique_violation(&e) {
                StoreError::Conflict(format!("idempotency key `{}` is already claimed", key.key))
            } else {
                StoreError::Db(e)
            }
        })?;
        Ok(())
    }
}
