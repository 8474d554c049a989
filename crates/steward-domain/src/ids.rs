//! Typed identifiers: one newtype per kind of record, so ids cannot be mixed up across calls.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered id (UUID v7), so ids sort roughly by creation.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an id read back from storage or parsed from a request.
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

typed_id!(
    /// A tenant: one business unit.
    TenantId
);
typed_id!(
    /// A registered model (the named thing versions belong to).
    ModelId
);
typed_id!(
    /// One immutable version of a model.
    ModelVersionId
);
typed_id!(
    /// A dataset (the named thing dataset versions belong to).
    DatasetId
);
typed_id!(
    /// One immutable version of a dataset.
    DatasetVersionId
);
typed_id!(
    /// A training run: code, parameters and input data that produced a model version.
    TrainingRunId
);
typed_id!(
    /// A policy: the named, versioned rule set that governs models.
    PolicyId
);
typed_id!(
    /// A binding of a policy to one model, a selector of models, or the tenant's default.
    PolicyBindingId
);
typed_id!(
    /// One stored policy evaluation.
    DecisionRecordId
);
typed_id!(
    /// A model version's baseline: a reference profile per feature and for the prediction.
    BaselineId
);
typed_id!(
    /// One accepted upload of observations (or labels) for a model version.
    ObservationBatchId
);
typed_id!(
    /// A monitoring window of one model version: a span of production time evaluated together.
    WindowId
);
typed_id!(
    /// An incident: one episode of trouble of a model under one key.
    IncidentId
);
typed_id!(
    /// A pending action in the outbox (an alert, a retraining, a rollback).
    ActionId
);
typed_id!(
    /// A tenant's delivery target: a Slack webhook, a PagerDuty integration, a signed webhook.
    TargetId
);
typed_id!(
    /// A hold on a model's automatic retraining and rollback.
    HoldId
);
typed_id!(
    /// A serving endpoint: where a model's versions answer requests, in one environment.
    EndpointId
);
typed_id!(
    /// One deployment revision of an endpoint: its desired state after a change.
    DeploymentRevisionId
);
typed_id!(
    /// A request to promote a model version on an endpoint.
    PromotionRequestId
);
typed_id!(
    /// An approval (or rejection) of a promotion request.
    ApprovalId
);
