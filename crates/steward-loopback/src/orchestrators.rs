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
