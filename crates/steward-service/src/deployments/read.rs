//! The reads of deployments: endpoints, their revisions, what served at a time, rollbacks,
//! promotion requests and their approvals. Everyone in the tenant reads them
//! (`registry.read`); another tenant's ids read as missing.

use chrono::{DateTime, Utc};
use steward_domain::*;

use crate::{Service, ServiceError, ServiceResult, scope_for};

/// Most revisions (or requests) one page lists.
pub const MAX_REVISIONS_PAGE: u64 = 500;

impl Service {
    /// The tenant's endpoints (of one model), by name.
    pub async fn endpoints(
        &self,
        principal: &Principal,
        model: Option<ModelId>,
    ) -> ServiceResult<Vec<Endpoint>> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        if let Some(m) = model
            && self.store.model(&scope, m).await?.is_none()
        {
            return Err(ServiceError::NotFound("model"));
        }
        Ok(self.store.endpoints(&scope, model).await?)
    }

    pub async fn endpoint(&self, principal: &Principal, id: EndpointId) -> ServiceResult<Endpoint> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        self.store
            .endpoint(&scope, id)
            .await?
            .ok_or(ServiceError::NotFound("endpoint"))
    }

    pub async fn endpoint_by_name(
        &self,
        principal: &Principal,
        name: &str,
    ) -> ServiceResult<Endpoint> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        self.store
            .endpoint_by_name(&scope, name)
            .await?
            .ok_or(ServiceError::NotFound("endpoint"))
    }

    /// The endpoint's revisions, newest first (before revision `before`), at most `limit`.
    pub async fn deployment_revisions(
        &self,
        principal: &Principal,
        endpoint: EndpointId,
        before: Option<i64>,
        limit: u64,
    ) -> ServiceResult<Vec<DeploymentRevision>> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        self.endpoint(principal, endpoint).await?;
        Ok(self
            .store
            .deployment_revisions(&scope, endpoint, before, limit.clamp(1, MAX_REVISIONS_PAGE))
            .await?)
    }

    /// The revision in force at `at`: what served the endpoint then, with which traffic split
    /// (`None` before the endpoint existed).
    pub async fn served_at(
        &self,
        principal: &Principal,
        endpoint: EndpointId,
        at: DateTime<Utc>,
    ) -> ServiceResult<Option<DeploymentRevision>> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        self.endpoint(principal, endpoint).await?;
        Ok(self.store.served_at(&scope, endpoint, at).await?)
    }

    /// The endpoint's rollbacks, newest first: who, why, which incident, from and to which
    /// versions, and when the target confirmed.
    pub async fn rollbacks(
        &self,
        principal: &Principal,
        endpoint: EndpointId,
        limit: u64,
    ) -> ServiceResult<Vec<RollbackRecord>> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        self.endpoint(principal, endpoint).await?;
        Ok(self
            .store
            .rollbacks(&scope, endpoint, limit.clamp(1, MAX_REVISIONS_PAGE))
            .await?)
    }

    /// Promotion requests, newest first: of one endpoint, of some statuses.
    pub async fn promotion_requests(
        &self,
        principal: &Principal,
        endpoint: Option<EndpointId>,
        statuses: &[RequestStatus],
        limit: u64,
    ) -> ServiceResult<Vec<PromotionRequest>> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        if let Some(e) = endpoint {
            self.endpoint(principal, e).await?;
        }
        Ok(self
            .store
            .promotion_requests(
                None,
                &scope,
                endpoint,
                statuses,
                limit.clamp(1, MAX_REVISIONS_PAGE),
            )
            .await?)
    }

    pub async fn promotion_request(
        &self,
        principal: &Principal,
        id: PromotionRequestId,
    ) -> ServiceResult<PromotionRequest> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        self.store
            .promotion_request(None, &scope, id)
            .await?
            .ok_or(ServiceError::NotFound("promotion request"))
    }

    /// A request's approvals and rejections, oldest first (cancelled and expired ones too).
    pub async fn promotion_approvals(
        &self,
        principal: &Principal,
        id: PromotionRequestId,
    ) -> ServiceResult<Vec<Approval>> {
        let scope = scope_for(principal, Operation::ReadRegistry)?;
        Ok(self.store.approvals(None, &scope, id).await?)
    }
}
