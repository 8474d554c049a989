//! Steward's vocabulary: typed ids, registry records, validation, roles and the permission matrix.
//!
//! This crate knows nothing of storage, HTTP or async runtimes. Every other crate speaks in its
//! types, so that a `ModelId` can never be passed where a `TenantId` is expected and a tenant's
//! data can only be reached through a [`TenantScope`].

/// An enum stored and exchanged as lowercase words: `as_str`, and `FromStr` whose error names the
/// field and lists the accepted words. One definition for every such vocabulary, so the words
/// and the error messages cannot drift apart.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal, $noun:literal, { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::validate::ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::validate::ValidationError::new(
                        $field,
                        format!(
                            concat!("unknown ", $noun, " `{}` (expected ", $crate::text_enum!(@list $($text),+), ")"),
                            $crate::validate::truncate(other)
                        ),
                    )),
                }
            }
        }
    };
    (@list $first:literal $(, $rest:literal)*) => { concat!($first $(, ", ", $rest)*) };
}
pub(crate) use text_enum;

pub mod auth;
pub mod compliance;
pub mod deployments;
pub mod fleet;
pub mod holds;
pub mod ids;
pub mod lineage;
pub mod monitoring;
pub mod openlineage;
pub mod outbox;
pub mod policy;
pub mod registry;
pub mod retraining;
pub mod tags;
pub mod validate;
pub mod web;

pub use auth::{
    Operation, Principal, Resource, Role, SystemActor, TenantScope, allows_on, system_allows,
};
pub use compliance::{DocumentModel, ModelDocumentation};
pub use deployments::*;
pub use fleet::*;
pub use holds::*;
pub use ids::*;
pub use lineage::{
    EdgeRelation, LineageDirection, LineageEdge, LineageGraph, LineageNode, MAX_LINEAGE_DEPTH,
    MAX_LINEAGE_STEPS, NodeKind,
};
pub use monitoring::*;
pub use openlineage::*;
pub use outbox::*;
pub use policy::*;
pub use registry::*;
pub use retraining::*;
pub use tags::*;
pub use validate::ValidationError;
pub use web::WebSession;
