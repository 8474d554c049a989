//! Model performance when labels arrive: binary classification (accuracy, precision, recall, F1,
//! ROC AUC, log loss) and regression (MAE, RMSE, R²). Whether a change against a baseline is a
//! degradation is decided by tests in [`crate::concept`].

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
pub(crate) fn roc_auc(y_true: &[bool], y_score: &[f64]) -> f64 {
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

/// A metric's baseline value, current value, change, and the one-sided test of "current is
/// worse" (see [`crate::concept`]).
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
    /// Rows the metric rests on in the baseline and in the current sample (for precision: the
    /// rows predicted positive; for recall: the positives).
    pub baseline_n: u64,
    pub current_n: u64,
    /// One-sided p-value of "the current value is worse"; `None` for metrics reported without a
    /// test (F1, R²).
    pub p_value: Option<f64>,
    /// The p-value after the correction across the metrics tested together.
    pub adjusted_p_value: Option<f64>,
    /// True when the adjusted p-value is below the significance level and the metric is worse by
    /// more than the minimum effect.
    pub degraded: bool,
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
    }
}
