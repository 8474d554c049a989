//! The default output: a summary line, one aligned table row per feature (drifted first) and
//! the data-quality findings, in plain text a person reads in a terminal.

use std::io::{self, Write};

use steward_drift::Finding;
use steward_drift::window::SchemaIssue;

use super::outcome::{Outcome, Row, name_of};

/// Writes the text report.
pub fn write(out: &mut dyn Write, outcome: &Outcome) -> io::Result<()> {
    writeln!(out, "{}", headline(outcome))?;
    writeln!(
        out,
        "reference: {} ({}, {} rows)",
        outcome.reference.path, outcome.reference.format, outcome.reference.rows
    )?;
    writeln!(
        out,
        "current:   {} ({}, {} rows)",
        outcome.current.path, outcome.current.format, outcome.current.rows
    )?;
    writeln!(out, "{}", settings(outcome))?;
    writeln!(out)?;
    if let Some(p) = &outcome.performance {
        writeln!(
            out,
            "performance ({}, {} labelled reference rows, {} current): {}",
            p.task,
            p.reference_rows,
            p.current_rows,
            if p.degraded { "DEGRADED" } else { "holding" }
        )?;
        for m in &p.metrics {
            writeln!(
                out,
                "  {:<10} baseline {:>9.4}  current {:>9.4}  change {:>+9.4}  n {:>7}/{:<7}  p(worse) {:>9}{}",
                m.metric,
                m.baseline,
                m.current,
                m.delta,
                m.baseline_n,
                m.current_n,
                m.adjusted_p_value.map_or_else(|| "-".into(), p_value),
                if m.degraded { "  worse" } else { "" }
            )?;
        }
        writeln!(out)?;
    }
    let header = [
        "feature",
        "kind",
        "role",
        "verdict",
        "test",
        "statistic",
        "p-value",
        "adj. p",
        "effect",
        "measure",
        "n ref",
        "n cur",
    ];
    let rows = outcome.rows();
    let cells: Vec<[String; 12]> = rows.iter().map(cells).collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |items: &[String]| -> String {
        let mut s = String::new();
        for (i, (c, w)) in items.iter().zip(&widths).enumerate() {
            // Names and words to the left, numbers to the right.
            if i < 5 || i == 9 {
                s.push_str(&format!("{c:<w$}"));
            } else {
                s.push_str(&format!("{c:>w$}"));
            }
            if i + 1 < items.len() {
                s.push_str("  ");
            }
        }
        s.trim_end().to_owned()
    };
    writeln!(out, "{}", line(&header.map(String::from)))?;
    for row in &cells {
        writeln!(out, "{}", line(row))?;
    }
    if let Some(p) = outcome.report.prediction_drift() {
        writeln!(out)?;
        writeln!(
            out,
            "prediction drift ({}): {}",
            p.feature,
            name_of(&p.verdict).replace('_', " ")
        )?;
    }
    if !outcome.report.findings.is_empty() {
        writeln!(out)?;
        writeln!(out, "data quality:")?;
        for f in &outcome.report.findings {
            writeln!(out, "  - {}", describe(f))?;
        }
    }
    Ok(())
}

/// "DRIFT: 5 of 25 features drifted" or "no drift: ...".
pub fn headline(outcome: &Outcome) -> String {
    let total = outcome.rows().len();
    let drifted = outcome.drifted_count();
    let degraded = outcome.performance.as_ref().is_some_and(|p| p.degraded);
    if outcome.dataset_drift && degraded {
        format!("DRIFT: {drifted} of {total} features drifted, and model performance degraded")
    } else if degraded {
        format!("DRIFT: model performance degraded ({drifted} of {total} features drifted)")
    } else if outcome.dataset_drift() {
        format!("DRIFT: {drifted} of {total} features drifted")
    } else {
        format!("no drift: {drifted} of {total} features drifted")
    }
}

/// The method and its settings in one line.
pub fn settings(outcome: &Outcome) -> String {
    let c = &outcome.report.config;
    match outcome.evidently {
        Some(ref e) => format!(
            "method evidently (Evidently 0.7.23 defaults; dataset drift when at least {:.0}% of the columns drift)",
            e.drift_share * 100.0
        ),
        None => format!(
            "method {}, alpha {} after {} correction, composite score {:.3}",
            outcome.method,
            c.alpha,
            name_of(&c.correction).replace('_', "-"),
            outcome.report.composite_score
        ),
    }
}

fn cells(r: &Row) -> [String; 12] {
    [
        r.feature.clone(),
        name_of(&r.kind),
        name_of(&r.role),
        r.verdict.clone(),
        r.test.clone(),
        number(r.statistic),
        r.p_value.map_or_else(|| "-".into(), p_value),
        r.adjusted_p_value.map_or_else(|| "-".into(), p_value),
        r.effect.map_or_else(|| "-".into(), number),
        r.effect_measure.clone(),
        r.reference_count.to_string(),
        r.current_count.to_string(),
    ]
}

/// A statistic with four decimals ("-" when it was not computed).
pub fn number(x: f64) -> String {
    if !x.is_finite() {
        "-".into()
    } else if x != 0.0 && x.abs() < 1e-3 {
        format!("{x:.2e}")
    } else {
        format!("{x:.4}")
    }
}

/// A p-value: four decimals, scientific below 1e-4, and "<1e-300" for an underflow to zero.
pub fn p_value(p: f64) -> String {
    if p == 0.0 {
        "<1e-300".into()
    } else if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

/// One finding as a sentence.
pub fn describe(f: &Finding) -> String {
    match f {
        Finding::MissingRateChange {
            feature,
            reference_rate,
            current_rate,
            p_value: p,
        } => format!(
            "{feature}: missing values {:.2}% -> {:.2}% (p = {})",
            reference_rate * 100.0,
            current_rate * 100.0,
            p_value(*p)
        ),
        Finding::OutOfRange {
            feature,
            below,
            above,
            share,
        } => format!(
            "{feature}: {below} values below and {above} above the reference range ({:.2}% of current values)",
            share * 100.0
        ),
        Finding::UnseenCategories {
            feature,
            count,
            share,
            examples,
        } => format!(
            "{feature}: {count} values ({:.2}%) in categories the reference never had, e.g. {}",
            share * 100.0,
            examples
                .iter()
                .take(5)
                .map(|e| format!("{e:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Finding::Schema(issue) => match issue {
            SchemaIssue::MissingColumn { feature } => {
                format!("{feature}: missing from the current data")
            }
            SchemaIssue::UnexpectedColumn { column } => format!("{column}: not in the reference"),
            SchemaIssue::TypeMismatch {
                feature,
                expected,
                found,
            } => format!(
                "{feature}: {} in the reference but {} in the current data",
                name_of(expected),
                name_of(found)
            ),
        },
    }
}
