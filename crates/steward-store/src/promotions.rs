//! Promotion requests (their status, verdict and rollout progress) and their approvals
//! (cancelled, never deleted).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use steward_domain::*;

use crate::codec::corrupt;
use crate::entities::{promotion_approvals, promotion_requests};
use crate::{Store, StoreResult, WriteTx};

fn request(row: promotion_requests::Model) -> StoreResult<PromotionRequest> {
    let plan: serde_json::Value =
        serde_json::from_str(&row.plan).map_err(|e| corrupt("rollout plan", e))?;
    Ok(PromotionRequest {
        id: PromotionRequestId::from_uuid(row.id),
        endpoint_id: EndpointId::from_uuid(row.endpoint_id),
        candidate_version_id: ModelVersionId::from_uuid(row.candidate_version_id),
        candidate_version: row.candidate_version,
        candidate_digest: row.candidate_digest,
        mode: row.mode.parse().map_err(|e| corrupt("promotion mode", e))?,
        plan: RolloutPlan::from_json(&plan).map_err(|e| corrupt("rollout plan", e))?,
        requester: row.requester,
        reason: row.reason,
        status: row
            .status
            .parse()
            .map_err(|e| corrupt("request status", e))?,
        verdict: serde_json::from_str(&row.verdict).map_err(|e| corrupt("verdict", e))?,
        decision_record_id: row.decision_record_id.map(DecisionRecordId::from_uuid),
        policy_revision: row.policy_revision,
        step: row.step,
        step_started_at: row.step_started_at,
        paused_by: row.paused_by,
        pause_reason: row.pause_reason,
        pause_until: row.pause_until,
        base_revision: row.base_revision,
        outcome: row.outcome,
        created_at: row.created_at,
        updated_at: row.updated_at,
        finished_at: row.finished_at,
    })
}

fn request_row(scope: &TenantScope, r: &PromotionRequest) -> promotion_requests::ActiveModel {
    promotion_requests::ActiveModel {
        id: Set(r.id.as_uuid()),
        tenant_id: Set(scope.tenant_id().as_uuid()),
        endpoint_id: Set(r.endpoint_id.as_uuid()),
        candidate_version_id: Set(r.candidate_version_id.as_uuid()),
        candidate_version: Set(r.candidate_version),
        candidate_digest: Set(r.candidate_digest.clone()),
        mode: Set(r.mode.as_str().to_string()),
        plan: Set(r.plan.to_json().to_string()),
        requester: Set(r.requester.clone()),
        reason: Set(r.reason.clone()),
        status: Set(r.status.as_str().to_string()),
        verdict: Set(r.verdict.to_string()),
        decision_record_id: Set(r.decision_record_id.map(|d| d.as_uuid())),
        policy_revision: Set(r.policy_revision.clone()),
        step: Set(r.step),
        step_started_at: Set(r.step_started_at),
        paused_by: Set(r.paused_by.clone()),
        pause_reason: Set(r.pause_reason.clone()),
        pause_until: Set(r.pause_until),
        base_revision: Set(r.base_revision),
        outcome: Set(r.outcome.clone()),
        created_at: Set(r.created_at),
        updated_at: Set(r.updated_at),
        finished_at: Set(r.finished_at),
    }
}

fn approval(row: promotion_approvals::Model) -> StoreResult<Approval> {
    Ok(Approval {
        id: ApprovalId::from_uuid(row.id),
        request_id: PromotionRequestId::from_uuid(row.request_id),
        approver: row.approver,
        role: row.role,
        verdict: row
            .verdict
            .parse()
            .map_err(|e| corrupt("approval verdict", e))?,
        reason: row.reason,
        at: row.at,
        expires_at: row.expires_at,
        cancelled_at: row.cancelled_at,
        cancel_reason: row.cancel_reason,
    })
}

impl Store {
    /// Writes a new promotion request.
    pub async fn insert_request(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        r: &PromotionRequest,
    ) -> StoreResult<()> {
        request_row(scope, r).insert(&tx.txn).await?;
        Ok(())
    }

    /// Saves a request's new state.
    pub async fn save_request(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        r: &PromotionRequest,
    ) -> StoreResult<()> {
        request_row(scope, r).update(&tx.txn).await?;
        Ok(())
    }

    pub async fn promotion_request(
        &self,
        tx: Option<&WriteTx>,
        scope: &TenantScope,
        id: PromotionRequestId,
    ) -> StoreResult<Option<PromotionRequest>> {
        let q = promotion_requests::Entity::find_by_id(id.as_uuid())
            .filter(promotion_requests::Column::TenantId.eq(scope.tenant_id().as_uuid()));
        let row = match tx {
            Some(tx) => q.one(&tx.txn).await?,
            None => q.one(&self.db).await?,
        };
        row.map(request).transpose()
    }

    /// Reads the request in the caller's transaction after touching its `updated_at`, which
    /// holds its row until the commit on PostgreSQL (SQLite's write lock already serialises),
    /// so two answers to one request are decided one after the other.
    pub async fn lock_request(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        id: PromotionRequestId,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<PromotionRequest>> {
        use promotion_requests::Column as C;
        promotion_requests::Entity::update_many()
            .col_expr(C::UpdatedAt, Expr::value(at))
            .filter(C::Id.eq(id.as_uuid()))
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .exec(&tx.txn)
            .await?;
        self.promotion_request(Some(tx), scope, id).await
    }

    /// Requests of the tenant, newest first: of one endpoint, of some statuses, at most `limit`.
    pub async fn promotion_requests(
        &self,
        tx: Option<&WriteTx>,
        scope: &TenantScope,
        endpoint: Option<EndpointId>,
        statuses: &[RequestStatus],
        limit: u64,
    ) -> StoreResult<Vec<PromotionRequest>> {
        use promotion_requests::Column as C;
        let mut q =
            promotion_requests::Entity::find().filter(C::TenantId.eq(scope.tenant_id().as_uuid()));
        if let Some(e) = endpoint {
            q = q.filter(C::EndpointId.eq(e.as_uuid()));
        }
        if !statuses.is_empty() {
            q = q.filter(C::Status.is_in(statuses.iter().map(|s| s.as_str())));
        }
        let q = q.order_by_desc(C::CreatedAt).limit(limit);
        let rows = match tx {
            Some(tx) => q.all(&tx.txn).await?,
            None => q.all(&self.db).await?,
        };
        rows.into_iter().map(request).collect()
    }

    /// Requests of every tenant whose rollout is under way (rolling, or paused with a timeout),
    /// with their tenant: what the scheduler looks at.
    pub async fn rollouts_in_flight(&self) -> StoreResult<Vec<(TenantId, PromotionRequest)>> {
        use promotion_requests::Column as C;
        promotion_requests::Entity::find()
            .filter(C::Status.is_in([
                RequestStatus::Rolling.as_str(),
                RequestStatus::Paused.as_str(),
            ]))
            .order_by_asc(C::UpdatedAt)
            .limit(1_000)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| Ok((TenantId::from_uuid(r.tenant_id), request(r)?)))
            .collect()
    }

    pub async fn insert_approval(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        a: &Approval,
    ) -> StoreResult<()> {
        promotion_approvals::ActiveModel {
            id: Set(a.id.as_uuid()),
            tenant_id: Set(scope.tenant_id().as_uuid()),
            request_id: Set(a.request_id.as_uuid()),
            approver: Set(a.approver.clone()),
            role: Set(a.role.clone()),
            verdict: Set(a.verdict.as_str().to_string()),
            reason: Set(a.reason.clone()),
            at: Set(a.at),
            expires_at: Set(a.expires_at),
            cancelled_at: Set(a.cancelled_at),
            cancel_reason: Set(a.cancel_reason.clone()),
        }
        .insert(&tx.txn)
        .await?;
        Ok(())
    }

    /// The request's approvals and rejections, oldest first.
    pub async fn approvals(
        &self,
        tx: Option<&WriteTx>,
        scope: &TenantScope,
        request: PromotionRequestId,
    ) -> StoreResult<Vec<Approval>> {
        use promotion_approvals::Column as C;
        let q = promotion_approvals::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::RequestId.eq(request.as_uuid()))
            .order_by_asc(C::At);
        let rows = match tx {
            Some(tx) => q.all(&tx.txn).await?,
            None => q.all(&self.db).await?,
        };
        rows.into_iter().map(approval).collect()
    }

    /// Cancels the request's approvals still standing, with the reason; how many.
    pub async fn cancel_approvals(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        request: PromotionRequestId,
        reason: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<u64> {
        use promotion_approvals::Column as C;
        let done = promotion_approvals::Entity::update_many()
            .col_expr(C::CancelledAt, Expr::value(at))
            .col_expr(C::CancelReason, Expr::value(reason))
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::RequestId.eq(request.as_uuid()))
            .filter(C::CancelledAt.is_null())
            .exec(&tx.txn)
            .await?;
        Ok(done.rows_affected)
    }
}
