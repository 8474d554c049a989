//! A Seldon Core 2 Experiment as the Kubernetes API serves it, for the deployment adapter:
//! `GET` and `PATCH` on `/apis/mlops.seldon.io/v1alpha1/namespaces/{ns}/experiments/{name}`.
//!
//! The contract enforced:
//! - a bearer token when the stand-in has one (401 otherwise);
//! - `GET` of an experiment never applied: 404 with a Kubernetes `Status` (reason `NotFound`);
//! - `PATCH` only as a server-side apply (`Content-Type: application/apply-patch+yaml`, 415
//!   otherwise) with a `fieldManager` in the query (400 without: the API server requires it);
//! - the applied object is a whole Experiment (`apiVersion: mlops.seldon.io/v1alpha1`, `kind:
//!   Experiment`, `metadata.name` as in the path) whose `spec.candidates` is a non-empty list of
//!   `{name, weight}` with weights that are non-negative integers summing above 0, whose `mirror`,
//!   when present, is `{name, percent}` with a percent from 0 to 100, and whose `default`, when
//!   present, is one of the candidates: otherwise 422 with reason `Invalid`, as the validating
//!   webhook answers;
//! - an accepted apply replaces the spec and the annotations (the manager owns them all),
//!   bumps `metadata.resourceVersion`, and answers 201 when it created the object, 200 otherwise.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::kserve::status;
use crate::{Received, Verdict};

pub(crate) fn path(namespace: &str, name: &str) -> String {
    format!("/apis/mlops.seldon.io/v1alpha1/namespaces/{namespace}/experiments/{name}")
}

/// The experiment, once applied.
#[derive(Debug, Default)]
pub(crate) struct Experiment {
    pub namespace: String,
    pub name: String,
    pub object: Option<Value>,
}

impl Experiment {
    /// The traffic split now: (model, percent of the traffic) per candidate, then the mirror as
    /// (`mirror:` model, percent mirrored).
    pub(crate) fn traffic(&self) -> Vec<(String, u64)> {
        let Some(o) = &self.object else {
            return Vec::new();
        };
        let candidates = o["spec"]["candidates"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let total: u64 = candidates.iter().filter_map(|c| c["weight"].as_u64()).sum();
        let mut out: Vec<(String, u64)> = candidates
            .iter()
            .filter_map(|c| {
                let w = c["weight"].as_u64()?;
                Some((c["name"].as_str()?.to_string(), w * 100 / total.max(1)))
            })
            .collect();
        if let Some(m) = o["spec"]["mirror"].as_object() {
            let name = m.get("name").and_then(Value::as_str).unwrap_or_default();
            let pct = m.get("percent").and_then(Value::as_u64).unwrap_or(0);
            out.push((format!("mirror:{name}"), pct));
        }
        out
    }
}

/// What is wrong with an applied Experiment, if anything.
fn invalid(body: &Value, name: &str) -> Option<String> {
    if body["apiVersion"] != "mlops.seldon.io/v1alpha1" || body["kind"] != "Experiment" {
        return Some("apiVersion/kind: must be mlops.seldon.io/v1alpha1 Experiment".into());
    }
    if body["metadata"]["name"] != name {
        return Some(format!(
            "metadata.name: must be {name:?}, the name in the path"
        ));
    }
    let Some(candidates) = body["spec"]["candidates"]
        .as_array()
        .filter(|c| !c.is_empty())
    else {
        return Some("spec.candidates: Required value".into());
    };
    let mut total = 0;
    for (i, c) in candidates.iter().enumerate() {
        if c["name"].as_str().is_none_or(str::is_empty) {
            return Some(format!("spec.candidates[{i}].name: Required value"));
        }
        let Some(w) = c["weight"].as_u64() else {
            return Some(format!(
                "spec.candidates[{i}].weight: must be a non-negative integer"
            ));
        };
        total += w;
    }
    if total == 0 {
        return Some("spec.candidates: the weights sum to 0".into());
    }
    let m = &body["spec"]["mirror"];
    if !m.is_null()
        && (m["name"].as_str().is_none_or(str::is_empty)
            || m["percent"].as_u64().is_none_or(|p| p > 100))
    {
        return Some("spec.mirror: needs a name and a percent from 0 to 100".into());
    }
    if let Some(d) = body["spec"]["default"].as_str()
        && !candidates.iter().any(|c| c["name"] == d)
    {
        return Some(format!("spec.default: {d:?} is not a candidate"));
    }
    None
}

pub(crate) fn check(r: &Received, token: Option<&str>, patch: bool, e: &mut Experiment) -> Verdict {
    if r.path != path(&e.namespace, &e.name) {
        let msg = format!("no experiment at {}", r.path);
        return Verdict::refuse(
            StatusCode::NOT_FOUND,
            status(404, "NotFound", msg.clone()),
            msg,
        );
    }
    if let Some(t) = token
        && r.header("authorization") != Some(&format!("Bearer {t}"))
    {
        return Verdict::refuse(
            StatusCode::UNAUTHORIZED,
            status(401, "Unauthorized", "Unauthorized".into()),
            "missing or wrong bearer token",
        );
    }
    if !patch {
        return match &e.object {
            Some(o) => Verdict::ok(StatusCode::OK, o.clone()),
            None => Verdict::ok(
                StatusCode::NOT_FOUND,
                status(
                    404,
                    "NotFound",
                    format!("experiments.mlops.seldon.io {:?} not found", e.name),
                ),
            ),
        };
    }
    let ctype = r.header("content-type").unwrap_or_default();
    if !ctype.starts_with("application/apply-patch+yaml") {
        let msg = format!("patch content type {ctype:?} is not a server-side apply");
        return Verdict::refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            status(415, "UnsupportedMediaType", msg.clone()),
            msg,
        );
    }
    if !r
        .query
        .split('&')
        .any(|kv| kv.starts_with("fieldManager=") && kv.len() > 13)
    {
        let msg = "fieldManager is required for apply requests".to_string();
        return Verdict::refuse(
            StatusCode::BAD_REQUEST,
            status(400, "BadRequest", msg.clone()),
            msg,
        );
    }
    let Some(body) = r.json.as_ref() else {
        let msg = "the body is not JSON or YAML of an object".to_string();
        return Verdict::refuse(
            StatusCode::BAD_REQUEST,
            status(400, "BadRequest", msg.clone()),
            msg,
        );
    };
    if let Some(why) = invalid(body, &e.name) {
        return Verdict::refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            status(
                422,
                "Invalid",
                format!("Experiment.mlops.seldon.io {:?} is invalid: {why}", e.name),
            ),
            why,
        );
    }
    let created = e.object.is_none();
    let version = e
        .object
        .as_ref()
        .and_then(|o| {
            o["metadata"]["resourceVersion"]
                .as_str()?
                .parse::<u64>()
                .ok()
        })
        .unwrap_or(0)
        + 1;
    let mut object = body.clone();
    object["metadata"]["resourceVersion"] = json!(version.to_string());
    object["metadata"]["namespace"] = json!(e.namespace);
    e.object = Some(object.clone());
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Verdict::ok(code, object)
}
