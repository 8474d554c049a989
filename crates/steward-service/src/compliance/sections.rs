//! The sections of a model's compliance report, each read from the service as the caller, and
//! the tenant report's inventory table.

use std::collections::BTreeMap;

use steward_domain::compliance::{ModelReport, Section, SectionKey, Table};
use steward_domain::*;

use super::{empty, inventory, when};
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

/// How much of a model's report to build: everything (a model's own report), or only what its
/// gaps need (each model of a tenant report: a few reads per model instead of one per version
/// and window).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Depth {
    Full,
    Gaps,
}

/// The versions whose gaps count: the latest and those in Production (older versions are
/// history, listed in full reports but not held to today's requirements).
fn must_have(v: &ModelVersion, versions: &Versions) -> bool {
    versions.items.first().is_some_and(|l| l.id == v.id) || v.stage == Stage::Production
}

/// How a version is named in a gap.
fn named(v: &ModelVersion, versions: &Versions) -> String {
    if versions.items.first().is_some_and(|l| l.id == v.id) {
        format!("version {} (the latest)", v.version)
    } else {
        format!("version {} (in Production)", v.version)
    }
}

impl Service {
    /// One model's report: every section (`Depth::Full`), or each section's gaps only.
    /// `governing`: the policy that governs the model, resolved by the caller (once for a
    /// tenant's models).
    pub(super) async fn model_report(
        &self,
        p: &Principal,
        (m, tenant): (&Model, &Tenant),
        health: Option<&ModelHealth>,
        governing: Option<&(Policy, PolicyResolution)>,
        depth: Depth,
    ) -> ServiceResult<ModelReport> {
        let page = PageRequest {
            first: VERSIONS,
            after: None,
        };
        let versions = self.model_versions(p, m.id, page).await?;
        let versions = Versions {
            items: versions.items,
            more: versions.has_next_page,
        };
        let docs = self.model_documentation(p, m.id).await?;
        let full = depth == Depth::Full;
        let endpoints = if full {
            self.endpoints(p, Some(m.id)).await?
        } else {
            Vec::new()
        };
        let changes = if full {
            self.changes_section(p, &versions, &docs, &endpoints)
                .await?
        } else {
            Section::new(SectionKey::ChangeHistory)
        };
        let events = if full {
            self.model_events(p, m).await?
        } else {
            Section::new(SectionKey::EventLogs)
        };
        let sections = vec![
            inventory::inventory(m, tenant, &versions, &endpoints),
            inventory::intended_use(&docs),
            self.training_section(p, &versions, depth).await?,
            self.evaluation_section(p, &versions, depth).await?,
            self.policies_section(p, m, governing, depth).await?,
            changes,
            self.monitoring_section(p, m, &versions, health, depth)
                .await?,
            events,
        ];
        let mut report = ModelReport {
            id: m.id.to_string(),
            name: m.name.clone(),
            sections,
        };
        if !full {
            for s in &mut report.sections {
                s.facts.clear();
                s.tables.clear();
            }
        }
        Ok(report)
    }

    async fn training_section(
        &self,
        p: &Principal,
        versions: &Versions,
        depth: Depth,
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
        let mut no_run = Vec::new();
        let mut no_data = Vec::new();
        let mut datasets: BTreeMap<DatasetId, String> = BTreeMap::new();
        let listed = versions
            .items
            .iter()
            .filter(|v| depth == Depth::Full || must_have(v, versions));
        for v in listed {
            let counts = must_have(v, versions);
            let Some(run_id) = v.training_run_id else {
                if counts {
                    no_run.push(named(v, versions));
                }
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
            if inputs.is_empty() && counts {
                no_data.push(named(v, versions));
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
            return Ok(empty(
                SectionKey::TrainingData,
                "no version is registered: nothing was trained",
            ));
        }
        for v in no_run {
            s.gap(format!("{v} has no training run recorded"));
        }
        for v in no_data {
            s.gap(format!("the training run of {v} names no input dataset"));
        }
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

    async fn evaluation_section(
        &self,
        p: &Principal,
        versions: &Versions,
        depth: Depth,
    ) -> ServiceResult<Section> {
        let mut s = Section::new(SectionKey::Evaluation);
        if versions.items.is_empty() {
            return Ok(empty(
                SectionKey::Evaluation,
                "no version is registered: nothing was evaluated",
            ));
        }
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
        let listed = versions
            .items
            .iter()
            .filter(|v| depth == Depth::Full || must_have(v, versions));
        for v in listed {
            let baselines = self.baselines(p, v.id).await?;
            let active = baselines.iter().find(|b| b.active);
            let must_have = must_have(v, versions);
            let label = named(v, versions);
            if must_have && v.metrics.is_empty() {
                s.gap(format!("{label} has no evaluation metrics"));
            }
            if must_have && active.is_none() {
                s.gap(format!(
                    "{label} has no active baseline: its drift cannot be judged"
                ));
            }
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
        Ok(s)
    }

    async fn policies_section(
        &self,
        p: &Principal,
        m: &Model,
        governing: Option<&(Policy, PolicyResolution)>,
        depth: Depth,
    ) -> ServiceResult<Section> {
        let mut s = Section::new(SectionKey::Policies);
        match governing {
            None => s.gap("no policy governs the model (no binding names it, its tags or tier, and the tenant has no default)"),
            Some((policy, res)) => {
                s.fact("Policy in force", policy.name.clone());
                s.fact("Why it applies", res.explanation.clone());
                match policy.active_revision {
                    Some(r) => s.fact("Published revision", r.to_string()),
                    None => s.gap(format!(
                        "policy {} has no published revision: nothing is decided",
                        policy.name
                    )),
                }
            }
        }
        let filter = DecisionRecordFilter {
            policy_id: None,
            model_id: Some(m.id),
            hook: None,
        };
        let page = PageRequest {
            first: if depth == Depth::Full { DECISIONS } else { 1 },
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
        if records.items.is_empty() {
            s.gap("no decision has been recorded for the model");
        }
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
