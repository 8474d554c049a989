//! Incidents as people handle them: an SRE acknowledges one (someone is on it) and resolves it
//! with a reason. Opening, and resolving on recovery, happen in a window's evaluation.

use serde_json::json;
use steward_domain::*;
use steward_store::Cause;

use crate::audit::Record;
use crate::{Service, ServiceError, ServiceResult, Writes};

/// Longest note or resolution reason accepted.
const MAX_REASON_CHARS: usize = 2_000;

fn check_reason(field: &str, text: &str) -> ServiceResult<()> {
    if text.chars().count() > MAX_REASON_CHARS {
        return Err(ServiceError::Invalid(format!(
            "{field}: at most {MAX_REASON_CHARS} characters"
        )));
    }
    Ok(())
}

impl Service {
    /// Acknowledges an open incident; acknowledging it again changes nothing.
    pub async fn acknowledge_incident(
        &self,
        principal: &Principal,
        id: IncidentId,
        note: String,
    ) -> ServiceResult<Incident> {
        let actor = principal.subject().to_string();
        let now = self.now();
        self.mutate(
            principal,
            Operation::ManageIncident,
            ("incident", id.to_string()),
            async move |m: Writes| {
                check_reason("note", &note)?;
                let cause = Cause {
                    actor: &actor,
                    at: now,
                    window_id: None,
                    decision_record_id: None,
                };
                let (incident, changed) = self
                    .store
                    .acknowledge_incident(&m.tx, &m.scope, id, &cause, &note)
                    .await?;
                let payload = json!({"status": incident.status.as_str(), "changed": changed,
                    "note": note});
                Ok((incident, Record::new("incident", id, payload)))
            },
        )
        .await
        .inspect(|_| self.wake_relay())
    }

    /// Resolves an incident with a reason (required: the timeline says why it ended).
    pub async fn resolve_incident(
        &self,
        principal: &Principal,
        id: IncidentId,
        reason: String,
    ) -> ServiceResult<Incident> {
        let actor = principal.subject().to_string();
        let now = self.now();
        self.mutate(
            principal,
            Operation::ManageIncident,
            ("incident", id.to_string()),
            async move |m: Writes| {
                if reason.trim().is_empty() {
                    return Err(ServiceError::Invalid(
                        "reason: say why the incident is resolved".into(),
                    ));
                }
                check_reason("reason", &reason)?;
                let cause = Cause {
                    actor: &actor,
                    at: now,
                    window_id: None,
                    decision_record_id: None,
                };
                let incident = self
                    .store
                    .resolve_incident(&m.tx, &m.scope, id, &cause, &reason)
                    .await?;
                let payload = json!({"status": incident.status.as_str(), "reason": reason});
                Ok((incident, Record::new("incident", id, payload)))
            },
        )
        .await
        .inspect(|_| self.wake_relay())
    }
}
