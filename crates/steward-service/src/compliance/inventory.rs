//! The sections read from the model itself: its inventory entry and the documentation its
//! owners wrote; and the tenant report's inventory table.

use steward_domain::compliance::{ModelReport, Section, SectionKey, Table};
use steward_domain::*;

use super::sections::{Versions, list};
use super::{empty, when};

pub(super) fn inventory(
    m: &Model,
    tenant: &Tenant,
    versions: &Versions,
    endpoints: &[Endpoint],
) -> Section {
    let mut s = Section::new(SectionKey::Inventory);
    s.fact("Model", m.name.clone());
    s.fact("Identifier", m.id.to_string());
    s.fact("Description", m.description.clone());
    s.fact("Owner", m.owner_team.clone());
    s.fact(
        "Business unit",
        format!("{} ({})", tenant.name, tenant.slug),
    );
    s.fact("Risk tier", m.risk_tier.as_str());
    let status = match &m.deleted {
        Some(d) => format!("deleted {} by {}", when(d.at), d.by),
        None => "active".to_string(),
    };
    s.fact("Status", status);
    let production: Vec<String> = versions
        .items
        .iter()
        .filter(|v| v.stage == Stage::Production)
        .map(|v| v.version.to_string())
        .collect();
    s.fact("Latest version", m.latest_version.to_string());
    if !production.is_empty() {
        s.fact("In Production", format!("version {}", list(&production)));
    }
    let serving: Vec<String> = endpoints
        .iter()
        .map(|e| format!("{} ({}, revision {})", e.name, e.environment, e.revision))
        .collect();
    s.fact(
        "Endpoints",
        if serving.is_empty() {
            "none".into()
        } else {
            serving.join(", ")
        },
    );
    s.fact(
        "Registered",
        format!("{} by {}", when(m.created_at), m.created_by),
    );
    s.fact("Tags", m.tags.join(", "));
    description(&mut s, m);
    s
}

/// The inventory's gap: a model without a description.
pub(super) fn description(s: &mut Section, m: &Model) {
    if m.description.trim().is_empty() {
        s.gap("the model has no description");
    }
}

pub(super) fn intended_use(docs: &[ModelDocumentation]) -> Section {
    let Some(d) = docs.first() else {
        return empty(
            SectionKey::IntendedUse,
            "never documented: intended use, limitations and human oversight have not been written",
        );
    };
    let mut s = Section::new(SectionKey::IntendedUse);
    s.fact(
        "Revision in force",
        format!("{} by {}, {}", d.revision, d.created_by, when(d.created_at)),
    );
    for (label, value) in [
        ("Intended use", &d.intended_use),
        ("Limitations", &d.limitations),
        ("Human oversight", &d.human_oversight),
    ] {
        if value.trim().is_empty() {
            s.gap(format!("{} is not written", label.to_lowercase()));
        }
        s.fact(label, value.clone());
    }
    let mut t = Table::new("Revisions, newest first", &["revision", "by", "at", "note"]);
    for d in docs {
        t.row(vec![
            d.revision.to_string(),
            d.created_by.clone(),
            when(d.created_at),
            d.note.clone(),
        ]);
    }
    s.tables.push(t);
    s
}

/// The tenant report's inventory: one row per model with its gaps counted.
pub(super) fn inventory_table(
    models: &[Model],
    reports: &[ModelReport],
    health: &[ModelHealth],
) -> Section {
    let mut s = Section::new(SectionKey::Inventory);
    let mut t = Table::new(
        "Models",
        &[
            "model",
            "owner",
            "risk tier",
            "status",
            "latest version",
            "health",
            "open incidents",
            "gaps",
        ],
    );
    for (m, r) in models.iter().zip(reports) {
        let h = health.iter().find(|h| h.model == m.name);
        t.row(vec![
            m.name.clone(),
            m.owner_team.clone(),
            m.risk_tier.as_str().to_string(),
            if m.deleted.is_some() {
                "deleted"
            } else {
                "active"
            }
            .to_string(),
            m.latest_version.to_string(),
            h.map_or("unmonitored", |h| h.state()).to_string(),
            h.map_or(0, |h| h.open_incidents).to_string(),
            r.gap_count().to_string(),
        ]);
    }
    s.fact("Models", models.len().to_string());
    if models.is_empty() {
        s.gap("the tenant has no model registered");
    }
    s.tables.push(t);
    s
}
