//! Deployment actions carried to serving targets: an endpoint's desired state after a change
//! (champion, canary and its traffic, shadow and its mirror), as written in the action's
//! payload by `deployments::changes`.
//!
//! - **Webhook**: the whole desired state as a Standard Webhooks delivery of type
//!   `deployment.changed` (`render.rs` signs it); the receiver applies it.
//! - **Seldon Core 2** (an Experiment on the Kubernetes API): the experiment is applied whole
//!   (server-side apply, `application/apply-patch+yaml`, field manager `steward`, forced): the
//!   champion and the canary as candidates weighted by their shares, the shadow as the mirror.
//!   The Seldon Model serving version N of model M is named `M-vN` (lower case, other
//!   characters `-`); clients call the experiment (`seldon-model: NAME.experiment`), which stays
//!   the same across promotions. A read first recognises a revision already applied.
//! - **KServe** (an InferenceService on the Kubernetes API): read the object, then a JSON merge
//!   patch of `spec.predictor.model.storageUri` and `spec.predictor.canaryTrafficPercent` with
//!   the object's `metadata.resourceVersion` as precondition; a 409 (someone changed it since
//!   the read) reads again, up to three times in the attempt. A champion alone is written as
//!   its storage URI with `canaryTrafficPercent` removed, so the spec names what serves: a
//!   rollback never leaves the bad version in the spec at 0% (KServe's own rollback by
//!   `canaryTrafficPercent: 0` does). KServe splits canary traffic with the revision it rolled
//!   out last, so a canary is only patched onto an InferenceService that serves the champion or
//!   that canary; it has no shadow (kserve#2978), which is refused. The revision applied is
//!   recorded in the annotation `serving.steward.dev/revision`, so a redelivery (or a delivery
//!   overtaken by a later revision) is recognised and changes nothing; the answer's
//!   `status.components.predictor.traffic` is kept with the attempt.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use steward_domain::{AttemptOutcome, PendingAction, TargetKind, TargetSecrets};

use super::OutboxSettings;
use super::orchestrate::json_of;
use super::render::Request;
use super::send::{self, Answer};

/// The annotation carrying the endpoint revision applied.
pub(crate) const REVISION_ANNOTATION: &str = "serving.steward.dev/revision";
/// Reads and patches one attempt makes when the object keeps changing under it.
const CONFLICT_ROUNDS: usize = 3;

/// A desired state to apply to a KServe InferenceService or a Seldon Core 2 Experiment.
#[derive(Clone, Debug)]
pub(crate) struct Rollout {
    kind: TargetKind,
    url: String,
    token: Option<String>,
    payload: Value,
}

/// What applying a deployment action to a serving target takes; an error for a target that
/// cannot serve it (the reason the action is dead-lettered with).
pub(crate) fn rollout(
    kind: TargetKind,
    secrets: &TargetSecrets,
    action: &PendingAction,
) -> Result<Rollout, String> {
    let Some(can) = kind.serving() else {
        return Err(format!(
            "a {} target does not serve models; point the endpoint at a kserve or webhook target",
            kind.as_str()
        ));
    };
    if !action.payload["shadow"].is_null() && !can.shadow {
        return Err(format!(
            "a {} target cannot mirror traffic to a shadow; the desired state names one",
            kind.as_str()
        ));
    }
    if !action.payload["canary"].is_null() && !can.canary {
        return Err(format!(
            "a {} target cannot split traffic to a canary",
            kind.as_str()
        ));
    }
    Ok(Rollout {
        kind,
        url: secrets.url.trim_end_matches('/').to_string(),
        token: secrets.secret.clone(),
        payload: action.payload.clone(),
    })
}

fn request(r: &Rollout, method: reqwest::Method, body: Option<&Value>) -> Request {
    let mut headers = Vec::new();
    if let Some(t) = &r.token {
        headers.push(("authorization", format!("Bearer {t}")));
    }
    let mut url = r.url.clone();
    if body.is_some() {
        let patch = if r.kind == TargetKind::Seldon {
            url.push_str("?fieldManager=steward&force=true");
            "application/apply-patch+yaml"
        } else {
            "application/merge-patch+json"
        };
        headers.push(("content-type", patch.to_string()));
    }
    Request {
        method,
        url,
        headers,
        body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
    }
}

/// Applies a deployment action to its target.
pub(crate) async fn apply(
    client: &reqwest::Client,
    r: Rollout,
    s: &OutboxSettings,
    now: DateTime<Utc>,
) -> (Option<Answer>, AttemptOutcome, String) {
    match r.kind {
        TargetKind::Seldon => seldon(client, r, s, now).await,
        _ => kserve(client, r, s, now).await,
    }
}

/// The Seldon Model name of a served version: `{model}-v{version}`, DNS-1123.
pub(crate) fn seldon_model(model: &str, version: &Value) -> String {
    let name: String = format!("{model}-v{}", version.as_i64().unwrap_or_default())
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    name.trim_matches('-').to_string()
}

/// The Experiment that serves the desired state.
fn experiment(desired: &Value, url: &str) -> Result<Value, String> {
    let (ns, name) = steward_domain::kube_object(url, "mlops.seldon.io/v1alpha1", "experiments")
        .ok_or("the target's URL names no Experiment")?;
    let model = desired["model"]["name"]
        .as_str()
        .ok_or("the desired state names no model")?;
    let mut candidates = vec![
        json!({"name": seldon_model(model, &desired["champion"]["version"]),
        "weight": 100 - desired["canary"]["percent"].as_u64().unwrap_or(0)}),
    ];
    if desired["canary"].is_object() {
        candidates.push(
            json!({"name": seldon_model(model, &desired["canary"]["version"]),
            "weight": desired["canary"]["percent"]}),
        );
    }
    let mut spec = json!({"candidates": candidates});
    if desired["shadow"].is_object() {
        spec["mirror"] = json!({"name": seldon_model(model, &desired["shadow"]["version"]),
            "percent": desired["shadow"]["percent"]});
    }
    Ok(json!({
        "apiVersion": "mlops.seldon.io/v1alpha1",
        "kind": "Experiment",
        "metadata": {"name": name, "namespace": ns, "annotations": {
            REVISION_ANNOTATION: desired["revision"].as_i64().unwrap_or_default().to_string(),
            "serving.steward.dev/endpoint": desired["endpoint"]["name"]}},
        "spec": spec,
    }))
}

/// Applies the desired state to a Seldon Core 2 Experiment (see the module's notes).
async fn seldon(
    client: &reqwest::Client,
    r: Rollout,
    s: &OutboxSettings,
    now: DateTime<Utc>,
) -> (Option<Answer>, AttemptOutcome, String) {
    let revision = r.payload["revision"].as_i64().unwrap_or_default();
    let a = send::send(client, request(&r, reqwest::Method::GET, None), s, now).await;
    match a.status {
        Some(200) => {
            let current = json_of(&a);
            let applied = current["metadata"]["annotations"][REVISION_ANNOTATION]
                .as_str()
                .and_then(|v| v.parse::<i64>().ok());
            if let Some(applied) = applied.filter(|n| *n >= revision) {
                return (
                    Some(a),
                    AttemptOutcome::Delivered,
                    format!("already at endpoint revision {applied}"),
                );
            }
        }
        // Not created yet: the apply creates it.
        Some(404) => {}
        _ => {
            let (outcome, detail) = send::judge(TargetKind::Seldon, &a);
            return (
                Some(a),
                outcome,
                format!("reading the Experiment: {detail}"),
            );
        }
    }
    let body = match experiment(&r.payload, &r.url) {
        Ok(b) => b,
        Err(why) => return (None, AttemptOutcome::Dead, why),
    };
    let a = send::send(
        client,
        request(&r, reqwest::Method::PATCH, Some(&body)),
        s,
        now,
    )
    .await;
    match a.status {
        Some(200 | 201) => {
            let split: Vec<String> = body["spec"]["candidates"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| format!("{} {}", c["name"].as_str().unwrap_or("?"), c["weight"]))
                .collect();
            let detail = format!(
                "endpoint revision {revision} applied (candidates: {})",
                split.join(", ")
            );
            (Some(a), AttemptOutcome::Delivered, detail)
        }
        _ => {
            let (outcome, detail) = send::judge(TargetKind::Seldon, &a);
            (
                Some(a),
                outcome,
                format!("applying the Experiment: {detail}"),
            )
        }
    }
}

fn uri(v: &Value) -> Option<&str> {
    v["artifactUri"].as_str()
}

/// The merge patch that makes `isvc` serve the desired state, or why it cannot.
fn patch_for(desired: &Value, isvc: &Value) -> Result<Value, String> {
    let champion = uri(&desired["champion"]).ok_or("the desired state names no champion")?;
    let live = isvc["spec"]["predictor"]["model"]["storageUri"]
        .as_str()
        .unwrap_or_default();
    let revision = desired["revision"].as_i64().unwrap_or_default();
    let (storage, canary) = match desired["canary"].as_object() {
        Some(_) => {
            let c = &desired["canary"];
            let canary_uri = uri(c).ok_or("the canary has no artifact URI")?;
            if live != champion && live != canary_uri {
                return Err(format!(
                    "the InferenceService serves {live:?}, neither the champion ({champion:?}) nor the canary; KServe splits canary traffic with the revision it rolled out last, so roll it to the champion first"
                ));
            }
            (canary_uri, json!(c["percent"]))
        }
        None => (champion, Value::Null),
    };
    Ok(json!({
        "metadata": {
            "resourceVersion": isvc["metadata"]["resourceVersion"],
            "annotations": {
                REVISION_ANNOTATION: revision.to_string(),
                "serving.steward.dev/endpoint": desired["endpoint"]["name"],
            },
        },
        "spec": {"predictor": {
            "canaryTrafficPercent": canary,
            "model": {"storageUri": storage},
        }},
    }))
}

/// The traffic split an InferenceService reports, in a word.
fn traffic(isvc: &Value) -> String {
    let list = isvc["status"]["components"]["predictor"]["traffic"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let parts: Vec<String> = list
        .iter()
        .map(|t| {
            format!(
                "{} {}%",
                t["revisionName"].as_str().unwrap_or("?"),
                t["percent"]
            )
        })
        .collect();
    if parts.is_empty() {
        "no traffic reported yet".into()
    } else {
        parts.join(", ")
    }
}

/// Applies the desired state to a KServe InferenceService (see the module's notes).
async fn kserve(
    client: &reqwest::Client,
    r: Rollout,
    s: &OutboxSettings,
    now: DateTime<Utc>,
) -> (Option<Answer>, AttemptOutcome, String) {
    let revision = r.payload["revision"].as_i64().unwrap_or_default();
    let mut last = None;
    for _ in 0..CONFLICT_ROUNDS {
        let a = send::send(client, request(&r, reqwest::Method::GET, None), s, now).await;
        if a.status != Some(200) {
            let (outcome, detail) = send::judge(TargetKind::Kserve, &a);
            return (
                Some(a),
                outcome,
                format!("reading the InferenceService: {detail}"),
            );
        }
        let isvc = json_of(&a);
        let applied = isvc["metadata"]["annotations"][REVISION_ANNOTATION]
            .as_str()
            .and_then(|v| v.parse::<i64>().ok());
        if let Some(applied) = applied.filter(|n| *n >= revision) {
            let detail = format!(
                "already at endpoint revision {applied} (traffic: {})",
                traffic(&isvc)
            );
            return (Some(a), AttemptOutcome::Delivered, detail);
        }
        let patch = match patch_for(&r.payload, &isvc) {
            Ok(p) => p,
            Err(why) => return (Some(a), AttemptOutcome::Dead, why),
        };
        let req = request(&r, reqwest::Method::PATCH, Some(&patch));
        let a = send::send(client, req, s, now).await;
        match a.status {
            Some(200) => {
                let detail = format!(
                    "endpoint revision {revision} applied (traffic: {})",
                    traffic(&json_of(&a))
                );
                return (Some(a), AttemptOutcome::Delivered, detail);
            }
            // Changed since our read: read it again.
            Some(409) => last = Some(a),
            _ => {
                let (outcome, detail) = send::judge(TargetKind::Kserve, &a);
                return (
                    Some(a),
                    outcome,
                    format!("patching the InferenceService: {detail}"),
                );
            }
        }
    }
    (
        last,
        AttemptOutcome::Retry,
        format!("the InferenceService changed under {CONFLICT_ROUNDS} patches in a row (409)"),
    )
}

/// The Standard Webhooks body of a deployment action: `deployment.changed` with the desired
/// state.
pub(crate) fn webhook_body(action: &PendingAction, tenant: &str, now: DateTime<Utc>) -> Value {
    json!({
        "type": "deployment.changed",
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": {
            "action": action.id.to_string(),
            "idempotencyKey": action.id.to_string(),
            "tenant": tenant,
            "model": action.model_id.to_string(),
            "desiredState": action.payload,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(canary: Option<u8>) -> Value {
        json!({
            "endpoint": {"name": "fraud-scorer"},
            "revision": 4,
            "champion": {"version": 2, "artifactUri": "s3://m/v2", "percent": 100},
            "canary": canary.map(|p| json!({"version": 3, "artifactUri": "s3://m/v3", "percent": p})),
            "shadow": null,
        })
    }

    fn isvc(live: &str) -> Value {
        json!({"metadata": {"resourceVersion": "17"},
            "spec": {"predictor": {"model": {"storageUri": live}}}})
    }

    #[test]
    fn a_canary_patches_the_new_uri_and_its_share_under_the_resource_version() {
        let p = patch_for(&desired(Some(25)), &isvc("s3://m/v2")).unwrap();
        assert_eq!(p["metadata"]["resourceVersion"], "17");
        assert_eq!(p["spec"]["predictor"]["model"]["storageUri"], "s3://m/v3");
        assert_eq!(p["spec"]["predictor"]["canaryTrafficPercent"], 25);
        assert_eq!(p["metadata"]["annotations"][REVISION_ANNOTATION], "4");
    }

    #[test]
    fn a_champion_alone_names_its_uri_and_removes_the_canary_share() {
        let p = patch_for(&desired(None), &isvc("s3://m/v3")).unwrap();
        assert_eq!(p["spec"]["predictor"]["model"]["storageUri"], "s3://m/v2");
        assert!(p["spec"]["predictor"]["canaryTrafficPercent"].is_null());
    }

    #[test]
    fn a_seldon_experiment_weights_the_champion_and_the_canary_and_mirrors_the_shadow() {
        let mut d = desired(Some(25));
        d["model"] = json!({"name": "Fraud_Detector"});
        d["shadow"] = json!({"version": 4, "percent": 10});
        let url = "https://k8s/apis/mlops.seldon.io/v1alpha1/namespaces/fraud/experiments/scorer";
        let e = experiment(&d, url).unwrap();
        assert_eq!(e["metadata"]["name"], "scorer");
        assert_eq!(e["metadata"]["namespace"], "fraud");
        assert_eq!(
            e["spec"]["candidates"],
            json!([{"name": "fraud-detector-v2", "weight": 75}, {"name": "fraud-detector-v3", "weight": 25}])
        );
        assert_eq!(
            e["spec"]["mirror"],
            json!({"name": "fraud-detector-v4", "percent": 10})
        );
        let alone = experiment(
            &{
                let mut d = desired(None);
                d["model"] = json!({"name": "m"});
                d
            },
            url,
        )
        .unwrap();
        assert_eq!(
            alone["spec"],
            json!({"candidates": [{"name": "m-v2", "weight": 100}]})
        );
    }

    #[test]
    fn a_canary_onto_an_unknown_revision_is_refused() {
        let e = patch_for(&desired(Some(5)), &isvc("s3://m/v1")).unwrap_err();
        assert!(e.contains("neither the champion"), "{e}");
    }
}
