//! Tenants: created by platform admins, looked up by slug when a token is verified.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use steward_domain::{NewTenant, Tenant, TenantId};

use crate::entities::tenants;
use crate::{Store, StoreError, StoreResult, WriteTx, codec};

impl Store {
    /// Creates a tenant. Platform-level: there is no scope, since the tenant does not exist yet.
    pub async fn create_tenant(&self, tx: &WriteTx, input: &NewTenant) -> StoreResult<Tenant> {
        let row = tenants::ActiveModel {
            id: Set(TenantId::generate().as_uuid()),
            slug: Set(input.slug.clone()),
            name: Set(input.name.clone()),
            created_at: Set(Utc::now()),
        }
        .insert(&tx.txn)
        .await
        .map_err(|e| {
            StoreError::unique(e, || {
                format!("a tenant with slug `{}` already exists", input.slug)
            })
        })?;
        Ok(codec::tenant(row))
    }

    /// Resolves a token's `tenant` claim.
    pub async fn tenant_by_slug(&self, slug: &str) -> StoreResult<Option<Tenant>> {
        Ok(tenants::Entity::find()
            .filter(tenants::Column::Slug.eq(slug))
            .one(&self.db)
            .await?
            .map(codec::tenant))
    }

    /// The tenant with this id (the scheduler names the tenant it acts in).
    pub async fn tenant_by_id(&self, id: TenantId) -> StoreResult<Option<Tenant>> {
        Ok(tenants::Entity::find_by_id(id.as_uuid())
            .one(&self.db)
            .await?
            .map(codec::tenant))
    }

    /// All tenants, oldest first (platform administration only).
    pub async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        Ok(tenants::Entity::find()
            .order_by_asc(tenants::Column::CreatedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(codec::tenant)
            .collect())
    }
}
