//! Concept drift under false-alarm control: is the model's performance on the current sample
//! worse than on the baseline, beyond what sampling alone explains?
//!
//! Each metric gets a one-sided test of "current is worse" on the two independent samples:
//! - accuracy, precision and recall are proportions: a pooled two-proportion z-test on the counts
//!   they rest on (all rows; the rows predicted positive; the positives);
//! - ROC AUC: DeLong's variance of each sample's AUC (structural components by midranks, Sun and
//!   Xu 2014), z on the difference;
//! - log loss, MAE and RMSE are means of per-row losses (log loss, |error|, error²): a Welch z on
//!   the difference of means.
//!
//! F1 and R² are reported without a test. The p-values of one comparison are corrected together
//! (Bonferroni: at most `alpha` chance that an unchanged model is flagged on any metric), and a
//! metric is degraded only when its adjusted p-value is below `alpha` *and* it is worse by more
//! than a minimum effect, so that huge samples do not flag negligible changes.

use crate::error::{DriftError, check_sample};
use crate::multiple::{Correction, adjust};
use crate::performance::{MetricChange, classification_metrics, regression_metrics, roc_auc};
use crate::special::normal_sf;

/// Significance level and minimum effects of the performance tests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConceptConfig {
    /// Family-wise significance level across the metrics of one comparison.
    pub alpha: f64,
    /// Smallest absolute loss of a classification metric (accuracy, precision, recall, ROC AUC)
    /// and smallest absolute rise of log loss that count.
    pub min_effect: f64,
    /// Smallest relative rise of MAE or RMSE that counts.
    pub min_relative_error_rise: f64,
}

impl Default for ConceptConfig {
    fn default() -> Self {
        Self {
            alpha: 0.05,
            min_effect: 0.02,
            min_relative_error_rise: 0.10,
        }
    }
}

/// A labelled sample of a binary classifier: labels (`true` = positive) and scores.
#[derive(Debug, Clone, Copy)]
pub struct Scored<'a> {
    pub labels: &'a [bool],
    pub scores: &'a [f64],
}

/// A tested metric before the correction.
struct Tested {
    change: MetricChange,
    /// Worse by more than the minimum effect.
    large_enough: bool,
}

fn metric(
    name: &str,
    (baseline, current): (f64, f64),
    (baseline_n, current_n): (u64, u64),
    p_value: Option<f64>,
    large_enough: bool,
) -> Tested {
    Tested {
        change: MetricChange {
            metric: name.to_owned(),
            baseline,
            current,
            delta: current - baseline,
            baseline_n,
            current_n,
            p_value,
            adjusted_p_value: None,
            degraded: false,
        },
        large_enough,
    }
}

/// Applies the correction across the tested metrics and decides each verdict.
fn decide(tested: Vec<Tested>, config: &ConceptConfig) -> Vec<MetricChange> {
    let p: Vec<f64> = tested
        .iter()
        .map(|t| t.change.p_value.unwrap_or(f64::NAN))
        .collect();
    let adjusted = adjust(&p, Correction::Bonferroni);
    tested
        .into_iter()
        .zip(adjusted)
        .map(|(t, adj)| {
            let mut c = t.change;
            if c.p_value.is_some() {
                c.adjusted_p_value = Some(adj);
                c.degraded = adj < config.alpha && t.large_enough;
            }
            c
        })
        .collect()
}

/// One-sided p-value that proportion `x2 / n2` is below `x1 / n1` (pooled z-test); 1 when either
/// sample is empty or both proportions sit at 0 or 1.
pub fn proportion_lower_p(x1: u64, n1: u64, x2: u64, n2: u64) -> f64 {
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let pooled = (x1 + x2) as f64 / (n1f + n2f);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    if se == 0.0 {
        return 1.0;
    }
    normal_sf((x1 as f64 / n1f - x2 as f64 / n2f) / se)
}

/// One-sided p-value that the mean of `current` is above the mean of `baseline` (Welch z).
pub fn mean_higher_p(baseline: &[f64], current: &[f64]) -> f64 {
    let moments = |x: &[f64]| {
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0).max(1.0);
        (mean, var / n)
    };
    if baseline.len() < 2 || current.len() < 2 {
        return 1.0;
    }
    let ((mb, vb), (mc, vc)) = (moments(baseline), moments(current));
    let se = (vb + vc).sqrt();
    if se == 0.0 {
        return if mc > mb { 0.0 } else { 1.0 };
    }
    normal_sf((mc - mb) / se)
}

/// Midranks (1-based, ties averaged) of `x`.
fn midranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut out = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            out[k] = rank;
        }
        i = j + 1;
    }
    out
}

/// ROC AUC and DeLong's variance of it; `None` when a class is missing.
pub fn auc_with_variance(labels: &[bool], scores: &[f64]) -> Option<(f64, f64)> {
    let pos: Vec<f64> = labels
        .iter()
        .zip(scores)
        .filter(|(l, _)| **l)
        .map(|(_, s)| *s)
        .collect();
    let neg: Vec<f64> = labels
        .iter()
        .zip(scores)
        .filter(|(l, _)| !**l)
        .map(|(_, s)| *s)
        .collect();
    let (m, n) = (pos.len(), neg.len());
    if m < 2 || n < 2 {
        return None;
    }
    let all: Vec<f64> = pos.iter().chain(&neg).copied().collect();
    let (r_all, r_pos, r_neg) = (midranks(&all), midranks(&pos), midranks(&neg));
    let v10: Vec<f64> = (0..m).map(|i| (r_all[i] - r_pos[i]) / n as f64).collect();
    let v01: Vec<f64> = (0..n)
        .map(|j| 1.0 - (r_all[m + j] - r_neg[j]) / m as f64)
        .collect();
    let auc = v10.iter().sum::<f64>() / m as f64;
    let var = |v: &[f64]| {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (v.len() - 1) as f64
    };
    Some((auc, var(&v10) / m as f64 + var(&v01) / n as f64))
}

fn check(what: &'static str, s: &Scored<'_>) -> Result<(), DriftError> {
    check_sample(what, s.scores)?;
    if s.labels.len() != s.scores.len() {
        return Err(DriftError::ShapeMismatch(format!(
            "{what}: {} labels vs {} scores",
            s.labels.len(),
            s.scores.len()
        )));
    }
    Ok(())
}

/// Tests each classification metric of `current` against `baseline` (decisions at
/// `score >= threshold`).
pub fn test_classification(
    baseline: Scored<'_>,
    current: Scored<'_>,
    threshold: f64,
    config: &ConceptConfig,
) -> Result<Vec<MetricChange>, DriftError> {
    check("baseline", &baseline)?;
    check("current", &current)?;
    let counts = |s: &Scored<'_>| {
        let (mut tp, mut fp, mut tn, mut fnn) = (0u64, 0u64, 0u64, 0u64);
        for (&l, &p) in s.labels.iter().zip(s.scores) {
            match (l, p >= threshold) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (false, false) => tn += 1,
                (true, false) => fnn += 1,
            }
        }
        (tp, fp, tn, fnn)
    };
    let (b, c) = (counts(&baseline), counts(&current));
    let mb = classification_metrics(baseline.labels, baseline.scores, threshold)?;
    let mc = classification_metrics(current.labels, current.scores, threshold)?;
    let floor = config.min_effect;
    let proportion = |name: &str, (xb, nb): (u64, u64), (xc, nc): (u64, u64), vb: f64, vc: f64| {
        metric(
            name,
            (vb, vc),
            (nb, nc),
            Some(proportion_lower_p(xb, nb, xc, nc)),
            vb - vc > floor,
        )
    };
    let n = |x: (u64, u64, u64, u64)| x.0 + x.1 + x.2 + x.3;
    let mut tested = vec![
        proportion(
            "accuracy",
            (b.0 + b.2, n(b)),
            (c.0 + c.2, n(c)),
            mb.accuracy,
            mc.accuracy,
        ),
        proportion(
            "precision",
            (b.0, b.0 + b.1),
            (c.0, c.0 + c.1),
            mb.precision,
            mc.precision,
        ),
        proportion(
            "recall",
            (b.0, b.0 + b.3),
            (c.0, c.0 + c.3),
            mb.recall,
            mc.recall,
        ),
        metric("f1", (mb.f1, mc.f1), (n(b), n(c)), None, false),
    ];
    let auc_p = match (
        auc_with_variance(baseline.labels, baseline.scores),
        auc_with_variance(current.labels, current.scores),
    ) {
        (Some((ab, vb)), Some((ac, vc))) if vb + vc > 0.0 => {
            Some(normal_sf((ab - ac) / (vb + vc).sqrt()))
        }
        _ => None,
    };
    tested.push(metric(
        "roc_auc",
        (
            roc_auc(baseline.labels, baseline.scores),
            roc_auc(current.labels, current.scores),
        ),
        (n(b), n(c)),
        auc_p,
        mb.roc_auc - mc.roc_auc > floor,
    ));
    let losses = |s: &Scored<'_>| -> Vec<f64> {
        s.labels
            .iter()
            .zip(s.scores)
            .map(|(&l, &p)| {
                let p = p.clamp(1e-15, 1.0 - 1e-15);
                if l { -p.ln() } else { -(1.0 - p).ln() }
            })
            .collect()
    };
    tested.push(metric(
        "log_loss",
        (mb.log_loss, mc.log_loss),
        (n(b), n(c)),
        Some(mean_higher_p(&losses(&baseline), &losses(&current))),
        mc.log_loss - mb.log_loss > floor,
    ));
    Ok(decide(tested, config))
}

/// Tests MAE and RMSE of `current` against `baseline` ((targets, predictions) each); R² is
/// reported without a test.
pub fn test_regression(
    baseline: (&[f64], &[f64]),
    current: (&[f64], &[f64]),
    config: &ConceptConfig,
) -> Result<Vec<MetricChange>, DriftError> {
    let mb = regression_metrics(baseline.0, baseline.1)?;
    let mc = regression_metrics(current.0, current.1)?;
    let errors = |(t, p): (&[f64], &[f64]), square: bool| -> Vec<f64> {
        t.iter()
            .zip(p)
            .map(|(t, p)| {
                if square {
                    (t - p) * (t - p)
                } else {
                    (t - p).abs()
                }
            })
            .collect()
    };
    let (nb, nc) = (mb.count, mc.count);
    let rise = config.min_relative_error_rise;
    let tested = vec![
        metric(
            "mae",
            (mb.mae, mc.mae),
            (nb, nc),
            Some(mean_higher_p(
                &errors(baseline, false),
                &errors(current, false),
            )),
            mc.mae > mb.mae * (1.0 + rise),
        ),
        metric(
            "rmse",
            (mb.rmse, mc.rmse),
            (nb, nc),
            Some(mean_higher_p(
                &errors(baseline, true),
                &errors(current, true),
            )),
            mc.rmse > mb.rmse * (1.0 + rise),
        ),
        metric("r2", (mb.r2, mc.r2), (nb, nc), None, false),
    ];
    Ok(decide(tested, config))
}
