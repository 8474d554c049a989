//! The monitoring section of a model's report: how it is monitored, what its windows found,
//! its incidents and the retraining Steward asked for.

use steward_domain::compliance::{Section, SectionKey, Table};
use steward_domain::*;

use super::gaps;
use super::sections::Versions;
use super::when;
use crate::{Service, ServiceResult};

/// Incidents and retraining actions a report lists (the newest).
const INCIDENTS: u64 = 50;
/// Windows of the latest version the monitoring section counts.
const WINDOWS: u64 = 5_000;

impl Service {
    pub(super) async fn monitoring_section(
        &self,
        p: &Principal,
        m: &Model,
        versions: &Versions,
        health: Option<&ModelHealth>,
    ) -> ServiceResult<Section> {
        let mut s = Section::new(SectionKey::Monitoring);
        // The gaps: from the model's latest evaluated window (one row per model).
        gaps::monitoring(&mut s, !versions.items.is_empty(), health);
        self.monitoring_facts(p, m, versions, health, &mut s)
            .await?;
        let filter = IncidentFilter {
            model_id: Some(m.id),
            status: None,
        };
        let incidents = self.incidents(p, filter, Some(INCIDENTS)).await?;
        let now = self.now();
        let mut t = Table::new(
            "Incidents, newest first",
            &[
                "opened",
                "summary",
                "status",
                "acknowledged",
                "resolved",
                "resolution",
            ],
        );
        gaps::unacknowledged(&mut s, &incidents.iter().collect::<Vec<_>>(), now);
        for i in &incidents {
            let by_at =
                |by: &Option<String>, at: Option<chrono::DateTime<chrono::Utc>>| match (by, at) {
                    (Some(b), Some(a)) => format!("{} by {b}", when(a)),
                    _ => String::new(),
                };
            t.row(vec![
                when(i.opened_at),
                i.summary.clone(),
                i.status.as_str().to_string(),
                by_at(&i.acknowledged_by, i.acknowledged_at),
                by_at(&i.resolved_by, i.resolved_at),
                i.resolution.clone().unwrap_or_default(),
            ]);
        }
        s.tables.push(t);
        let actions = self
            .pending_actions(p, Some(m.id), None, Some(INCIDENTS))
            .await?;
        let mut r = Table::new(
            "Retraining asked for, newest first",
            &["asked", "status", "sent to", "run reported"],
        );
        for a in actions.iter().filter(|a| a.kind == "retrain") {
            let reports = self.retraining_reports(p, a.id).await?;
            let last = reports.last().map_or(String::new(), |x| {
                format!("{}: {}", x.status.as_str(), x.message)
            });
            r.row(vec![
                when(a.created_at),
                a.status.as_str().to_string(),
                a.target.clone().unwrap_or_default(),
                last,
            ]);
        }
        s.tables.push(r);
        Ok(s)
    }

    /// How the model is monitored and what its latest version's windows found (full reports).
    async fn monitoring_facts(
        &self,
        p: &Principal,
        m: &Model,
        versions: &Versions,
        health: Option<&ModelHealth>,
        s: &mut Section,
    ) -> ServiceResult<()> {
        let config = self.monitor_config(p, m.id).await?;
        let slices = if config.slice_columns.is_empty() {
            "none (the whole population)".to_string()
        } else {
            config.slice_columns.join(", ")
        };
        s.fact("Slices", slices);
        s.fact(
            "Late labels and rows accepted for",
            format!("{} s", config.lateness_seconds),
        );
        if let Some(h) = health {
            s.fact("Health", h.state());
        }
        let Some(latest) = versions.items.first() else {
            return Ok(());
        };
        let windows = self.windows(p, latest.id, Some(WINDOWS)).await?;
        let evaluated: Vec<&Window> = windows.iter().filter(|w| w.evaluation.is_some()).collect();
        let drifted = evaluated.iter().filter(|w| drifted(w)).count();
        let unjudged = evaluated
            .iter()
            .filter(|w| {
                w.evaluation
                    .as_ref()
                    .is_some_and(|e| e.get("error").is_some())
            })
            .count();
        let late = evaluated.iter().filter(|w| w.late_rows > 0).count();
        let labelled = evaluated.iter().filter(|w| has_performance(w)).count();
        s.fact(
            &format!("Windows of version {}", latest.version),
            format!(
                "{} evaluated; {drifted} with drifted features; {unjudged} not judged (no baseline); {late} with late rows; {labelled} with labelled performance",
                evaluated.len()
            ),
        );
        if let Some(last) = evaluated.iter().map(|w| w.end).max() {
            s.fact("Last window evaluated", when(last));
        }
        Ok(())
    }
}

/// Whether a window's evaluation found drifted features in any slice.
fn drifted(w: &Window) -> bool {
    let slices = w
        .evaluation
        .as_ref()
        .and_then(|e| e.get("slices"))
        .and_then(|s| s.as_array());
    slices.is_some_and(|s| {
        s.iter()
            .any(|x| x.get("drifted").and_then(|d| d.as_i64()).unwrap_or(0) > 0)
    })
}

/// Whether a window's evaluation carries performance measured from labels.
fn has_performance(w: &Window) -> bool {
    w.evaluation
        .as_ref()
        .and_then(|e| e.get("performance"))
        .and_then(|p| p.as_array())
        .is_some_and(|p| !p.is_empty())
}
