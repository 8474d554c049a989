//! Deployments through GraphQL: endpoints, their revisions (`deploymentRevisions`,
//! `servedAt`), rollbacks, promotion requests and approvals; and the mutations that change them
//! (docs/deployments.md). Every mutation maps to one operation of the permission matrix.

use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, Utc};
use steward_domain as d;
use steward_service::{PromotionInput, RequestChange, RollbackInput, RolloutOp};

use super::ctx;
use super::deployment_types::*;
use crate::error::{gql, invalid};

type R<T> = async_graphql::Result<T>;

fn endpoint_id(id: &ID) -> R<d::EndpointId> {
    uuid_id("endpointId", id, d::EndpointId::from_uuid)
}

fn request_id(id: &ID) -> R<d::PromotionRequestId> {
    uuid_id("requestId", id, d::PromotionRequestId::from_uuid)
}

fn limit(first: Option<i32>, default: u64) -> R<u64> {
    match first {
        None => Ok(default),
        Some(n) => u64::try_from(n).map_err(|_| invalid("first: must not be negative")),
    }
}

#[derive(Default)]
pub struct DeploymentsQuery;

#[Object]
impl DeploymentsQuery {
    /// The tenant's endpoints (of one model), by name.
    async fn endpoints(&self, c: &Context<'_>, model_id: Option<ID>) -> R<Vec<Endpoint>> {
        let (svc, p) = ctx(c)?;
        let model = model_id
            .map(|m| uuid_id("modelId", &m, d::ModelId::from_uuid))
            .transpose()?;
        let list = svc.endpoints(p, model).await.map_err(gql)?;
        Ok(list.into_iter().map(Into::into).collect())
    }

    /// An endpoint by id or by name.
    async fn endpoint(&self, c: &Context<'_>, id: Option<ID>, name: Option<String>) -> R<Endpoint> {
        let (svc, p) = ctx(c)?;
        let e = match (id, name) {
            (Some(id), None) => svc.endpoint(p, endpoint_id(&id)?).await,
            (None, Some(n)) => svc.endpoint_by_name(p, &n).await,
            _ => return Err(invalid("endpoint: give exactly one of id and name")),
        };
        Ok(e.map_err(gql)?.into())
    }

    /// The endpoint's revisions, newest first, before revision `before` (for the next page).
    async fn deployment_revisions(
        &self,
        c: &Context<'_>,
        endpoint_id: ID,
        first: Option<i32>,
        before: Option<i64>,
    ) -> R<Vec<DeploymentRevision>> {
        let (svc, p) = ctx(c)?;
        let list = svc
            .deployment_revisions(
                p,
                self::endpoint_id(&endpoint_id)?,
                before,
                limit(first, 50)?,
            )
            .await
            .map_err(gql)?;
        Ok(list.into_iter().map(Into::into).collect())
    }

    /// What served the endpoint at `at`, with which traffic split: the revision in force then
    /// (null before the endpoint existed).
    async fn served_at(
        &self,
        c: &Context<'_>,
        endpoint_id: ID,
        at: DateTime<Utc>,
    ) -> R<Option<DeploymentRevision>> {
        let (svc, p) = ctx(c)?;
        let r = svc
            .served_at(p, self::endpoint_id(&endpoint_id)?, at)
            .await
            .map_err(gql)?;
        Ok(r.map(Into::into))
    }

    /// The endpoint's rollbacks, newest first.
    async fn rollbacks(
        &self,
        c: &Context<'_>,
        endpoint_id: ID,
        first: Option<i32>,
    ) -> R<Vec<Rollback>> {
        let (svc, p) = ctx(c)?;
        let list = svc
            .rollbacks(p, self::endpoint_id(&endpoint_id)?, limit(first, 50)?)
            .await
            .map_err(gql)?;
        Ok(list
            .into_iter()
            .map(|r| Rollback {
                seconds_to_effect: r
                    .effective_at
                    .map(|e| (e - r.revision.at).num_milliseconds() as f64 / 1_000.0),
                effective_at: r.effective_at,
                from_champion: r.from.champion.into(),
                from_canary: r.from.canary.map(Into::into),
                to_champion: r.revision.state.champion.into(),
                revision: r.revision.into(),
            })
            .collect())
    }

    /// Promotion requests, newest first: of one endpoint, of some statuses.
    async fn promotion_requests(
        &self,
        c: &Context<'_>,
        endpoint_id: Option<ID>,
        #[graphql(default)] status: Vec<PromotionStatus>,
        first: Option<i32>,
    ) -> R<Vec<PromotionRequest>> {
        let (svc, p) = ctx(c)?;
        let endpoint = endpoint_id.as_ref().map(self::endpoint_id).transpose()?;
        let statuses: Vec<d::RequestStatus> = status.into_iter().map(Into::into).collect();
        let list = svc
            .promotion_requests(p, endpoint, &statuses, limit(first, 50)?)
            .await
            .map_err(gql)?;
        Ok(list.into_iter().map(Into::into).collect())
    }

    /// How the endpoint's shadow compares with its champion (null without a shadow).
    async fn shadow_comparison(
        &self,
        c: &Context<'_>,
        endpoint_id: ID,
    ) -> R<Option<ShadowComparison>> {
        let (svc, p) = ctx(c)?;
        let r = svc
            .shadow_comparison(p, self::endpoint_id(&endpoint_id)?)
            .await
            .map_err(gql)?;
        Ok(r.map(Into::into))
    }

    async fn promotion_request(&self, c: &Context<'_>, id: ID) -> R<PromotionRequest> {
        let (svc, p) = ctx(c)?;
        let r = svc
            .promotion_request(p, request_id(&id)?)
            .await
            .map_err(gql)?;
        Ok(r.into())
    }
}

#[derive(InputObject)]
pub struct CreateEndpointInput {
    pub model_id: ID,
    pub name: String,
    pub environment: String,
    /// A kserve or webhook delivery target its changes go to; leave it out when the serving
    /// side reads the desired state from Steward.
    pub target: Option<String>,
    #[graphql(default)]
    pub description: String,
    pub champion_version_id: ID,
    /// The model's alias that follows the champion (moved with every change of champion; set
    /// by hand it is refused).
    pub champion_alias: Option<String>,
    pub reason: String,
}

#[derive(InputObject)]
pub struct SetEndpointTargetInput {
    pub endpoint_id: ID,
    pub target: Option<String>,
}

#[derive(InputObject)]
pub struct RequestPromotionInput {
    pub endpoint_id: ID,
    pub candidate_version_id: ID,
    /// The candidate's `sha256:` artifact digest, as the pipeline built it.
    pub artifact_digest: String,
    #[graphql(default_with = "PromotionMode::Champion")]
    pub mode: PromotionMode,
    pub plan: Option<RolloutPlan>,
    pub reason: String,
    /// A retried call with the same key (and the same input) returns the first request.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct UpdatePromotionRequestInput {
    pub request_id: ID,
    /// A new candidate (with its digest).
    pub candidate_version_id: Option<ID>,
    pub artifact_digest: Option<String>,
    pub plan: Option<RolloutPlan>,
}

#[derive(InputObject)]
pub struct RequestReasonInput {
    pub request_id: ID,
    pub reason: String,
}

#[derive(InputObject)]
pub struct PauseRolloutInput {
    pub request_id: ID,
    pub reason: String,
    /// When the pause ends in an abort unless someone resumes; the configured timeout by
    /// default.
    pub until: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
pub struct RollbackInputGql {
    pub endpoint_id: ID,
    pub reason: String,
    pub incident_id: Option<ID>,
    /// An earlier revision (created, promoted or rolled back) whose champion to return to; by
    /// default the last champion without an open incident.
    pub to_revision: Option<i64>,
    /// The endpoint's revision as the caller saw it; CONFLICT if it moved since.
    pub expected_revision: Option<i64>,
    /// A retried call with the same key returns the first call's rollback.
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct StopShadowInput {
    pub endpoint_id: ID,
    pub reason: String,
}

#[derive(Default)]
pub struct DeploymentsMutation;

#[Object]
impl DeploymentsMutation {
    /// Creates an endpoint serving a version as its champion (model_owner, sre).
    async fn create_endpoint(&self, c: &Context<'_>, input: CreateEndpointInput) -> R<Endpoint> {
        let (svc, p) = ctx(c)?;
        let new = d::NewEndpoint {
            model_id: uuid_id("input.modelId", &input.model_id, d::ModelId::from_uuid)?,
            name: input.name,
            environment: input.environment,
            target: input.target,
            description: input.description,
            champion: uuid_id(
                "input.championVersionId",
                &input.champion_version_id,
                d::ModelVersionId::from_uuid,
            )?,
            champion_alias: input.champion_alias,
            reason: input.reason,
        };
        let (e, _) = svc.create_endpoint(p, new).await.map_err(gql)?;
        Ok(e.into())
    }

    /// Points an endpoint's changes at another kserve or webhook target, or none
    /// (model_owner, sre).
    async fn set_endpoint_target(
        &self,
        c: &Context<'_>,
        input: SetEndpointTargetInput,
    ) -> R<Endpoint> {
        let (svc, p) = ctx(c)?;
        let e = svc
            .set_endpoint_target(p, endpoint_id(&input.endpoint_id)?, input.target)
            .await
            .map_err(gql)?;
        Ok(e.into())
    }

    /// Requests a promotion (model_owner, service); the policy answers at once.
    async fn request_promotion(
        &self,
        c: &Context<'_>,
        input: RequestPromotionInput,
    ) -> R<PromotionRequest> {
        let (svc, p) = ctx(c)?;
        let req = PromotionInput {
            endpoint: endpoint_id(&input.endpoint_id)?,
            candidate: uuid_id(
                "input.candidateVersionId",
                &input.candidate_version_id,
                d::ModelVersionId::from_uuid,
            )?,
            artifact_digest: input.artifact_digest,
            mode: input.mode.into(),
            plan: plan_in(input.plan)?,
            reason: input.reason,
            idempotency_key: input.idempotency_key,
        };
        Ok(svc.request_promotion(p, req).await.map_err(gql)?.into())
    }

    /// Changes the candidate or the plan of one's request awaiting approval; the approvals
    /// given so far are cancelled.
    async fn update_promotion_request(
        &self,
        c: &Context<'_>,
        input: UpdatePromotionRequestInput,
    ) -> R<PromotionRequest> {
        let (svc, p) = ctx(c)?;
        let candidate = match (input.candidate_version_id, input.artifact_digest) {
            (Some(v), Some(digest)) => Some((
                uuid_id("input.candidateVersionId", &v, d::ModelVersionId::from_uuid)?,
                digest,
            )),
            (None, None) => None,
            _ => {
                return Err(invalid(
                    "input: a new candidate needs both candidateVersionId and artifactDigest",
                ));
            }
        };
        let plan = input.plan.map(|p| plan_in(Some(p))).transpose()?;
        let r = svc
            .change_promotion_request(
                p,
                request_id(&input.request_id)?,
                RequestChange { candidate, plan },
            )
            .await
            .map_err(gql)?;
        Ok(r.into())
    }

    /// Withdraws one's request awaiting approval.
    async fn withdraw_promotion_request(
        &self,
        c: &Context<'_>,
        input: RequestReasonInput,
    ) -> R<PromotionRequest> {
        let (svc, p) = ctx(c)?;
        let r = svc
            .withdraw_promotion_request(p, request_id(&input.request_id)?, input.reason)
            .await
            .map_err(gql)?;
        Ok(r.into())
    }

    /// Approves a request (counted for the role its policy names; never one's own).
    async fn approve_promotion(
        &self,
        c: &Context<'_>,
        input: RequestReasonInput,
    ) -> R<PromotionRequest> {
        answer(c, input, d::ApprovalVerdict::Approve).await
    }

    /// Rejects a request, with the reason.
    async fn reject_promotion(
        &self,
        c: &Context<'_>,
        input: RequestReasonInput,
    ) -> R<PromotionRequest> {
        answer(c, input, d::ApprovalVerdict::Reject).await
    }

    /// Skips a rollout's remaining steps: the candidate becomes the champion now (sre).
    async fn promote_rollout(
        &self,
        c: &Context<'_>,
        input: RequestReasonInput,
    ) -> R<PromotionRequest> {
        operate(
            c,
            &input.request_id,
            RolloutOp::Promote {
                reason: input.reason,
            },
        )
        .await
    }

    /// Stops a rollout at its step until resumed, or aborted when `until` passes (sre).
    async fn pause_rollout(
        &self,
        c: &Context<'_>,
        input: PauseRolloutInput,
    ) -> R<PromotionRequest> {
        let op = RolloutOp::Pause {
            reason: input.reason,
            until: input.until,
        };
        operate(c, &input.request_id, op).await
    }

    /// Resumes a paused rollout; its step bakes again from now (sre).
    async fn resume_rollout(
        &self,
        c: &Context<'_>,
        input: RequestReasonInput,
    ) -> R<PromotionRequest> {
        operate(
            c,
            &input.request_id,
            RolloutOp::Resume {
                reason: input.reason,
            },
        )
        .await
    }

    /// Aborts a rollout: the canary's traffic goes back to the champion (sre).
    async fn abort_rollout(
        &self,
        c: &Context<'_>,
        input: RequestReasonInput,
    ) -> R<PromotionRequest> {
        operate(
            c,
            &input.request_id,
            RolloutOp::Abort {
                reason: input.reason,
            },
        )
        .await
    }

    /// Removes an endpoint's shadow (sre).
    async fn stop_shadow(&self, c: &Context<'_>, input: StopShadowInput) -> R<DeploymentRevision> {
        let (svc, p) = ctx(c)?;
        let r = svc
            .stop_shadow(p, endpoint_id(&input.endpoint_id)?, input.reason)
            .await
            .map_err(gql)?;
        Ok(r.into())
    }

    /// Rolls an endpoint back in one step (sre): a new revision naming the version returned
    /// to, delivered to the endpoint's target; any canary in flight is aborted.
    async fn rollback(&self, c: &Context<'_>, input: RollbackInputGql) -> R<DeploymentRevision> {
        let (svc, p) = ctx(c)?;
        let incident = input
            .incident_id
            .map(|i| uuid_id("input.incidentId", &i, d::IncidentId::from_uuid))
            .transpose()?;
        let r = svc
            .rollback(
                p,
                RollbackInput {
                    endpoint: endpoint_id(&input.endpoint_id)?,
                    reason: input.reason,
                    incident,
                    to_revision: input.to_revision,
                    expected_revision: input.expected_revision,
                    idempotency_key: input.idempotency_key,
                },
            )
            .await
            .map_err(gql)?;
        Ok(r.into())
    }
}

async fn answer(
    c: &Context<'_>,
    input: RequestReasonInput,
    v: d::ApprovalVerdict,
) -> R<PromotionRequest> {
    let (svc, p) = ctx(c)?;
    let r = svc
        .answer_promotion(p, request_id(&input.request_id)?, v, input.reason)
        .await
        .map_err(gql)?;
    Ok(r.into())
}

async fn operate(c: &Context<'_>, id: &ID, op: RolloutOp) -> R<PromotionRequest> {
    let (svc, p) = ctx(c)?;
    let r = svc
        .operate_rollout(p, request_id(id)?, op)
        .await
        .map_err(gql)?;
    Ok(r.into())
}
