//! What a stand-in shows when asked: the name of its contract, which `GET`s its peer answers
//! itself, and each received request as the listing (`GET /`) prints it.

use std::time::SystemTime;

use serde_json::{Value, json};

use crate::{Contract, Received};

pub(crate) fn kind(c: &Contract) -> &'static str {
    match c {
        Contract::Slack => "slack",
        Contract::PagerDuty { .. } => "pagerduty",
        Contract::Webhook { .. } => "webhook",
        Contract::Airflow { .. } => "airflow",
        Contract::Prefect { .. } => "prefect",
        Contract::Dagster { .. } => "dagster",
        Contract::GithubActions { .. } => "github_actions",
        Contract::Kserve { .. } => "kserve",
        Contract::Seldon { .. } => "seldon",
    }
}

/// A `GET` the peer answers itself (every other `GET` lists what the stand-in received).
pub(crate) fn contract_get(c: &Contract, path: &str) -> bool {
    match c {
        Contract::Prefect { .. } => path.starts_with("/api/deployments/name/"),
        Contract::GithubActions { .. } => path.starts_with("/repos/") && path.ends_with("/runs"),
        Contract::Kserve { .. } | Contract::Seldon { .. } => path.starts_with("/apis/"),
        _ => false,
    }
}

pub(crate) fn listing(r: &Received) -> Value {
    let at =
        r.at.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
    json!({
        "atUnixMs": at,
        "path": r.path,
        "status": r.status,
        "problem": r.problem,
        "scripted": r.scripted,
        "duplicate": r.duplicate,
        "webhookId": r.header("webhook-id"),
        "body": r.json.clone().unwrap_or_else(|| Value::String(r.body.clone())),
    })
}
