//! The sections of a model's compliance report, each read from the service as the caller, and
//! the tenant report's inventory table.

use std::collections::BTreeMap;

use steward_domain::compliance::{ModelReport, Section, SectionKey, Table};
use steward_domain::*;

use super::{empty, gaps, inventory, when};
use crate::{Service, ServiceResult};

/// Versions a report lists (the newest).
const VERSIONS: u32 = 50;
/// Decision records a report lists (the newest).
const DECISIONS: u32 = 20;
/// Change-history entries a report lists (the newest).
const CHANGES: usize = 100;

/// A number list as people write it: "3, 5 and 7".
pub(super) fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// A JSON value on one line, cut at `max` characters.
fn compact(v: &serde_json::Value, max: usize) -> String {
    let s = v.to_string();
    if s.chars().count() <= max {
        return s;
    }
    let cut: String = s.chars().take(max).collect();
    format!("{cut}…")
}

/// A model's versions, newest first, with whether older ones were left out.
pub(super) struct Versions {
    pub items: Vec<ModelVersion>,
    pub more: bool,
}

/// The versions whose gaps count: the newest and the latest in Production (older versions are
/// history, listed in full but not held to today's requirements).
fn held_versions(versions: &Versions) -> Vec<(bool, &ModelVersion)> {
    let newest = versions.items.first();
    let production = versions
        .items
        .iter()
        .find(|x| x.stage == Stage::Production)
        .filter(|p| newest.is_none_or(|n| n.id != p.id));
    newest
        .map(|v| (true, v))
        .into_iter()
        .chain(production.map(|v| (false, v)))
        .collect()
}

impl Service {
    /// Every section of one model's report. `governing`: the policy that governs the model;
    /// `signed`: the report's checkpoint, which the model's events are proven against.
    pub(super) async fn model_report(
        &self,
        p: &Principal,
        (m, tenant): (&Model, &Tenant),
        health: Option<&ModelHealth>,
        governing: Option<&(Policy, PolicyResolution)>,
        signed: &steward_audit::SignedCheckpoint,
    ) -> ServiceResult<ModelReport> {
        let page = PageRequest {
            first: VERSIONS,
            after: None,
        };
        let page = self.model_versions(p, m.id, page).await?;
        let versions = Versions {
            items: page.items,
            more: page.has_next_page,
        };
        let docs = self.model_documentation(p, m.id).await?;
        let endpoints = self.endpoints(p, Some(m.id)).await?;
        // Every listed version's baselines in one read.
        let scope = p.scope().ok_or(crate::ServiceError::NotFound("tenant"))?;
        let ids: Vec<ModelVersionId> = versions.items.iter().map(|v| v.id).collect();
        let baselines = self.store.baselines_of(&scope, &ids).await?;
        let mut held = Vec::new();
        for (newest, v) in held_versions(&versions) {
            let run = match v.training_run_id {
                Some(r) => Some(self.training_run(p, r).await?),
                None => None,
            };
            held.push(gaps::Held {
                label: gaps::label(newest, v.version),
                has_run: run.is_some(),
                run_has_inputs: run.is_some_and(|r| !r.input_dataset_versions.is_empty()),
                has_metrics: !v.metrics.is_empty(),
                has_baseline: baselines
                    .iter()
                    .any(|b| b.model_version_id == v.id && b.active),
            });
        }
        let sections = vec![
            inventory::inventory(m, tenant, &versions, &endpoints),
            inventory::intended_use(&docs),
            self.training_section(p, &versions, &held).await?,
            evaluation_section(&versions, &held, &baselines),
            self.policies_section(p, m, governing).await?,
            self.changes_section(p, &versions, &docs, &endpoints)
                .await?,
            self.monitoring_section(p, m, &versions, health).await?,
            self.model_events(p, m, signed).await?,
        ];
        Ok(ModelReport {
            id: m.id.to_string(),
            name: m.name.clone(),
            sections,
        })
    }

    async fn training_section(
        &self,
        p: &Principal,
        versions: &Versions,
        held: &[gaps::Held],
    ) -> ServiceResult<Section> {
        let mut s = Section::new(SectionKey::TrainingData);
        let mut t = Table::new(
            "Versions and their training",
            &[
                "version",
                "registered",
                "training run",
                "code commit",
                "status",
                "ran",
                "orchestrator",
                "input datasets",
            ],
        );
        let mut datasets: BTreeMap<DatasetId, String> = BTreeMap::new();
        for v in &versions.items {
            let Some(run_id) = v.training_run_id else {
                t.row(vec![v.version.to_string(), when(v.created_at)]);
                continue;
            };
            let run = self.training_run(p, run_id).await?;
            let mut inputs = Vec::new();
            for dv in &run.input_dataset_versions {
                let dv = self.dataset_version(p, *dv).await?;
                let name = match datasets.get(&dv.dataset_id) {
                    Some(n) => n.clone(),
                    None => {
                        let n = self.dataset(p, dv.dataset_id).await?.name;
                        datasets.insert(dv.dataset_id, n.clone());
                        n
                    }
                };
                inputs.push(format!(
                    "{name} v{} ({} rows, sha256 {})",
                    dv.version,
                    dv.row_count,
                    &dv.content_hash.to_string()
                ));
            }
            let ran = match (run.started_at, run.ended_at) {
                (Some(a), Some(b)) => format!("{} to {}", when(a), when(b)),
                (Some(a), None) => format!("from {}", when(a)),
                _ => String::new(),
            };
            let orchestrator = match (&run.orchestrator, &run.orchestrator_run_id) {
                (Some(o), Some(id)) => format!("{o} {id}"),
                (Some(o), None) => o.clone(),
                _ => String::new(),
            };
            t.row(vec![
                v.version.to_string(),
                when(v.created_at),
                run.id.to_string(),
                run.code_commit.clone(),
                run.status.as_str().to_string(),
                ran,
                orchestrator,
                inputs.join("; "),
            ]);
        }
        if versions.items.is_empty() {
            return Ok(empty(SectionKey::TrainingData, gaps::NOTHING_TRAINED));
        }
        gaps::training(&mut s, held);
        s.fact("Datasets used", datasets.len().to_string());
        if versions.more {
            s.fact(
                "Versions listed",
                format!("the newest {VERSIONS}; older ones are in the registry"),
            );
        }
        s.tables.push(t);
        Ok(s)
    }

    async fn policies_section(
        &self,
        p: &Principal,
        m: &Model,
        governing: Option<&(Policy, PolicyResolution)>,
    ) -> ServiceResult<Section> {
        let mut s = Section::new(SectionKey::Policies);
        if let Some((policy, res)) = governing {
            s.fact("Policy in force", policy.name.clone());
            s.fact("Why it applies", res.explanation.clone());
            if let Some(r) = policy.active_revision {
                s.fact("Published revision", r.to_string());
            }
        }
        let filter = DecisionRecordFilter {
            policy_id: None,
            model_id: Some(m.id),
            hook: None,
        };
        let page = PageRequest {
            first: DECISIONS,
            after: None,
        };
        let records = self.decision_records(p, filter, page).await?;
        let mut t = Table::new(
            "Latest decisions",
            &["at", "hook", "policy revision", "outcome", "evaluated by"],
        );
        for d in &records.items {
            t.row(vec![
                when(d.created_at),
                d.hook.as_str().to_string(),
                format!("{} ({})", d.revision_number, short(&d.revision_hash)),
                compact(&d.outcome, 160),
                d.evaluated_by.clone(),
            ]);
        }
        gaps::policies(&mut s, governing, !records.items.is_empty());
        if records.has_next_page {
            t.omitted = 1;
        }
        s.tables.push(t);
        Ok(s)
    }

    async fn changes_section(
        &self,
        p: &Principal,
        versions: &Versions,
        docs: &[ModelDocumentation],
        endpoints: &[Endpoint],
    ) -> ServiceResult<Section> {
        let mut s = Section::new(SectionKey::ChangeHistory);
        // (time, change, by, why)
        let mut rows: Vec<(chrono::DateTime<chrono::Utc>, String, String, String)> = Vec::new();
        for v in &versions.items {
            let what = format!("version {} registered", v.version);
            rows.push((v.created_at, what, v.created_by.clone(), String::new()));
        }
        for d in docs {
            let what = format!("documentation revision {}", d.revision);
            rows.push((d.created_at, what, d.created_by.clone(), d.note.clone()));
        }
        for e in endpoints {
            for r in self.deployment_revisions(p, e.id, None, 200).await? {
                let what = format!(
                    "endpoint {} revision {}: {}",
                    e.name,
                    r.number,
                    r.change.as_str()
                );
                rows.push((r.at, what, r.actor.clone(), r.reason.clone()));
            }
            for req in self.promotion_requests(p, Some(e.id), &[], 200).await? {
                let what = format!(
                    "promotion of version {} on {} requested ({})",
                    req.candidate_version,
                    e.name,
                    req.status.as_str()
                );
                rows.push((
                    req.created_at,
                    what,
                    req.requester.clone(),
                    req.reason.clone(),
                ));
                for a in self.promotion_approvals(p, req.id).await? {
                    let what = format!(
                        "promotion of version {} {} as {}",
                        req.candidate_version,
                        a.verdict.as_str(),
                        a.role
                    );
                    rows.push((a.at, what, a.approver.clone(), a.reason.clone()));
                }
            }
        }
        rows.sort_by_key(|r| std::cmp::Reverse(r.0));
        let mut t = Table::new("Changes, newest first", &["at", "change", "by", "reason"]);
        t.omitted = rows.len().saturating_sub(CHANGES);
        for (at, what, by, why) in rows.into_iter().take(CHANGES) {
            t.row(vec![when(at), what, by, why]);
        }
        if endpoints.is_empty() {
            s.fact(
                "Deployments",
                "no endpoint: the model is not deployed through Steward",
            );
        }
        s.tables.push(t);
        Ok(s)
    }
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Every listed version's metrics and baselines (`all`: their baselines, read at once).
fn evaluation_section(versions: &Versions, held: &[gaps::Held], all: &[Baseline]) -> Section {
    let mut s = Section::new(SectionKey::Evaluation);
    if versions.items.is_empty() {
        return empty(SectionKey::Evaluation, gaps::NOTHING_EVALUATED);
    }
    gaps::evaluation(&mut s, held);
    let mut t = Table::new(
        "Versions, their evaluation metrics and baselines",
        &[
            "version",
            "stage",
            "framework",
            "input features",
            "metrics",
            "active baseline",
            "baselines",
        ],
    );
    for v in &versions.items {
        let baselines: Vec<&Baseline> = all.iter().filter(|b| b.model_version_id == v.id).collect();
        let active = baselines.iter().find(|b| b.active);
        let metrics: Vec<String> = v.metrics.iter().map(|(k, x)| format!("{k}={x}")).collect();
        t.row(vec![
            v.version.to_string(),
            v.stage.as_str().to_string(),
            v.framework.clone(),
            v.input_schema.len().to_string(),
            metrics.join(", "),
            active.map_or(String::new(), |b| {
                format!(
                    "{} rows, {} features, {} ({})",
                    b.rows,
                    b.features,
                    when(b.created_at),
                    b.source.as_str()
                )
            }),
            baselines.len().to_string(),
        ]);
    }
    s.tables.push(t);
    s
}
