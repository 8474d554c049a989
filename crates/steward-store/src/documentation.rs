//! Model documentation: revisions of what owners write about a model (intended use,
//! limitations, human oversight), appended, never changed.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use steward_domain::*;

use crate::entities::model_documentation as md;
use crate::{Store, StoreError, StoreResult, WriteTx};

pub(crate) fn documentation(row: md::Model) -> ModelDocumentation {
    ModelDocumentation {
        model_id: ModelId::from_uuid(row.model_id),
        revision: row.revision,
        intended_use: row.intended_use,
        limitations: row.limitations,
        human_oversight: row.human_oversight,
        note: row.note,
        created_by: row.created_by,
        created_at: row.created_at,
    }
}

impl Store {
    /// Appends the next revision of the model's documentation. When `doc.expected_revision` is
    /// given and another revision landed since (or a concurrent writer takes the same number),
    /// the change is a conflict and nothing is written.
    pub async fn document_model(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        doc: &DocumentModel,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<ModelDocumentation> {
        let last = md::Entity::find()
            .filter(md::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(md::Column::ModelId.eq(doc.model_id.as_uuid()))
            .order_by_desc(md::Column::Revision)
            .one(&tx.txn)
            .await?
            .map_or(0, |r| r.revision);
        if let Some(expected) = doc.expected_revision
            && expected != last
        {
            return Err(StoreError::Conflict(format!(
                "the documentation is at revision {last}, not {expected}: someone saved a change \
                 since this edit began; reload it and apply the edit again"
            )));
        }
        let row = md::ActiveModel {
            tenant_id: Set(scope.tenant_id().as_uuid()),
            model_id: Set(doc.model_id.as_uuid()),
            revision: Set(last + 1),
            intended_use: Set(doc.intended_use.clone()),
            limitations: Set(doc.limitations.clone()),
            human_oversight: Set(doc.human_oversight.clone()),
            note: Set(doc.note.clone()),
            created_by: Set(actor.to_string()),
            created_at: Set(at),
        }
        .insert(&tx.txn)
        .await
        .map_err(|e| {
            StoreError::unique(e, || {
                format!(
                    "revision {} of the documentation was saved concurrently",
                    last + 1
                )
            })
        })?;
        Ok(documentation(row))
    }

    /// The model's documentation revisions, newest first (the first is in force).
    pub async fn model_documentation(
        &self,
        scope: &TenantScope,
        model: ModelId,
    ) -> StoreResult<Vec<ModelDocumentation>> {
        Ok(md::Entity::find()
            .filter(md::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(md::Column::ModelId.eq(model.as_uuid()))
            .order_by_desc(md::Column::Revision)
            .all(&self.db)
            .await?
            .into_iter()
            .map(documentation)
            .collect())
    }
}
