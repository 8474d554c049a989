//! The GraphQL schema: queries and mutations over the registry and lineage, the audit log,
//! policies, monitoring, the outbox and deployments.
//!
//! Conventions: each mutation takes one `input` object and returns what it created or changed;
//! lists are connections (`first`/`after`, `nodes`, `pageInfo`); ids are UUID strings; errors
//! carry `extensions.code`.

/// Declares a GraphQL enum that mirrors a domain enum variant for variant, with `From` both
/// ways: a variant added on one side and not the other is a compile error, not a silent gap.
macro_rules! mirror_enum {
    ($(#[$meta:meta])* $name:ident, $domain:ty, { $($(#[$vmeta:meta])* $variant:ident),* $(,)? }) => {
        $(#[$meta])*
        #[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq)]
        pub enum $name { $($(#[$vmeta])* $variant),* }
        impl From<$domain> for $name {
            fn from(v: $domain) -> Self { match v { $(<$domain>::$variant => $name::$variant),* } }
        }
        impl From<$name> for $domain {
            fn from(v: $name) -> Self { match v { $($name::$variant => <$domain>::$variant),* } }
        }
    };
}

mod audit;
mod compliance;
mod deployment_types;
mod deployments;
mod holds;
mod inputs;
mod lifecycle;
mod monitoring;
mod monitoring_mutation;
mod mutation;
mod openlineage;
mod outbox;
mod policy;
mod policy_inputs;
mod query;
mod tags;
mod types;

use async_graphql::{Context, EmptySubscription, Schema};
use steward_domain::{PageRequest, Principal};
use steward_service::{Service, ServiceError};
use uuid::Uuid;

use crate::ApiConfig;
use crate::error::{gql, invalid};

/// The query root: registry, audit and policy fields, merged.
#[derive(async_graphql::MergedObject, Default)]
pub struct QueryRoot(
    query::RegistryQuery,
    audit::AuditQuery,
    policy::PolicyQuery,
    monitoring::MonitoringQuery,
    outbox::OutboxQuery,
    holds::HoldsQuery,
    deployments::DeploymentsQuery,
    tags::TagsQuery,
    openlineage::LineageJobsQuery,
    compliance::ComplianceQuery,
);

/// The mutation root: registry and policy mutations, merged.
#[derive(async_graphql::MergedObject, Default)]
pub struct MutationRoot(
    mutation::RegistryMutation,
    policy::PolicyMutation,
    monitoring_mutation::MonitoringMutation,
    outbox::OutboxMutation,
    holds::HoldsMutation,
    deployments::DeploymentsMutation,
    tags::TagsMutation,
    lifecycle::LifecycleMutation,
    openlineage::LineageJobsMutation,
    compliance::ComplianceMutation,
);

pub type StewardSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// Default page size when `first` is omitted.
pub const DEFAULT_PAGE: i32 = 20;

pub fn build_schema(service: Service, config: &ApiConfig) -> StewardSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
    .data(service)
    .limit_depth(config.max_depth)
    .limit_complexity(config.max_complexity)
    .limit_recursive_depth(32)
    .limit_directives(8);
    if !config.introspection {
        builder = builder.disable_introspection();
    }
    if !config.suggestions {
        builder = builder.disable_suggestions();
    }
    builder.finish()
}

/// The service and the authenticated caller, as every resolver needs them.
pub(crate) fn ctx<'a>(c: &'a Context<'_>) -> async_graphql::Result<(&'a Service, &'a Principal)> {
    let service = c.data::<Service>()?;
    let principal = c
        .data::<Principal>()
        .map_err(|_| gql(ServiceError::Unauthenticated("not authenticated".into())))?;
    Ok((service, principal))
}

pub(crate) fn parse_id(field: &str, id: &async_graphql::ID) -> async_graphql::Result<Uuid> {
    Uuid::parse_str(id.as_str()).map_err(|_| {
        invalid(format!(
            "{field}: `{}` is not a valid id",
            steward_domain::validate::truncate(id.as_str())
        ))
    })
}

/// A model's id argument (`modelId`).
pub(crate) fn model_id(id: &async_graphql::ID) -> async_graphql::Result<steward_domain::ModelId> {
    Ok(steward_domain::ModelId::from_uuid(parse_id("modelId", id)?))
}

/// A model version's id argument (`versionId`).
pub(crate) fn version_id(
    id: &async_graphql::ID,
) -> async_graphql::Result<steward_domain::ModelVersionId> {
    Ok(steward_domain::ModelVersionId::from_uuid(parse_id(
        "versionId",
        id,
    )?))
}

pub(crate) fn page(
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<PageRequest> {
    let first = first.unwrap_or(DEFAULT_PAGE);
    let first = u32::try_from(first).map_err(|_| invalid("first: must not be negative"))?;
    Ok(PageRequest { first, after })
}
