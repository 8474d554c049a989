//! The result of one `steward drift` run: file facts, the drift report (and Evidently's verdicts
//! in Evidently mode), one normalised row per feature for the renderers, and the JSON document.

use std::io::Write;

use clap::ValueEnum;
use serde::Serialize;
use steward_drift::evidently::{EvidentlyResult, StatTest};
use steward_drift::{DriftReport, FeatureKind, FeatureRole, Verdict};

use super::profile::{Planned, Profiled};
use super::read::Side;
use super::{DriftArgs, MethodArg};

/// Share of drifted columns at which Evidently declares dataset drift (its default).
const EVIDENTLY_SHARE: f64 = 0.5;

/// Where a side's data came from.
#[derive(Debug, Serialize)]
pub struct FileInfo {
    /// Path as given.
    pub path: String,
    /// `csv`, `jsonl`, `parquet`, `arrow` or `arrow_stream`.
    pub format: String,
    /// Data rows.
    pub rows: u64,
}

/// Evidently's verdict on one column.
#[derive(Debug, Serialize)]
pub struct EvidentlyColumn {
    /// Column name.
    pub feature: String,
    /// Kind used.
    pub kind: FeatureKind,
    /// Evidently's default test for this column.
    pub test: StatTest,
    /// p-value or distance.
    pub value: f64,
    /// Threshold.
    pub threshold: f64,
    /// Verdict.
    pub drift: bool,
}

/// Evidently mode's dataset verdict.
#[derive(Debug, Serialize)]
pub struct EvidentlyOutcome {
    /// At least `drift_share` of the columns drifted.
    pub dataset_drift: bool,
    /// Evidently's dataset threshold.
    pub drift_share: f64,
    /// Columns that drifted.
    pub drifted_columns: usize,
    /// Per column, drifted first.
    pub columns: Vec<EvidentlyColumn>,
}

/// Everything the renderers show.
#[derive(Debug, Serialize)]
pub struct Outcome {
    /// Reference file.
    pub reference: FileInfo,
    /// Current file.
    pub current: FileInfo,
    /// Method name as given on the command line.
    pub method: String,
    /// Dataset verdict that sets the exit code.
    pub dataset_drift: bool,
    /// Steward's report (also computed in Evidently mode, for comparison).
    pub report: DriftReport,
    /// Evidently's verdicts (Evidently mode only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidently: Option<EvidentlyOutcome>,
    /// Model performance against the reference (with `--target` and `--prediction`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub performance: Option<super::performance::Performance>,
    /// The profiles, for the charts.
    #[serde(skip)]
    pub profiled: Profiled,
}

/// One feature as the table and the page show it.
#[derive(Debug)]
pub struct Row {
    pub feature: String,
    pub kind: FeatureKind,
    pub role: FeatureRole,
    pub drift: bool,
    pub verdict: String,
    pub test: String,
    pub statistic: f64,
    pub p_value: Option<f64>,
    pub adjusted_p_value: Option<f64>,
    pub effect: Option<f64>,
    pub effect_measure: String,
    pub reference_count: u64,
    pub current_count: u64,
}

/// The snake_case name serde gives a unit enum variant.
pub fn name_of<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::from("?"),
    }
}

fn file_info(side: &Side, rows: u64) -> FileInfo {
    FileInfo {
        path: side.path.display().to_string(),
        format: side.format_name().to_owned(),
        rows,
    }
}

impl Outcome {
    /// Gathers one run's results.
    pub fn new(
        args: &DriftArgs,
        reference: &Side,
        current: &Side,
        plan: &[Planned],
        report: DriftReport,
        profiled: Profiled,
    ) -> Outcome {
        let evidently = match (&profiled.evidently, args.method) {
            (Some(results), MethodArg::Evidently) => Some(evidently_outcome(plan, results)),
            _ => None,
        };
        let dataset_drift = evidently
            .as_ref()
            .map_or(report.dataset_drift, |e| e.dataset_drift);
        Outcome {
            reference: file_info(reference, profiled.reference.rows),
            current: file_info(current, profiled.window.rows),
            method: args
                .method
                .to_possible_value()
                .map_or_else(String::new, |v| v.get_name().to_owned()),
            dataset_drift,
            report,
            evidently,
            performance: None,
            profiled,
        }
    }

    /// True when the data set drifted (exit code 1).
    /// Data drift, or degraded performance when labels were given.
    pub fn dataset_drift(&self) -> bool {
        self.dataset_drift || self.performance.as_ref().is_some_and(|p| p.degraded)
    }

    /// Drifted features (by the verdict that sets the exit code).
    pub fn drifted_count(&self) -> usize {
        self.evidently
            .as_ref()
            .map_or(self.report.drifted_features, |e| e.drifted_columns)
    }

    /// One row per feature, drifted features first.
    pub fn rows(&self) -> Vec<Row> {
        let roles = |name: &str| {
            self.profiled
                .reference
                .feature(name)
                .map_or(FeatureRole::Input, |f| f.role)
        };
        let counts = |name: &str| {
            let r = self.profiled.reference.feature(name).map_or(0, |f| f.count);
            let c = self.profiled.window.feature(name).map_or(0, |f| f.count);
            (r, c)
        };
        if let Some(ev) = &self.evidently {
            return ev
                .columns
                .iter()
                .map(|c| {
                    let (reference_count, current_count) = counts(&c.feature);
                    let p_value = c.test.is_p_value().then_some(c.value);
                    Row {
                        feature: c.feature.clone(),
                        kind: c.kind,
                        role: roles(&c.feature),
                        drift: c.drift,
                        verdict: if c.drift { "drift" } else { "no_drift" }.to_owned(),
                        test: name_of(&c.test),
                        statistic: c.value,
                        p_value,
                        adjusted_p_value: None,
                        effect: (!c.test.is_p_value()).then_some(c.value),
                        effect_measure: format!("threshold {}", c.threshold),
                        reference_count,
                        current_count,
                    }
                })
                .collect();
        }
        self.report
            .features
            .iter()
            .map(|f| Row {
                feature: f.feature.clone(),
                kind: f.kind,
                role: f.role,
                drift: f.verdict == Verdict::Drift,
                verdict: name_of(&f.verdict),
                test: name_of(&f.method),
                statistic: f.statistic,
                p_value: f.p_value,
                adjusted_p_value: f.adjusted_p_value,
                effect: f.effect_size.is_finite().then_some(f.effect_size),
                effect_measure: name_of(&f.effect_measure),
                reference_count: f.reference_count,
                current_count: f.current_count,
            })
            .collect()
    }

    /// The JSON document (one object, pretty-printed, newline-terminated).
    pub fn write_json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self).map_err(std::io::Error::other)?;
        writeln!(out)
    }
}

fn evidently_outcome(plan: &[Planned], results: &[EvidentlyResult]) -> EvidentlyOutcome {
    let mut columns: Vec<EvidentlyColumn> = plan
        .iter()
        .zip(results)
        .map(|(p, r)| EvidentlyColumn {
            feature: p.name.clone(),
            kind: p.kind,
            test: r.test,
            value: r.value,
            threshold: r.threshold,
            drift: r.drift,
        })
        .collect();
    // Stable: drifted first, then the order of the plan.
    columns.sort_by_key(|c| !c.drift);
    EvidentlyOutcome {
        dataset_drift: steward_drift::evidently::dataset_drift(results, EVIDENTLY_SHARE),
        drift_share: EVIDENTLY_SHARE,
        drifted_columns: results.iter().filter(|r| r.drift).count(),
        columns,
    }
}
