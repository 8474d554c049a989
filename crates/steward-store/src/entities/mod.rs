//! sea-orm entities, one module per table. Private to this crate: nothing above the store sees
//! a row type; repositories convert rows into domain records.

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}
        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod tenants {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "tenants")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub slug: String,
        pub name: String,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod models {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "models")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub name: String,
        pub description: String,
        pub owner_team: String,
        pub risk_tier: String,
        pub latest_version: i64,
        pub created_by: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub deleted_at: Option<DateTimeUtc>,
        pub deleted_by: Option<String>,
    }
    no_relations!();
}

pub mod model_tags {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "model_tags")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub model_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub tag: String,
        pub tenant_id: Uuid,
    }
    no_relations!();
}

pub mod model_versions {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "model_versions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub model_id: Uuid,
        pub version: i64,
        pub artifact_uri: String,
        pub artifact_digest: String,
        pub framework: String,
        /// JSON: `[{"name": .., "type": ..}]`.
        pub input_schema: String,
        /// JSON: `{"auc": 0.91, ..}`.
        pub metrics: String,
        /// JSON: `["tag", ..]`.
        pub tags: String,
        pub training_run_id: Option<Uuid>,
        pub created_by: String,
        pub created_at: DateTimeUtc,
        pub description: String,
        /// MLflow's stage: `None`, `Staging`, `Production`, `Archived`.
        pub stage: String,
        pub run_id: Option<String>,
        pub run_link: Option<String>,
        pub updated_at: Option<DateTimeUtc>,
        pub deleted_at: Option<DateTimeUtc>,
        pub deleted_by: Option<String>,
    }
    no_relations!();
}

pub mod datasets {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "datasets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub name: String,
        pub description: String,
        pub latest_version: i64,
        pub created_by: String,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod dataset_versions {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "dataset_versions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub dataset_id: Uuid,
        pub version: i64,
        pub uri: String,
        pub content_hash: String,
        pub row_count: i64,
        /// JSON, as `model_versions.input_schema`.
        pub schema: String,
        pub slice: Option<String>,
        pub time_start: Option<DateTimeUtc>,
        pub time_end: Option<DateTimeUtc>,
        pub created_by: String,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod training_runs {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "training_runs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub code_commit: String,
        /// JSON object.
        pub parameters: String,
        pub parent_model_version_id: Option<Uuid>,
        pub orchestrator: Option<String>,
        pub orchestrator_run_id: Option<String>,
        pub status: String,
        pub started_at: Option<DateTimeUtc>,
        pub ended_at: Option<DateTimeUtc>,
        pub created_by: String,
        pub created_at: DateTimeUtc,
        pub retraining_action_id: Option<Uuid>,
    }
    no_relations!();
}

pub mod training_run_inputs {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "training_run_inputs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub training_run_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub dataset_version_id: Uuid,
        pub tenant_id: Uuid,
        pub position: i32,
    }
    no_relations!();
}

pub mod lineage_nodes {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "lineage_nodes")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub kind: String,
        pub label: String,
    }
    no_relations!();
}

pub mod lineage_edges {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "lineage_edges")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub src_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub dst_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub relation: String,
        pub tenant_id: Uuid,
    }
    no_relations!();
}

pub mod idempotency_keys {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub operation: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub request_hash: String,
        pub result_id: Uuid,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod policies {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "policies")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub name: String,
        pub description: String,
        pub active_revision: Option<i64>,
        pub created_by: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod policy_revisions {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "policy_revisions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub policy_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub number: i64,
        pub tenant_id: Uuid,
        pub hash: String,
        pub source: String,
        pub note: String,
        pub created_by: String,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod policy_activations {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "policy_activations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub policy_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        pub tenant_id: Uuid,
        pub revision_number: i64,
        pub published_by: String,
        pub published_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod policy_bindings {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "policy_bindings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub policy_id: Uuid,
        pub kind: String,
        pub model_id: Option<Uuid>,
        /// JSON array of tags, sorted.
        pub tags: String,
        pub risk_tier: Option<String>,
        pub name_pattern: Option<String>,
        pub created_by: String,
        pub created_at: DateTimeUtc,
        pub removed_by: Option<String>,
        pub removed_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod policy_inputs {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "policy_inputs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub hash: String,
        pub body: String,
    }
    no_relations!();
}

pub mod decision_records {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "decision_records")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub policy_id: Uuid,
        pub revision_number: i64,
        pub revision_hash: String,
        pub binding_id: Uuid,
        pub resolution: String,
        pub model_id: Uuid,
        pub model_version_id: Uuid,
        pub hook: String,
        pub input_hash: String,
        /// JSON: the outcome (decisions, verdict or error).
        pub outcome: String,
        /// JSON array of captured log lines.
        pub log: String,
        pub duration_us: i64,
        pub limit_hit: Option<String>,
        pub evaluated_by: String,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod model_documentation {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "model_documentation")]
    pub struct Model {
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub model_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub revision: i64,
        pub intended_use: String,
        pub limitations: String,
        pub human_oversight: String,
        pub note: String,
        pub created_by: String,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

mod monitoring;
pub use monitoring::*;
mod openlineage;
pub use openlineage::*;
