//! The pages: each handler asks the service as the signed-in principal and fills a template.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use steward_domain::{
    IncidentFilter, IncidentStatus, LineageDirection, ModelFilter, ModelId, PageRequest,
    RequestStatus, RiskTier,
};

use crate::lineage_svg;
use crate::model_parts;
use crate::session::SignedIn;
use crate::{WebState, render, service_error_page};

/// Who is signed in, for the header of every page, with the CSRF token its sign-out form
/// carries.
pub(crate) struct Me {
    pub subject: String,
    pub tenant: String,
    pub roles: String,
    pub csrf: String,
}

impl Me {
    pub(crate) fn of(s: &SignedIn) -> Me {
        Me {
            subject: s.session.subject.clone(),
            tenant: s.session.tenant_slug.clone(),
            roles: s
                .session
                .roles
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            csrf: s.session.csrf.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub(crate) struct ErrorPage<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

#[derive(Template)]
#[template(path = "sign_in.html")]
pub(crate) struct SignInPage {
    pub dev_sign_in: bool,
    /// The OpenID provider people sign in with, when one is configured.
    pub oidc_issuer: Option<String>,
    pub error: Option<String>,
}

struct ModelRow {
    id: String,
    name: String,
    owner_team: String,
    latest_version: i64,
    open_incidents: usize,
    tags: String,
    /// `incident`, `drifting`, `healthy` or `unmonitored` (`ModelHealth::state`).
    health: &'static str,
    /// The latest evaluated window: its end and worst slice's composite drift score.
    last_window: String,
    /// The policy that governs it (id, name and revision in force), if any.
    policy: Option<(String, String)>,
    /// Its promotion requests awaiting approval.
    awaiting: usize,
}

struct TierGroup {
    tier: &'static str,
    models: Vec<ModelRow>,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    me: Me,
    tiers: Vec<TierGroup>,
    total: usize,
    more: bool,
    open_incidents: usize,
    governed: usize,
    awaiting: usize,
}

/// The tenant's models by risk tier (highest first) with their open incidents.
pub(crate) async fn overview(State(state): State<WebState>, me: SignedIn) -> Response {
    let svc = &state.service;
    let page = PageRequest {
        first: steward_service::MAX_PAGE_SIZE,
        after: None,
    };
    let models = match svc
        .models(&me.principal, ModelFilter::default(), page)
        .await
    {
        Ok(p) => p,
        Err(e) => return service_error_page(&e),
    };
    let open = IncidentFilter {
        model_id: None,
        status: Some(IncidentStatus::Open),
    };
    let incidents = match svc.incidents(&me.principal, open, Some(500)).await {
        Ok(i) => i,
        Err(e) => return service_error_page(&e),
    };
    let health = match svc.model_health(&me.principal).await {
        Ok(h) => h,
        Err(e) => return service_error_page(&e),
    };
    let health: BTreeMap<&str, &steward_domain::ModelHealth> =
        health.iter().map(|h| (h.model.as_str(), h)).collect();
    let coverage = match svc.policy_coverage(&me.principal, &models.items).await {
        Ok(c) => c,
        Err(e) => return service_error_page(&e),
    };
    let policy: BTreeMap<ModelId, (String, String)> = models
        .items
        .iter()
        .zip(&coverage)
        .filter_map(|(m, c)| {
            let (p, _) = c.as_ref()?;
            let revision = p
                .active_revision
                .map_or("no revision published".into(), |r| format!("revision {r}"));
            Some((m.id, (p.id.to_string(), format!("{} ({revision})", p.name))))
        })
        .collect();
    // Promotions awaiting approval, per model (through their endpoints).
    let (endpoints, awaiting) = match (
        svc.endpoints(&me.principal, None).await,
        svc.promotion_requests(&me.principal, None, &[RequestStatus::AwaitingApproval], 500)
            .await,
    ) {
        (Ok(e), Ok(a)) => (e, a),
        (Err(e), _) | (_, Err(e)) => return service_error_page(&e),
    };
    let mut awaiting_of: BTreeMap<ModelId, usize> = BTreeMap::new();
    for r in &awaiting {
        if let Some(e) = endpoints.iter().find(|e| e.id == r.endpoint_id) {
            *awaiting_of.entry(e.model_id).or_default() += 1;
        }
    }
    let mut per_model: BTreeMap<ModelId, usize> = BTreeMap::new();
    for i in &incidents {
        *per_model.entry(i.model_id).or_default() += 1;
    }
    let mut tiers: Vec<TierGroup> = Vec::new();
    for tier in [RiskTier::High, RiskTier::Medium, RiskTier::Low] {
        let rows: Vec<ModelRow> = models
            .items
            .iter()
            .filter(|m| m.risk_tier == tier)
            .map(|m| ModelRow {
                id: m.id.to_string(),
                name: m.name.clone(),
                owner_team: m.owner_team.clone(),
                latest_version: m.latest_version,
                open_incidents: per_model.get(&m.id).copied().unwrap_or(0),
                tags: m.tags.join(", "),
                health: health
                    .get(m.name.as_str())
                    .map_or("unmonitored", |h| h.state()),
                last_window: health
                    .get(m.name.as_str())
                    .and_then(|h| h.latest.as_ref())
                    .map(|l| {
                        format!(
                            "{} (drift {:.2}, {} drifted)",
                            time(l.window_end),
                            l.composite,
                            l.drifted_features
                        )
                    })
                    .unwrap_or_else(|| "none evaluated".into()),
                policy: policy.get(&m.id).cloned(),
                awaiting: awaiting_of.get(&m.id).copied().unwrap_or(0),
            })
            .collect();
        if !rows.is_empty() {
            tiers.push(TierGroup {
                tier: tier.as_str(),
                models: rows,
            });
        }
    }
    render(&OverviewPage {
        me: Me::of(&me),
        total: models.items.len(),
        more: models.has_next_page,
        open_incidents: incidents.len(),
        governed: policy.len(),
        awaiting: awaiting.len(),
        tiers,
    })
}

struct VersionRow {
    id: String,
    version: i64,
    created: String,
    stage: String,
    framework: String,
    metrics: String,
}

struct IncidentRow {
    id: String,
    summary: String,
    status: String,
    opened: String,
    key: String,
}

#[derive(Template)]
#[template(path = "model.html")]
struct ModelPage {
    me: Me,
    id: String,
    name: String,
    description: String,
    owner_team: String,
    risk_tier: String,
    tags: String,
    versions: Vec<VersionRow>,
    more_versions: bool,
    incidents: Vec<IncidentRow>,
    endpoints: Vec<(String, String, String)>,
    baseline: Option<model_parts::BaselineView>,
    decisions: Vec<model_parts::DecisionView>,
}

pub(crate) fn time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// A model: its versions with their metrics, its incidents, a way into its lineage.
pub(crate) async fn model(
    State(state): State<WebState>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Response {
    let svc = &state.service;
    // A malformed id is a page that does not exist, like another tenant's.
    let Ok(id) = id.parse::<ModelId>() else {
        return crate::not_found().await;
    };
    let model = match svc.model(&me.principal, id).await {
        Ok(m) => m,
        Err(e) => return service_error_page(&e),
    };
    let page = PageRequest {
        first: steward_service::MAX_PAGE_SIZE,
        after: None,
    };
    let versions = match svc.model_versions(&me.principal, id, page).await {
        Ok(v) => v,
        Err(e) => return service_error_page(&e),
    };
    let filter = IncidentFilter {
        model_id: Some(id),
        status: None,
    };
    let incidents = match svc.incidents(&me.principal, filter, Some(50)).await {
        Ok(i) => i,
        Err(e) => return service_error_page(&e),
    };
    let endpoints = match svc.endpoints(&me.principal, Some(id)).await {
        Ok(e) => e,
        Err(e) => return service_error_page(&e),
    };
    let (baseline, decisions) = match (
        model_parts::baseline(svc, &me.principal, &versions.items).await,
        model_parts::decisions(svc, &me.principal, id, &versions.items).await,
    ) {
        (Ok(b), Ok(d)) => (b, d),
        (Err(e), _) | (_, Err(e)) => return service_error_page(&e),
    };
    render(&ModelPage {
        baseline,
        decisions,
        endpoints: endpoints
            .iter()
            .map(|e| (e.id.to_string(), e.name.clone(), e.environment.clone()))
            .collect(),
        me: Me::of(&me),
        id: model.id.to_string(),
        name: model.name,
        description: model.description,
        owner_team: model.owner_team,
        risk_tier: model.risk_tier.as_str().to_string(),
        tags: model.tags.join(", "),
        more_versions: versions.has_next_page,
        versions: versions
            .items
            .iter()
            .rev()
            .map(|v| VersionRow {
                id: v.id.to_string(),
                version: v.version,
                created: time(v.created_at),
                stage: v.stage.as_str().to_string(),
                framework: v.framework.clone(),
                metrics: v
                    .metrics
                    .iter()
                    .map(|(k, x)| format!("{k} {x:.4}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
            .collect(),
        incidents: incidents
            .iter()
            .map(|i| IncidentRow {
                id: i.id.to_string(),
                summary: i.summary.clone(),
                status: i.status.as_str().to_string(),
                opened: time(i.opened_at),
                key: i.key.clone(),
            })
            .collect(),
    })
}

#[derive(Deserialize)]
pub(crate) struct LineageQuery {
    node: Option<String>,
    depth: Option<u32>,
}

struct NodeRow {
    id: String,
    kind: &'static str,
    label: String,
    depth: u32,
}

#[derive(Template)]
#[template(path = "lineage.html")]
struct LineagePage {
    me: Me,
    focus: String,
    focus_label: String,
    depth: u32,
    depths: Vec<u32>,
    svg: String,
    nodes: Vec<NodeRow>,
    truncated: bool,
}

/// Deepest walk the page offers; the API goes further.
pub(crate) const MAX_PAGE_DEPTH: u32 = 8;

/// The lineage around a focus node, both ways, to a chosen depth: a layered graph, every node a
/// link that moves the focus to it.
pub(crate) async fn lineage(
    State(state): State<WebState>,
    me: SignedIn,
    Query(q): Query<LineageQuery>,
) -> Response {
    let Some(node) = q.node.as_deref().and_then(|n| n.parse::<uuid::Uuid>().ok()) else {
        return crate::not_found().await;
    };
    let depth = q.depth.unwrap_or(2).clamp(1, MAX_PAGE_DEPTH);
    let graph = match state
        .service
        .lineage(&me.principal, node, LineageDirection::Both, depth)
        .await
    {
        Ok(g) => g,
        Err(e) => return service_error_page(&e),
    };
    let svg = lineage_svg::draw(&graph, node, depth);
    let focus_label = graph
        .nodes
        .iter()
        .find(|n| n.id == node)
        .map(|n| n.label.clone())
        .unwrap_or_default();
    let mut nodes: Vec<NodeRow> = graph
        .nodes
        .iter()
        .map(|n| NodeRow {
            id: n.id.to_string(),
            kind: n.kind.as_str(),
            label: n.label.clone(),
            depth: n.depth,
        })
        .collect();
    nodes.sort_by(|a, b| (a.depth, &a.label).cmp(&(b.depth, &b.label)));
    render(&LineagePage {
        me: Me::of(&me),
        focus: node.to_string(),
        focus_label,
        depth,
        depths: (1..=MAX_PAGE_DEPTH).collect(),
        svg,
        nodes,
        truncated: graph.truncated,
    })
}
