//! Loopback receivers for the peers the outbox delivers to that cannot run here: a Slack
//! incoming webhook, PagerDuty's Events API v2, a Standard Webhooks receiver, the orchestrators'
//! APIs, a KServe InferenceService on the Kubernetes API, an OpenTelemetry collector's OTLP/HTTP
//! trace endpoint ([`OtlpReceiver`]), and an OpenID provider for the web pages' sign-in
//! ([`OidcProvider`]). Each listens on
//! 127.0.0.1, enforces the peer's documented contract (what it accepts, what it answers, what it
//! refuses and how), and records every request with what it found, so a test asserts on what a
//! real peer would have seen and a demo user can look (a `GET` outside `/api/` lists the
//! requests as JSON).
//!
//! A test can also make a receiver misbehave the way real peers do: answer the next requests
//! with a scripted status (a 429 with `Retry-After`, a 503), stall past the sender's timeout, or
//! be down altogether.
//!
//! These are stand-ins named as such, for the demo and tests; production talks to the real
//! services.

mod kserve;
mod listing;
mod oidc;
mod orchestrators;
mod otlp;
mod pagerduty;
mod seldon;
mod slack;
mod webhook;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use listing::{contract_get, kind, listing};

pub use oidc::{OidcProvider, Person};
pub use orchestrators::{Deployment, Run, Workflow};
pub use otlp::{OtlpReceiver, Span as OtlpSpan};
pub use webhook::sign;

/// Which peer a receiver stands in for.
#[derive(Clone, Debug)]
pub enum Contract {
    /// A Slack incoming webhook: `POST /services/T…/B…/…` with a JSON message; `200 ok`.
    Slack,
    /// PagerDuty's Events API v2: `POST /v2/enqueue`; `202` with `status: success`.
    PagerDuty {
        /// The integration's routing key (32 characters) events must carry.
        routing_key: String,
    },
    /// A Standard Webhooks receiver at `POST /hook` that verifies `webhook-signature` against
    /// any of its secrets (`whsec_…`).
    Webhook { secrets: Vec<String> },
    /// Airflow's REST API: `api` 3 (`/api/v2`, bearer token from `/auth/token`) or 2
    /// (`/api/v1`, basic authentication), with these DAGs.
    Airflow {
        api: u8,
        username: String,
        password: String,
        dags: Vec<String>,
    },
    /// A Prefect 3 server's API (`/api`) with these deployments.
    Prefect { deployments: Vec<Deployment> },
    /// A Dagster webserver's GraphQL endpoint (`/graphql`) with these jobs of one code location
    /// and repository.
    Dagster {
        location: String,
        repository: String,
        jobs: Vec<String>,
    },
    /// GitHub's API for one repository (`owner/name`), its token and its workflows.
    GithubActions {
        repo: String,
        token: String,
        workflows: Vec<Workflow>,
    },
    /// A KServe InferenceService on the Kubernetes API (`kserve.rs`), serving `storage_uri`
    /// at first; a bearer `token` when given.
    Kserve {
        namespace: String,
        name: String,
        storage_uri: String,
        token: Option<String>,
    },
    /// A Seldon Core 2 Experiment on the Kubernetes API (`seldon.rs`), not applied yet; a
    /// bearer `token` when given.
    Seldon {
        namespace: String,
        name: String,
        token: Option<String>,
    },
}

/// A canned answer for the next request, given instead of the contract's.
#[derive(Clone, Debug)]
pub enum Scripted {
    /// Answer with this status, an optional `Retry-After` (seconds) and a body.
    Status {
        status: u16,
        retry_after: Option<u64>,
        body: String,
    },
    /// Wait this long before answering 200 (to outlast the sender's timeout).
    Stall(Duration),
}

impl Scripted {
    /// Slack's and PagerDuty's rate limit: 429 with `Retry-After`.
    pub fn rate_limited(retry_after: u64) -> Self {
        Scripted::Status {
            status: 429,
            retry_after: Some(retry_after),
            body: "rate_limited".into(),
        }
    }

    pub fn status(status: u16) -> Self {
        Scripted::Status {
            status,
            retry_after: None,
            body: String::new(),
        }
    }
}

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
pub struct Received {
    pub at: SystemTime,
    pub path: String,
    /// The query string (without `?`).
    pub query: String,
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    pub body: String,
    /// The body parsed as JSON, when it is.
    pub json: Option<Value>,
    /// What the receiver answered.
    pub status: u16,
    /// What the contract found wrong (answered with a 4xx), or a problem the real peer tolerates
    /// silently but a test should see (PagerDuty: a resolve before its trigger).
    pub problem: Option<String>,
    /// Answered from the script or while down, not by the contract.
    pub scripted: bool,
    /// A webhook delivery whose `webhook-id` was accepted before (the receiver dropped it).
    pub duplicate: bool,
}

impl Received {
    /// Accepted by the contract (2xx, not scripted).
    pub fn accepted(&self) -> bool {
        !self.scripted && (200..300).contains(&self.status)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// What a contract decided about one request.
pub(crate) struct Verdict {
    pub status: StatusCode,
    pub body: Value,
    pub problem: Option<String>,
    pub duplicate: bool,
}

impl Verdict {
    pub(crate) fn ok(status: StatusCode, body: Value) -> Self {
        Verdict {
            status,
            body,
            problem: None,
            duplicate: false,
        }
    }

    /// Marks a request the peer recognised as one it had (a redelivery).
    pub(crate) fn duplicate(mut self) -> Self {
        self.duplicate = true;
        self
    }

    pub(crate) fn refuse(status: StatusCode, body: Value, problem: impl Into<String>) -> Self {
        Verdict {
            status,
            body,
            problem: Some(problem.into()),
            duplicate: false,
        }
    }
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    /// How many of `received` were accepted.
    accepted: usize,
    script: VecDeque<Scripted>,
    down: bool,
    /// How long the contract's answers wait after the request is recorded.
    delay: Duration,
    /// Only requests whose path ends with this, or whose body contains it, are delayed (all
    /// when `None`).
    delay_path: Option<String>,
    secrets: Vec<String>,
    /// PagerDuty: each dedup key's incident state (`triggered`, `acknowledged`, `resolved`).
    incidents: HashMap<String, String>,
    /// Webhook ids accepted so far.
    seen_ids: HashMap<String, usize>,
    /// Airflow's tokens and the runs an orchestrator started.
    orchestrator: orchestrators::Orchestrator,
    /// The InferenceService of a KServe stand-in.
    inference: kserve::Service,
    /// The Experiment of a Seldon stand-in.
    experiment: seldon::Experiment,
}

struct Shared {
    contract: Contract,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a handler panicked mid-update; the records stay readable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A receiver listening on 127.0.0.1; it stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("addr", &self.addr)
            .field("contract", &self.shared.contract)
            .finish()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Receiver {
    /// Starts a receiver on a free port of 127.0.0.1.
    pub async fn start(contract: Contract) -> std::io::Result<Receiver> {
        Self::start_on(contract, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a receiver on `addr` (port 0 picks a free one).
    pub async fn start_on(contract: Contract, addr: SocketAddr) -> std::io::Result<Receiver> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let secrets = match &contract {
            Contract::Webhook { secrets } => secrets.clone(),
            _ => Vec::new(),
        };
        let inference = match &contract {
            Contract::Kserve {
                namespace,
                name,
                storage_uri,
                ..
            } => kserve::Service::new(namespace, name, storage_uri),
            _ => kserve::Service::default(),
        };
        let experiment = match &contract {
            Contract::Seldon {
                namespace, name, ..
            } => seldon::Experiment {
                namespace: namespace.clone(),
                name: name.clone(),
                object: None,
            },
            _ => seldon::Experiment::default(),
        };
        let shared = Arc::new(Shared {
            contract,
            state: Mutex::new(State {
                secrets,
                inference,
                experiment,
                ..State::default()
            }),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Receiver {
            addr,
            shared,
            server,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL a delivery target names: Slack's webhook path, PagerDuty's enqueue endpoint or
    /// the webhook's path.
    pub fn url(&self) -> String {
        let path = match &self.shared.contract {
            Contract::Slack => slack::PATH,
            Contract::PagerDuty { .. } => pagerduty::PATH,
            Contract::Webhook { .. } => webhook::PATH,
            Contract::Airflow { api: 2, .. } => "/api/v1",
            Contract::Airflow { .. } => "/api/v2",
            Contract::Prefect { .. } => "/api",
            Contract::Dagster { .. } => "/graphql",
            Contract::GithubActions { repo, .. } => {
                return format!("http://{}/repos/{repo}", self.addr);
            }
            Contract::Kserve {
                namespace, name, ..
            } => return format!("http://{}{}", self.addr, kserve::path(namespace, name)),
            Contract::Seldon {
                namespace, name, ..
            } => return format!("http://{}{}", self.addr, seldon::path(namespace, name)),
        };
        format!("http://{}{path}", self.addr)
    }

    /// Every request so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().received.clone()
    }

    /// How many requests arrived so far (without copying them).
    pub fn received_count(&self) -> usize {
        self.shared.lock().received.len()
    }

    /// How many requests the contract accepted so far (without copying them).
    pub fn accepted_count(&self) -> usize {
        self.shared.lock().accepted
    }

    /// The requests the contract accepted, oldest first.
    pub fn accepted(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.accepted())
            .collect()
    }

    /// Answers the next requests from `answers`, in order, before the contract answers again.
    pub fn script(&self, answers: impl IntoIterator<Item = Scripted>) {
        self.shared.lock().script.extend(answers);
    }

    /// While down, every request is answered 503 (as a peer behind a load balancer with no
    /// healthy backend).
    pub fn set_down(&self, down: bool) {
        self.shared.lock().down = down;
    }

    /// Answers every request this much later (recorded on arrival): a slow peer, and a window
    /// in which a sender can die after the peer accepted but before it heard so.
    pub fn set_delay(&self, delay: Duration) {
        let mut state = self.shared.lock();
        state.delay = delay;
        state.delay_path = None;
    }

    /// As [`Receiver::set_delay`], for requests whose path ends with `suffix` or whose body
    /// contains it only (the call that starts a run, not the token or lookup before it).
    pub fn set_delay_for(&self, suffix: &str, delay: Duration) {
        let mut state = self.shared.lock();
        state.delay = delay;
        state.delay_path = Some(suffix.to_string());
    }

    /// A webhook receiver's accepted secrets (a receiver moving to a rotated secret).
    pub fn set_secrets(&self, secrets: Vec<String>) {
        self.shared.lock().secrets = secrets;
    }

    /// The runs an orchestrator stand-in started (Airflow DAG runs, Prefect flow runs), oldest
    /// first; a redelivery that found its run is not among them.
    pub fn runs(&self) -> Vec<Run> {
        self.shared.lock().orchestrator.runs.clone()
    }

    /// KServe: the InferenceService as the API serves it now.
    pub fn inference_service(&self) -> Value {
        self.shared.lock().inference.object.clone()
    }

    /// KServe: the traffic split now, as (storage URI, percent) per serving revision. Seldon:
    /// (model, percent) per candidate, then (`mirror:` model, percent mirrored).
    pub fn traffic(&self) -> Vec<(String, u64)> {
        let state = self.shared.lock();
        match self.shared.contract {
            Contract::Seldon { .. } => state.experiment.traffic(),
            _ => state.inference.traffic(),
        }
    }

    /// PagerDuty: the state of the incident under `dedup_key`, as PagerDuty would show it.
    pub fn incident_state(&self, dedup_key: &str) -> Option<String> {
        self.shared.lock().incidents.get(dedup_key).cloned()
    }
}

async fn handle(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or_default().to_string();
    if method == Method::GET && !contract_get(&shared.contract, &path) {
        let listed: Vec<Value> = shared.lock().received.iter().map(listing).collect();
        return axum::Json(
            json!({"contract": format!("{:?}", kind(&shared.contract)), "received": listed}),
        )
        .into_response();
    }
    let headers: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| {
            let value = String::from_utf8_lossy(v.as_bytes()).into_owned();
            (k.as_str().to_ascii_lowercase(), value)
        })
        .collect();
    let text = String::from_utf8_lossy(&body).into_owned();
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let mut record = Received {
        at: SystemTime::now(),
        path: path.clone(),
        query,
        headers,
        body: text,
        json: parsed,
        status: 0,
        problem: None,
        scripted: false,
        duplicate: false,
    };
    let scripted = {
        let mut state = shared.lock();
        if state.down {
            Some(Scripted::status(503))
        } else {
            state.script.pop_front()
        }
    };
    if let Some(answer) = scripted {
        record.scripted = true;
        return match answer {
            Scripted::Stall(wait) => {
                // Recorded on arrival: the sender may give up (or die) before the answer.
                record.status = 200;
                shared.lock().received.push(record);
                tokio::time::sleep(wait).await;
                (StatusCode::OK, "ok").into_response()
            }
            Scripted::Status {
                status,
                retry_after,
                body,
            } => {
                record.status = status;
                shared.lock().received.push(record);
                let code =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let mut resp = (code, body).into_response();
                if let Some(secs) = retry_after
                    && let Ok(v) = secs.to_string().parse()
                {
                    resp.headers_mut().insert("retry-after", v);
                }
                resp
            }
        };
    }
    let read = method == Method::GET && contract_get(&shared.contract, &path);
    let patch = method == Method::PATCH
        && matches!(
            shared.contract,
            Contract::Kserve { .. } | Contract::Seldon { .. }
        );
    let verdict = if method != Method::POST && !read && !patch {
        Verdict::refuse(
            StatusCode::METHOD_NOT_ALLOWED,
            json!("method not allowed"),
            format!("{method} instead of POST"),
        )
    } else {
        let mut state = shared.lock();
        match &shared.contract {
            Contract::Slack => slack::check(&record),
            Contract::PagerDuty { routing_key } => {
                pagerduty::check(&record, routing_key, &mut state.incidents)
            }
            Contract::Webhook { .. } => {
                let secrets = state.secrets.clone();
                webhook::check(&record, &secrets, &mut state.seen_ids)
            }
            Contract::Airflow {
                api,
                username,
                password,
                dags,
            } => orchestrators::airflow(
                &record,
                *api,
                (username, password),
                dags,
                &mut state.orchestrator,
            ),
            Contract::Prefect { deployments } => {
                orchestrators::prefect(&record, deployments, &mut state.orchestrator)
            }
            Contract::Dagster {
                location,
                repository,
                jobs,
            } => {
                orchestrators::dagster(&record, location, repository, jobs, &mut state.orchestrator)
            }
            Contract::GithubActions {
                repo,
                token,
                workflows,
            } => orchestrators::github(&record, repo, token, workflows, &mut state.orchestrator),
            Contract::Kserve { token, .. } => {
                kserve::check(&record, token.as_deref(), patch, &mut state.inference)
            }
            Contract::Seldon { token, .. } => {
                seldon::check(&record, token.as_deref(), patch, &mut state.experiment)
            }
        }
    };
    record.status = verdict.status.as_u16();
    record.problem = verdict.problem;
    record.duplicate = verdict.duplicate;
    let delay = {
        let mut state = shared.lock();
        let applies = state
            .delay_path
            .as_deref()
            .is_none_or(|m| record.path.ends_with(m) || record.body.contains(m));
        state.accepted += usize::from(record.accepted());
        state.received.push(record);
        if applies { state.delay } else { Duration::ZERO }
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match verdict.body {
        Value::String(s) => (verdict.status, s).into_response(),
        other => (verdict.status, axum::Json(other)).into_response(),
    }
}

#[cfg(test)]
mod tests;
