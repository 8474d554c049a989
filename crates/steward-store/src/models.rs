//! Models: named, tagged, risk-tiered containers of versions. Their metadata is the one part of
//! the registry that may be edited.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use steward_domain::{
    Model, ModelFilter, ModelId, ModelUpdate, NewModel, NodeKind, Page, PageRequest, TenantScope,
};
use uuid::Uuid;

use crate::entities::{model_tags, models};
use crate::lineage::NewNode;
use crate::{Store, StoreError, StoreResult, WriteTx, codec};

pub(crate) fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

/// Turns the `first + 1` rows a keyset query fetched into a page: the extra row only says that
/// another page exists; the cursor is the sort key of the last row kept.
pub(crate) fn into_page<R, T>(
    mut rows: Vec<R>,
    first: u32,
    key: impl Fn(&R) -> String,
    convert: impl Fn(R) -> StoreResult<T>,
) -> StoreResult<Page<T>> {
    let has_next_page = rows.len() > first as usize;
    rows.truncate(first as usize);
    Ok(Page {
        end_cursor: rows.last().map(|r| encode_cursor(&key(r))),
        items: rows.into_iter().map(convert).collect::<StoreResult<_>>()?,
        has_next_page,
    })
}

pub(crate) fn decode_cursor(cursor: &str) -> StoreResult<String> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| StoreError::Invalid("after: not a cursor returned by this API".into()))
}

impl Store {
    pub async fn create_model(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        actor: &str,
        input: &NewModel,
    ) -> StoreResult<Model> {
        let now = Utc::now();
        let id = ModelId::generate();
        let row = models::ActiveModel {
            id: Set(id.as_uuid()),
            tenant_id: Set(scope.tenant_id().as_uuid()),
            name: Set(input.name.clone()),
            description: Set(input.description.clone()),
            owner_team: Set(input.owner_team.clone()),
            risk_tier: Set(input.risk_tier.as_str().to_string()),
            latest_version: Set(0),
            created_by: Set(actor.to_string()),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
            deleted_by: Set(None),
        }
        .insert(&tx.txn)
        .await
        .map_err(|e| {
            StoreError::unique(e, || {
                format!("a model named `{}` already exists", input.name)
            })
        })?;
        write_tags(tx, scope, id.as_uuid(), &input.tags).await?;
        tx.add_lineage(
            scope,
            NewNode {
                id: id.as_uuid(),
                kind: NodeKind::Model,
                label: input.name.clone(),
                from: &[],
            },
        )
        .await?;
        codec::model(row, input.tags.clone())
    }

    /// Applies a metadata change and returns the model before and after it.
    pub async fn update_model(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        id: ModelId,
        change: &ModelUpdate,
    ) -> StoreResult<(Model, Model)> {
        let row = models::Entity::find_by_id(id.as_uuid())
            .filter(models::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .one(&tx.txn)
            .await?
            .ok_or(StoreError::NotFound("model"))?;
        let old_tags = tags_of(&tx.txn, &[row.id])
            .await?
            .remove(&row.id)
            .unwrap_or_default();
        let before = codec::model(row.clone(), old_tags.clone())?;
        let mut active: models::ActiveModel = row.into();
        if let Some(d) = &change.description {
            active.description = Set(d.clone());
        }
        if let Some(o) = &change.owner_team {
            active.owner_team = Set(o.clone());
        }
        if let Some(r) = change.risk_tier {
            active.risk_tier = Set(r.as_str().to_string());
        }
        active.updated_at = Set(Utc::now());
        let row = active.update(&tx.txn).await?;
        let tags = match &change.tags {
            Some(tags) => {
                model_tags::Entity::delete_many()
                    .filter(model_tags::Column::ModelId.eq(id.as_uuid()))
                    .exec(&tx.txn)
                    .await?;
                write_tags(tx, scope, id.as_uuid(), tags).await?;
                tags.clone()
            }
            None => old_tags,
        };
        Ok((before, codec::model(row, tags)?))
    }

    pub async fn model(&self, scope: &TenantScope, id: ModelId) -> StoreResult<Option<Model>> {
        let row = models::Entity::find_by_id(id.as_uuid())
            .filter(models::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .one(&self.db)
            .await?;
        self.with_tags(row.into_iter().collect())
            .await
            .map(|mut v| v.pop())
    }

    pub async fn model_by_name(
        &self,
        scope: &TenantScope,
        name: &str,
    ) -> StoreResult<Option<Model>> {
        let row = models::Entity::find()
            .filter(models::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(models::Column::Name.eq(name))
            .filter(models::Column::DeletedAt.is_null())
            .one(&self.db)
            .await?;
        self.with_tags(row.into_iter().collect())
            .await
            .map(|mut v| v.pop())
    }

    /// Models of the tenant in name order, filtered, one page at a time (keyset pagination on
    /// the name, which is unique within a tenant).
    pub async fn list_models(
        &self,
        scope: &TenantScope,
        filter: &ModelFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<Model>> {
        let tenant = scope.tenant_id().as_uuid();
        let mut cond = Condition::all()
            .add(models::Column::TenantId.eq(tenant))
            .add(models::Column::DeletedAt.is_null());
        if let Some(prefix) = &filter.name_prefix {
            // substr() rather than LIKE: LIKE is case-insensitive on SQLite and sensitive on
            // PostgreSQL, and `_` in a name would act as a wildcard.
            let len = i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX);
            // sea-query's custom-expression placeholder is the backend's own.
            let sql = match self.backend {
                crate::Backend::Sqlite => "substr(\"models\".\"name\", 1, ?) = ?",
                crate::Backend::Postgres => {
                    "substr(\"models\".\"name\", 1, CAST($1 AS INTEGER)) = $2"
                }
            };
            cond = cond.add(Expr::cust_with_values(
                sql,
                [
                    sea_orm::Value::from(len),
                    sea_orm::Value::from(prefix.as_str()),
                ],
            ));
        }
        if let Some(tier) = filter.risk_tier {
            cond = cond.add(models::Column::RiskTier.eq(tier.as_str()));
        }
        if let Some(tag) = &filter.tag {
            cond = cond.add(
                models::Column::Id.in_subquery(
                    Query::select()
                        .column(model_tags::Column::ModelId)
                        .from(model_tags::Entity)
                        .and_where(model_tags::Column::TenantId.eq(tenant))
                        .and_where(model_tags::Column::Tag.eq(tag.as_str()))
                        .take(),
                ),
            );
        }
        if let Some(after) = &page.after {
            cond = cond.add(models::Column::Name.gt(decode_cursor(after)?));
        }
        let rows = models::Entity::find()
            .filter(cond)
            .order_by_asc(models::Column::Name)
            .limit(u64::from(page.first) + 1)
            .all(&self.db)
            .await?;
        let page = into_page(rows, page.first, |r| r.name.clone(), Ok)?;
        Ok(Page {
            items: self.with_tags(page.items).await?,
            has_next_page: page.has_next_page,
            end_cursor: page.end_cursor,
        })
    }

    async fn with_tags(&self, rows: Vec<models::Model>) -> StoreResult<Vec<Model>> {
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut tags = tags_of(&self.db, &ids).await?;
        rows.into_iter()
            .map(|r| {
                let t = tags.remove(&r.id).unwrap_or_default();
                codec::model(r, t)
            })
            .collect()
    }
}

async fn write_tags(
    tx: &WriteTx,
    scope: &TenantScope,
    model: Uuid,
    tags: &[String],
) -> StoreResult<()> {
    if tags.is_empty() {
        return Ok(());
    }
    model_tags::Entity::insert_many(tags.iter().map(|t| model_tags::ActiveModel {
        model_id: Set(model),
        tag: Set(t.clone()),
        tenant_id: Set(scope.tenant_id().as_uuid()),
    }))
    .exec(&tx.txn)
    .await?;
    Ok(())
}

/// Tags of several models in one query, each list sorted.
async fn tags_of<C: sea_orm::ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> StoreResult<HashMap<Uuid, Vec<String>>> {
    let mut out: HashMap<Uuid, Vec<String>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows = model_tags::Entity::find()
        .filter(model_tags::Column::ModelId.is_in(ids.iter().copied()))
        .order_by_asc(model_tags::Column::Tag)
        .all(db)
        .await?;
    for r in rows {
        out.entry(r.model_id).or_default().push(r.tag);
    }
    Ok(out)
}
