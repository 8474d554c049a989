//! GraphQL inputs of the policy mutations, converted explicitly to the service's types.

use async_graphql::{ID, InputObject, Json};
use steward_domain as d;

use super::parse_id;
use super::policy::{PolicyHook, policy_id};
use super::types::RiskTier;
use crate::error::invalid;

type R<T> = async_graphql::Result<T>;

#[derive(InputObject)]
pub struct CreatePolicyInput {
    pub name: String,
    #[graphql(default)]
    pub description: String,
}

#[derive(InputObject)]
pub struct ProposePolicyRevisionInput {
    pub policy_id: ID,
    /// The rhai source; compiled and linted before it is stored.
    pub source: String,
    /// What changed and why.
    #[graphql(default)]
    pub note: String,
}

#[derive(InputObject)]
pub struct PublishPolicyRevisionInput {
    pub policy_id: ID,
    /// The revision to make active; an earlier number rolls the policy back.
    pub number: i64,
}

#[derive(InputObject)]
pub struct SelectorInput {
    #[graphql(default)]
    pub tags: Vec<String>,
    pub risk_tier: Option<RiskTier>,
    pub name_pattern: Option<String>,
}

/// Exactly one of `modelId`, `selector`, `tenantDefault: true`.
#[derive(InputObject)]
pub struct BindPolicyInput {
    pub policy_id: ID,
    pub model_id: Option<ID>,
    pub selector: Option<SelectorInput>,
    #[graphql(default)]
    pub tenant_default: bool,
}

impl BindPolicyInput {
    pub(super) fn into_domain(self) -> R<d::NewPolicyBinding> {
        let policy_id = policy_id("input.policyId", &self.policy_id)?;
        let target = match (self.model_id, self.selector, self.tenant_default) {
            (Some(m), None, false) => {
                d::BindingTarget::Model(d::ModelId::from_uuid(parse_id("input.modelId", &m)?))
            }
            (None, Some(s), false) => d::BindingTarget::Selector {
                tags: s.tags,
                risk_tier: s.risk_tier.map(Into::into),
                name_pattern: s.name_pattern,
            },
            (None, None, true) => d::BindingTarget::TenantDefault,
            _ => {
                return Err(invalid(
                    "input: give exactly one of modelId, selector, tenantDefault: true",
                ));
            }
        };
        Ok(d::NewPolicyBinding { policy_id, target })
    }
}

#[derive(InputObject)]
pub struct UnbindPolicyInput {
    pub binding_id: ID,
}

#[derive(InputObject)]
pub struct EvaluatePolicyInput {
    /// The version being monitored (on_window) or asking for promotion (on_promotion).
    pub model_version_id: ID,
    pub hook: PolicyHook,
    /// The hook's context without `model` (Steward fills it in from the registry), as described
    /// in docs/policy-guide.md.
    pub context: Json<serde_json::Value>,
}
