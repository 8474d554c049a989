//! What counts as a gap, in one place: the judgements both a model's full report and the
//! tenant report's per-model gaps make, each from the facts it read. The tenant report reads
//! its facts for every model at once (`Store::gap_facts`), so a tenant of many models costs a
//! few queries, and a test checks that both reports list the same gaps for a model.

use chrono::{DateTime, Utc};
use steward_domain::compliance::{ModelReport, Section, SectionKey};
use steward_domain::*;
use steward_store::GapFacts;

use super::inventory;
use super::when;

/// An open incident unacknowledged this long is a gap.
pub(super) const UNACKNOWLEDGED_HOURS: i64 = 24;

/// A version whose gaps count (the newest, the latest in Production), named as gaps name it,
/// with what its gaps look at.
pub(super) struct Held {
    pub label: String,
    pub has_run: bool,
    pub run_has_inputs: bool,
    pub has_metrics: bool,
    pub has_baseline: bool,
}

pub(super) fn label(newest: bool, version: i64) -> String {
    if newest {
        format!("version {version} (the latest)")
    } else {
        format!("version {version} (in Production)")
    }
}

pub(super) fn training(s: &mut Section, held: &[Held]) {
    for h in held {
        if !h.has_run {
            s.gap(format!("{} has no training run recorded", h.label));
        } else if !h.run_has_inputs {
            s.gap(format!(
                "the training run of {} names no input dataset",
                h.label
            ));
        }
    }
}

pub(super) fn evaluation(s: &mut Section, held: &[Held]) {
    for h in held {
        if !h.has_metrics {
            s.gap(format!("{} has no evaluation metrics", h.label));
        }
        if !h.has_baseline {
            s.gap(format!(
                "{} has no active baseline: its drift cannot be judged",
                h.label
            ));
        }
    }
}

pub(super) fn policies(
    s: &mut Section,
    governing: Option<&(Policy, PolicyResolution)>,
    decided: bool,
) {
    match governing {
        None => s.gap("no policy governs the model (no binding names it, its tags or tier, and the tenant has no default)"),
        Some((policy, _)) if policy.active_revision.is_none() => s.gap(format!(
            "policy {} has no published revision: nothing is decided",
            policy.name
        )),
        Some(_) => {}
    }
    if !decided {
        s.gap("no decision has been recorded for the model");
    }
}

pub(super) fn monitoring(s: &mut Section, has_versions: bool, health: Option<&ModelHealth>) {
    match (has_versions, health.and_then(|h| h.latest.as_ref())) {
        (false, _) => s.gap("no version is registered: nothing is monitored"),
        (true, None) => s.gap("no window has been evaluated: production data is not monitored"),
        (true, Some(l)) if l.performance.is_empty() => s.gap(format!(
            "the latest evaluated window (ending {}) has no performance from labels: labels are not arriving",
            when(l.window_end)
        )),
        _ => {}
    }
}

pub(super) fn unacknowledged(s: &mut Section, incidents: &[&Incident], now: DateTime<Utc>) {
    for i in incidents {
        if i.status == IncidentStatus::Open
            && i.acknowledged_at.is_none()
            && (now - i.opened_at).num_hours() >= UNACKNOWLEDGED_HOURS
        {
            s.gap(format!(
                "incident \"{}\" open since {} and not acknowledged",
                i.summary,
                when(i.opened_at)
            ));
        }
    }
}

pub(super) const NOTHING_TRAINED: &str = "no version is registered: nothing was trained";
pub(super) const NOTHING_EVALUATED: &str = "no version is registered: nothing was evaluated";

/// A model's gaps from the tenant's facts, without reading anything (the tenant report).
pub(super) fn of_model(
    m: &Model,
    facts: &GapFacts,
    governing: Option<&(Policy, PolicyResolution)>,
    health: Option<&ModelHealth>,
    (open, now): (&[&Incident], DateTime<Utc>),
) -> ModelReport {
    let newest = facts.newest.get(&m.id);
    let production = facts
        .production
        .get(&m.id)
        .filter(|p| newest.is_none_or(|n| n.id != p.id));
    let held: Vec<Held> = newest
        .map(|v| (true, v))
        .into_iter()
        .chain(production.map(|v| (false, v)))
        .map(|(is_newest, v)| Held {
            label: label(is_newest, v.version),
            has_run: v.training_run_id.is_some(),
            run_has_inputs: v
                .training_run_id
                .is_some_and(|r| facts.runs_with_inputs.contains(&r)),
            has_metrics: !v.metrics.is_empty(),
            has_baseline: facts.with_baseline.contains(&v.id),
        })
        .collect();
    let mut sections: Vec<Section> = Vec::with_capacity(SectionKey::ALL.len());
    let mut inventory = Section::new(SectionKey::Inventory);
    inventory::description(&mut inventory, m);
    let docs: Vec<ModelDocumentation> = facts
        .documentation
        .get(&m.id)
        .cloned()
        .into_iter()
        .collect();
    let mut training_s = Section::new(SectionKey::TrainingData);
    let mut evaluation_s = Section::new(SectionKey::Evaluation);
    if held.is_empty() {
        training_s.gap(NOTHING_TRAINED);
        evaluation_s.gap(NOTHING_EVALUATED);
    } else {
        training(&mut training_s, &held);
        evaluation(&mut evaluation_s, &held);
    }
    let mut policies_s = Section::new(SectionKey::Policies);
    policies(&mut policies_s, governing, facts.decided.contains(&m.id));
    let mut monitoring_s = Section::new(SectionKey::Monitoring);
    monitoring(&mut monitoring_s, newest.is_some(), health);
    let mine: Vec<&Incident> = open
        .iter()
        .copied()
        .filter(|i| i.model_id == m.id)
        .collect();
    unacknowledged(&mut monitoring_s, &mine, now);
    sections.push(inventory);
    sections.push(inventory::intended_use(&docs));
    sections.push(training_s);
    sections.push(evaluation_s);
    sections.push(policies_s);
    sections.push(Section::new(SectionKey::ChangeHistory));
    sections.push(monitoring_s);
    sections.push(Section::new(SectionKey::EventLogs));
    for s in &mut sections {
        s.facts.clear();
        s.tables.clear();
    }
    ModelReport {
        id: m.id.to_string(),
        name: m.name.clone(),
        sections,
    }
}
