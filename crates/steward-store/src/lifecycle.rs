//! The registry's lifecycle after registration: renaming a model, deleting models and versions
//! (a stamp, never a removal: lineage, decisions and the audit log keep naming them), a
//! version's description and its MLflow stage. Every write runs in the caller's transaction.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Value};
use steward_domain::*;

use crate::entities::{model_aliases, model_versions, models};
use crate::sql::stmt;
use crate::{Store, StoreError, StoreResult, WriteTx, codec};

/// Who did it and when.
pub type Stamp<'a> = (&'a str, DateTime<Utc>);

impl Store {
    /// Renames a live model; its lineage node and its versions' nodes are relabelled in the
    /// same transaction. Conflict when a live model of the tenant has the name. The old name.
    pub async fn rename_model(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        id: ModelId,
        new: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<String> {
        use models::Column as C;
        let old = models::Entity::find_by_id(id.as_uuid())
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::DeletedAt.is_null())
            .one(&tx.txn)
            .await?
            .ok_or(StoreError::NotFound("model"))?
            .name;
        let done = models::Entity::update_many()
            .col_expr(C::Name, Expr::value(new))
            .col_expr(C::UpdatedAt, Expr::value(at))
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::Id.eq(id.as_uuid()))
            .filter(C::DeletedAt.is_null())
            .exec(&tx.txn)
            .await
            .map_err(|e| {
                StoreError::unique(e, || format!("a model named `{new}` already exists"))
            })?;
        if done.rows_affected == 0 {
            return Err(StoreError::NotFound("model"));
        }
        let tenant = Value::from(scope.tenant_id().as_uuid());
        let model = Value::from(id.as_uuid());
        tx.txn
            .execute_raw(stmt(
                tx.backend,
                "UPDATE lineage_nodes SET label = CAST($1 AS TEXT) WHERE id = $2 AND tenant_id = $3",
                vec![new.into(), model.clone(), tenant.clone()],
            ))
            .await?;
        // A version's label is `<model> v<n>`: the new name, then what followed the old one.
        let rest = i64::try_from(old.chars().count()).unwrap_or(i64::MAX) + 1;
        tx.txn
            .execute_raw(stmt(
                tx.backend,
                "UPDATE lineage_nodes SET label = CAST($1 AS TEXT) || substr(label, CAST($4 AS INTEGER)) \
                 WHERE tenant_id = $3 AND id IN (SELECT id FROM model_versions WHERE model_id = $2)",
                vec![new.into(), model, tenant, rest.into()],
            ))
            .await?;
        Ok(old)
    }

    /// Stamps a live model and its live versions deleted and ends its aliases in force; the
    /// number of versions stamped.
    pub async fn delete_model(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        id: ModelId,
        (actor, at): Stamp<'_>,
    ) -> StoreResult<u64> {
        use models::Column as C;
        let done = models::Entity::update_many()
            .col_expr(C::DeletedAt, Expr::value(at))
            .col_expr(C::DeletedBy, Expr::value(actor))
            .col_expr(C::UpdatedAt, Expr::value(at))
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::Id.eq(id.as_uuid()))
            .filter(C::DeletedAt.is_null())
            .exec(&tx.txn)
            .await?;
        if done.rows_affected == 0 {
            return Err(StoreError::NotFound("model"));
        }
        use model_versions::Column as V;
        let versions = model_versions::Entity::update_many()
            .col_expr(V::DeletedAt, Expr::value(at))
            .col_expr(V::DeletedBy, Expr::value(actor))
            .filter(V::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(V::ModelId.eq(id.as_uuid()))
            .filter(V::DeletedAt.is_null())
            .exec(&tx.txn)
            .await?;
        end_aliases(tx, scope, id, None, (actor, at)).await?;
        Ok(versions.rows_affected)
    }

    /// Stamps one live version deleted and ends the aliases that named it; their names.
    pub async fn delete_model_version(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        (model, number): (ModelId, i64),
        (actor, at): Stamp<'_>,
    ) -> StoreResult<Vec<String>> {
        use model_versions::Column as V;
        let done = model_versions::Entity::update_many()
            .col_expr(V::DeletedAt, Expr::value(at))
            .col_expr(V::DeletedBy, Expr::value(actor))
            .filter(V::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(V::ModelId.eq(model.as_uuid()))
            .filter(V::Version.eq(number))
            .filter(V::DeletedAt.is_null())
            .exec(&tx.txn)
            .await?;
        if done.rows_affected == 0 {
            return Err(StoreError::NotFound("model version"));
        }
        end_aliases(tx, scope, model, Some(number), (actor, at)).await
    }

    /// A live version by number, read in the caller's transaction.
    pub async fn live_version_in(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        (model, number): (ModelId, i64),
    ) -> StoreResult<ModelVersion> {
        use model_versions::Column as V;
        let row = model_versions::Entity::find()
            .filter(V::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(V::ModelId.eq(model.as_uuid()))
            .filter(V::Version.eq(number))
            .filter(V::DeletedAt.is_null())
            .one(&tx.txn)
            .await?
            .ok_or(StoreError::NotFound("model version"))?;
        codec::model_version(row)
    }

    /// Sets a live version's description.
    pub async fn set_version_description(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        (model, number): (ModelId, i64),
        description: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        use model_versions::Column as V;
        let done = live(scope, (model, number))
            .col_expr(V::Description, Expr::value(description))
            .col_expr(V::UpdatedAt, Expr::value(at))
            .exec(&tx.txn)
            .await?
            .rows_affected;
        if done == 0 {
            return Err(StoreError::NotFound("model version"));
        }
        Ok(())
    }

    /// Moves a live version to `stage`; with `archive_others`, the model's other live versions
    /// in that stage move to `Archived`. Their numbers.
    pub async fn set_version_stage(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        (model, number): (ModelId, i64),
        stage: Stage,
        archive_others: bool,
        at: DateTime<Utc>,
    ) -> StoreResult<Vec<i64>> {
        use model_versions::Column as V;
        let mut archived = Vec::new();
        if archive_others && !matches!(stage, Stage::None | Stage::Archived) {
            archived = model_versions::Entity::find()
                .select_only()
                .column(V::Version)
                .filter(V::TenantId.eq(scope.tenant_id().as_uuid()))
                .filter(V::ModelId.eq(model.as_uuid()))
                .filter(V::Stage.eq(stage.as_str()))
                .filter(V::Version.ne(number))
                .filter(V::DeletedAt.is_null())
                .into_tuple::<i64>()
                .all(&tx.txn)
                .await?;
            model_versions::Entity::update_many()
                .col_expr(V::Stage, Expr::value(Stage::Archived.as_str()))
                .col_expr(V::UpdatedAt, Expr::value(at))
                .filter(V::TenantId.eq(scope.tenant_id().as_uuid()))
                .filter(V::ModelId.eq(model.as_uuid()))
                .filter(V::Version.is_in(archived.iter().copied()))
                .exec(&tx.txn)
                .await?;
        }
        let done = live(scope, (model, number))
            .col_expr(V::Stage, Expr::value(stage.as_str()))
            .col_expr(V::UpdatedAt, Expr::value(at))
            .exec(&tx.txn)
            .await?
            .rows_affected;
        if done == 0 {
            return Err(StoreError::NotFound("model version"));
        }
        Ok(archived)
    }

    /// The newest live version in each stage that has one, in stage order.
    pub async fn latest_versions_by_stage(
        &self,
        scope: &TenantScope,
        model: ModelId,
    ) -> StoreResult<Vec<ModelVersion>> {
        use model_versions::Column as V;
        let newest: Vec<i64> = model_versions::Entity::find()
            .select_only()
            .column_as(V::Version.max(), "newest")
            .filter(V::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(V::ModelId.eq(model.as_uuid()))
            .filter(V::DeletedAt.is_null())
            .group_by(V::Stage)
            .into_tuple::<i64>()
            .all(&self.db)
            .await?;
        let rows = model_versions::Entity::find()
            .filter(V::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(V::ModelId.eq(model.as_uuid()))
            .filter(V::Version.is_in(newest))
            .all(&self.db)
            .await?;
        let mut out = rows
            .into_iter()
            .map(codec::model_version)
            .collect::<StoreResult<Vec<_>>>()?;
        out.sort_by_key(|v| v.stage);
        Ok(out)
    }
}

/// An update of one live version.
fn live(
    scope: &TenantScope,
    (model, number): (ModelId, i64),
) -> sea_orm::UpdateMany<model_versions::Entity> {
    use model_versions::Column as V;
    model_versions::Entity::update_many()
        .filter(V::TenantId.eq(scope.tenant_id().as_uuid()))
        .filter(V::ModelId.eq(model.as_uuid()))
        .filter(V::Version.eq(number))
        .filter(V::DeletedAt.is_null())
}

/// Ends the aliases in force of a model (or only those naming `version`); their names.
async fn end_aliases(
    tx: &WriteTx,
    scope: &TenantScope,
    model: ModelId,
    version: Option<i64>,
    (actor, at): Stamp<'_>,
) -> StoreResult<Vec<String>> {
    use model_aliases::Column as A;
    let mut q = model_aliases::Entity::find()
        .filter(A::TenantId.eq(scope.tenant_id().as_uuid()))
        .filter(A::ModelId.eq(model.as_uuid()))
        .filter(A::RemovedAt.is_null());
    if let Some(v) = version {
        q = q.filter(A::Version.eq(v));
    }
    let rows = q.all(&tx.txn).await?;
    model_aliases::Entity::update_many()
        .col_expr(A::RemovedBy, Expr::value(actor))
        .col_expr(A::RemovedAt, Expr::value(at))
        .filter(A::Id.is_in(rows.iter().map(|r| r.id)))
        .exec(&tx.txn)
        .await?;
    Ok(rows.into_iter().map(|r| r.alias).collect())
}
