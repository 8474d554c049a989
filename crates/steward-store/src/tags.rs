//! Key-value tags of models and versions (set replaces, delete removes; the audit log keeps the
//! history) and aliases (every placement a row: moving or deleting one stamps its removal).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use steward_domain::*;
use uuid::Uuid;

use crate::entities::{model_aliases, registry_tags};
use crate::{Store, StoreError, StoreResult, WriteTx};

fn tag(r: registry_tags::Model) -> RegistryTag {
    RegistryTag {
        model_id: ModelId::from_uuid(r.model_id),
        version: r.version,
        key: r.key,
        value: r.value,
        updated_by: r.updated_by,
        updated_at: r.updated_at,
    }
}

fn alias(r: model_aliases::Model) -> ModelAlias {
    ModelAlias {
        model_id: ModelId::from_uuid(r.model_id),
        alias: r.alias,
        version: r.version,
        set_by: r.set_by,
        set_at: r.set_at,
        removed_by: r.removed_by,
        removed_at: r.removed_at,
    }
}

/// A tag to write.
pub struct NewTag<'a> {
    pub model: ModelId,
    /// 0: the model's own tag.
    pub version: i64,
    pub key: &'a str,
    pub value: &'a str,
    pub actor: &'a str,
    pub at: DateTime<Utc>,
}

impl Store {
    /// Sets (or replaces) a tag.
    pub async fn set_tag(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        t: NewTag<'_>,
    ) -> StoreResult<()> {
        use registry_tags::Column as C;
        registry_tags::Entity::insert(registry_tags::ActiveModel {
            tenant_id: Set(scope.tenant_id().as_uuid()),
            model_id: Set(t.model.as_uuid()),
            version: Set(t.version),
            key: Set(t.key.to_string()),
            value: Set(t.value.to_string()),
            updated_by: Set(t.actor.to_string()),
            updated_at: Set(t.at),
        })
        .on_conflict(
            OnConflict::columns([C::ModelId, C::Version, C::Key])
                .update_columns([C::Value, C::UpdatedBy, C::UpdatedAt])
                .to_owned(),
        )
        .exec(&tx.txn)
        .await?;
        Ok(())
    }

    /// Deletes a tag; NotFound when it is not set.
    pub async fn delete_tag(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        (model, version): (ModelId, i64),
        key: &str,
    ) -> StoreResult<()> {
        use registry_tags::Column as C;
        let done = registry_tags::Entity::delete_many()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::ModelId.eq(model.as_uuid()))
            .filter(C::Version.eq(version))
            .filter(C::Key.eq(key))
            .exec(&tx.txn)
            .await?;
        if done.rows_affected == 0 {
            return Err(StoreError::NotFound("tag"));
        }
        Ok(())
    }

    /// The tags of a model and its versions (`version` 0: the model's own), by key.
    pub async fn tags(&self, scope: &TenantScope, model: ModelId) -> StoreResult<Vec<RegistryTag>> {
        use registry_tags::Column as C;
        Ok(registry_tags::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::ModelId.eq(model.as_uuid()))
            .order_by_asc(C::Version)
            .order_by_asc(C::Key)
            .all(&self.db)
            .await?
            .into_iter()
            .map(tag)
            .collect())
    }

    /// Points `name` at `version`: the placement in force, if any, is stamped removed (moved).
    pub async fn set_alias(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        (model, name): (ModelId, &str),
        version: i64,
        (actor, at): (&str, DateTime<Utc>),
    ) -> StoreResult<Option<ModelAlias>> {
        let before = self
            .remove_alias(tx, scope, (model, name), (actor, at))
            .await?;
        model_aliases::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(scope.tenant_id().as_uuid()),
            model_id: Set(model.as_uuid()),
            alias: Set(name.to_string()),
            version: Set(version),
            set_by: Set(actor.to_string()),
            set_at: Set(at),
            removed_by: Set(None),
            removed_at: Set(None),
        }
        .insert(&tx.txn)
        .await?;
        Ok(before)
    }

    /// Stamps the alias's placement in force removed; the placement, or `None` when unset.
    pub async fn remove_alias(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        (model, name): (ModelId, &str),
        (actor, at): (&str, DateTime<Utc>),
    ) -> StoreResult<Option<ModelAlias>> {
        use model_aliases::Column as C;
        let current = model_aliases::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::ModelId.eq(model.as_uuid()))
            .filter(C::Alias.eq(name))
            .filter(C::RemovedAt.is_null())
            .one(&tx.txn)
            .await?;
        let Some(row) = current else {
            return Ok(None);
        };
        model_aliases::Entity::update_many()
            .col_expr(C::RemovedBy, Expr::value(actor))
            .col_expr(C::RemovedAt, Expr::value(at))
            .filter(C::Id.eq(row.id))
            .exec(&tx.txn)
            .await?;
        Ok(Some(alias(row)))
    }

    /// The model's aliases, placements in force only or their whole history, oldest first.
    pub async fn aliases(
        &self,
        scope: &TenantScope,
        model: ModelId,
        history: bool,
    ) -> StoreResult<Vec<ModelAlias>> {
        use model_aliases::Column as C;
        let mut q = model_aliases::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::ModelId.eq(model.as_uuid()));
        if !history {
            q = q.filter(C::RemovedAt.is_null());
        }
        Ok(q.order_by_asc(C::SetAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(alias)
            .collect())
    }
}

impl Store {
    /// The alias's placement in force, read in the caller's transaction.
    pub async fn alias_in_force(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        (model, name): (ModelId, &str),
    ) -> StoreResult<Option<ModelAlias>> {
        use model_aliases::Column as C;
        Ok(model_aliases::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::ModelId.eq(model.as_uuid()))
            .filter(C::Alias.eq(name))
            .filter(C::RemovedAt.is_null())
            .one(&tx.txn)
            .await?
            .map(alias))
    }
}
