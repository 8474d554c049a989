//! Who is asking and what they may do: roles, operations, the permission matrix, principals and
//! the tenant scope capability.
//!
//! The matrix lives here, in one function, so that docs/permissions.md, the service layer and the
//! cell-by-cell test all read the same table.

use std::fmt;
use std::str::FromStr;

use crate::ids::TenantId;
use crate::registry::RiskTier;

/// A role carried in a token's `roles` claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Viewer,
    ModelOwner,
    PolicyAuthor,
    Sre,
    GovernanceOfficer,
    Service,
    PlatformAdmin,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Viewer,
        Role::ModelOwner,
        Role::PolicyAuthor,
        Role::Sre,
        Role::GovernanceOfficer,
        Role::Service,
        Role::PlatformAdmin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::ModelOwner => "model_owner",
            Role::PolicyAuthor => "policy_author",
            Role::Sre => "sre",
            Role::GovernanceOfficer => "governance_officer",
            Role::Service => "service",
            Role::PlatformAdmin => "platform_admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The role name is not one of the seven Steward knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role `{0}` (expected one of viewer, model_owner, policy_author, sre, governance_officer, service, platform_admin)"
)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// Everything a principal can ask Steward to do. Each GraphQL field maps to exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// Read models, versions, datasets, training runs and lineage of one's own tenant.
    ReadRegistry,
    RegisterModel,
    UpdateModel,
    RegisterModelVersion,
    RegisterDataset,
    RegisterDatasetVersion,
    RecordTrainingRun,
    /// Create a new tenant (platform-wide, not scoped to the caller's tenant).
    CreateTenant,
    /// Read the tenant's audit log, its checkpoints and proofs, and export it.
    ReadAudit,
    /// Read the platform events (tenant creation) of the audit log.
    ReadPlatformAudit,
    /// Read policies, their revisions and bindings, and decision records.
    ReadPolicies,
    /// Create a policy (a name that revisions are proposed under).
    CreatePolicy,
    /// Propose a new revision of a policy (stored as a draft, compiled and linted first).
    ProposePolicyRevision,
    /// Make a revision the active one (publishing; also rolling back to an earlier revision).
    PublishPolicy,
    /// Bind a policy to a model, a selector or the tenant default.
    BindPolicy,
    /// Remove a binding.
    UnbindPolicy,
    /// Evaluate the policy that governs a model and store the decision record.
    EvaluatePolicy,
    /// Read baselines, windows, drift results, incidents and pending actions.
    ReadMonitoring,
    /// Upload a model version's baseline or choose its active one.
    WriteBaseline,
    /// Change how a model is monitored (slice columns, lateness, hysteresis).
    ConfigureMonitoring,
    /// Send production observations (and later labels and KPIs) of a model version.
    IngestObservations,
    /// Close and evaluate a model version's due windows now (the scheduler does it on time).
    EvaluateWindows,
    /// Acknowledge or resolve an incident.
    ManageIncident,
    /// Create, change or disable the tenant's delivery targets (Slack, PagerDuty, webhooks).
    ManageDeliveryTargets,
    /// Deliver the outbox's due actions now, or replay a dead-lettered action.
    DeliverActions,
    /// Put a model on hold (its retraining and rollback suppressed) or lift the hold.
    HoldModel,
    /// Create an endpoint or change where its changes are delivered.
    ManageEndpoints,
    /// Ask for a model version to be promoted on an endpoint (or withdraw the request).
    RequestPromotion,
    /// Approve or reject a promotion request (counted only for the role the policy names).
    ApprovePromotion,
    /// Carry a rollout forward or stop it (promote, pause, resume, abort) and roll back.
    OperateDeployment,
    /// Set or delete key-value tags of a model or its versions.
    TagModel,
    /// Set, move or delete a model's alias, or move a version's MLflow stage.
    SetAlias,
    /// Delete a model or a version (a stamp: the record stays for lineage and audit).
    DeleteModel,
    /// Write a new revision of a model's documentation (intended use, limitations, oversight).
    DocumentModel,
    /// Read compliance reports (a model's or the tenant's governance record and its gaps).
    ReadCompliance,
}

impl Operation {
    pub const ALL: [Operation; 35] = [
        Operation::ReadRegistry,
        Operation::RegisterModel,
        Operation::UpdateModel,
        Operation::RegisterModelVersion,
        Operation::RegisterDataset,
        Operation::RegisterDatasetVersion,
        Operation::RecordTrainingRun,
        Operation::CreateTenant,
        Operation::ReadAudit,
        Operation::ReadPlatformAudit,
        Operation::ReadPolicies,
        Operation::CreatePolicy,
        Operation::ProposePolicyRevision,
        Operation::PublishPolicy,
        Operation::BindPolicy,
        Operation::UnbindPolicy,
        Operation::EvaluatePolicy,
        Operation::ReadMonitoring,
        Operation::WriteBaseline,
        Operation::ConfigureMonitoring,
        Operation::IngestObservations,
        Operation::EvaluateWindows,
        Operation::ManageIncident,
        Operation::ManageDeliveryTargets,
        Operation::DeliverActions,
        Operation::HoldModel,
        Operation::ManageEndpoints,
        Operation::RequestPromotion,
        Operation::ApprovePromotion,
        Operation::OperateDeployment,
        Operation::TagModel,
        Operation::SetAlias,
        Operation::DeleteModel,
        Operation::DocumentModel,
        Operation::ReadCompliance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::ReadRegistry => "registry.read",
            Operation::RegisterModel => "model.register",
            Operation::UpdateModel => "model.update",
            Operation::RegisterModelVersion => "model_version.register",
            Operation::RegisterDataset => "dataset.register",
            Operation::RegisterDatasetVersion => "dataset_version.register",
            Operation::RecordTrainingRun => "training_run.record",
            Operation::CreateTenant => "tenant.create",
            Operation::ReadAudit => "audit.read",
            Operation::ReadPlatformAudit => "audit.read_platform",
            Operation::ReadPolicies => "policy.read",
            Operation::CreatePolicy => "policy.create",
            Operation::ProposePolicyRevision => "policy.propose",
            Operation::PublishPolicy => "policy.publish",
            Operation::BindPolicy => "policy.bind",
            Operation::UnbindPolicy => "policy.unbind",
            Operation::EvaluatePolicy => "policy.evaluate",
            Operation::ReadMonitoring => "monitoring.read",
            Operation::WriteBaseline => "baseline.write",
            Operation::ConfigureMonitoring => "monitoring.configure",
            Operation::IngestObservations => "observations.ingest",
            Operation::EvaluateWindows => "monitoring.evaluate",
            Operation::ManageIncident => "incident.manage",
            Operation::ManageDeliveryTargets => "delivery_target.manage",
            Operation::DeliverActions => "outbox.deliver",
            Operation::HoldModel => "model.hold",
            Operation::ManageEndpoints => "endpoint.manage",
            Operation::RequestPromotion => "promotion.request",
            Operation::ApprovePromotion => "promotion.approve",
            Operation::OperateDeployment => "deployment.operate",
            Operation::TagModel => "model.tag",
            Operation::SetAlias => "model.alias",
            Operation::DeleteModel => "model.delete",
            Operation::DocumentModel => "model.document",
            Operation::ReadCompliance => "compliance.read",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The permission matrix: may `role` perform `op`? This is the only place the answer is written.
///
/// Rationale per row:
/// - viewers, SREs and policy authors read the registry; their own write operations arrive with
///   the deployment and policy features;
/// - model owners and service accounts (their CI) register everything lineage needs; only the
///   owner, not the CI account, edits a model's metadata;
/// - governance officers may change a model's risk tier and metadata, but register nothing;
/// - platform admins create tenants and may read their own tenant;
/// - only governance officers read the audit log (platform admins: its platform events only);
/// - everyone in a tenant reads its policies and decision records; policy authors write, publish
///   and bind them; evaluations are run by service accounts (the monitoring jobs) and by policy
///   authors trying a published policy on real data;
/// - everyone reads monitoring results; model owners and their CI upload baselines and production
///   data; model owners and SREs tune how their model is monitored; SREs run evaluations on demand
///   and acknowledge and resolve incidents (the people on call);
/// - governance officers and platform admins configure where alerts go (delivery targets hold
///   secrets and decide who hears of an incident); SREs deliver the outbox now and replay
///   dead-lettered actions; SREs and governance officers put a model on hold (its retraining
///   and rollback suppressed) and lift it;
/// - model owners and SREs create endpoints; model owners and their CI ask for promotions;
///   governance officers, SREs and model owners may answer a request, and the service counts an
///   answer only for the role the policy's `require_approval` names, never the requester's own;
///   SREs carry rollouts forward, stop them and roll back;
/// - model owners and their CI tag models and versions and move aliases and stages (but not an
///   alias an endpoint serves as its champion, nor `Production` of a served model: those move
///   with promotions); only a model owner deletes a model or a version (its CI does not).
/// - model owners write their model's documentation (intended use, limitations, oversight);
///   they and governance officers read compliance reports (the gaps are theirs to close).
// One row per grant reads as the table it is; `matches!` would fold it into one expression.
#[allow(clippy::match_like_matches_macro)]
pub fn allows(role: Role, op: Operation) -> bool {
    use Operation as O;
    use Role as R;
    match (role, op) {
        (_, O::ReadRegistry | O::ReadPolicies | O::ReadMonitoring) => true,
        (R::ModelOwner | R::Service, O::WriteBaseline | O::IngestObservations) => true,
        (R::ModelOwner | R::Sre, O::ConfigureMonitoring) => true,
        (R::Sre, O::EvaluateWindows | O::ManageIncident | O::DeliverActions) => true,
        (R::GovernanceOfficer | R::PlatformAdmin, O::ManageDeliveryTargets) => true,
        (R::Sre | R::GovernanceOfficer, O::HoldModel) => true,
        (R::ModelOwner | R::Sre, O::ManageEndpoints) => true,
        (R::ModelOwner | R::Service, O::RequestPromotion) => true,
        (R::GovernanceOfficer | R::Sre | R::ModelOwner, O::ApprovePromotion) => true,
        (R::Sre, O::OperateDeployment) => true,
        (R::ModelOwner | R::Service, O::TagModel | O::SetAlias) => true,
        (R::ModelOwner, O::RegisterModel | O::UpdateModel | O::DeleteModel) => true,
        (R::ModelOwner | R::Service, O::RegisterModelVersion) => true,
        (R::ModelOwner | R::Service, O::RegisterDataset | O::RegisterDatasetVersion) => true,
        (R::ModelOwner | R::Service, O::RecordTrainingRun) => true,
        (R::Service, O::RegisterModel) => true,
        (R::GovernanceOfficer, O::UpdateModel) => true,
        (R::PlatformAdmin, O::CreateTenant | O::ReadPlatformAudit) => true,
        (R::GovernanceOfficer, O::ReadAudit) => true,
        (R::ModelOwner, O::DocumentModel) => true,
        (R::ModelOwner | R::GovernanceOfficer, O::ReadCompliance) => true,
        (
            R::PolicyAuthor,
            O::CreatePolicy
            | O::ProposePolicyRevision
            | O::PublishPolicy
            | O::BindPolicy
            | O::UnbindPolicy,
        ) => true,
        (R::PolicyAuthor | R::Service, O::EvaluatePolicy) => true,
        _ => false,
    }
}

/// What an operation acts on, as far as the permission rules look at it. The matrix
/// ([`allows`]) decides by role and operation before anything is read; the rules here decide, once
/// the resource is loaded inside the mutation's transaction, what only some roles may do to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// A model, and whether the change moves its risk tier.
    Model {
        risk_tier: RiskTier,
        changes_risk_tier: bool,
    },
    /// A promotion request being approved or rejected: whether the caller requested it, and the
    /// role the policy's `require_approval` names (`None` when the policy asks for none).
    PromotionRequest {
        own: bool,
        required_role: Option<Role>,
    },
    /// An alias being set, moved or deleted: whether an endpoint serves it as its champion.
    Alias { serves_endpoint: bool },
    /// A version's MLflow stage being moved: whether the move is into or out of `Production`
    /// on a model an endpoint serves.
    Stage { moves_served_production: bool },
}

/// Whether `role` may perform `op` on `resource`: the matrix allows it and no rule on the resource
/// forbids it. Rules:
/// - a model's risk tier decides its approval requirements, so only a governance officer moves
///   it (a model owner may change the rest of the model's metadata);
/// - four eyes: nobody approves or rejects a promotion they requested, and an approval counts
///   only from the role the policy's `require_approval` names;
/// - only its requester changes or withdraws a promotion request;
/// - an alias an endpoint serves as its champion moves only through a promotion request, and
///   so does the `Production` stage of a model an endpoint serves.
pub fn allows_on(role: Role, op: Operation, resource: &Resource) -> bool {
    if !allows(role, op) {
        return false;
    }
    match (op, resource) {
        (
            Operation::UpdateModel,
            Resource::Model {
                changes_risk_tier: true,
                ..
            },
        ) => role == Role::GovernanceOfficer,
        (Operation::ApprovePromotion, Resource::PromotionRequest { own: true, .. }) => false,
        (Operation::RequestPromotion, Resource::PromotionRequest { own: false, .. }) => false,
        (
            Operation::SetAlias,
            Resource::Alias {
                serves_endpoint: true,
            },
        ) => false,
        (
            Operation::SetAlias,
            Resource::Stage {
                moves_served_production: true,
            },
        ) => false,
        (
            Operation::ApprovePromotion,
            Resource::PromotionRequest {
                required_role: Some(r),
                ..
            },
        ) => role == *r,
        _ => true,
    }
}

/// Steward's own callers: the parts of the server that act by themselves. Each has its own
/// row of the permission matrix ([`system_allows`]) and appears in the audit log as
/// `system:<name>` (a prefix no token subject may carry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SystemActor {
    /// Closes monitoring windows and evaluates policies on their schedule.
    Scheduler,
    /// Delivers decided actions (notifications, retraining triggers) from the outbox.
    OutboxRelay,
    /// Seeds the demo tenants and their data (`steward serve --demo`).
    DemoSeeder,
}

/// Token subjects starting with this are refused: it names Steward's system actors.
pub const SYSTEM_SUBJECT_PREFIX: &str = "system:";

impl SystemActor {
    pub const ALL: [SystemActor; 3] = [
        SystemActor::Scheduler,
        SystemActor::OutboxRelay,
        SystemActor::DemoSeeder,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SystemActor::Scheduler => "scheduler",
            SystemActor::OutboxRelay => "outbox_relay",
            SystemActor::DemoSeeder => "demo_seeder",
        }
    }

    /// The subject recorded in the audit log: `system:<name>`.
    pub fn subject(self) -> String {
        format!("{SYSTEM_SUBJECT_PREFIX}{}", self.as_str())
    }
}

/// The permission matrix of the system actors: may `actor` perform `op`? Like [`allows`], the
/// only place the answer is written; docs/permissions.md has it as its second table.
///
/// - the scheduler reads what it monitors, closes and evaluates windows and evaluates policies
///   (opening and resolving incidents is part of a window's evaluation), and carries rollouts
///   from step to step after their analyses;
/// - the outbox relay reads what it delivers and records each delivery's outcome;
/// - the demo seeder does what the demo shows: creates the demo tenants and registers, writes
///   and evaluates on their behalf; it reads no audit log and approves no promotion (approvals
///   are people's: the demo's are given by its governance officers' tokens).
#[allow(clippy::match_like_matches_macro)]
pub fn system_allows(actor: SystemActor, op: Operation) -> bool {
    use Operation as O;
    use SystemActor as S;
    match (actor, op) {
        (_, O::ReadRegistry | O::ReadPolicies | O::ReadMonitoring) => true,
        (S::Scheduler, O::EvaluatePolicy | O::EvaluateWindows | O::OperateDeployment) => true,
        (S::OutboxRelay, O::DeliverActions) => true,
        (
            S::DemoSeeder,
            O::ReadAudit | O::ReadPlatformAudit | O::ApprovePromotion | O::DeleteModel,
        ) => false,
        (S::DemoSeeder, _) => true,
        _ => false,
    }
}

/// Who a principal is: a person or service holding a verified token, or a system actor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Token,
    System(SystemActor),
}

/// An authenticated caller: built by the service layer from a verified token, or as one of
/// Steward's [`SystemActor`]s, never from input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    subject: String,
    tenant_slug: String,
    tenant: Option<TenantId>,
    roles: Vec<Role>,
    caller: Caller,
    request_id: Option<String>,
}

impl Principal {
    /// Records a verified identity. `tenant` is `None` only when the token names a tenant that does
    /// not exist yet, which only a platform admin may do (to create it).
    ///
    /// Only the authenticator (`steward-service/src/auth/`) calls this in production code, and
    /// test fixtures; everything else acts as a [`SystemActor`] through [`Principal::system`].
    /// The tidy test (`steward-domain/tests/it/tidy.rs`) fails on any other caller.
    pub fn authenticated(
        subject: String,
        tenant_slug: String,
        tenant: Option<TenantId>,
        mut roles: Vec<Role>,
    ) -> Self {
        roles.sort();
        roles.dedup();
        Self {
            subject,
            tenant_slug,
            tenant,
            roles,
            caller: Caller::Token,
            request_id: None,
        }
    }

    /// Steward's own system actor `actor`, acting in `tenant` (`None`: a tenant it is about to
    /// create). Audited as `system:<name>`; may what [`system_allows`] says, nothing more.
    pub fn system(actor: SystemActor, tenant_slug: &str, tenant: Option<TenantId>) -> Self {
        Self {
            subject: actor.subject(),
            tenant_slug: tenant_slug.to_string(),
            tenant,
            roles: Vec::new(),
            caller: Caller::System(actor),
            request_id: None,
        }
    }

    /// The system actor this principal is, if it is one.
    pub fn system_actor(&self) -> Option<SystemActor> {
        match self.caller {
            Caller::System(a) => Some(a),
            Caller::Token => None,
        }
    }

    /// Tags the principal with the id of the request it is acting in, for the audit log.
    pub fn with_request_id(mut self, id: String) -> Self {
        self.request_id = Some(id);
        self
    }

    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    pub fn tenant_id(&self) -> Option<TenantId> {
        self.tenant
    }

    pub fn subject(&self) -> &str {
        &self.subject
    }

    pub fn tenant_slug(&self) -> &str {
        &self.tenant_slug
    }

    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// True if any of the principal's roles allows `op` (for a system actor: its own row).
    pub fn may(&self, op: Operation) -> bool {
        match self.caller {
            Caller::Token => self.roles.iter().any(|r| allows(*r, op)),
            Caller::System(a) => system_allows(a, op),
        }
    }

    /// Whether the principal may perform `op` on `resource` ([`allows_on`]). System actors have
    /// no rules on resources: their row of the matrix is all they may do.
    pub fn may_on(&self, op: Operation, resource: &Resource) -> bool {
        match self.caller {
            Caller::Token => self.roles.iter().any(|r| allows_on(*r, op, resource)),
            Caller::System(a) => system_allows(a, op),
        }
    }

    /// The capability to touch this principal's tenant's data, if the tenant exists.
    pub fn scope(&self) -> Option<TenantScope> {
        self.tenant.map(|tenant| TenantScope { tenant })
    }
}

/// The capability to read and write one tenant's data. Store and service functions take it
/// instead of a bare tenant id; it is obtained only from an authenticated [`Principal`], so no
/// code path can name a tenant the caller was not authenticated for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TenantScope {
    tenant: TenantId,
}

impl TenantScope {
    pub fn tenant_id(&self) -> TenantId {
        self.tenant
    }
}

#[cfg(test)]
mod tests;
