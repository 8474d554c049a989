//! Model performance when labels arrive: binary classification (accuracy, precision, recall, F1,
//! ROC AUC, log loss) and regression (MAE, RMSE, R²), and their change against a baseline.

use serde::{Deserialize, Serialize};

use crate::error::{DriftError, check_sample};

/// Binary classification metrics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    /// Rows evaluated.
    pub count: u64,
    /// Share of correct decisions at the threshold.
    pub accuracy: f64,
    /// TP / (TP + FP); 0 when nothing is predicted positive.
    pub precision: f64,
    /// TP / (TP + FN); 0 when there are no positives.
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Area under the ROC curve (ties count one half); NaN when one class is absent.
    pub roc_auc: f64,
    /// Mean negative log-likelihood, probabilities clipped to [1e-15, 1 - 1e-15].
    pub log_loss: f64,
}

/// Metrics of scores `y_score` (probability of the positive class) against labels `y_true`
/// (`true` = positive), deciding positive at `score >= threshold`.
pub fn classification_metrics(
    y_true: &[bool],
    y_score: &[f64],
    threshold: f64,
) -> Result<ClassificationMetrics, DriftError> {
    check_sample("scores", y_score)?;
    if y_true.len() != y_score.len() {
        return Err(DriftError::ShapeMismatch(format!(
            "{} labels vs {} scores",
            y_true.len(),
            y_score.len()
        )));
    }
    let (mut tp, mut fp, mut tn, mut fnn) = (0u64, 0u64, 0u64, 0u64);
    let mut ll = 0.0;
    for (&t, &s) in y_true.iter().zip(y_score) {
        match (t, s >= threshold) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (false, false) => tn += 1,
            (true, false) => fnn += 1,
        }
        let p = s.clamp(1e-15, 1.0 - 1e-15);
        ll -= if t { p.ln() } else { (1.0 - p).ln() };
    }
    let n = y_true.len() as f64;
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fnn);
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    Ok(ClassificationMetrics {
        count: y_true.len() as u64,
        accuracy: (tp + tn) as f64 / n,
        precision,
        recall,
        f1,
        roc_auc: roc_auc(y_true, y_score),
        log_loss: ll / n,
    })
}

/// ROC AUC by the rank-sum (Mann-Whitney) formula with average ranks for ties.
fn roc_auc(y_true: &[bool], y_score: &[f64]) -> f64 {
    let mut idx: Vec<usize> = (0..y_score.len()).collect();
    idx.sort_by(|&a, &b| y_score[a].total_cmp(&y_score[b]));
    let (mut rank_sum, mut i) = (0.0, 0usize);
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && y_score[idx[j + 1]] == y_score[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += avg * idx[i..=j].iter().filter(|&&k| y_true[k]).count() as f64;
        i = j + 1;
    }
    let pos = y_true.iter().filter(|&&t| t).count() as f64;
    let neg = y_true.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return f64::NAN;
    }
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

/// Regression metrics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    /// Rows evaluated.
    pub count: u64,
    /// Mean absolute error.
    pub mae: f64,
    /// Root mean squared error.
    pub rmse: f64,
    /// Coefficient of determination (NaN when the targets are constant).
    pub r2: f64,
}

/// Metrics of predictions `y_pred` against targets `y_true`.
pub fn regression_metrics(y_true: &[f64], y_pred: &[f64]) -> Result<RegressionMetrics, DriftError> {
    check_sample("targets", y_true)?;
    check_sample("predictions", y_pred)?;
    if y_true.len() != y_pred.len() {
        return Err(DriftError::ShapeMismatch(format!(
            "{} targets vs {} predictions",
            y_true.len(),
            y_pred.len()
        )));
    }
    let n = y_true.len() as f64;
    let mean = y_true.iter().sum::<f64>() / n;
    let (mut abs, mut sq, mut tot) = (0.0, 0.0, 0.0);
    for (&t, &p) in y_true.iter().zip(y_pred) {
        abs += (t - p).abs();
        sq += (t - p) * (t - p);
        tot += (t - mean) * (t - mean);
    }
    Ok(RegressionMetrics {
        count: y_true.len() as u64,
        mae: abs / n,
        rmse: (sq / n).sqrt(),
        r2: if tot == 0.0 { f64::NAN } else { 1.0 - sq / tot },
    })
}

/// A metric's baseline value, current value and change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricChange {
    /// Metric name.
    pub metric: String,
    /// Baseline value.
    pub baseline: f64,
    /// Current value.
    pub current: f64,
    /// `current - baseline`.
    pub delta: f64,
    /// True when the change is for the worse by more than the tolerance.
    pub degraded: bool,
}

fn change(
    metric: &str,
    baseline: f64,
    current: f64,
    higher_is_better: bool,
    tolerance: f64,
) -> MetricChange {
    let delta = current - baseline;
    let worse = if higher_is_better { -delta } else { delta };
    MetricChange {
        metric: metric.to_owned(),
        baseline,
        current,
        delta,
        degraded: worse > tolerance,
    }
}

/// Changes of classification metrics; `tolerance` is the allowed absolute degradation.
pub fn compare_classification(
    baseline: &ClassificationMetrics,
    current: &ClassificationMetrics,
    tolerance: f64,
) -> Vec<MetricChange> {
    vec![
        change(
            "accuracy",
            baseline.accuracy,
            current.accuracy,
            true,
            tolerance,
        ),
        change(
            "precision",
            baseline.precision,
            current.precision,
            true,
            tolerance,
        ),
        change("recall", baseline.recall, current.recall, true, tolerance),
        change("f1", baseline.f1, current.f1, true, tolerance),
        change(
            "roc_auc",
            baseline.roc_auc,
            current.roc_auc,
            true,
            tolerance,
        ),
        change(
            "log_loss",
            baseline.log_loss,
            current.log_loss,
            false,
            tolerance,
        ),
    ]
}

/// Changes of regression metrics; `tolerance` is relative to the baseline error for MAE and
/// RMSE and absolute for R².
pub fn compare_regression(
    baseline: &RegressionMetrics,
    current: &RegressionMetrics,
    tolerance: f64,
) -> Vec<MetricChange> {
    vec![
        change(
            "mae",
            baseline.mae,
            current.mae,
            false,
            tolerance * baseline.mae,
        ),
        change(
            "rmse",
            baseline.rmse,
            current.rmse,
            false,
            tolerance * baseline.rmse,
        ),
        change("r2", baseline.r2, current.r2, true, tolerance),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_known_values() {
        // sklearn: accuracy 0.75, precision 2/3, recall 1.0, roc_auc 0.75, log_loss 0.5237...
        let t = [true, false, true, false];
        let s = [0.9, 0.6, 0.7, 0.2];
        let m = classification_metrics(&t, &s, 0.5).unwrap();
        assert_eq!(m.accuracy, 0.75);
        assert!((m.precision - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(m.recall, 1.0);
        assert_eq!(m.roc_auc, 1.0);
        let want_ll = -((0.9f64).ln() + (0.4f64).ln() + (0.7f64).ln() + (0.8f64).ln()) / 4.0;
        assert!((m.log_loss - want_ll).abs() < 1e-15);
        let tie = classification_metrics(&[true, false], &[0.5, 0.5], 0.5).unwrap();
        assert_eq!(tie.roc_auc, 0.5);
    }

    #[test]
    fn regression_known_values() {
        let m = regression_metrics(&[1.0, 2.0, 3.0], &[1.0, 2.0, 4.0]).unwrap();
        assert!((m.mae - 1.0 / 3.0).abs() < 1e-15);
        assert!((m.rmse - (1.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!((m.r2 - 0.5).abs() < 1e-15);
        let c = compare_regression(
            &m,
            &RegressionMetrics {
                count: 3,
                mae: 1.0,
                rmse: 1.0,
                r2: 0.0,
            },
            0.1,
        );
        assert!(c.iter().all(|x| x.degraded));
    }
}
