//! Entities of the OpenLineage tables (migration m0016): jobs, runs, events, dataset versions.

pub mod ol_jobs {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "ol_jobs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub namespace: String,
        pub name: String,
        pub model_id: Option<Uuid>,
        pub bound_by: Option<String>,
        pub bound_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod ol_runs {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "ol_runs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub run_id: Uuid,
        pub job_id: Uuid,
        pub state: String,
        pub started_at: Option<DateTimeUtc>,
        pub ended_at: Option<DateTimeUtc>,
        /// JSON list of dataset version ids.
        pub inputs: String,
        pub outputs: String,
        pub training_run_id: Option<Uuid>,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod ol_events {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "ol_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub run_id: Option<Uuid>,
        pub kind: String,
        pub event_type: Option<String>,
        pub event_time: DateTimeUtc,
        pub body: String,
        pub received_by: String,
        pub received_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod ol_datasets {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "ol_datasets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub namespace: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub version_hash: String,
        pub dataset_id: Uuid,
        pub dataset_version_id: Uuid,
    }
    no_relations!();
}
