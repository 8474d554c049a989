//! A KServe InferenceService as the Kubernetes API serves it, for the deployment adapter:
//! `GET` and `PATCH` on `/apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices/{name}`.
//!
//! The contract enforced:
//! - a bearer token when the stand-in has one (401 otherwise);
//! - `PATCH` only as a JSON merge patch (`Content-Type: application/merge-patch+json`, RFC 7386:
//!   objects merge, `null` removes, anything else replaces), 415 for any other patch type;
//! - `metadata.resourceVersion` in the patch is a precondition: a stale one is answered
//!   `409 Conflict` with a Kubernetes `Status` (reason `Conflict`), as the API server does;
//! - every accepted change bumps `metadata.resourceVersion`; a change of the predictor's
//!   `storageUri` makes a new revision; `spec.predictor.canaryTrafficPercent` splits traffic
//!   between the latest revision and the last one rolled out at 100%, and `status.components.
//!   predictor.traffic[]` says so, as KServe's controller reports it (serverless mode).

use serde_json::{Map, Value, json};

use axum::http::StatusCode;

use crate::{Received, Verdict};

/// The API path of an InferenceService.
pub(crate) fn path(namespace: &str, name: &str) -> String {
    format!("/apis/serving.kserve.io/v1beta1/namespaces/{namespace}/inferenceservices/{name}")
}

/// The InferenceService and its revisions.
#[derive(Debug, Default)]
pub(crate) struct Service {
    pub object: Value,
    /// Revisions by number, each with its storage URI (`{name}-predictor-0000N`).
    revisions: Vec<String>,
    /// The revision that last took all traffic.
    rolled_out: usize,
}

impl Service {
    pub(crate) fn new(namespace: &str, name: &str, storage_uri: &str) -> Self {
        let mut s = Service {
            object: json!({
                "apiVersion": "serving.kserve.io/v1beta1",
                "kind": "InferenceService",
                "metadata": {"name": name, "namespace": namespace, "resourceVersion": "1",
                    "annotations": {}},
                "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"},
                    "storageUri": storage_uri}}},
            }),
            revisions: vec![storage_uri.to_string()],
            rolled_out: 0,
        };
        s.report();
        s
    }

    fn name(&self) -> String {
        self.object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn revision_name(&self, i: usize) -> String {
        format!("{}-predictor-{:05}", self.name(), i + 1)
    }

    /// The storage URI the spec names now.
    pub(crate) fn storage_uri(&self) -> String {
        self.object["spec"]["predictor"]["model"]["storageUri"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// `status.components.predictor.traffic` from the spec and the revisions.
    fn report(&mut self) {
        let latest = self.revisions.len() - 1;
        let canary = self.object["spec"]["predictor"]["canaryTrafficPercent"].as_u64();
        let traffic = match canary {
            Some(p) if p < 100 && latest != self.rolled_out => json!([
                {"revisionName": self.revision_name(latest), "percent": p, "latestRevision": true, "tag": "latest"},
                {"revisionName": self.revision_name(self.rolled_out), "percent": 100 - p, "latestRevision": false, "tag": "prev"},
            ]),
            _ => {
                self.rolled_out = latest;
                json!([{"revisionName": self.revision_name(latest), "percent": 100, "latestRevision": true}])
            }
        };
        self.object["status"] = json!({"components": {"predictor": {"traffic": traffic,
            "latestCreatedRevision": self.revision_name(latest)}},
            "conditions": [{"type": "Ready", "status": "True"}]});
    }

    /// The traffic split now: (storage URI, percent) per revision serving.
    pub(crate) fn traffic(&self) -> Vec<(String, u64)> {
        let Some(list) = self.object["status"]["components"]["predictor"]["traffic"].as_array()
        else {
            return Vec::new();
        };
        list.iter()
            .filter_map(|t| {
                let name = t["revisionName"].as_str()?;
                let n: usize = name.rsplit('-').next()?.parse().ok()?;
                Some((self.revisions.get(n - 1)?.clone(), t["percent"].as_u64()?))
            })
            .collect()
    }
}

/// RFC 7386: merges `patch` into `target`.
fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

pub(crate) fn status(code: u16, reason: &str, message: String) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
        "reason": reason, "code": code})
}

pub(crate) fn check(r: &Received, token: Option<&str>, patch: bool, svc: &mut Service) -> Verdict {
    let ns = svc.object["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default();
    if r.path != path(ns, &svc.name()) {
        return Verdict::refuse(
            StatusCode::NOT_FOUND,
            status(
                404,
                "NotFound",
                format!("no InferenceService at {}", r.path),
            ),
            format!("no InferenceService at {}", r.path),
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
        return Verdict::ok(StatusCode::OK, svc.object.clone());
    }
    let ctype = r.header("content-type").unwrap_or_default();
    if !ctype.starts_with("application/merge-patch+json") {
        return Verdict::refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            status(
                415,
                "UnsupportedMediaType",
                format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml; got {ctype:?}"
                ),
            ),
            format!("patch content type {ctype:?} is not a JSON merge patch"),
        );
    }
    let Some(body) = r.json.as_ref().filter(|b| b.is_object()) else {
        return Verdict::refuse(
            StatusCode::BAD_REQUEST,
            status(400, "BadRequest", "the patch is not a JSON object".into()),
            "the patch is not a JSON object",
        );
    };
    let current = svc.object["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if let Some(asked) = body["metadata"]["resourceVersion"].as_str()
        && asked != current
    {
        let message = format!(
            "Operation cannot be fulfilled on inferenceservices.serving.kserve.io \"{}\": the object has been modified; please apply your changes to the latest version and try again",
            svc.name()
        );
        return Verdict::refuse(
            StatusCode::CONFLICT,
            status(409, "Conflict", message),
            format!("stale resourceVersion {asked} (current {current})"),
        );
    }
    let before = svc.storage_uri();
    let mut patch = body.clone();
    if let Some(m) = patch.get_mut("metadata").and_then(Value::as_object_mut) {
        m.remove("resourceVersion");
    }
    merge(&mut svc.object, &patch);
    let next = current.parse::<u64>().unwrap_or(0) + 1;
    svc.object["metadata"]["resourceVersion"] = json!(next.to_string());
    let after = svc.storage_uri();
    if after != before {
        svc.revisions.push(after);
    }
    svc.report();
    Verdict::ok(StatusCode::OK, svc.object.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge(&mut t, &json!({"a": "z", "c": {"f": null}}));
        assert_eq!(t, json!({"a": "z", "c": {"d": "e"}}));
        let mut t = json!({"a": [1, 2]});
        merge(&mut t, &json!({"a": [3]}));
        assert_eq!(t, json!({"a": [3]}));
    }
}
