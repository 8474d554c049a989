//! Performance of one monitoring window with its confidence, against the baseline's holdout
//! metrics: accuracy (Wilson interval) and ROC AUC (DeLong's variance), each with its sample size,
//! and a verdict from a test rather than a fixed tolerance.
//!
//! The holdout metric is taken as exact (it rests on the holdout set, usually far larger than a
//! window's labelled rows). A metric is "degraded" when the one-sided test that the window's true
//! value lies below `holdout - min_effect` rejects at `alpha`, Bonferroni-corrected across the
//! metrics tested. When the window's true value equals the holdout value, a false alarm therefore
//! has probability below `alpha / m`; a real loss of `min_effect + 3 standard errors` is caught
//! almost always. With no holdout value for a metric it is reported without a verdict.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::concept::{ConceptConfig, auc_with_variance};
use crate::special::normal_cdf;

/// One metric of a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricEstimate {
    /// `accuracy` or `auc`.
    pub metric: String,
    pub value: f64,
    /// Two-sided 95% confidence interval.
    pub lower: f64,
    pub upper: f64,
    /// Labelled rows it rests on.
    pub n: u64,
    /// The holdout value it is compared with, when the baseline has one.
    pub baseline: Option<f64>,
    /// One-sided p-value of "below holdout - min_effect"; `None` without a holdout value.
    pub p_value: Option<f64>,
    pub degraded: bool,
}

/// z for a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval of `x` successes in `n` trials at `z`.
pub fn wilson(x: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (nf, p) = (n as f64, x as f64 / n as f64);
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * nf)) / (1.0 + z2 / nf);
    let half = z / (1.0 + z2 / nf) * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Metrics of a binary classifier's window: labels (`true` = positive) and scores in [0, 1]
/// (accuracy at `threshold`), tested against the holdout metrics of the same names.
pub fn binary_window(
    labels: &[bool],
    scores: &[f64],
    threshold: f64,
    holdout: &BTreeMap<String, f64>,
    config: &ConceptConfig,
) -> Vec<MetricEstimate> {
    let n = labels.len().min(scores.len()) as u64;
    if n == 0 {
        return Vec::new();
    }
    let correct = labels
        .iter()
        .zip(scores)
        .filter(|(l, s)| **l == (**s >= threshold))
        .count() as u64;
    let mut out = vec![accuracy(correct, n, holdout, config)];
    if let Some((auc, var)) = auc_with_variance(labels, scores) {
        let se = var.max(0.0).sqrt();
        out.push(MetricEstimate {
            metric: "auc".into(),
            value: auc,
            lower: (auc - Z95 * se).max(0.0),
            upper: (auc + Z95 * se).min(1.0),
            n,
            baseline: holdout.get("auc").copied(),
            p_value: holdout
                .get("auc")
                .map(|b| below_p(auc, se, b - config.min_effect)),
            degraded: false,
        });
    }
    judge(out, config)
}

/// Accuracy of a classifier whose predictions are labels: `correct` of `n`.
pub fn label_window(
    correct: u64,
    n: u64,
    holdout: &BTreeMap<String, f64>,
    config: &ConceptConfig,
) -> Vec<MetricEstimate> {
    if n == 0 {
        return Vec::new();
    }
    judge(vec![accuracy(correct, n, holdout, config)], config)
}

fn accuracy(
    correct: u64,
    n: u64,
    holdout: &BTreeMap<String, f64>,
    config: &ConceptConfig,
) -> MetricEstimate {
    let value = correct as f64 / n as f64;
    let (lower, upper) = wilson(correct, n, Z95);
    let baseline = holdout.get("accuracy").copied();
    MetricEstimate {
        metric: "accuracy".into(),
        value,
        lower,
        upper,
        n,
        baseline,
        p_value: baseline.map(|b| {
            // The standard error under the null (the true accuracy at the tested bound).
            let p0 = (b - config.min_effect).clamp(1e-9, 1.0 - 1e-9);
            let se = (p0 * (1.0 - p0) / n as f64).sqrt();
            below_p(value, se, p0)
        }),
        degraded: false,
    }
}

/// One-sided p-value that the true value is below `bound`, from an estimate and its standard
/// error: small when the estimate lies far below the bound.
fn below_p(value: f64, se: f64, bound: f64) -> f64 {
    if se <= 0.0 {
        return if value < bound { 0.0 } else { 1.0 };
    }
    normal_cdf((value - bound) / se)
}

/// Bonferroni across the metrics that have a test.
fn judge(mut out: Vec<MetricEstimate>, config: &ConceptConfig) -> Vec<MetricEstimate> {
    let m = out.iter().filter(|e| e.p_value.is_some()).count().max(1) as f64;
    for e in &mut out {
        e.degraded = e.p_value.is_some_and(|p| p < config.alpha / m);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_textbook() {
        // 81 of 263: 0.2553 to 0.3662 (Wilson 1927 as tabulated by Newcombe 1998).
        let (lo, hi) = wilson(81, 263, Z95);
        assert!(
            (lo - 0.2553).abs() < 5e-4 && (hi - 0.3662).abs() < 5e-4,
            "{lo} {hi}"
        );
    }
}
