//! Stand-ins for the orchestrators a retrain starts runs in, enforcing their REST contracts:
//!
//! - **Airflow 3** (`/api/v2`): `POST /auth/token` with `{"username", "password"}` answers 201
//!   `{"access_token"}`; `POST /api/v2/dags/{dag_id}/dagRuns` needs that bearer token, refuses
//!   unknown fields and a missing `logical_date` (null is allowed) with 422 as FastAPI does,
//!   answers 404 for an unknown DAG, 409 for a `dag_run_id` it has, else 200 with the run.
//! - **Airflow 2** (`/api/v1`): the same route under `/api/v1` with basic authentication; 400
//!   for unknown fields.
//! - **Prefect 3** (`/api`): `GET /api/deployments/name/{flow}/{deployment}` answers 200 with
//!   the deployment; `POST /api/deployments/{id}/create_flow_run` answers 201 with a new flow run,
//!   or 200 with the existing one when the `idempotency_key` was used before, 404 for an unknown
//!   deployment, 422 for a body Prefect's schema refuses.
//!
//! The real Prefect server is tested in CI (`steward-server/tests/it/prefect.rs`); Airflow does
//! not install within CI's budget, so its contract is checked here, from Airflow's own
//! request models (`TriggerDAGRunPostBody` forbids extra fields).

use axum::http::StatusCode;
use base64::Engine;
use serde_json::{Value, json};

use crate::{Received, Verdict};

/// A run an orchestrator stand-in started.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// The DAG id or the Prefect deployment id.
    pub job: String,
    /// The `dag_run_id` or the flow run's id.
    pub id: String,
    /// The idempotency key (Prefect) or `dag_run_id` (Airflow).
    pub key: Option<String>,
    /// `conf` (Airflow) or `parameters` (Prefect).
    pub parameters: Value,
}

#[derive(Default)]
pub(crate) struct Orchestrator {
    tokens: Vec<String>,
    pub(crate) runs: Vec<Run>,
}

fn detail(status: StatusCode, detail: Value, problem: String) -> Verdict {
    Verdict::refuse(status, json!({"detail": detail}), problem)
}

fn unprocessable(kind: &str, field: &str, msg: &str) -> Verdict {
    detail(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!([{"type": kind, "loc": ["body", field], "msg": msg}]),
        format!("{field}: {msg}"),
    )
}

const AIRFLOW3_FIELDS: &[&str] = &[
    "dag_run_id",
    "data_interval_start",
    "data_interval_end",
    "logical_date",
    "run_after",
    "conf",
    "note",
];
const AIRFLOW2_FIELDS: &[&str] = &[
    "dag_run_id",
    "logical_date",
    "execution_date",
    "data_interval_start",
    "data_interval_end",
    "conf",
    "note",
];

fn run_id_ok(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.~:+-".contains(c))
}

pub(crate) fn airflow(
    r: &Received,
    api: u8,
    credentials: (&str, &str),
    dags: &[String],
    state: &mut Orchestrator,
) -> Verdict {
    let (user, password) = credentials;
    if api == 3 && r.path == "/auth/token" {
        let body = r.json.as_ref();
        let given = |k: &str| body.and_then(|b| b[k].as_str()).unwrap_or_default();
        if given("username") != user || given("password") != password {
            return detail(
                StatusCode::UNAUTHORIZED,
                json!("Invalid credentials"),
                "wrong username or password".into(),
            );
        }
        let token = format!("loopback-jwt-{}", state.tokens.len() + 1);
        state.tokens.push(token.clone());
        return Verdict::ok(StatusCode::CREATED, json!({"access_token": token}));
    }
    let prefix = if api == 3 {
        "/api/v2/dags/"
    } else {
        "/api/v1/dags/"
    };
    let Some(dag) = r
        .path
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix("/dagRuns"))
    else {
        return detail(
            StatusCode::NOT_FOUND,
            json!("Not Found"),
            format!("no route {}", r.path),
        );
    };
    let auth = r.header("authorization").unwrap_or_default();
    let authenticated = if api == 3 {
        auth.strip_prefix("Bearer ")
            .is_some_and(|t| state.tokens.iter().any(|k| k == t))
    } else {
        let want = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        auth.strip_prefix("Basic ") == Some(want.as_str())
    };
    if !authenticated {
        return detail(
            StatusCode::UNAUTHORIZED,
            json!("Not authenticated"),
            "no valid credentials".into(),
        );
    }
    let Some(body) = r.json.as_ref().and_then(Value::as_object) else {
        return unprocessable("model_attributes_type", "", "Input should be an object");
    };
    let allowed = if api == 3 {
        AIRFLOW3_FIELDS
    } else {
        AIRFLOW2_FIELDS
    };
    if let Some(extra) = body.keys().find(|k| !allowed.contains(&k.as_str())) {
        return if api == 3 {
            unprocessable("extra_forbidden", extra, "Extra inputs are not permitted")
        } else {
            detail(
                StatusCode::BAD_REQUEST,
                json!(format!("{extra} is not a valid field")),
                format!("unknown field {extra}"),
            )
        };
    }
    if api == 3 && !body.contains_key("logical_date") {
        return unprocessable("missing", "logical_date", "Field required");
    }
    if let Some(conf) = body.get("conf")
        && !(conf.is_object() || conf.is_null())
    {
        return unprocessable("dict_type", "conf", "Input should be a valid dictionary");
    }
    let run_id = body.get("dag_run_id").and_then(Value::as_str);
    if let Some(id) = run_id
        && !run_id_ok(id)
    {
        return detail(
            StatusCode::BAD_REQUEST,
            json!(format!(
                "The run_id {id} does not match the allowed pattern"
            )),
            format!("bad dag_run_id {id:?}"),
        );
    }
    if !dags.iter().any(|d| d == dag) {
        return detail(
            StatusCode::NOT_FOUND,
            json!(format!("The Dag with ID: `{dag}` was not found")),
            format!("no DAG {dag}"),
        );
    }
    let id = run_id.map_or_else(|| format!("manual__{}", state.runs.len()), str::to_owned);
    if state.runs.iter().any(|run| run.job == dag && run.id == id) {
        return detail(
            StatusCode::CONFLICT,
            json!(format!("DAG Run with run_id: `{id}` already exists")),
            format!("duplicate dag_run_id {id}"),
        )
        .duplicate();
    }
    let conf = body.get("conf").cloned().unwrap_or(json!({}));
    state.runs.push(Run {
        job: dag.to_string(),
        id: id.clone(),
        key: run_id.map(str::to_owned),
        parameters: conf.clone(),
    });
    Verdict::ok(
        StatusCode::OK,
        json!({"dag_run_id": id, "dag_id": dag, "state": "queued", "conf": conf,
               "logical_date": body.get("logical_date")}),
    )
}

/// A Prefect deployment the stand-in knows: id, flow name, deployment name.
pub type Deployment = (String, String, String);

pub(crate) fn prefect(
    r: &Received,
    deployments: &[Deployment],
    state: &mut Orchestrator,
) -> Verdict {
    let not_found = || {
        detail(
            StatusCode::NOT_FOUND,
            json!("Deployment not found"),
            format!("no deployment at {}", r.path),
        )
    };
    if let Some(rest) = r.path.strip_prefix("/api/deployments/name/") {
        let mut parts = rest.splitn(2, '/');
        let (flow, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        return match deployments.iter().find(|(_, f, n)| f == flow && n == name) {
            Some((id, _, n)) => Verdict::ok(StatusCode::OK, json!({"id": id, "name": n})),
            None => not_found(),
        };
    }
    let Some(id) = r
        .path
        .strip_prefix("/api/deployments/")
        .and_then(|rest| rest.strip_suffix("/create_flow_run"))
    else {
        return not_found();
    };
    if !deployments.iter().any(|(d, ..)| d == id) {
        return not_found();
    }
    let Some(body) = r.json.as_ref().and_then(Value::as_object) else {
        return unprocessable("model_attributes_type", "", "Input should be an object");
    };
    if let Some(p) = body.get("parameters")
        && !p.is_object()
    {
        return unprocessable(
            "dict_type",
            "parameters",
            "Input should be a valid dictionary",
        );
    }
    let key = body.get("idempotency_key").and_then(Value::as_str);
    if let Some(k) = key
        && let Some(run) = state
            .runs
            .iter()
            .find(|run| run.job == id && run.key.as_deref() == Some(k))
    {
        let mut v = Verdict::ok(
            StatusCode::OK,
            json!({"id": run.id, "name": format!("run-{}", run.id), "parameters": run.parameters,
                   "idempotency_key": k, "state_type": "SCHEDULED"}),
        );
        v.duplicate = true;
        return v;
    }
    let run_id = format!("00000000-0000-4000-8000-{:012}", state.runs.len() + 1);
    let parameters = body.get("parameters").cloned().unwrap_or(json!({}));
    state.runs.push(Run {
        job: id.to_string(),
        id: run_id.clone(),
        key: key.map(str::to_owned),
        parameters: parameters.clone(),
    });
    Verdict::ok(
        StatusCode::CREATED,
        json!({"id": run_id, "name": format!("run-{run_id}"), "deployment_id": id,
               "parameters": parameters, "idempotency_key": key, "state_type": "SCHEDULED"}),
    )
}

/// The tag Steward's Dagster runs carry their idempotency key in.
const DAGSTER_KEY_TAG: &str = "steward/idempotency_key";

fn graphql_data(data: Value) -> Verdict {
    Verdict::ok(StatusCode::OK, json!({"data": data}))
}

fn graphql_error(message: &str) -> Verdict {
    Verdict::refuse(
        StatusCode::OK,
        json!({"data": null, "errors": [{"message": message}]}),
        message.to_string(),
    )
}

/// Dagster's webserver GraphQL (`/graphql`): `runsOrError` filtered by tags and `launchRun`
/// with a job selector of this location and repository.
pub(crate) fn dagster(
    r: &Received,
    location: &str,
    repository: &str,
    jobs: &[String],
    state: &mut Orchestrator,
) -> Verdict {
    if r.path != "/graphql" {
        return detail(StatusCode::NOT_FOUND, json!("Not Found"), r.path.clone());
    }
    let body = r.json.clone().unwrap_or(Value::Null);
    let query = body["query"].as_str().unwrap_or_default();
    let vars = &body["variables"];
    if query.contains("runsOrError") {
        let Some(wanted) = vars["filter"]["tags"].as_array() else {
            return graphql_error("Variable \"$filter\": tags must be a list");
        };
        let results: Vec<Value> = state
            .runs
            .iter()
            .filter(|run| {
                wanted.iter().all(|t| {
                    t["key"] == DAGSTER_KEY_TAG && run.key.as_deref() == t["value"].as_str()
                })
            })
            .map(|run| json!({"runId": run.id, "status": "QUEUED"}))
            .collect();
        return graphql_data(json!({"runsOrError": {"__typename": "Runs", "results": results}}));
    }
    if !query.contains("launchRun") {
        return graphql_error("the stand-in answers runsOrError and launchRun only");
    }
    let params = &vars["executionParams"];
    let selector = &params["selector"];
    let tags = params["executionMetadata"]["tags"].as_array();
    let tags_ok = tags.is_none_or(|t| {
        t.iter()
            .all(|tag| tag["key"].is_string() && tag["value"].is_string())
    });
    if !tags_ok {
        return graphql_error(
            "Variable \"$executionParams\": tags are {key: String, value: String}",
        );
    }
    if !(params["runConfigData"].is_object() || params["runConfigData"].is_null()) {
        return graphql_error("Variable \"$executionParams\": runConfigData must be an object");
    }
    let job = selector["jobName"].as_str().unwrap_or_default();
    let known = selector["repositoryLocationName"] == location
        && selector["repositoryName"] == repository
        && jobs.iter().any(|j| j == job);
    if !known {
        let mut v = graphql_data(json!({"launchRun": {"__typename": "PipelineNotFoundError",
            "message": format!("Could not find Pipeline {location}.{repository}.{job}")}}));
        v.problem = Some(format!("no job {job}"));
        return v;
    }
    let key = tags.and_then(|t| {
        t.iter()
            .find(|tag| tag["key"] == DAGSTER_KEY_TAG)
            .and_then(|tag| tag["value"].as_str().map(str::to_owned))
    });
    let id = format!("dagster-run-{}", state.runs.len() + 1);
    let tag_map: serde_json::Map<String, Value> = tags
        .into_iter()
        .flatten()
        .filter_map(|t| Some((t["key"].as_str()?.to_string(), t["value"].clone())))
        .collect();
    state.runs.push(Run {
        job: job.to_string(),
        id: id.clone(),
        key,
        parameters: json!({"runConfig": params["runConfigData"], "tags": tag_map}),
    });
    graphql_data(json!({"launchRun": {"__typename": "LaunchRunSuccess", "run": {"runId": id}}}))
}

/// A workflow the GitHub stand-in has: its file name and the inputs it declares.
pub type Workflow = (String, Vec<String>);

fn github_error(status: StatusCode, message: &str) -> Verdict {
    Verdict::refuse(status, json!({"message": message}), message.to_string())
}

/// GitHub's REST API for one repository (`/repos/{owner}/{repo}`): the runs of a workflow and
/// `workflow_dispatch`. The run's title is its `steward_key` input, as a workflow with
/// `run-name: ${{ inputs.steward_key }}` makes it.
pub(crate) fn github(
    r: &Received,
    repo: &str,
    token: &str,
    workflows: &[Workflow],
    state: &mut Orchestrator,
) -> Verdict {
    if r.header("user-agent").is_none_or(str::is_empty) {
        return github_error(
            StatusCode::FORBIDDEN,
            "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
        );
    }
    if r.header("authorization") != Some(format!("Bearer {token}").as_str()) {
        return github_error(StatusCode::UNAUTHORIZED, "Bad credentials");
    }
    let prefix = format!("/repos/{repo}/actions/workflows/");
    let Some(rest) = r.path.strip_prefix(&prefix) else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let (file, action) = rest.split_once('/').unwrap_or((rest, ""));
    let Some((_, declared)) = workflows.iter().find(|(f, _)| f == file) else {
        return github_error(StatusCode::NOT_FOUND, "Not Found");
    };
    match action {
        "runs" => {
            let runs: Vec<Value> = state
                .runs
                .iter()
                .filter(|run| run.job == file)
                .map(|run| {
                    json!({"id": run.id.parse::<u64>().unwrap_or(0),
                    "display_title": run.key.clone().unwrap_or_else(|| file.to_string()),
                    "event": "workflow_dispatch", "status": "queued"})
                })
                .collect();
            Verdict::ok(
                StatusCode::OK,
                json!({"total_count": runs.len(), "workflow_runs": runs}),
            )
        }
        "dispatches" => {
            let body = r.json.clone().unwrap_or(Value::Null);
            if !body["ref"].is_string() {
                return github_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "Invalid request.\n\n\"ref\" wasn't supplied.",
                );
            }
            let inputs = body["inputs"].as_object().cloned().unwrap_or_default();
            if inputs.len() > 25 {
                return github_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "you may only define up to 25 `inputs` for a `workflow_dispatch` event",
                );
            }
            let unexpected: Vec<&String> =
                inputs.keys().filter(|k| !declared.contains(k)).collect();
            if !unexpected.is_empty() {
                return github_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("Unexpected inputs provided: {unexpected:?}"),
                );
            }
            if inputs
                .values()
                .any(|v| !(v.is_string() || v.is_boolean() || v.is_number()))
            {
                return github_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "inputs are strings, numbers or booleans",
                );
            }
            let key = inputs
                .get("steward_key")
                .and_then(Value::as_str)
                .map(str::to_owned);
            state.runs.push(Run {
                job: file.to_string(),
                id: (state.runs.len() + 1).to_string(),
                key,
                parameters: Value::Object(inputs),
            });
            Verdict::ok(StatusCode::NO_CONTENT, json!(""))
        }
        _ => github_error(StatusCode::NOT_FOUND, "Not Found"),
    }
}
