//! Monitoring mutations: `configureMonitoring` (model owners, SREs), `activateBaseline` (model
//! owners, their CI), `evaluateNow`, `acknowledgeIncident` and `resolveIncident` (SREs).

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use steward_domain as d;

use super::monitoring::{Baseline, Incident, MonitorConfig, id_of};
use super::{ctx, parse_id};
use crate::error::gql;

type R<T> = async_graphql::Result<T>;

#[derive(InputObject)]
pub struct HysteresisInput {
    pub high: f64,
    pub low: f64,
    pub min_consecutive: u32,
    pub cooldown_windows: u32,
}

/// Fields left out keep their value.
#[derive(InputObject)]
pub struct ConfigureMonitoringInput {
    pub model_id: ID,
    pub slice_columns: Option<Vec<String>>,
    pub lateness_seconds: Option<i64>,
    pub hysteresis: Option<HysteresisInput>,
    pub auto_resolve: Option<bool>,
}

#[derive(InputObject)]
pub struct IncidentNoteInput {
    pub incident_id: ID,
    /// A note (acknowledge) or the reason (resolve; required).
    #[graphql(default)]
    pub note: String,
}

/// What `evaluateNow` did to one window.
#[derive(SimpleObject)]
pub struct EvaluatedWindow {
    pub window_id: ID,
    pub rows: i64,
    pub composite: f64,
    pub decision_record_id: Option<ID>,
    pub incidents_opened: Vec<ID>,
    pub incidents_resolved: Vec<ID>,
    pub actions: Vec<ID>,
}

#[derive(Default)]
pub struct MonitoringMutation;

#[Object]
impl MonitoringMutation {
    /// Changes how a model is monitored (model_owner, sre).
    async fn configure_monitoring(
        &self,
        c: &Context<'_>,
        input: ConfigureMonitoringInput,
    ) -> R<MonitorConfig> {
        let (svc, p) = ctx(c)?;
        let id = d::ModelId::from_uuid(parse_id("input.modelId", &input.model_id)?);
        let change = d::MonitorConfigChange {
            slice_columns: input.slice_columns,
            lateness_seconds: input.lateness_seconds,
            hysteresis: input.hysteresis.map(|h| d::HysteresisSettings {
                high: h.high,
                low: h.low,
                min_consecutive: h.min_consecutive,
                cooldown_windows: h.cooldown_windows,
            }),
            auto_resolve: input.auto_resolve,
        };
        svc.configure_monitoring(p, id, change)
            .await
            .map(Into::into)
            .map_err(gql)
    }

    /// Makes a stored baseline its version's active one (model_owner, service).
    async fn activate_baseline(&self, c: &Context<'_>, baseline_id: ID) -> R<Baseline> {
        let (svc, p) = ctx(c)?;
        let id = d::BaselineId::from_uuid(parse_id("baselineId", &baseline_id)?);
        svc.activate_baseline(p, id)
            .await
            .map(Into::into)
            .map_err(gql)
    }

    /// Closes and evaluates the version's windows that have ended, without waiting for their
    /// lateness or the scheduler (sre).
    async fn evaluate_now(&self, c: &Context<'_>, model_version_id: ID) -> R<Vec<EvaluatedWindow>> {
        let (svc, p) = ctx(c)?;
        let id = d::ModelVersionId::from_uuid(parse_id("modelVersionId", &model_version_id)?);
        let done = svc.evaluate_now(p, id).await.map_err(gql)?;
        Ok(done
            .into_iter()
            .map(|e| EvaluatedWindow {
                window_id: id_of(e.window_id),
                rows: i64::try_from(e.rows).unwrap_or(i64::MAX),
                composite: e.composite,
                decision_record_id: e.decision_record_id.map(id_of),
                incidents_opened: e.incidents_opened.into_iter().map(id_of).collect(),
                incidents_resolved: e.incidents_resolved.into_iter().map(id_of).collect(),
                actions: e.actions.into_iter().map(id_of).collect(),
            })
            .collect())
    }

    /// Acknowledges an incident: someone is on it (sre).
    async fn acknowledge_incident(&self, c: &Context<'_>, input: IncidentNoteInput) -> R<Incident> {
        let (svc, p) = ctx(c)?;
        let id = d::IncidentId::from_uuid(parse_id("input.incidentId", &input.incident_id)?);
        svc.acknowledge_incident(p, id, input.note)
            .await
            .map(Into::into)
            .map_err(gql)
    }

    /// Resolves an incident with the reason in `note` (sre).
    async fn resolve_incident(&self, c: &Context<'_>, input: IncidentNoteInput) -> R<Incident> {
        let (svc, p) = ctx(c)?;
        let id = d::IncidentId::from_uuid(parse_id("input.incidentId", &input.incident_id)?);
        svc.resolve_incident(p, id, input.note)
            .await
            .map(Into::into)
            .map_err(gql)
    }
}
