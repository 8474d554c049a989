//! Holds on a model's retraining and rollback: placed, lifted or expired, never deleted.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use steward_domain::*;

use crate::entities::model_holds;
use crate::{Store, StoreError, StoreResult, WriteTx};

fn hold(row: model_holds::Model) -> Hold {
    Hold {
        id: HoldId::from_uuid(row.id),
        model_id: ModelId::from_uuid(row.model_id),
        reason: row.reason,
        placed_by: row.placed_by,
        placed_at: row.placed_at,
        until: row.until,
        lifted_by: row.lifted_by,
        lifted_at: row.lifted_at,
        lift_reason: row.lift_reason,
    }
}

async fn unlifted<C: ConnectionTrait>(
    db: &C,
    scope: &TenantScope,
    model: ModelId,
) -> StoreResult<Vec<model_holds::Model>> {
    use model_holds::Column as C;
    Ok(model_holds::Entity::find()
        .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
        .filter(C::ModelId.eq(model.as_uuid()))
        .filter(C::LiftedAt.is_null())
        .order_by_desc(C::PlacedAt)
        .all(db)
        .await?)
}

impl Store {
    /// Places a hold on `new.model_id`. A hold in force is replaced: lifted, with "replaced by a
    /// new hold", so an SRE extends or rewords a hold by placing it again.
    pub async fn place_hold(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        new: &NewHold,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Hold> {
        for row in unlifted(&tx.txn, scope, new.model_id).await? {
            let mut a = row.into_active_model();
            a.lifted_by = Set(Some(actor.to_string()));
            a.lifted_at = Set(Some(at));
            a.lift_reason = Set(Some("replaced by a new hold".into()));
            a.update(&tx.txn).await?;
        }
        let row = model_holds::ActiveModel {
            id: Set(HoldId::generate().as_uuid()),
            tenant_id: Set(scope.tenant_id().as_uuid()),
            model_id: Set(new.model_id.as_uuid()),
            reason: Set(new.reason.clone()),
            placed_by: Set(actor.to_string()),
            placed_at: Set(at),
            until: Set(new.until),
            lifted_by: Set(None),
            lifted_at: Set(None),
            lift_reason: Set(None),
        }
        .insert(&tx.txn)
        .await?;
        Ok(hold(row))
    }

    /// Lifts every hold of the model in force at `at`; NotFound when none is.
    pub async fn lift_hold(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        model: ModelId,
        reason: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<Hold> {
        let mut lifted = None;
        for row in unlifted(&tx.txn, scope, model).await? {
            if !hold(row.clone()).active_at(at) {
                continue;
            }
            let mut a = row.into_active_model();
            a.lifted_by = Set(Some(actor.to_string()));
            a.lifted_at = Set(Some(at));
            a.lift_reason = Set(Some(reason.to_string()));
            lifted = Some(hold(a.update(&tx.txn).await?));
        }
        lifted.ok_or(StoreError::NotFound("hold in force"))
    }

    /// The hold in force on the model at `at`, read in the caller's transaction.
    pub async fn active_hold(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        model: ModelId,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<Hold>> {
        Ok(unlifted(&tx.txn, scope, model)
            .await?
            .into_iter()
            .map(hold)
            .find(|h| h.active_at(at)))
    }

    /// The model's holds, newest first (lifted and expired ones too).
    pub async fn holds(&self, scope: &TenantScope, model: ModelId) -> StoreResult<Vec<Hold>> {
        use model_holds::Column as C;
        Ok(model_holds::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::ModelId.eq(model.as_uuid()))
            .order_by_desc(C::PlacedAt)
            .all(&self.db)
            .await?
            .into_iter()
            .map(hold)
            .collect())
    }
}
