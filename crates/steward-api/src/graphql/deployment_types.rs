//! The GraphQL types of deployments: endpoints, revisions, rollbacks, promotion requests,
//! rollout plans and approvals, converted from the domain's.

use async_graphql::{ComplexObject, Context, ID, InputObject, Json, SimpleObject};
use chrono::{DateTime, Utc};
use steward_domain as d;

use super::monitoring::id_of;
use super::{ctx, parse_id};
use crate::error::{gql, invalid};

type R<T> = async_graphql::Result<T>;

mirror_enum!(
    /// What changed an endpoint's desired state.
    DeploymentChange, d::RevisionChange, { Created, CanaryStep, Promoted, Aborted, RolledBack, ShadowStarted, ShadowStopped });
mirror_enum!(
    /// Where a promotion request stands.
    PromotionStatus, d::RequestStatus, { AwaitingApproval, Denied, Rejected, Cancelled, Rolling, Paused, Promoted, Aborted });
mirror_enum!(
    /// What a promotion request asks for.
    PromotionMode, d::PromotionMode, { Champion, Shadow });
mirror_enum!(
    /// What a failed or inconclusive analysis between steps does.
    OnFailure, d::OnFailure, { Abort, Pause, Continue });
mirror_enum!(
    /// An approver's answer.
    ApprovalVerdict, d::ApprovalVerdict, { Approve, Reject });

pub(super) fn uuid_id<T>(field: &str, id: &ID, make: fn(uuid::Uuid) -> T) -> R<T> {
    Ok(make(parse_id(field, id)?))
}

/// A version an endpoint serves, with its share of traffic (canary) or of mirrored traffic
/// (shadow); 100 for the champion.
#[derive(SimpleObject, Clone)]
pub struct ServedVersion {
    pub version_id: ID,
    pub version: i64,
    pub percent: i32,
}

impl From<d::Served> for ServedVersion {
    fn from(s: d::Served) -> Self {
        ServedVersion {
            version_id: id_of(s.version_id),
            version: s.version,
            percent: i32::from(s.percent),
        }
    }
}

/// One revision of an endpoint: its desired state from `at` until the next revision.
#[derive(SimpleObject)]
pub struct DeploymentRevision {
    pub id: ID,
    pub endpoint_id: ID,
    pub number: i64,
    pub champion: ServedVersion,
    /// The share of traffic the champion answers (100 minus the canary's).
    pub champion_percent: i32,
    pub canary: Option<ServedVersion>,
    pub shadow: Option<ServedVersion>,
    pub change: DeploymentChange,
    pub actor: String,
    pub reason: String,
    pub request_id: Option<ID>,
    /// `policy-name@revision` in force when the change was decided.
    pub policy_revision: Option<String>,
    pub incident_id: Option<ID>,
    pub decision_record_id: Option<ID>,
    pub at: DateTime<Utc>,
}

impl From<d::DeploymentRevision> for DeploymentRevision {
    fn from(r: d::DeploymentRevision) -> Self {
        DeploymentRevision {
            id: id_of(r.id),
            endpoint_id: id_of(r.endpoint_id),
            number: r.number,
            champion_percent: i32::from(r.state.champion_percent()),
            champion: r.state.champion.into(),
            canary: r.state.canary.map(Into::into),
            shadow: r.state.shadow.map(Into::into),
            change: r.change.into(),
            actor: r.actor,
            reason: r.reason,
            request_id: r.request_id.map(id_of),
            policy_revision: r.policy_revision,
            incident_id: r.incident_id.map(id_of),
            decision_record_id: r.decision_record_id.map(id_of),
            at: r.at,
        }
    }
}

/// A serving endpoint of a model in one environment.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Endpoint {
    pub id: ID,
    pub model_id: ID,
    pub name: String,
    pub environment: String,
    /// The delivery target its changes go to (kserve or webhook); null: none.
    pub target: Option<String>,
    pub description: String,
    /// The model's alias that follows the champion.
    pub champion_alias: Option<String>,
    /// Its latest revision's number: the `expectedRevision` of a change.
    pub revision: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub domain_id: d::EndpointId,
}

impl From<d::Endpoint> for Endpoint {
    fn from(e: d::Endpoint) -> Self {
        Endpoint {
            id: id_of(e.id),
            model_id: id_of(e.model_id),
            name: e.name,
            environment: e.environment,
            target: e.target,
            description: e.description,
            champion_alias: e.champion_alias,
            revision: e.revision,
            created_by: e.created_by,
            created_at: e.created_at,
            updated_at: e.updated_at,
            domain_id: e.id,
        }
    }
}

#[ComplexObject]
impl Endpoint {
    /// The desired state now.
    async fn current(&self, c: &Context<'_>) -> R<Option<DeploymentRevision>> {
        let (svc, p) = ctx(c)?;
        let r = svc
            .served_at(p, self.domain_id, svc.now())
            .await
            .map_err(gql)?;
        Ok(r.map(Into::into))
    }
}

/// A rollback as its history lists it.
#[derive(SimpleObject)]
pub struct Rollback {
    pub revision: DeploymentRevision,
    pub from_champion: ServedVersion,
    pub from_canary: Option<ServedVersion>,
    pub to_champion: ServedVersion,
    /// When the serving target confirmed it; null while pending or without a target.
    pub effective_at: Option<DateTime<Utc>>,
    /// Seconds from the rollback to the target's confirmation.
    pub seconds_to_effect: Option<f64>,
}

/// A step of a rollout plan.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "RolloutStepInput")]
pub struct RolloutStep {
    /// The canary's share of traffic, 1 to 99.
    pub percent: i32,
    pub bake_minutes: i32,
    pub on_failure: OnFailure,
    pub on_inconclusive: OnFailure,
}

/// How a request rolls out: canary steps, or (for a shadow) the share mirrored.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "RolloutPlanInput")]
pub struct RolloutPlan {
    #[graphql(default)]
    pub steps: Vec<RolloutStep>,
    #[graphql(default)]
    pub mirror_percent: i32,
}

pub(super) fn plan_in(p: Option<RolloutPlan>) -> R<d::RolloutPlan> {
    let Some(p) = p else {
        return Ok(d::RolloutPlan::default());
    };
    let pct = |v: i32, f: &str| {
        u8::try_from(v).map_err(|_| invalid(format!("{f}: {v} is not a percent (0 to 100)")))
    };
    let mut steps = Vec::with_capacity(p.steps.len());
    for (i, s) in p.steps.into_iter().enumerate() {
        steps.push(d::RolloutStep {
            percent: pct(s.percent, &format!("input.plan.steps[{i}].percent"))?,
            bake_minutes: u32::try_from(s.bake_minutes).map_err(|_| {
                invalid(format!(
                    "input.plan.steps[{i}].bakeMinutes: must not be negative"
                ))
            })?,
            on_failure: s.on_failure.into(),
            on_inconclusive: s.on_inconclusive.into(),
        });
    }
    Ok(d::RolloutPlan {
        steps,
        mirror_percent: pct(p.mirror_percent, "input.plan.mirrorPercent")?,
    })
}

fn plan_out(p: &d::RolloutPlan) -> RolloutPlan {
    RolloutPlan {
        steps: p
            .steps
            .iter()
            .map(|s| RolloutStep {
                percent: i32::from(s.percent),
                bake_minutes: i32::try_from(s.bake_minutes).unwrap_or(i32::MAX),
                on_failure: s.on_failure.into(),
                on_inconclusive: s.on_inconclusive.into(),
            })
            .collect(),
        mirror_percent: i32::from(p.mirror_percent),
    }
}

/// A request to promote a version on an endpoint.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct PromotionRequest {
    pub id: ID,
    pub endpoint_id: ID,
    pub candidate_version_id: ID,
    pub candidate_version: i64,
    pub candidate_digest: String,
    pub mode: PromotionMode,
    pub plan: RolloutPlan,
    pub requester: String,
    pub reason: String,
    pub status: PromotionStatus,
    /// The policy's latest answer and its source (`policy` with `policy-name@revision`, or
    /// `risk_tier_default`).
    pub verdict: Json<serde_json::Value>,
    pub decision_record_id: Option<ID>,
    pub policy_revision: Option<String>,
    /// The rollout step under way, 0-based; -1 before the first.
    pub step: i64,
    pub step_started_at: Option<DateTime<Utc>>,
    pub paused_by: Option<String>,
    pub pause_reason: Option<String>,
    pub pause_until: Option<DateTime<Utc>>,
    pub base_revision: i64,
    pub outcome: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    #[graphql(skip)]
    pub domain_id: d::PromotionRequestId,
}

impl From<d::PromotionRequest> for PromotionRequest {
    fn from(r: d::PromotionRequest) -> Self {
        PromotionRequest {
            id: id_of(r.id),
            endpoint_id: id_of(r.endpoint_id),
            candidate_version_id: id_of(r.candidate_version_id),
            candidate_version: r.candidate_version,
            candidate_digest: r.candidate_digest,
            mode: r.mode.into(),
            plan: plan_out(&r.plan),
            requester: r.requester,
            reason: r.reason,
            status: r.status.into(),
            verdict: Json(r.verdict),
            decision_record_id: r.decision_record_id.map(id_of),
            policy_revision: r.policy_revision,
            step: r.step,
            step_started_at: r.step_started_at,
            paused_by: r.paused_by,
            pause_reason: r.pause_reason,
            pause_until: r.pause_until,
            base_revision: r.base_revision,
            outcome: r.outcome,
            created_at: r.created_at,
            updated_at: r.updated_at,
            finished_at: r.finished_at,
            domain_id: r.id,
        }
    }
}

/// An approval or rejection of a promotion request.
#[derive(SimpleObject)]
pub struct Approval {
    pub id: ID,
    pub approver: String,
    /// The role it counts for.
    pub role: String,
    pub verdict: ApprovalVerdict,
    pub reason: String,
    pub at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
    /// Counts now: an approval neither cancelled nor expired.
    pub counts: bool,
}

#[ComplexObject]
impl PromotionRequest {
    /// Its approvals and rejections, oldest first (cancelled and expired ones too).
    async fn approvals(&self, c: &Context<'_>) -> R<Vec<Approval>> {
        let (svc, p) = ctx(c)?;
        let now = svc.now();
        let list = svc
            .promotion_approvals(p, self.domain_id)
            .await
            .map_err(gql)?;
        Ok(list
            .into_iter()
            .map(|a| Approval {
                counts: a.counts_at(now),
                id: id_of(a.id),
                approver: a.approver,
                role: a.role,
                verdict: a.verdict.into(),
                reason: a.reason,
                at: a.at,
                expires_at: a.expires_at,
                cancelled_at: a.cancelled_at,
                cancel_reason: a.cancel_reason,
            })
            .collect())
    }
}

/// One metric of the champion and the shadow on the labelled requests both answered.
#[derive(SimpleObject)]
pub struct MetricDelta {
    pub metric: String,
    pub champion: f64,
    pub champion_lower: f64,
    pub champion_upper: f64,
    pub shadow: f64,
    pub shadow_lower: f64,
    pub shadow_upper: f64,
    /// Shadow minus champion.
    pub delta: f64,
    pub labelled_rows: u64,
}

/// How an endpoint's shadow compares with its champion on the requests both answered.
#[derive(SimpleObject)]
pub struct ShadowComparison {
    pub champion: ServedVersion,
    pub shadow: ServedVersion,
    /// When the shadow started.
    pub since: DateTime<Utc>,
    /// Requests both answered, paired by prediction id.
    pub pairs: u64,
    /// Share of pairs with the same predicted label (scores: the same side of 0.5).
    pub agreement: Option<f64>,
    pub mean_abs_score_diff: Option<f64>,
    /// Pairs whose champion prediction has a label.
    pub labelled: u64,
    pub metrics: Vec<MetricDelta>,
}

impl From<steward_service::ShadowComparison> for ShadowComparison {
    fn from(c: steward_service::ShadowComparison) -> Self {
        ShadowComparison {
            champion: c.champion.into(),
            shadow: c.shadow.into(),
            since: c.since,
            pairs: c.pairs,
            agreement: c.agreement,
            mean_abs_score_diff: c.mean_abs_score_diff,
            labelled: c.labelled,
            metrics: c
                .metrics
                .into_iter()
                .map(|m| MetricDelta {
                    metric: m.metric,
                    champion: m.champion.0,
                    champion_lower: m.champion.1,
                    champion_upper: m.champion.2,
                    shadow: m.shadow.0,
                    shadow_lower: m.shadow.1,
                    shadow_upper: m.shadow.2,
                    delta: m.delta,
                    labelled_rows: m.n,
                })
                .collect(),
        }
    }
}
