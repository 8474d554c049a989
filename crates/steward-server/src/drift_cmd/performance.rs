//! Model performance when the files carry labels: with `--target` and `--prediction`, the
//! reference file is the baseline and the current file is scored against it.
//!
//! Classification when every target is 0/1 (or boolean) and every prediction a probability in
//! [0, 1] (scores at or above 0.5 count as positive); regression otherwise. Each metric is tested
//! for "worse than the baseline" (`steward_drift::concept`: two-proportion tests, DeLong for ROC
//! AUC, Welch on per-row losses; Bonferroni across the metrics at 5%), and a metric is degraded
//! only when significant and worse by more than a minimum effect (0.02 absolute for
//! classification, 10% relative error for regression). Degraded performance, like drift, makes
//! the exit code 1: a model whose inputs look the same but whose answers got worse has concept
//! drift.

use anyhow::{Result, bail};
use arrow::array::{Array, ArrayRef, AsArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Float64Type};
use serde::Serialize;
use steward_drift::concept::{ConceptConfig, Scored, test_classification, test_regression};
use steward_drift::performance::MetricChange;

use super::read::Side;

const THRESHOLD: f64 = 0.5;

/// The performance part of a `steward drift` result.
#[derive(Debug, Serialize)]
pub struct Performance {
    /// `classification` or `regression`.
    pub task: &'static str,
    /// Labelled rows used on each side (rows with a missing target or prediction are skipped).
    pub reference_rows: usize,
    pub current_rows: usize,
    /// Baseline, current and change per metric.
    pub metrics: Vec<MetricChange>,
    /// True when some metric got significantly worse, by more than its minimum effect.
    pub degraded: bool,
}

/// Row-aligned (target, prediction) pairs of one file (only those two columns are read); rows
/// missing either are skipped, a non-finite value is an error naming the row.
fn pairs(side: &Side, target: &str, prediction: &str) -> Result<Vec<(f64, f64)>> {
    let (chunks, rows) = side.columns(&[target, prediction])?;
    let column = |name: &str, chunks: &[ArrayRef]| -> Result<Vec<Option<f64>>> {
        let mut out = Vec::with_capacity(rows as usize);
        for chunk in chunks {
            let as_float = if chunk.data_type() == &DataType::Boolean {
                cast(chunk, &DataType::UInt8).and_then(|c| cast(&c, &DataType::Float64))
            } else {
                cast(chunk, &DataType::Float64)
            };
            let Ok(floats) = as_float else {
                bail!(
                    "{}: column {name:?} must be numeric or boolean to score the model",
                    side.path.display()
                );
            };
            let floats = floats.as_primitive::<Float64Type>();
            out.extend((0..floats.len()).map(|i| floats.is_valid(i).then(|| floats.value(i))));
        }
        Ok(out)
    };
    let (t, p) = (column(target, &chunks[0])?, column(prediction, &chunks[1])?);
    let mut out = Vec::with_capacity(t.len());
    for (row, (t, p)) in t.into_iter().zip(p).enumerate() {
        if let (Some(t), Some(p)) = (t, p) {
            if !t.is_finite() || !p.is_finite() {
                bail!(
                    "{}: a non-finite target or prediction at {}",
                    side.path.display(),
                    side.locate(row as u64)
                );
            }
            out.push((t, p));
        }
    }
    if out.is_empty() {
        bail!(
            "{}: no row has both a target and a prediction",
            side.path.display()
        );
    }
    Ok(out)
}

/// Scores both files and compares the current one with the reference.
pub fn compare(
    reference: &Side,
    current: &Side,
    target: &str,
    prediction: &str,
) -> Result<Performance> {
    let r = pairs(reference, target, prediction)?;
    let c = pairs(current, target, prediction)?;
    let binary = |v: &[(f64, f64)]| {
        v.iter()
            .all(|(t, p)| (*t == 0.0 || *t == 1.0) && (0.0..=1.0).contains(p))
    };
    let config = ConceptConfig::default();
    let (task, metrics) = if binary(&r) && binary(&c) {
        let split = |v: &[(f64, f64)]| -> (Vec<bool>, Vec<f64>) {
            v.iter().map(|(t, p)| (*t == 1.0, *p)).unzip()
        };
        let ((lr, sr), (lc, sc)) = (split(&r), split(&c));
        let metrics = test_classification(
            Scored {
                labels: &lr,
                scores: &sr,
            },
            Scored {
                labels: &lc,
                scores: &sc,
            },
            THRESHOLD,
            &config,
        )?;
        ("classification", metrics)
    } else {
        let split = |v: &[(f64, f64)]| -> (Vec<f64>, Vec<f64>) { v.iter().copied().unzip() };
        let ((tr, pr), (tc, pc)) = (split(&r), split(&c));
        (
            "regression",
            test_regression((&tr, &pr), (&tc, &pc), &config)?,
        )
    };
    Ok(Performance {
        task,
        reference_rows: r.len(),
        current_rows: c.len(),
        degraded: metrics.iter().any(|m| m.degraded),
        metrics,
    })
}
