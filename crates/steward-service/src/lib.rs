//! Steward's use cases: authentication, authorization, the registry with its lineage, the audit
//! log, and policies (revisions, bindings, evaluations with their decision records).
//!
//! Every public method takes the caller's [`Principal`], checks the permission matrix next to
//! the action, derives the [`TenantScope`](steward_domain::TenantScope) from the principal (never
//! from input), and runs each mutation in one store transaction. Nothing here knows HTTP or
//! GraphQL; the API maps [`ServiceError`] once at the edge.

pub mod audit;
pub mod auth;
mod compliance;
mod deployments;
mod error;
mod fleet_metrics;
mod holds;
mod lifecycle;
pub mod metrics;
pub mod monitoring;
mod mutation;
mod openlineage;
pub mod outbox;
mod policy;
pub mod propagation;
mod registry;
mod retraining;
mod tags;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod web;

pub use auth::{AuthConfig, Authenticator, Claims, KeySource};
pub use deployments::{
    Analysis, AnalysisVerdict, DeploymentSettings, MetricDelta, PromotionInput, RequestChange,
    RollbackInput, RolloutOp, ShadowComparison, analyse, state_json,
};
pub use error::{ServiceError, ServiceResult};
pub use openlineage::LineageIngested;
pub use outbox::{OutboxSettings, RelayPass};
pub use policy::{
    EvaluatePolicy, MAX_REPLAY_WINDOWS, PolicyReplay, PolicySettings, ProposedRevision,
    ReplayedWindow,
};
pub use registry::{MAX_PAGE_SIZE, RegisterModelVersion};
pub use retraining::BudgetInput;
pub use steward_store::AuditFilter;
/// Which tenant's rows a task may touch (row-level security on PostgreSQL).
pub use steward_store::tenancy;

use steward_audit::Outcome;
use steward_domain::{Operation, Principal, TenantScope};
use steward_store::Store;

use crate::audit::{AuditKeys, Record};
pub(crate) use crate::mutation::Writes;

/// The service facade the API and the binary hold. Cheap to clone.
#[derive(Clone)]
pub struct Service {
    store: Store,
    auth: Authenticator,
    audit: std::sync::Arc<AuditKeys>,
    policy: std::sync::Arc<policy::PolicyRuntime>,
    /// Per tenant, a counter bumped after every committed write (see [`Service::data_generation`]).
    denials: std::sync::Arc<audit::DenialLimiter>,
    monitoring: std::sync::Arc<monitoring::Monitoring>,
    outbox: std::sync::Arc<outbox::Outbox>,
    deployments: std::sync::Arc<DeploymentSettings>,
    metrics: std::sync::Arc<metrics::Metrics>,
}

impl Service {
    pub fn new(store: Store, auth: AuthConfig, audit: AuditKeys) -> Self {
        let auth = Authenticator::new(auth, store.clone());
        Self {
            store,
            auth,
            audit: std::sync::Arc::new(audit),
            policy: std::sync::Arc::new(policy::PolicyRuntime::new(PolicySettings::default())),
            denials: Default::default(),
            monitoring: std::sync::Arc::new(monitoring::Monitoring::new(
                std::sync::Arc::new(monitoring::SystemClock),
                monitoring::MonitoringSettings::default(),
            )),
            outbox: std::sync::Arc::new(outbox::Outbox::new(outbox::OutboxSettings::default())),
            deployments: Default::default(),
            metrics: Default::default(),
        }
    }

    /// This process's metrics, for the API to record requests in.
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.metrics
    }

    /// The Prometheus exposition: this process's counters and the fleet's state read now, at
    /// most `max_models` models with series of their own. Takes no principal: it spans every
    /// tenant, and the caller (the API's `/metrics`, behind its own token or listener) decides
    /// who may scrape.
    pub async fn render_metrics(&self, max_models: usize) -> ServiceResult<String> {
        let now = self.now();
        // The scrape reads every tenant's models: the system's view, for the operators.
        let snapshot =
            tenancy::within(tenancy::Tenancy::System, self.store.fleet_snapshot(now)).await?;
        self.metrics
            .render(snapshot, self.store.pool_state(), now, max_models)
            .map_err(|e| ServiceError::Internal(format!("encoding metrics: {e}")))
    }

    /// Replaces the policy evaluation settings (limits, concurrency).
    pub fn with_policy_settings(mut self, settings: PolicySettings) -> Self {
        self.policy = std::sync::Arc::new(policy::PolicyRuntime::new(settings));
        self
    }

    /// The version of `tenant`'s data as the database holds it: the size of its audit log,
    /// which every write moves inside its own transaction (every mutation, allowed, denied or
    /// failed, appends one event). Read caches key on it, so an answer computed at version `v`
    /// is never served after a write has committed, whichever process or replica wrote. One
    /// primary-key read.
    ///
    /// A future write that is not audited one event at a time (an ingested batch) must move
    /// this version in its transaction too.
    pub async fn data_version(&self, tenant: steward_domain::TenantId) -> ServiceResult<u64> {
        Ok(self.store.audit_size(tenant).await?)
    }

    /// Policy evaluations (and compilations) running right now, in either lane. An operational
    /// figure, and what tests wait on instead of sleeping.
    pub fn policy_evaluations_in_flight(&self) -> usize {
        self.policy.in_flight()
    }

    pub fn authenticator(&self) -> &Authenticator {
        &self.auth
    }

    /// Whether a tenant with this slug exists (start-up and the demo seeder ask).
    pub async fn tenant_exists(&self, slug: &str) -> ServiceResult<bool> {
        Ok(self.store.tenant_by_slug(slug).await?.is_some())
    }

    /// The tenant with this slug (start-up and the demo seeder ask; not tenant data).
    pub async fn tenant_by_slug(
        &self,
        slug: &str,
    ) -> ServiceResult<Option<steward_domain::Tenant>> {
        Ok(self.store.tenant_by_slug(slug).await?)
    }

    /// Readiness: the database answers and no migration is pending.
    pub async fn ready(&self) -> ServiceResult<()> {
        self.store.ping().await?;
        let pending = self.store.pending_migrations().await?;
        if pending.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::Unavailable(format!(
                "migrations pending: {}",
                pending.join(", ")
            )))
        }
    }
}

impl Service {
    /// Records a denied attempt, coalescing a principal's repeated denials (at most
    /// [`audit::MAX_DENIALS_PER_WINDOW`] events a minute per operation; the next recorded one
    /// carries how many were not).
    pub(crate) async fn record_denial(
        &self,
        principal: &Principal,
        op: Operation,
        mut record: Record,
    ) {
        if let Some(tenant) = principal.tenant_id() {
            match self.denials.admit(tenant, principal.subject(), op) {
                None => {
                    self.metrics.mutation(op.as_str(), "denied");
                    return;
                }
                Some(0) => {}
                Some(n) => record.payload["suppressedSinceLast"] = serde_json::json!(n),
            }
        }
        self.record_attempt(principal, op, Outcome::Denied, record)
            .await;
    }
}

/// Checks the permission matrix for `op`.
pub(crate) fn authorize(principal: &Principal, op: Operation) -> ServiceResult<()> {
    if principal.may(op) {
        return Ok(());
    }
    tracing::info!(sub = principal.subject(), tenant = principal.tenant_slug(), operation = %op, "denied");
    Err(forbidden(principal, op, None))
}

/// The refusal of `op` for `principal`, naming its roles and, when one decided, the rule.
fn forbidden(principal: &Principal, op: Operation, rule: Option<&'static str>) -> ServiceError {
    let roles = principal
        .roles()
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    ServiceError::Forbidden {
        roles,
        operation: op,
        rule,
    }
}

/// Checks a rule on the resource itself ([`steward_domain::allows_on`]), once the resource is
/// loaded inside the mutation; a refusal is audited as a denial by the mutation path.
pub(crate) fn authorize_on(
    principal: &Principal,
    op: Operation,
    resource: &steward_domain::Resource,
) -> ServiceResult<()> {
    if principal.may_on(op, resource) {
        return Ok(());
    }
    authorize(principal, op)?;
    tracing::info!(sub = principal.subject(), tenant = principal.tenant_slug(), operation = %op, ?resource, "denied on the resource");
    Err(forbidden(principal, op, Some(resource_rule(op, resource))))
}

/// The rule that refused `op` on `resource`, for people.
fn resource_rule(op: Operation, resource: &steward_domain::Resource) -> &'static str {
    match (op, resource) {
        (Operation::UpdateModel, steward_domain::Resource::Model { .. }) => {
            "only a governance officer changes a model's risk tier"
        }
        (
            Operation::ApprovePromotion,
            steward_domain::Resource::PromotionRequest { own: true, .. },
        ) => "nobody approves or rejects a promotion they requested (four eyes)",
        (Operation::SetAlias, steward_domain::Resource::Alias { .. }) => {
            "an endpoint serves this alias as its champion: it moves only through a promotion request"
        }
        (Operation::SetAlias, steward_domain::Resource::Stage { .. }) => {
            "an endpoint serves this model: what it serves in production moves only through a promotion request, not through stages"
        }
        (Operation::RequestPromotion, steward_domain::Resource::PromotionRequest { .. }) => {
            "only its requester changes or withdraws a promotion request"
        }
        (Operation::ApprovePromotion, steward_domain::Resource::PromotionRequest { .. }) => {
            "the policy asks for another role's approval of this request (see its verdict)"
        }
        _ => "a rule on the resource forbids it",
    }
}

/// The caller's tenant scope, after checking `op` is allowed (for reads: denied reads are not
/// audited, only logged).
pub(crate) fn scope_for(principal: &Principal, op: Operation) -> ServiceResult<TenantScope> {
    authorize(principal, op)?;
    principal.scope().ok_or(ServiceError::NotFound("tenant"))
}
