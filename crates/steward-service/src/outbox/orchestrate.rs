//! Retraining runs started in orchestrators: a `retrain` decision delivered to a Prefect 3
//! deployment (`POST /deployments/{id}/create_flow_run`) or an Airflow DAG (`POST
//! /dags/{dag_id}/dagRuns`, Airflow 3's `/api/v2` with a token from `/auth/token`, or Airflow 2's
//! `/api/v1` with basic authentication); Dagster and GitHub Actions are in `dispatch.rs`.
//!
//! Each run carries an idempotency key derived from the action (`steward-<action id>`, one
//! action per decision): Prefect's `idempotency_key` returns the existing flow run, and Airflow's
//! `dag_run_id` answers 409 to a second trigger, which counts as delivered. So a redelivery (a
//! relay killed mid-call, a lost answer) never starts a second run.
//!
//! The run's parameters are the policy's `params` with one more, `steward`: the action, tenant,
//! model, version, incident, decision record, slice and the model version's training data with
//! each dataset's latest version (docs/outbox.md lists them).

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use steward_domain::{
    AttemptOutcome, ModelVersionId, PageRequest, PendingAction, TargetKind, TargetSecrets,
    TenantScope, airflow_api,
};

use super::OutboxSettings;
use super::render::{Context, Request};
use super::send::{self, Answer};
use crate::{Service, ServiceResult};

/// A run to start.
#[derive(Clone, Debug)]
pub(crate) struct Trigger {
    pub(super) kind: TargetKind,
    pub(super) url: String,
    pub(super) secret: Option<String>,
    /// The deployment (Prefect: an id or `flow-name/deployment-name`), DAG id (Airflow),
    /// `location/repository/job` (Dagster) or workflow file with an optional `@ref` (GitHub).
    pub(super) job: String,
    pub(super) key: String,
    pub(super) parameters: Value,
}

/// The idempotency key of an action's run.
pub(crate) fn idempotency_key(action: &PendingAction) -> String {
    format!("steward-{}", action.id)
}

/// What the run receives: the policy's params and `steward`, the context of the decision.
pub(crate) fn parameters(action: &PendingAction, ctx: &Context) -> Value {
    let mut out: Map<String, Value> = action.payload["params"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    out.insert(
        "steward".into(),
        json!({
            "idempotencyKey": idempotency_key(action),
            "action": action.id.to_string(),
            "tenant": ctx.tenant,
            "model": {"id": action.model_id.to_string(), "name": ctx.model},
            "modelVersion": action.model_version_id.to_string(),
            "incident": action.incident_id.map(|i| i.to_string()),
            "decisionRecord": action.decision_record_id.map(|d| d.to_string()),
            "window": action.window_id.map(|w| w.to_string()),
            "slice": action.payload.get("slice").cloned().unwrap_or(Value::Null),
            "trainingData": ctx.training_data,
            "link": ctx.link,
        }),
    );
    Value::Object(out)
}

/// The run `action` asks `kind` to start.
pub(crate) fn trigger(
    kind: TargetKind,
    secrets: &TargetSecrets,
    action: &PendingAction,
    ctx: &Context,
) -> Result<Trigger, String> {
    if action.kind != "retrain" {
        return Err(format!(
            "a {} target starts retraining runs; a {} action is not one",
            kind.as_str(),
            action.kind
        ));
    }
    let job = action.payload["job"]
        .as_str()
        .filter(|j| !j.is_empty())
        .ok_or("the retrain decision names no job")?;
    Ok(Trigger {
        kind,
        url: secrets.url.trim_end_matches('/').to_string(),
        secret: secrets.secret.clone(),
        job: job.to_string(),
        key: idempotency_key(action),
        parameters: parameters(action, ctx),
    })
}

impl Service {
    /// A model version's training data for a retraining run: each input dataset of its
    /// training run with the version it was trained on and the dataset's latest version.
    pub(crate) async fn training_data(
        &self,
        scope: &TenantScope,
        version: ModelVersionId,
    ) -> ServiceResult<Vec<Value>> {
        let run = match self.store.model_version(scope, version).await? {
            Some(v) => match v.training_run_id {
                Some(r) => self.store.training_run(scope, r).await?,
                None => None,
            },
            None => None,
        };
        let mut out = Vec::new();
        for used in run.map(|r| r.input_dataset_versions).unwrap_or_default() {
            let Some(dv) = self.store.dataset_version(scope, used).await? else {
                continue;
            };
            let dataset = self.store.dataset(scope, dv.dataset_id).await?;
            let page = PageRequest {
                first: 1,
                after: None,
            };
            let latest = self
                .store
                .dataset_versions(scope, dv.dataset_id, &page)
                .await?;
            let latest = latest.items.first();
            out.push(json!({
                "dataset": dv.dataset_id.to_string(),
                "name": dataset.map(|d| d.name),
                "trainedOn": {"id": dv.id.to_string(), "version": dv.version, "uri": dv.uri},
                "latestVersion": latest.map(|l| json!({"id": l.id.to_string(),
                    "version": l.version, "uri": l.uri, "slice": l.slice})),
            }));
        }
        Ok(out)
    }
}

/// `base` with `segments` appended, each percent-encoded.
pub(super) fn join(base: &str, segments: &[&str]) -> Result<String, String> {
    let mut url = reqwest::Url::parse(base).map_err(|e| format!("the target URL: {e}"))?;
    url.path_segments_mut()
        .map_err(|()| "the target URL cannot take a path".to_string())?
        .pop_if_empty()
        .extend(segments);
    Ok(url.into())
}

pub(super) fn post(url: String, auth: Option<String>, body: &Value) -> Request {
    let mut headers = vec![("content-type", "application/json".to_string())];
    if let Some(a) = auth {
        headers.push(("authorization", a));
    }
    Request {
        method: reqwest::Method::POST,
        url,
        headers,
        body: body.to_string().into_bytes(),
    }
}

/// A delivery that ended before the run was asked for.
pub(super) fn refused(why: String) -> (Option<Answer>, AttemptOutcome, String) {
    (None, AttemptOutcome::Dead, why)
}

/// The answer's JSON, when it is JSON.
pub(super) fn json_of(a: &Answer) -> Value {
    serde_json::from_str(&a.body).unwrap_or(Value::Null)
}

/// Starts the run; the last answer, the outcome and what it came to (the run's id when started).
pub(crate) async fn start(
    client: &reqwest::Client,
    t: Trigger,
    s: &OutboxSettings,
    now: DateTime<Utc>,
) -> (Option<Answer>, AttemptOutcome, String) {
    match t.kind {
        TargetKind::Prefect => prefect(client, t, s, now).await,
        TargetKind::Airflow => airflow(client, t, s, now).await,
        TargetKind::Dagster => super::dispatch::dagster(client, t, s, now).await,
        TargetKind::GithubActions => super::dispatch::github(client, t, s, now).await,
        other => refused(format!("{} is not an orchestrator", other.as_str())),
    }
}

async fn prefect(
    client: &reqwest::Client,
    t: Trigger,
    s: &OutboxSettings,
    now: DateTime<Utc>,
) -> (Option<Answer>, AttemptOutcome, String) {
    let auth = t.secret.as_ref().map(|k| format!("Bearer {k}"));
    let deployment = if uuid::Uuid::parse_str(&t.job).is_ok() {
        t.job.clone()
    } else if let Some((flow, name)) = t.job.split_once('/') {
        let url = match join(&t.url, &["deployments", "name", flow, name]) {
            Ok(u) => u,
            Err(e) => return refused(e),
        };
        let mut req = post(url, auth.clone(), &Value::Null);
        (req.method, req.body) = (reqwest::Method::GET, Vec::new());
        let a = send::send(client, req, s, now).await;
        if a.status != Some(200) {
            let (outcome, detail) = send::judge(TargetKind::Prefect, &a);
            let detail = match a.status {
                Some(404) => format!("Prefect has no deployment {:?}", t.job),
                _ => detail,
            };
            return (Some(a), outcome, detail);
        }
        match json_of(&a)["id"].as_str() {
            Some(id) => id.to_string(),
            None => {
                return (
                    Some(a),
                    AttemptOutcome::Retry,
                    "Prefect's deployment answer has no id".into(),
                );
            }
        }
    } else {
        return refused(format!(
            "job {:?}: a Prefect deployment is its id or `flow-name/deployment-name`",
            t.job
        ));
    };
    let url = match join(&t.url, &["deployments", &deployment, "create_flow_run"]) {
        Ok(u) => u,
        Err(e) => return refused(e),
    };
    let body = json!({"parameters": t.parameters, "idempotency_key": t.key,
        "tags": ["steward"]});
    let a = send::send(client, post(url, auth, &body), s, now).await;
    let run = json_of(&a);
    let (outcome, detail) = match a.status {
        Some(201) => (
            AttemptOutcome::Delivered,
            format!(
                "201: flow run {} ({}) created",
                run["id"].as_str().unwrap_or("?"),
                run["name"].as_str().unwrap_or("?")
            ),
        ),
        // Prefect answers 200 with the run it already has for the idempotency key.
        Some(200) => (
            AttemptOutcome::Delivered,
            format!(
                "200: flow run {} already started under key {}",
                run["id"].as_str().unwrap_or("?"),
                t.key
            ),
        ),
        Some(404) => (
            AttemptOutcome::Dead,
            format!("404: Prefect has no deployment {deployment}"),
        ),
        Some(code @ (409 | 422)) => (
            AttemptOutcome::Dead,
            format!(
                "{code}: the deployment refused the parameters: {}",
                run["detail"]
            ),
        ),
        _ => send::judge(TargetKind::Prefect, &a),
    };
    (Some(a), outcome, detail)
}

async fn airflow(
    client: &reqwest::Client,
    t: Trigger,
    s: &OutboxSettings,
    now: DateTime<Utc>,
) -> (Option<Answer>, AttemptOutcome, String) {
    let Some((user, password)) = t.secret.as_deref().and_then(|c| c.split_once(':')) else {
        return refused("the Airflow target has no `username:password`".into());
    };
    let version = airflow_api(&t.url).unwrap_or(3);
    let auth = if version == 3 {
        // Airflow 3: a JWT from the API server's token endpoint, beside `/api/v2`.
        let root = t.url.trim_end_matches("/api/v2");
        let req = post(
            format!("{root}/auth/token"),
            None,
            &json!({"username": user, "password": password}),
        );
        let a = send::send(client, req, s, now).await;
        let token = json_of(&a)["access_token"].as_str().map(str::to_owned);
        match (a.status, token) {
            (Some(200 | 201), Some(token)) => format!("Bearer {token}"),
            _ => {
                let (outcome, detail) = send::judge(TargetKind::Airflow, &a);
                let detail = format!("getting a token from /auth/token: {detail}");
                let outcome = match outcome {
                    AttemptOutcome::Delivered => AttemptOutcome::Retry,
                    o => o,
                };
                return (Some(a), outcome, detail);
            }
        }
    } else {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        format!("Basic {basic}")
    };
    let url = match join(&t.url, &["dags", &t.job, "dagRuns"]) {
        Ok(u) => u,
        Err(e) => return refused(e),
    };
    let note = "Started by Steward for a retrain decision".to_string();
    // Airflow 3 refuses unknown fields and requires `logical_date` (null: no data interval).
    let body = if version == 3 {
        json!({"dag_run_id": t.key, "logical_date": null, "conf": t.parameters, "note": note})
    } else {
        json!({"dag_run_id": t.key, "conf": t.parameters, "note": note})
    };
    let a = send::send(client, post(url, Some(auth), &body), s, now).await;
    let (outcome, detail) = match a.status {
        Some(200) => (
            AttemptOutcome::Delivered,
            format!("200: DAG run {} of {} queued", t.key, t.job),
        ),
        Some(409) => (
            AttemptOutcome::Delivered,
            format!("409: DAG run {} of {} already exists", t.key, t.job),
        ),
        Some(404) => (
            AttemptOutcome::Dead,
            format!("404: Airflow has no DAG {:?}", t.job),
        ),
        _ => send::judge(TargetKind::Airflow, &a),
    };
    (Some(a), outcome, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_joined_with_each_segment_encoded() {
        assert_eq!(
            join(
                "http://p:4200/api",
                &["deployments", "name", "my flow", "eu/x"]
            )
            .unwrap(),
            "http://p:4200/api/deployments/name/my%20flow/eu%2Fx"
        );
        assert_eq!(
            join(
                "http://a:8080/api/v2/",
                &["dags", "fraud_retrain", "dagRuns"]
            )
            .unwrap(),
            "http://a:8080/api/v2/dags/fraud_retrain/dagRuns"
        );
    }
}
