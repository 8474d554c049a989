//! Retraining runs in Dagster and GitHub Actions, which have no idempotency key of their own:
//! Steward tags the run with its key and looks for a run with that tag before starting one, so
//! a redelivery finds the run its lost answer started.
//!
//! - **Dagster** (GraphQL at `…/graphql`): `runsOrError(filter: {tags: [{key:
//!   "steward/idempotency_key", value}]})`, then `launchRun` with the job's selector (`job` is
//!   `location/repository/job`), the policy's `params` as the run config, and the decision's
//!   context in `steward/*` tags. A Dagster+ token goes in `Dagster-Cloud-Api-Token`.
//! - **GitHub Actions** (`https://api.github.com/repos/OWNER/REPO`): the workflow's runs are
//!   listed and one whose title is the key counts as started (the workflow sets `run-name: ${{
//!   inputs.steward_key }}`); otherwise `POST /actions/workflows/{file}/dispatches` with
//!   `ref` (`job` is `file.yml@ref`, `main` by default) and inputs `steward_key`, `steward` (the
//!   context as JSON) and the policy's params as strings: at most 25, GitHub's limit.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use steward_domain::{AttemptOutcome, TargetKind};

use super::OutboxSettings;
use super::orchestrate::{Trigger, join, json_of, post, refused};
use super::send::{self, Answer};

/// The tag (Dagster) that carries the idempotency key.
const KEY_TAG: &str = "steward/idempotency_key";
/// GitHub's limit on a `workflow_dispatch`'s inputs.
const MAX_GITHUB_INPUTS: usize = 25;

const RUNS_BY_TAG: &str = "query Runs($filter: RunsFilter) { runsOrError(filter: $filter) { __typename ... on Runs { results { runId status } } ... on PythonError { message } } }";
const LAUNCH_RUN: &str = "mutation Launch($executionParams: ExecutionParams!) { launchRun(executionParams: $executionParams) { __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } ... on RunConfigValidationInvalid { errors { message } } ... on PipelineNotFoundError { message } ... on InvalidSubsetError { message } ... on RunConflict { message } ... on UnauthorizedError { message } ... on InvalidStepError { invalidStepKey } ... on InvalidOutputError { invalidOutputName } ... on PresetNotFoundError { message } ... on ConflictingExecutionParamsError { message } ... on NoModeProvidedError { message } } }";

fn graphql(
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> super::render::Request {
    let mut req = post(
        url.to_string(),
        None,
        &json!({"query": query, "variables": variables}),
    );
    if let Some(t) = token {
        req.headers.push(("dagster-cloud-api-token", t.to_string()));
    }
    req
}

/// A GraphQL answer that is not a 200 with `data` is judged like any HTTP answer; a 200 with
/// only `errors` (the query itself refused) cannot get better by retrying.
fn graphql_failure(a: &Answer, what: &str) -> Option<(AttemptOutcome, String)> {
    if a.status != Some(200) {
        let (outcome, detail) = send::judge(TargetKind::Dagster, a);
        return Some((outcome, format!("{what}: {detail}")));
    }
    let v = json_of(a);
    if v["data"].is_null() {
        return Some((
            AttemptOutcome::Dead,
            format!("{what}: Dagster refused the query: {}", v["errors"]),
        ));
    }
    None
}

pub(crate) async fn dagster(
    client: &reqwest::Client,
    t: Trigger,
    s: &OutboxSettings,
    now: DateTime<Utc>,
) -> (Option<Answer>, AttemptOutcome, String) {
    let parts: Vec<&str> = t.job.split('/').collect();
    let [location, repository, job] = parts[..] else {
        return refused(format!(
            "job {:?}: a Dagster job is `location/repository/job`",
            t.job
        ));
    };
    let token = t.secret.as_deref();
    let filter = json!({"filter": {"tags": [{"key": KEY_TAG, "value": t.key}]}});
    let a = send::send(client, graphql(&t.url, token, RUNS_BY_TAG, filter), s, now).await;
    if let Some((outcome, detail)) = graphql_failure(&a, "looking for the run") {
        return (Some(a), outcome, detail);
    }
    let found = json_of(&a);
    if let Some(run) = found["data"]["runsOrError"]["results"]
        .as_array()
        .and_then(|r| r.first())
    {
        let detail = format!(
            "run {} already launched under key {}",
            run["runId"].as_str().unwrap_or("?"),
            t.key
        );
        return (Some(a), AttemptOutcome::Delivered, detail);
    }
    let mut tags = vec![json!({"key": KEY_TAG, "value": t.key})];
    let steward = &t.parameters["steward"];
    for (key, value) in [
        ("steward/action", &steward["action"]),
        ("steward/model", &steward["model"]["name"]),
        ("steward/model_version", &steward["modelVersion"]),
        ("steward/incident", &steward["incident"]),
        ("steward/decision_record", &steward["decisionRecord"]),
        ("steward/slice", &steward["slice"]),
    ] {
        let value = match value {
            Value::Null => continue,
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        tags.push(json!({"key": key, "value": value}));
    }
    let mut config = t.parameters.clone();
    if let Some(c) = config.as_object_mut() {
        c.remove("steward");
    }
    let params = json!({"executionParams": {
        "selector": {"repositoryLocationName": location, "repositoryName": repository,
                     "jobName": job},
        "runConfigData": config,
        "executionMetadata": {"tags": tags},
    }});
    let a = send::send(client, graphql(&t.url, token, LAUNCH_RUN, params), s, now).await;
    if let Some((outcome, detail)) = graphql_failure(&a, "launching the run") {
        return (Some(a), outcome, detail);
    }
    let launched = json_of(&a);
    let result = &launched["data"]["launchRun"];
    let kind = result["__typename"].as_str().unwrap_or("?");
    let (outcome, detail) = match kind {
        "LaunchRunSuccess" => (
            AttemptOutcome::Delivered,
            format!(
                "run {} launched",
                result["run"]["runId"].as_str().unwrap_or("?")
            ),
        ),
        // A failure inside Dagster may pass; a refused job or config will not.
        "PythonError" => (
            AttemptOutcome::Retry,
            format!("Dagster failed: {}", result["message"]),
        ),
        _ => (
            AttemptOutcome::Dead,
            format!("Dagster refused the run ({kind}): {result}"),
        ),
    };
    (Some(a), outcome, detail)
}

fn github_headers(token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("accept", "application/vnd.github+json".into()),
        ("x-github-api-version", "2022-11-28".into()),
        ("user-agent", "steward-outbox".into()),
        ("authorization", format!("Bearer {token}")),
    ]
}

/// The inputs of a dispatch: `steward_key`, `steward` (the context as JSON) and the policy's
/// params, each a string.
fn github_inputs(t: &Trigger) -> Result<Map<String, Value>, String> {
    let mut inputs = Map::new();
    inputs.insert("steward_key".into(), Value::String(t.key.clone()));
    if let Some(params) = t.parameters.as_object() {
        for (k, v) in params {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            inputs.insert(k.clone(), Value::String(text));
        }
    }
    if inputs.len() > MAX_GITHUB_INPUTS {
        return Err(format!(
            "{} inputs (the policy's params, steward and steward_key); GitHub takes at most {MAX_GITHUB_INPUTS}",
            inputs.len()
        ));
    }
    Ok(inputs)
}

pub(crate) async fn github(
    client: &reqwest::Client,
    t: Trigger,
    s: &OutboxSettings,
    now: DateTime<Utc>,
) -> (Option<Answer>, AttemptOutcome, String) {
    let Some(token) = t.secret.clone() else {
        return refused("the GitHub Actions target has no token".into());
    };
    let (workflow, git_ref) = t.job.split_once('@').unwrap_or((t.job.as_str(), "main"));
    let inputs = match github_inputs(&t) {
        Ok(i) => i,
        Err(e) => return refused(e),
    };
    let runs_url = match join(&t.url, &["actions", "workflows", workflow, "runs"]) {
        Ok(u) => format!("{u}?event=workflow_dispatch&per_page=100"),
        Err(e) => return refused(e),
    };
    let mut list = post(runs_url, None, &Value::Null);
    (list.method, list.body, list.headers) =
        (reqwest::Method::GET, Vec::new(), github_headers(&token));
    let a = send::send(client, list, s, now).await;
    if a.status != Some(200) {
        let (outcome, detail) = send::judge(TargetKind::GithubActions, &a);
        let detail = match a.status {
            Some(404) => format!("404: no workflow {workflow:?} in the repository"),
            _ => format!("listing the workflow's runs: {detail}"),
        };
        return (Some(a), outcome, detail);
    }
    let listed = json_of(&a);
    if let Some(run) = listed["workflow_runs"]
        .as_array()
        .and_then(|runs| runs.iter().find(|r| r["display_title"] == t.key.as_str()))
    {
        let detail = format!(
            "workflow run {} already dispatched under key {}",
            run["id"], t.key
        );
        return (Some(a), AttemptOutcome::Delivered, detail);
    }
    let url = match join(&t.url, &["actions", "workflows", workflow, "dispatches"]) {
        Ok(u) => u,
        Err(e) => return refused(e),
    };
    let mut req = post(url, None, &json!({"ref": git_ref, "inputs": inputs}));
    req.headers.extend(github_headers(&token));
    let a = send::send(client, req, s, now).await;
    let (outcome, detail) = match a.status {
        Some(204 | 200) => (
            AttemptOutcome::Delivered,
            format!("workflow {workflow} dispatched on {git_ref}"),
        ),
        Some(422) => (
            AttemptOutcome::Dead,
            format!(
                "422: GitHub refused the dispatch: {}",
                json_of(&a)["message"]
            ),
        ),
        _ => send::judge(TargetKind::GithubActions, &a),
    };
    (Some(a), outcome, detail)
}
