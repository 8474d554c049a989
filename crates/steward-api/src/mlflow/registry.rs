//! Registered models and model versions in MLflow's shapes, read and written through Steward's
//! registry use cases.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use steward_domain::*;
use steward_service::{RegisterModelVersion, Service};

use super::filter::{Attr, Filter};
pub(super) use super::shapes::{Facts, model_json, version_json};
use super::{Failure, caller, invalid, param, params, run, service_error, tags_of};
use crate::AppState;

type Pairs = Query<Vec<(String, String)>>;

/// Most models or versions one search reads (the registry is paged in memory for MLflow's
/// filters and orders; see the notes in docs/ecosystem.md).
const MAX_SCAN: usize = 10_000;
const DEFAULT_MODELS_PAGE: usize = 100;
const DEFAULT_VERSIONS_PAGE: usize = 200_000;

pub(super) fn body_json(body: &Bytes) -> Result<Value, Failure> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| invalid(format!("the body is not JSON: {e}")))?;
    if v.is_object() {
        Ok(v)
    } else {
        Err(invalid("the body must be a JSON object"))
    }
}

pub(super) fn required<'a>(v: Option<&'a str>, field: &str) -> Result<&'a str, Failure> {
    v.filter(|s| !s.is_empty())
        .ok_or_else(|| invalid(format!("Missing value for required parameter '{field}'")))
}

/// The version number in `version` (MLflow sends it as a string).
pub(super) fn number(v: Option<&str>) -> Result<i64, Failure> {
    let v = required(v, "version")?;
    v.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| invalid(format!("version: {v:?} is not a version number")))
}

pub(super) fn ok(v: Value) -> Response {
    axum::Json(v).into_response()
}

/// The model's newest live version, if any (the highest number handed out may be deleted).
pub(super) async fn latest(
    svc: &Service,
    p: &Principal,
    m: &Model,
) -> Result<Option<ModelVersion>, Failure> {
    if m.latest_version == 0 {
        return Ok(None);
    }
    let first = PageRequest {
        first: 1,
        after: None,
    };
    Ok(svc.model_versions(p, m.id, first).await?.items.pop())
}

/// Every model of the tenant, at most `MAX_SCAN`.
async fn all_models(svc: &Service, p: &Principal) -> Result<Vec<Model>, Failure> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = PageRequest { first: 100, after };
        let got = svc.models(p, ModelFilter::default(), page).await?;
        out.extend(got.items);
        if !got.has_next_page || out.len() >= MAX_SCAN {
            return Ok(out);
        }
        after = got.end_cursor;
    }
}

/// Every version of `m`, newest first, at most `MAX_SCAN`.
async fn all_versions(
    svc: &Service,
    p: &Principal,
    m: &Model,
) -> Result<Vec<ModelVersion>, Failure> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = PageRequest { first: 100, after };
        let got = svc.model_versions(p, m.id, page).await?;
        out.extend(got.items);
        if !got.has_next_page || out.len() >= MAX_SCAN {
            return Ok(out);
        }
        after = got.end_cursor;
    }
}

/// The page `[offset, offset + size)` of `items` and the token of the next one.
fn paged<T>(
    items: Vec<T>,
    pairs: &[(String, String)],
    default: usize,
) -> Result<(Vec<T>, Option<String>), Failure> {
    let (offset, size) = window(pairs, default)?;
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(offset).take(size).collect();
    Ok((page, next_token(offset, size, total)))
}

fn next_token(offset: usize, size: usize, total: usize) -> Option<String> {
    (offset + size < total).then(|| URL_SAFE_NO_PAD.encode((offset + size).to_string()))
}

/// The (offset, size) a search's `page_token` and `max_results` ask for.
fn window(pairs: &[(String, String)], default: usize) -> Result<(usize, usize), Failure> {
    let size = match param(pairs, "max_results") {
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=200_000).contains(n))
            .ok_or_else(|| invalid(format!("max_results: {n:?} must be between 1 and 200000")))?,
        None => default,
    };
    let offset = match param(pairs, "page_token").filter(|t| !t.is_empty()) {
        Some(t) => URL_SAFE_NO_PAD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| invalid("page_token: not a token this server returned"))?,
        None => 0,
    };
    Ok((offset, size))
}

/// The order a search asks for: (key, descending), the first `order_by` only.
fn order(pairs: &[(String, String)]) -> Result<Option<(String, bool)>, Failure> {
    let Some(o) = params(pairs, "order_by").into_iter().next() else {
        return Ok(None);
    };
    let mut words = o.split_whitespace();
    let key = words
        .next()
        .unwrap_or_default()
        .trim_matches('`')
        .to_string();
    let desc = match words.next().map(str::to_ascii_uppercase).as_deref() {
        None | Some("ASC") => false,
        Some("DESC") => true,
        Some(w) => return Err(invalid(format!("order_by: {w:?} (ASC or DESC)"))),
    };
    match key.as_str() {
        "name" | "last_updated_timestamp" | "creation_timestamp" | "version_number" => {
            Ok(Some((key, desc)))
        }
        other => Err(invalid(format!(
            "order_by: cannot order by {other:?} (name, creation_timestamp, last_updated_timestamp, version_number)"
        ))),
    }
}

/// `POST registered-models/create {name, tags, description}`.
pub(super) async fn create_model(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let p = caller(&state, &headers).await?;
        let b = body_json(&body)?;
        let name = required(b["name"].as_str(), "name")?.to_string();
        let (mut owner, mut tier) = ("unassigned".to_string(), RiskTier::Medium);
        let mut kept = Vec::new();
        for (k, v) in tags_of(&b)? {
            match k.as_str() {
                "steward.owner_team" => owner = v,
                "steward.risk_tier" => {
                    tier = v
                        .parse()
                        .map_err(|e: ValidationError| invalid(e.to_string()))?;
                }
                _ => {
                    validate_tag(&k, &v).map_err(|e| invalid(format!("tags: {e}")))?;
                    kept.push((k, v));
                }
            }
        }
        let new = NewModel {
            name,
            description: b["description"].as_str().unwrap_or_default().to_string(),
            owner_team: owner,
            risk_tier: tier,
            tags: Vec::new(),
        }
        .validate()
        .map_err(|e| invalid(e.to_string()))?;
        let m = state.service.register_model_tagged(&p, new, kept).await?;
        let f = Facts::of(&state.service, &p, &m).await?;
        Ok::<_, Failure>(ok(json!({"registered_model": model_json(&m, None, &f)})))
    };
    run(result).await
}

/// `GET registered-models/get?name=`.
pub(super) async fn get_model(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Pairs,
) -> Response {
    let result = async {
        let p = caller(&state, &headers).await?;
        let name = required(param(&q, "name"), "name")?;
        let m = state.service.model_by_name(&p, name).await?;
        let v = latest(&state.service, &p, &m).await?;
        let f = Facts::of(&state.service, &p, &m).await?;
        Ok::<_, Failure>(ok(
            json!({"registered_model": model_json(&m, v.as_ref(), &f)}),
        ))
    };
    run(result).await
}

/// The value a model has for a filter's attribute.
fn model_attr(m: &Model, f: &Facts, attr: &Attr) -> Option<String> {
    match attr {
        Attr::Name => Some(m.name.clone()),
        Attr::Tag(k) if k == "steward.owner_team" => Some(m.owner_team.clone()),
        Attr::Tag(k) if k == "steward.risk_tier" => Some(m.risk_tier.as_str().to_string()),
        Attr::Tag(k) => f.tag(0, k).map(str::to_owned),
        _ => None,
    }
}

/// `GET registered-models/search?filter=&max_results=&order_by=&page_token=`.
pub(super) async fn search_models(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Pairs,
) -> Response {
    let result = async {
        let p = caller(&state, &headers).await?;
        let filter = Filter::parse(param(&q, "filter")).map_err(invalid)?;
        if let Some(c) = filter
            .0
            .iter()
            .find(|c| matches!(c.attr, Attr::RunId | Attr::VersionNumber))
        {
            return Err(invalid(format!(
                "filter: registered models have no {:?}",
                c.attr
            )));
        }
        let order = order(&q)?;
        // Tags are read only when the filter names one.
        let by_tag = filter.0.iter().any(|c| matches!(c.attr, Attr::Tag(_)));
        let mut models: Vec<Model> = Vec::new();
        for m in all_models(&state.service, &p).await? {
            let f = if by_tag {
                Facts::of(&state.service, &p, &m).await?
            } else {
                Facts::default()
            };
            if filter
                .0
                .iter()
                .all(|c| c.holds(model_attr(&m, &f, &c.attr).as_deref()))
            {
                models.push(m);
            }
        }
        match order {
            Some((k, desc)) => {
                models.sort_by(|a, b| {
                    let o = match k.as_str() {
                        "last_updated_timestamp" => a.updated_at.cmp(&b.updated_at),
                        "creation_timestamp" => a.created_at.cmp(&b.created_at),
                        _ => a.name.cmp(&b.name),
                    }
                    .then_with(|| a.name.cmp(&b.name));
                    if desc { o.reverse() } else { o }
                });
            }
            None => models.sort_by(|a, b| a.name.cmp(&b.name)),
        }
        let (page, next) = paged(models, &q, DEFAULT_MODELS_PAGE)?;
        let mut out = Vec::with_capacity(page.len());
        for m in &page {
            let v = latest(&state.service, &p, m).await?;
            let f = Facts::of(&state.service, &p, m).await?;
            out.push(model_json(m, v.as_ref(), &f));
        }
        let mut body = json!({"registered_models": out});
        if let Some(t) = next {
            body["next_page_token"] = json!(t);
        }
        Ok::<_, Failure>(ok(body))
    };
    run(result).await
}

/// `POST model-versions/create {name, source, run_id, tags, run_link, description}`.
pub(super) async fn create_version(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = async {
        let p = caller(&state, &headers).await?;
        let b = body_json(&body)?;
        let name = required(b["name"].as_str(), "name")?;
        let source = required(b["source"].as_str(), "source")?.to_string();
        if b["model_id"].as_str().is_some_and(|s| !s.is_empty()) {
            return Err(invalid(
                "model_id: Steward keeps no logged models; register from the artifact's URI (source)",
            ));
        }
        let text = |field: &str| {
            b[field]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let notes = VersionNotes {
            description: text("description").unwrap_or_default(),
            run_id: text("run_id"),
            run_link: text("run_link"),
        };
        let (mut digest, mut framework) = (None, "mlflow".to_string());
        let mut kept = Vec::new();
        for (k, v) in tags_of(&b)? {
            match k.as_str() {
                "steward.artifact_digest" => digest = Some(v),
                "steward.framework" => framework = v,
                _ => {
                    validate_tag(&k, &v).map_err(|e| invalid(format!("tags: {e}")))?;
                    kept.push((k, v));
                }
            }
        }
        let digest = digest.ok_or_else(|| {
            invalid("tags: steward.artifact_digest is required (sha256 of the artifact): Steward records what was built")
        })?;
        let digest = Sha256Digest::parse("tags.steward.artifact_digest", &digest)
            .map_err(|e| invalid(e.to_string()))?;
        let m = state.service.model_by_name(&p, name).await?;
        let input = RegisterModelVersion {
            version: NewModelVersion {
                model_id: m.id,
                artifact_uri: source,
                artifact_digest: digest,
                framework,
                input_schema: Vec::new(),
                metrics: Default::default(),
                tags: Vec::new(),
                training_run: None,
                notes,
            },
            idempotency_key: None,
        };
        let v = state
            .service
            .register_model_version_tagged(&p, input, kept)
            .await?;
        let f = Facts::of(&state.service, &p, &m).await?;
        Ok::<_, Failure>(ok(json!({"model_version": version_json(&m.name, &v, &f)})))
    };
    run(result).await
}

/// The model `name` and its version `version` of the query.
pub(super) async fn named_version(
    state: &AppState,
    p: &Principal,
    q: &[(String, String)],
) -> Result<(Model, ModelVersion), Failure> {
    let name = required(param(q, "name"), "name")?;
    let n = number(param(q, "version"))?;
    let m = state.service.model_by_name(p, name).await?;
    let v = state.service.model_version_by_number(p, m.id, n).await?;
    Ok((m, v))
}

/// `GET model-versions/get?name=&version=`.
pub(super) async fn get_version(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Pairs,
) -> Response {
    let result = async {
        let p = caller(&state, &headers).await?;
        let (m, v) = named_version(&state, &p, &q).await?;
        let f = Facts::of(&state.service, &p, &m).await?;
        Ok::<_, Failure>(ok(json!({"model_version": version_json(&m.name, &v, &f)})))
    };
    run(result).await
}

/// `GET model-versions/get-download-uri?name=&version=`: the version's artifact URI.
pub(super) async fn download_uri(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Pairs,
) -> Response {
    let result = async {
        let p = caller(&state, &headers).await?;
        let (_, v) = named_version(&state, &p, &q).await?;
        Ok::<_, Failure>(ok(json!({"artifact_uri": v.artifact_uri})))
    };
    run(result).await
}

/// The value a version has for a filter's attribute.
fn version_attr(name: &str, v: &ModelVersion, f: &Facts, attr: &Attr) -> Option<String> {
    match attr {
        Attr::Name => Some(name.to_string()),
        Attr::VersionNumber => Some(v.version.to_string()),
        Attr::RunId => Some(v.notes.run_id.clone().unwrap_or_default()),
        Attr::Tag(k) if k == "steward.artifact_digest" => Some(v.artifact_digest.to_string()),
        Attr::Tag(k) if k == "steward.framework" => Some(v.framework.clone()),
        Attr::Tag(k) => f.tag(v.version, k).map(str::to_owned),
    }
}

/// `GET model-versions/search?filter=&max_results=&order_by=&page_token=`.
pub(super) async fn search_versions(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Pairs,
) -> Response {
    let result = async {
        let p = caller(&state, &headers).await?;
        let filter = Filter::parse(param(&q, "filter")).map_err(invalid)?;
        let order = order(&q)?;
        // A name compared with `=` names one model: only its versions are read.
        let named = filter
            .0
            .iter()
            .find(|c| c.attr == Attr::Name && c.op == super::filter::Op::Eq)
            .and_then(|c| c.values.first().cloned());
        // `name = '…'` alone, by version number: one query for the page.
        let by_number = order.as_ref().is_none_or(|(k, _)| k == "version_number");
        if let (Some(n), true, 1) = (&named, by_number, filter.0.len()) {
            let m = match state.service.model_by_name(&p, n).await {
                Ok(m) => m,
                Err(steward_service::ServiceError::NotFound(_)) => {
                    return Ok(ok(json!({"model_versions": []})));
                }
                Err(e) => return Err(service_error(&e)),
            };
            let (offset, size) = window(&q, DEFAULT_VERSIONS_PAGE)?;
            let ascending = order.as_ref().is_some_and(|(_, desc)| !desc);
            let (page, total) = state
                .service
                .model_versions_window(&p, m.id, (offset as u64, size as u64), ascending)
                .await?;
            let f = Facts::of(&state.service, &p, &m).await?;
            let list: Vec<Value> = page.iter().map(|v| version_json(&m.name, v, &f)).collect();
            let mut body = json!({"model_versions": list});
            if let Some(t) = next_token(offset, size, usize::try_from(total).unwrap_or(usize::MAX))
            {
                body["next_page_token"] = json!(t);
            }
            return Ok(ok(body));
        }
        let models = match named {
            Some(n) => match state.service.model_by_name(&p, &n).await {
                Ok(m) => vec![m],
                Err(steward_service::ServiceError::NotFound(_)) => Vec::new(),
                Err(e) => return Err(service_error(&e)),
            },
            None => all_models(&state.service, &p).await?,
        };
        let mut facts = Vec::with_capacity(models.len());
        let mut rows: Vec<(usize, ModelVersion)> = Vec::new();
        for (i, m) in models.iter().enumerate() {
            let f = Facts::of(&state.service, &p, m).await?;
            for v in all_versions(&state.service, &p, m).await? {
                if filter
                    .0
                    .iter()
                    .all(|c| c.holds(version_attr(&m.name, &v, &f, &c.attr).as_deref()))
                {
                    rows.push((i, v));
                }
            }
            facts.push(f);
            if rows.len() >= MAX_SCAN {
                break;
            }
        }
        let (key, desc) = order.unwrap_or(("version_number".into(), true));
        rows.sort_by(|(ai, a), (bi, b)| {
            let (an, bn) = (&models[*ai].name, &models[*bi].name);
            let o = match key.as_str() {
                "name" => an.cmp(bn).then(a.version.cmp(&b.version)),
                "creation_timestamp" | "last_updated_timestamp" => a.created_at.cmp(&b.created_at),
                _ => a.version.cmp(&b.version).then(an.cmp(bn)),
            };
            if desc { o.reverse() } else { o }
        });
        let (page, next) = paged(rows, &q, DEFAULT_VERSIONS_PAGE)?;
        let list: Vec<Value> = page
            .iter()
            .map(|(i, v)| version_json(&models[*i].name, v, &facts[*i]))
            .collect();
        let mut body = json!({"model_versions": list});
        if let Some(t) = next {
            body["next_page_token"] = json!(t);
        }
        Ok::<_, Failure>(ok(body))
    };
    run(result).await
}
