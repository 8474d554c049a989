//! OpenLineage's HTTP endpoint, as Marquez serves it (docs/ecosystem.md): `POST /api/v1/lineage`
//! takes one RunEvent, JobEvent or DatasetEvent (JSON, gzip accepted) and answers 201; `GET
//! /api/v1/lineage?nodeId=dataset:<ns>:<name>|job:<ns>:<name>&depth=N` answers the graph around
//! it in Marquez's shape: datasets and jobs (and Steward's models) with their edges, dataset
//! versions folded into their dataset, training runs into their job, model versions into their
//! model. Errors are Steward's REST errors: 400 naming the field, 401, 403, 413.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};
use steward_domain::*;
use steward_service::ServiceError;
use uuid::Uuid;

use crate::http::{AppState, authenticate, service_error_response};

/// The routes; event bodies (and what a gzip body inflates to) up to `limit` bytes.
pub(crate) fn routes(limit: usize) -> Router<AppState> {
    Router::new()
        .route("/api/v1/lineage", post(ingest).get(graph))
        .layer(axum::Extension(Limit(limit)))
        .layer(DefaultBodyLimit::max(limit))
}

#[derive(Clone, Copy)]
struct Limit(usize);

fn invalid(message: impl Into<String>) -> Response {
    service_error_response(&ServiceError::Invalid(message.into()))
}

/// The body as JSON text: inflated when `Content-Encoding: gzip`, at most `limit` bytes.
fn body_text(headers: &HeaderMap, body: &Bytes, limit: usize) -> Result<Vec<u8>, Box<Response>> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("identity") => Ok(body.to_vec()),
        Some("gzip") => {
            let mut out = Vec::new();
            let cap = u64::try_from(limit).unwrap_or(u64::MAX) + 1;
            flate2::read::GzDecoder::new(&body[..])
                .take(cap)
                .read_to_end(&mut out)
                .map_err(|e| Box::new(invalid(format!("body: not valid gzip: {e}"))))?;
            if out.len() > limit {
                let message = format!("body: inflates to more than {limit} bytes");
                return Err(Box::new(
                    (StatusCode::PAYLOAD_TOO_LARGE, message).into_response(),
                ));
            }
            Ok(out)
        }
        Some(other) => Err(Box::new(invalid(format!(
            "Content-Encoding {other:?} is not accepted; send gzip or none"
        )))),
    }
}

/// `POST /api/v1/lineage`: one event, stored whole or not at all; 201 with what it became.
async fn ingest(
    State(state): State<AppState>,
    axum::Extension(Limit(limit)): axum::Extension<Limit>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let principal = match authenticate(&state, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let text = match body_text(&headers, &body, limit) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let event: Value = match serde_json::from_slice(&text) {
        Ok(v) => v,
        Err(e) => return invalid(format!("body: not JSON: {e}")),
    };
    match state.service.ingest_lineage_event(&principal, event).await {
        Ok(done) => {
            let ids = |v: &[DatasetVersionId]| v.iter().map(|v| v.to_string()).collect::<Vec<_>>();
            let body = json!({
                "eventId": done.event_id.to_string(),
                "inputs": ids(&done.inputs),
                "outputs": ids(&done.outputs),
                "trainingRunId": done.training_run.map(|r| r.to_string()),
                "modelVersionIds": done.model_versions.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
            });
            (StatusCode::CREATED, axum::Json(body)).into_response()
        }
        Err(e) => service_error_response(&e),
    }
}

#[derive(serde::Deserialize)]
struct GraphParams {
    #[serde(rename = "nodeId")]
    node_id: Option<String>,
    depth: Option<u32>,
}

/// `GET /api/v1/lineage?nodeId=&depth=` (Marquez's default depth is 20).
async fn graph(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Query<GraphParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let principal = match authenticate(&state, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(Query(q)) = params else {
        return invalid("depth: must be a whole number");
    };
    match marquez_graph(&state, &principal, q).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => service_error_response(&e),
    }
}

/// `dataset:<ns>:<name>` or `job:<ns>:<name>`: the kind, namespace and name. The namespace
/// may hold `:` itself (`postgres://db:5432`); the name is what follows the last `:`.
fn node_id(raw: &str) -> Result<(&str, &str, &str), ServiceError> {
    let bad = || {
        ServiceError::Invalid(format!(
            "nodeId: `{}` is not dataset:<namespace>:<name> or job:<namespace>:<name>",
            validate::truncate(raw)
        ))
    };
    let (kind, rest) = raw.split_once(':').ok_or_else(bad)?;
    let (ns, name) = rest.rsplit_once(':').ok_or_else(bad)?;
    if !matches!(kind, "dataset" | "job") || ns.is_empty() || name.is_empty() {
        return Err(bad());
    }
    Ok((kind, ns, name))
}

async fn marquez_graph(
    state: &AppState,
    p: &Principal,
    q: GraphParams,
) -> Result<Value, ServiceError> {
    let svc = &state.service;
    let raw = q
        .node_id
        .ok_or_else(|| ServiceError::Invalid("nodeId: required".into()))?;
    let (kind, ns, name) = node_id(&raw)?;
    let depth = q.depth.unwrap_or(20).clamp(1, 20);
    let jobs: HashMap<Uuid, LineageJob> = svc
        .lineage_jobs(p)
        .await?
        .into_iter()
        .map(|j| (j.id, j))
        .collect();
    let start = match kind {
        "job" => jobs
            .values()
            .find(|j| j.namespace == ns && j.name == name)
            .map(|j| j.id),
        _ => svc.lineage_dataset(p, (ns, name)).await?,
    }
    .ok_or(ServiceError::NotFound("lineage node"))?;
    // One Marquez hop (dataset -> job) is two of Steward's (dataset version between).
    let steps = (depth * 2 + 1).min(MAX_LINEAGE_DEPTH);
    let g = svc.lineage(p, start, LineageDirection::Both, steps).await?;
    // Every Steward node folded into its Marquez node id.
    let ran_by: HashMap<Uuid, Uuid> = g
        .edges
        .iter()
        .filter(|e| e.relation == EdgeRelation::Ran)
        .map(|e| (e.to, e.from))
        .collect();
    let mut dataset_of: HashMap<Uuid, Uuid> = HashMap::new();
    for n in &g.nodes {
        match n.kind {
            NodeKind::Dataset => {
                dataset_of.insert(n.id, n.id);
            }
            NodeKind::DatasetVersion => {
                let v = svc
                    .dataset_version(p, DatasetVersionId::from_uuid(n.id))
                    .await?;
                dataset_of.insert(n.id, v.dataset_id.as_uuid());
            }
            _ => {}
        }
    }
    let dataset_ids: Vec<Uuid> = dataset_of.values().copied().collect();
    let ol_names = svc.lineage_dataset_names(p, &dataset_ids).await?;
    let mut names: HashMap<Uuid, (String, Value)> = HashMap::new();
    let mut model_names: HashMap<ModelId, String> = HashMap::new();
    for n in &g.nodes {
        let folded = match n.kind {
            NodeKind::Dataset | NodeKind::DatasetVersion => {
                let Some(d) = dataset_of.get(&n.id) else {
                    continue;
                };
                match ol_names.get(d) {
                    Some((ns, name)) => (
                        format!("dataset:{ns}:{name}"),
                        json!({"type": "DATASET", "namespace": ns, "name": name}),
                    ),
                    None => {
                        let ds = svc.dataset(p, DatasetId::from_uuid(*d)).await?;
                        (
                            format!("dataset:steward:{}", ds.name),
                            json!({"type": "DATASET", "namespace": "steward", "name": ds.name}),
                        )
                    }
                }
            }
            NodeKind::Job | NodeKind::TrainingRun => {
                let job = if n.kind == NodeKind::Job {
                    jobs.get(&n.id)
                } else {
                    ran_by.get(&n.id).and_then(|j| jobs.get(j))
                };
                match job {
                    Some(j) => (
                        format!("job:{}:{}", j.namespace, j.name),
                        json!({"type": "JOB", "namespace": j.namespace, "name": j.name}),
                    ),
                    None => (
                        format!("job:steward:{}", n.label),
                        json!({"type": "JOB", "namespace": "steward", "name": n.label}),
                    ),
                }
            }
            NodeKind::Model | NodeKind::ModelVersion => {
                let model = if n.kind == NodeKind::Model {
                    ModelId::from_uuid(n.id)
                } else {
                    svc.model_version(p, ModelVersionId::from_uuid(n.id))
                        .await?
                        .model_id
                };
                let name = match model_names.get(&model) {
                    Some(name) => name.clone(),
                    None => {
                        let name = svc.model(p, model).await?.name;
                        model_names.insert(model, name.clone());
                        name
                    }
                };
                (
                    format!("model:steward:{name}"),
                    json!({"type": "MODEL", "namespace": "steward", "name": name}),
                )
            }
            NodeKind::Incident | NodeKind::DecisionRecord => continue,
        };
        names.insert(n.id, folded);
    }
    let mut edges: BTreeSet<(String, String)> = BTreeSet::new();
    for e in &g.edges {
        if let (Some((a, _)), Some((b, _))) = (names.get(&e.from), names.get(&e.to))
            && a != b
        {
            edges.insert((a.clone(), b.clone()));
        }
    }
    let mut nodes: BTreeMap<String, Value> = BTreeMap::new();
    for (id, data) in names.values() {
        nodes.entry(id.clone()).or_insert_with(|| data.clone());
    }
    let graph: Vec<Value> = nodes
        .into_iter()
        .map(|(id, data)| {
            let edge = |(o, d): &(String, String)| json!({"origin": o, "destination": d});
            let in_edges: Vec<Value> = edges.iter().filter(|(_, d)| *d == id).map(edge).collect();
            let out_edges: Vec<Value> = edges.iter().filter(|(o, _)| *o == id).map(edge).collect();
            let t = data["type"].clone();
            json!({"id": id, "type": t, "data": data, "inEdges": in_edges, "outEdges": out_edges})
        })
        .collect();
    Ok(json!({"graph": graph}))
}
