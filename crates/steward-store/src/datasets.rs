//! Datasets and their immutable versions.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, Value,
};
use steward_domain::{
    Dataset, DatasetId, DatasetVersion, DatasetVersionId, EdgeRelation, NewDataset,
    NewDatasetVersion, NodeKind, Page, PageRequest, TenantScope,
};

use crate::entities::{dataset_versions, datasets};
use crate::lineage::NewNode;
use crate::models::{decode_cursor, into_page};
use crate::sql::stmt;
use crate::{Store, StoreError, StoreResult, WriteTx, codec};

impl Store {
    pub async fn create_dataset(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        actor: &str,
        input: &NewDataset,
    ) -> StoreResult<Dataset> {
        let id = DatasetId::generate();
        let row = datasets::ActiveModel {
            id: Set(id.as_uuid()),
            tenant_id: Set(scope.tenant_id().as_uuid()),
            name: Set(input.name.clone()),
            description: Set(input.description.clone()),
            latest_version: Set(0),
            created_by: Set(actor.to_string()),
            created_at: Set(Utc::now()),
        }
        .insert(&tx.txn)
        .await
        .map_err(|e| {
            StoreError::unique(e, || {
                format!("a dataset named `{}` already exists", input.name)
            })
        })?;
        tx.add_lineage(
            scope,
            NewNode {
                id: id.as_uuid(),
                kind: NodeKind::Dataset,
                label: input.name.clone(),
                from: &[],
            },
        )
        .await?;
        Ok(codec::dataset(row))
    }

    pub async fn register_dataset_version(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        actor: &str,
        input: &NewDatasetVersion,
    ) -> StoreResult<DatasetVersion> {
        let (version, dataset_name) = self
            .next_version(tx, scope, "datasets", input.dataset_id.as_uuid())
            .await?
            .ok_or(StoreError::NotFound("dataset"))?;
        let id = DatasetVersionId::generate();
        let row = dataset_versions::ActiveModel {
            id: Set(id.as_uuid()),
            tenant_id: Set(scope.tenant_id().as_uuid()),
            dataset_id: Set(input.dataset_id.as_uuid()),
            version: Set(version),
            uri: Set(input.uri.clone()),
            content_hash: Set(input.content_hash.as_hex().to_string()),
            row_count: Set(input.row_count),
            schema: Set(codec::schema_to_json(&input.schema)),
            slice: Set(input.slice.clone()),
            time_start: Set(input.time_start),
            time_end: Set(input.time_end),
            created_by: Set(actor.to_string()),
            created_at: Set(Utc::now()),
        }
        .insert(&tx.txn)
        .await?;
        tx.add_lineage(
            scope,
            NewNode {
                id: id.as_uuid(),
                kind: NodeKind::DatasetVersion,
                label: format!("{dataset_name} v{version}"),
                from: &[(input.dataset_id.as_uuid(), EdgeRelation::HasVersion)],
            },
        )
        .await?;
        codec::dataset_version(row)
    }

    /// Hands out the next version number of a model or dataset: an atomic increment of its
    /// counter inside the caller's transaction, so two concurrent registrations can never get the
    /// same number and a rolled-back one never burns a number another sees. Returns the number and
    /// the parent's name, or `None` when the parent is not in the tenant.
    pub(crate) async fn next_version(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        table: &'static str,
        id: uuid::Uuid,
    ) -> StoreResult<Option<(i64, String)>> {
        let sql = format!(
            "UPDATE {table} SET latest_version = latest_version + 1
             WHERE id = $1 AND tenant_id = $2 RETURNING latest_version, name"
        );
        let row = tx
            .txn
            .query_one_raw(stmt(
                self.db_backend(),
                &sql,
                vec![Value::from(id), Value::from(scope.tenant_id().as_uuid())],
            ))
            .await?;
        match row {
            Some(row) => Ok(Some((
                row.try_get("", "latest_version")?,
                row.try_get("", "name")?,
            ))),
            None => Ok(None),
        }
    }

    pub async fn dataset(
        &self,
        scope: &TenantScope,
        id: DatasetId,
    ) -> StoreResult<Option<Dataset>> {
        Ok(datasets::Entity::find_by_id(id.as_uuid())
            .filter(datasets::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .one(&self.db)
            .await?
            .map(codec::dataset))
    }

    /// Datasets of the tenant in name order, one page at a time.
    pub async fn list_datasets(
        &self,
        scope: &TenantScope,
        page: &PageRequest,
    ) -> StoreResult<Page<Dataset>> {
        let mut q = datasets::Entity::find()
            .filter(datasets::Column::TenantId.eq(scope.tenant_id().as_uuid()));
        if let Some(after) = &page.after {
            q = q.filter(datasets::Column::Name.gt(decode_cursor(after)?));
        }
        let rows = q
            .order_by_asc(datasets::Column::Name)
            .limit(u64::from(page.first) + 1)
            .all(&self.db)
            .await?;
        into_page(
            rows,
            page.first,
            |r| r.name.clone(),
            |r| Ok(codec::dataset(r)),
        )
    }

    pub async fn dataset_version(
        &self,
        scope: &TenantScope,
        id: DatasetVersionId,
    ) -> StoreResult<Option<DatasetVersion>> {
        dataset_versions::Entity::find_by_id(id.as_uuid())
            .filter(dataset_versions::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .one(&self.db)
            .await?
            .map(codec::dataset_version)
            .transpose()
    }

    /// Versions of one dataset, newest first.
    pub async fn dataset_versions(
        &self,
        scope: &TenantScope,
        dataset: DatasetId,
        page: &PageRequest,
    ) -> StoreResult<Page<DatasetVersion>> {
        let mut q = dataset_versions::Entity::find()
            .filter(dataset_versions::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(dataset_versions::Column::DatasetId.eq(dataset.as_uuid()));
        if let Some(after) = &page.after {
            q = q.filter(dataset_versions::Column::Version.lt(version_cursor(after)?));
        }
        let rows = q
            .order_by_desc(dataset_versions::Column::Version)
            .limit(u64::from(page.first) + 1)
            .all(&self.db)
            .await?;
        into_page(
            rows,
            page.first,
            |r| r.version.to_string(),
            codec::dataset_version,
        )
    }
}

/// Decodes a cursor over version numbers.
pub(crate) fn version_cursor(after: &str) -> StoreResult<i64> {
    decode_cursor(after)?
        .parse()
        .map_err(|_| StoreError::Invalid("after: not a cursor returned by this API".into()))
}
