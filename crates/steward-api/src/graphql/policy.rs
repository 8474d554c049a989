//! Policies over GraphQL: policies and their revisions, bindings, resolution, evaluations and
//! decision records. Types, inputs, queries and mutations of the feature live together here.

use async_graphql::{ComplexObject, Context, Enum, ID, Json, Object, SimpleObject};
use chrono::{DateTime, Utc};
use steward_domain as d;
use steward_service::EvaluatePolicy;

use super::policy_inputs::*;
use super::types::{Connection, RiskTier};
use super::{ctx, page, parse_id};
use crate::error::gql;

type R<T> = async_graphql::Result<T>;

mirror_enum!(RevisionStatus, d::RevisionStatus, {
    /// Proposed, never published.
    Draft,
    /// The revision evaluations use.
    Active,
    /// Published once, replaced since.
    Superseded,
});

mirror_enum!(PolicyHook, d::PolicyHook, { OnWindow, OnPromotion });

#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum BindingKind {
    Model,
    Selector,
    TenantDefault,
}

pub(super) fn policy_id(field: &str, id: &ID) -> R<d::PolicyId> {
    parse_id(field, id).map(d::PolicyId::from_uuid)
}

#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Policy {
    pub id: ID,
    pub name: String,
    pub description: String,
    /// The number of the published revision evaluations use; null until one is published.
    pub active_revision_number: Option<i64>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    domain_id: d::PolicyId,
}

impl From<d::Policy> for Policy {
    fn from(p: d::Policy) -> Self {
        Policy {
            id: ID(p.id.to_string()),
            name: p.name,
            description: p.description,
            active_revision_number: p.active_revision,
            created_by: p.created_by,
            created_at: p.created_at,
            domain_id: p.id,
        }
    }
}

#[ComplexObject]
impl Policy {
    /// The published revision, if any.
    async fn active_revision(&self, c: &Context<'_>) -> R<Option<PolicyRevision>> {
        let Some(n) = self.active_revision_number else {
            return Ok(None);
        };
        let (svc, p) = ctx(c)?;
        svc.policy_revision(p, self.domain_id, n)
            .await
            .map(|r| Some(r.into()))
            .map_err(gql)
    }

    /// One revision by number.
    async fn revision(&self, c: &Context<'_>, number: i64) -> R<PolicyRevision> {
        let (svc, p) = ctx(c)?;
        svc.policy_revision(p, self.domain_id, number)
            .await
            .map(Into::into)
            .map_err(gql)
    }

    /// Revisions, newest first.
    #[graphql(
        complexity = "first.unwrap_or(super::DEFAULT_PAGE).max(0) as usize * child_complexity"
    )]
    async fn revisions(
        &self,
        c: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> R<Connection<PolicyRevision>> {
        let (svc, p) = ctx(c)?;
        let page = svc
            .policy_revisions(p, self.domain_id, page(first, after)?)
            .await
            .map_err(gql)?;
        Ok(Connection::from_page(page, PolicyRevision::from))
    }

    /// The live bindings of this policy.
    #[graphql(complexity = "10 * child_complexity")]
    async fn bindings(&self, c: &Context<'_>) -> R<Vec<PolicyBinding>> {
        let (svc, p) = ctx(c)?;
        let b = svc
            .policy_bindings(p, Some(self.domain_id))
            .await
            .map_err(gql)?;
        Ok(b.into_iter().map(Into::into).collect())
    }
}

/// One immutable revision of a policy.
#[derive(SimpleObject)]
pub struct PolicyRevision {
    pub policy_id: ID,
    pub number: i64,
    /// SHA-256 of the source, hex; decision records name it.
    pub hash: String,
    pub source: String,
    pub note: String,
    pub status: RevisionStatus,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Who last made this revision the active one.
    pub published_by: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
}

impl From<d::PolicyRevision> for PolicyRevision {
    fn from(r: d::PolicyRevision) -> Self {
        PolicyRevision {
            policy_id: ID(r.policy_id.to_string()),
            number: r.number,
            hash: r.hash,
            source: r.source,
            note: r.note,
            status: r.status.into(),
            created_by: r.created_by,
            created_at: r.created_at,
            published_by: r.published_by,
            published_at: r.published_at,
        }
    }
}

#[derive(SimpleObject)]
pub struct ProposedPolicyRevision {
    pub revision: PolicyRevision,
    /// Linter warnings, `policy:line:col: warning[code]: message`.
    pub warnings: Vec<String>,
    /// False when the policy already had this exact source; that revision is returned.
    pub created: bool,
}

#[derive(SimpleObject)]
pub struct PolicyBinding {
    pub id: ID,
    pub policy_id: ID,
    pub kind: BindingKind,
    /// For a model binding.
    pub model_id: Option<ID>,
    /// For a selector: the model carries all these tags.
    pub tags: Vec<String>,
    pub risk_tier: Option<RiskTier>,
    /// For a selector: a shell-style pattern on the model name (`*`, `?`).
    pub name_pattern: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub removed_by: Option<String>,
    pub removed_at: Option<DateTime<Utc>>,
}

impl From<d::PolicyBinding> for PolicyBinding {
    fn from(b: d::PolicyBinding) -> Self {
        let (kind, model_id, tags, risk_tier, name_pattern) = match b.target {
            d::BindingTarget::Model(m) => (
                BindingKind::Model,
                Some(ID(m.to_string())),
                vec![],
                None,
                None,
            ),
            d::BindingTarget::Selector {
                tags,
                risk_tier,
                name_pattern,
            } => (
                BindingKind::Selector,
                None,
                tags,
                risk_tier.map(Into::into),
                name_pattern,
            ),
            d::BindingTarget::TenantDefault => {
                (BindingKind::TenantDefault, None, vec![], None, None)
            }
        };
        PolicyBinding {
            id: ID(b.id.to_string()),
            policy_id: ID(b.policy_id.to_string()),
            kind,
            model_id,
            tags,
            risk_tier,
            name_pattern,
            created_by: b.created_by,
            created_at: b.created_at,
            removed_by: b.removed_by,
            removed_at: b.removed_at,
        }
    }
}

/// Which binding governs a model, and why it won.
#[derive(SimpleObject)]
pub struct PolicyResolution {
    pub binding: PolicyBinding,
    /// e.g. "binding 0191... (selector with 2 criteria)", with ties named.
    pub explanation: String,
}

/// One stored evaluation.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct DecisionRecord {
    pub id: ID,
    pub policy_id: ID,
    pub revision_number: i64,
    pub revision_hash: String,
    pub binding_id: ID,
    /// Why that binding applied.
    pub resolution: String,
    pub model_id: ID,
    pub model_version_id: ID,
    pub hook: PolicyHook,
    /// SHA-256 of the canonical JSON of the input context.
    pub input_hash: String,
    /// `{"outcome": "decisions", "decisions": [...]}`, `{"outcome": "verdict", "verdict": ...}`
    /// or `{"outcome": "failed", "error": ...}`.
    pub outcome: Json<serde_json::Value>,
    /// What the script printed.
    pub log: Vec<String>,
    pub duration_us: i64,
    /// The limit that stopped the script (`wall_clock`, `operations`, ...), if one did.
    pub limit_hit: Option<String>,
    pub evaluated_by: String,
    pub created_at: DateTime<Utc>,
    #[graphql(skip)]
    domain: d::DecisionRecord,
}

impl From<d::DecisionRecord> for DecisionRecord {
    fn from(r: d::DecisionRecord) -> Self {
        DecisionRecord {
            id: ID(r.id.to_string()),
            policy_id: ID(r.policy_id.to_string()),
            revision_number: r.revision_number,
            revision_hash: r.revision_hash.clone(),
            binding_id: ID(r.binding_id.to_string()),
            resolution: r.resolution.clone(),
            model_id: ID(r.model_id.to_string()),
            model_version_id: ID(r.model_version_id.to_string()),
            hook: r.hook.into(),
            input_hash: r.input_hash.clone(),
            outcome: Json(r.outcome.clone()),
            log: r.log.clone(),
            duration_us: r.duration_us,
            limit_hit: r.limit_hit.clone(),
            evaluated_by: r.evaluated_by.clone(),
            created_at: r.created_at,
            domain: r,
        }
    }
}

#[ComplexObject]
impl DecisionRecord {
    /// The input context exactly as evaluated (model filled in by Steward), from its stored copy.
    async fn input(&self, c: &Context<'_>) -> R<Json<serde_json::Value>> {
        let (svc, p) = ctx(c)?;
        svc.decision_input(p, &self.domain)
            .await
            .map(Json)
            .map_err(gql)
    }
}

/// Reads of policies and decision records.
#[derive(Default)]
pub struct PolicyQuery;

#[Object]
impl PolicyQuery {
    /// Policies of your tenant in name order.
    #[graphql(
        complexity = "first.unwrap_or(super::DEFAULT_PAGE).max(0) as usize * child_complexity"
    )]
    async fn policies(
        &self,
        c: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> R<Connection<Policy>> {
        let (svc, p) = ctx(c)?;
        let page = svc.policies(p, page(first, after)?).await.map_err(gql)?;
        Ok(Connection::from_page(page, Policy::from))
    }

    async fn policy(&self, c: &Context<'_>, id: ID) -> R<Policy> {
        let (svc, p) = ctx(c)?;
        svc.policy(p, policy_id("id", &id)?)
            .await
            .map(Into::into)
            .map_err(gql)
    }

    async fn policy_by_name(&self, c: &Context<'_>, name: String) -> R<Policy> {
        let (svc, p) = ctx(c)?;
        svc.policy_by_name(p, &name)
            .await
            .map(Into::into)
            .map_err(gql)
    }

    async fn policy_binding(&self, c: &Context<'_>, id: ID) -> R<PolicyBinding> {
        let (svc, p) = ctx(c)?;
        let id = d::PolicyBindingId::from_uuid(parse_id("id", &id)?);
        svc.policy_binding(p, id).await.map(Into::into).map_err(gql)
    }

    /// The live bindings of your tenant, oldest first.
    #[graphql(complexity = "10 * child_complexity")]
    async fn policy_bindings(&self, c: &Context<'_>) -> R<Vec<PolicyBinding>> {
        let (svc, p) = ctx(c)?;
        let b = svc.policy_bindings(p, None).await.map_err(gql)?;
        Ok(b.into_iter().map(Into::into).collect())
    }

    /// Which binding governs a model now (most specific wins), or null when none does.
    async fn policy_resolution(
        &self,
        c: &Context<'_>,
        model_id: ID,
    ) -> R<Option<PolicyResolution>> {
        let (svc, p) = ctx(c)?;
        let id = d::ModelId::from_uuid(parse_id("modelId", &model_id)?);
        let r = svc.policy_resolution(p, id).await.map_err(gql)?;
        Ok(r.map(|r| PolicyResolution {
            binding: r.binding.into(),
            explanation: r.explanation,
        }))
    }

    /// Decision records, newest first, optionally of one policy, model or hook.
    #[graphql(
        complexity = "first.unwrap_or(super::DEFAULT_PAGE).max(0) as usize * child_complexity"
    )]
    async fn decision_records(
        &self,
        c: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        policy_id: Option<ID>,
        model_id: Option<ID>,
        hook: Option<PolicyHook>,
    ) -> R<Connection<DecisionRecord>> {
        let (svc, p) = ctx(c)?;
        let filter = d::DecisionRecordFilter {
            policy_id: policy_id
                .as_ref()
                .map(|id| self::policy_id("policyId", id))
                .transpose()?,
            model_id: model_id
                .as_ref()
                .map(|id| parse_id("modelId", id).map(d::ModelId::from_uuid))
                .transpose()?,
            hook: hook.map(Into::into),
        };
        let page = svc
            .decision_records(p, filter, page(first, after)?)
            .await
            .map_err(gql)?;
        Ok(Connection::from_page(page, DecisionRecord::from))
    }

    async fn decision_record(&self, c: &Context<'_>, id: ID) -> R<DecisionRecord> {
        let (svc, p) = ctx(c)?;
        let id = d::DecisionRecordId::from_uuid(parse_id("id", &id)?);
        svc.decision_record(p, id)
            .await
            .map(Into::into)
            .map_err(gql)
    }
}

/// Changes to policies, and evaluations.
#[derive(Default)]
pub struct PolicyMutation;

#[Object]
impl PolicyMutation {
    async fn create_policy(&self, c: &Context<'_>, input: CreatePolicyInput) -> R<Policy> {
        let (svc, p) = ctx(c)?;
        let input = d::NewPolicy {
            name: input.name,
            description: input.description,
        };
        svc.create_policy(p, input)
            .await
            .map(Into::into)
            .map_err(gql)
    }

    /// Compiles and lints a source and stores it as a draft revision (errors refuse it, with
    /// line and column).
    async fn propose_policy_revision(
        &self,
        c: &Context<'_>,
        input: ProposePolicyRevisionInput,
    ) -> R<ProposedPolicyRevision> {
        let (svc, p) = ctx(c)?;
        let input = d::NewPolicyRevision {
            policy_id: policy_id("input.policyId", &input.policy_id)?,
            source: input.source,
            note: input.note,
        };
        let r = svc.propose_policy_revision(p, input).await.map_err(gql)?;
        Ok(ProposedPolicyRevision {
            revision: r.revision.into(),
            warnings: r.warnings,
            created: r.created,
        })
    }

    /// Makes a revision the active one (publishing, or rolling back to an earlier one).
    async fn publish_policy_revision(
        &self,
        c: &Context<'_>,
        input: PublishPolicyRevisionInput,
    ) -> R<PolicyRevision> {
        let (svc, p) = ctx(c)?;
        let id = policy_id("input.policyId", &input.policy_id)?;
        svc.publish_policy_revision(p, id, input.number)
            .await
            .map(Into::into)
            .map_err(gql)
    }

    async fn bind_policy(&self, c: &Context<'_>, input: BindPolicyInput) -> R<PolicyBinding> {
        let (svc, p) = ctx(c)?;
        svc.bind_policy(p, input.into_domain()?)
            .await
            .map(Into::into)
            .map_err(gql)
    }

    async fn unbind_policy(&self, c: &Context<'_>, input: UnbindPolicyInput) -> R<PolicyBinding> {
        let (svc, p) = ctx(c)?;
        let id = d::PolicyBindingId::from_uuid(parse_id("input.bindingId", &input.binding_id)?);
        svc.unbind_policy(p, id).await.map(Into::into).map_err(gql)
    }

    /// Evaluates the policy that governs the version's model and stores the decision record.
    async fn evaluate_policy(
        &self,
        c: &Context<'_>,
        input: EvaluatePolicyInput,
    ) -> R<DecisionRecord> {
        let (svc, p) = ctx(c)?;
        let input = EvaluatePolicy {
            model_version_id: d::ModelVersionId::from_uuid(parse_id(
                "input.modelVersionId",
                &input.model_version_id,
            )?),
            hook: input.hook.into(),
            context: input.context.0,
        };
        svc.evaluate_policy(p, input)
            .await
            .map(Into::into)
            .map_err(gql)
    }
}
