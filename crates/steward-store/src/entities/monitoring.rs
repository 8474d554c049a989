//! Entities of the monitoring tables (migration m0004): configuration, baselines, batches,
//! windows with their parts and slices, hysteresis states, incidents and the outbox.

pub mod monitor_configs {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "monitor_configs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub model_id: Uuid,
        pub tenant_id: Uuid,
        pub slice_columns: String,
        pub lateness_seconds: i64,
        pub hysteresis: String,
        pub auto_resolve: bool,
        pub updated_by: String,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod baselines {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "baselines")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub model_version_id: Uuid,
        pub source: String,
        pub rows: i64,
        pub features: i64,
        pub fingerprint: String,
        pub profile: Vec<u8>,
        pub extra: String,
        pub note: String,
        pub created_by: String,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod baseline_activations {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "baseline_activations")]
    pub struct Model {
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub model_version_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub seq: i64,
        pub baseline_id: Uuid,
        pub activated_by: String,
        pub activated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod observation_batches {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "observation_batches")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub model_version_id: Uuid,
        pub kind: String,
        pub idempotency_key: Option<String>,
        pub payload_hash: String,
        pub rows: i64,
        pub late_rows: i64,
        pub summary: String,
        pub received_by: String,
        pub received_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod monitor_windows {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "monitor_windows")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub model_id: Uuid,
        pub model_version_id: Uuid,
        pub window_start: DateTimeUtc,
        pub window_end: DateTimeUtc,
        pub closes_at: DateTimeUtc,
        pub status: String,
        pub late_rows: i64,
        pub lease_owner: Option<String>,
        pub lease_until: Option<DateTimeUtc>,
        pub evaluated_at: Option<DateTimeUtc>,
        pub evaluated_by: Option<String>,
        pub decision_record_id: Option<Uuid>,
        pub evaluation: Option<String>,
        pub created_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod window_parts {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "window_parts")]
    pub struct Model {
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub window_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub slice: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub batch_id: Uuid,
        pub rows: i64,
        pub profile: Vec<u8>,
    }
    no_relations!();
}

pub mod window_slices {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "window_slices")]
    pub struct Model {
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub window_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub slice: String,
        pub rows: i64,
        pub composite: f64,
        pub drifted_features: i64,
        pub profile: Option<Vec<u8>>,
        pub report: String,
    }
    no_relations!();
}

pub mod monitor_states {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "monitor_states")]
    pub struct Model {
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub model_version_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub slice: String,
        pub state: String,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod incidents {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "incidents")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub model_id: Uuid,
        pub model_version_id: Uuid,
        pub key: String,
        pub open_key: Option<String>,
        pub summary: String,
        pub status: String,
        pub opened_by: String,
        pub opened_at: DateTimeUtc,
        pub window_id: Option<Uuid>,
        pub decision_record_id: Option<Uuid>,
        pub acknowledged_by: Option<String>,
        pub acknowledged_at: Option<DateTimeUtc>,
        pub resolved_by: Option<String>,
        pub resolved_at: Option<DateTimeUtc>,
        pub resolution: Option<String>,
    }
    no_relations!();
}

pub mod incident_events {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "incident_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub incident_id: Uuid,
        pub kind: String,
        pub actor: String,
        pub at: DateTimeUtc,
        pub window_id: Option<Uuid>,
        pub decision_record_id: Option<Uuid>,
        pub note: String,
    }
    no_relations!();
}

pub mod outbox_actions {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox_actions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub model_id: Uuid,
        pub model_version_id: Uuid,
        pub decision_record_id: Option<Uuid>,
        pub incident_id: Option<Uuid>,
        pub window_id: Option<Uuid>,
        pub kind: String,
        pub payload: String,
        pub status: String,
        pub created_at: DateTimeUtc,
        /// The delivery target's name (an alert's channel, a retrain's orchestrator).
        pub target: Option<String>,
        pub attempts: i64,
        pub next_attempt_at: Option<DateTimeUtc>,
        pub lease_owner: Option<String>,
        pub lease_until: Option<DateTimeUtc>,
        pub finished_at: Option<DateTimeUtc>,
        pub last_error: Option<String>,
        /// The endpoint whose change this carries (a deployment action).
        pub endpoint_id: Option<Uuid>,
        /// The deployment revision it carries.
        pub revision_id: Option<Uuid>,
    }
    no_relations!();
}

pub mod delivery_targets {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "delivery_targets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub name: String,
        pub kind: String,
        pub url: String,
        pub secret: Option<String>,
        pub previous_secret: Option<String>,
        pub description: String,
        pub created_by: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub disabled_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod delivery_attempts {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "delivery_attempts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub action_id: Uuid,
        pub attempt: i64,
        pub at: DateTimeUtc,
        pub target: String,
        pub status_code: Option<i64>,
        pub latency_ms: i64,
        pub outcome: String,
        pub detail: String,
        pub response_excerpt: String,
    }
    no_relations!();
}

pub mod predictions {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "predictions")]
    pub struct Model {
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub model_version_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub prediction_id: String,
        pub window_id: Uuid,
        pub slice: String,
        pub score: Option<f64>,
        pub predicted: Option<String>,
        pub event_time: DateTimeUtc,
        pub label: Option<String>,
        pub labelled_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod window_kpis {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "window_kpis")]
    pub struct Model {
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub window_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub slice: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub total: f64,
        pub count: i64,
    }
    no_relations!();
}

pub mod baseline_slices {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "baseline_slices")]
    pub struct Model {
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub baseline_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub slice: String,
        pub rows: i64,
        pub profile: Vec<u8>,
    }
    no_relations!();
}

pub mod model_holds {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "model_holds")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub model_id: Uuid,
        pub reason: String,
        pub placed_by: String,
        pub placed_at: DateTimeUtc,
        pub until: Option<DateTimeUtc>,
        pub lifted_by: Option<String>,
        pub lifted_at: Option<DateTimeUtc>,
        pub lift_reason: Option<String>,
    }
    no_relations!();
}

pub mod retraining_reports {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "retraining_reports")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub action_id: Uuid,
        pub status: String,
        pub message: String,
        pub external_url: Option<String>,
        pub candidate_version_id: Option<Uuid>,
        pub cost: Option<f64>,
        pub cost_currency: Option<String>,
        pub reported_by: String,
        pub reported_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod retraining_budgets {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "retraining_budgets")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub model_id: Uuid,
        pub tenant_id: Uuid,
        pub max_runs: Option<i64>,
        pub period_hours: i64,
        pub cooldown_hours: Option<i64>,
        pub max_cost: Option<f64>,
        pub cost_currency: Option<String>,
        pub updated_by: String,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod endpoints {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "endpoints")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub model_id: Uuid,
        pub name: String,
        pub environment: String,
        pub target: Option<String>,
        pub description: String,
        pub revision: i64,
        pub champion_alias: Option<String>,
        pub created_by: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod deployment_revisions {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "deployment_revisions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub endpoint_id: Uuid,
        pub number: i64,
        pub champion_version_id: Uuid,
        pub champion_version: i64,
        pub canary_version_id: Option<Uuid>,
        pub canary_version: Option<i64>,
        pub canary_percent: i64,
        pub shadow_version_id: Option<Uuid>,
        pub shadow_version: Option<i64>,
        pub shadow_percent: i64,
        pub change: String,
        pub actor: String,
        pub reason: String,
        pub request_id: Option<Uuid>,
        pub policy_revision: Option<String>,
        pub incident_id: Option<Uuid>,
        pub decision_record_id: Option<Uuid>,
        pub idempotency_key: Option<String>,
        pub at: DateTimeUtc,
    }
    no_relations!();
}

pub mod promotion_requests {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "promotion_requests")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub endpoint_id: Uuid,
        pub candidate_version_id: Uuid,
        pub candidate_version: i64,
        pub candidate_digest: String,
        pub mode: String,
        pub plan: String,
        pub requester: String,
        pub reason: String,
        pub status: String,
        pub verdict: String,
        pub decision_record_id: Option<Uuid>,
        pub policy_revision: Option<String>,
        pub step: i64,
        pub step_started_at: Option<DateTimeUtc>,
        pub paused_by: Option<String>,
        pub pause_reason: Option<String>,
        pub pause_until: Option<DateTimeUtc>,
        pub base_revision: i64,
        pub outcome: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        pub finished_at: Option<DateTimeUtc>,
    }
    no_relations!();
}

pub mod promotion_approvals {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "promotion_approvals")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub request_id: Uuid,
        pub approver: String,
        pub role: String,
        pub verdict: String,
        pub reason: String,
        pub at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub cancelled_at: Option<DateTimeUtc>,
        pub cancel_reason: Option<String>,
    }
    no_relations!();
}

pub mod registry_tags {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "registry_tags")]
    pub struct Model {
        pub tenant_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub model_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub version: i64,
        #[sea_orm(primary_key, auto_increment = false)]
        pub key: String,
        pub value: String,
        pub updated_by: String,
        pub updated_at: DateTimeUtc,
    }
    no_relations!();
}

pub mod model_aliases {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "model_aliases")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub tenant_id: Uuid,
        pub model_id: Uuid,
        pub alias: String,
        pub version: i64,
        pub set_by: String,
        pub set_at: DateTimeUtc,
        pub removed_by: Option<String>,
        pub removed_at: Option<DateTimeUtc>,
    }
    no_relations!();
}
