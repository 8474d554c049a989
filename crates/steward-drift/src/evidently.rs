//! Evidently compatibility mode: Evidently 0.7.23's own choices (default test per column type
//! and size, binning, zero filling, thresholds), so a team moving from Evidently sees the same
//! verdicts. These are *not* Steward's defaults; see [`crate::report`] for why.
//!
//! * Default test: with at most 1,000 reference rows, KS for numeric columns with more than 5
//!   distinct values (over both samples), else chi-square goodness of fit if more than 2
//!   values, else the two-proportion z-test; above 1,000 rows, normed Wasserstein for numeric
//!   columns with more than 5 values, else Jensen-Shannon distance.
//! * Binning for PSI, KL and JS: numeric columns whose reference has more than 20 distinct
//!   values get `numpy.histogram_bin_edges(concat(ref, cur), 'sturges')`; otherwise one bin per
//!   distinct value. PSI and KL replace zero proportions by `min(nonzero)/1e6` when that minimum
//!   is at most 1e-4, else by 1e-4, per side and without renormalising; JS does no zero fill.
//! * Drift: p-value tests below 0.05; distances (PSI, KL, JS, normed Wasserstein) at or above 0.1.

use serde::{Deserialize, Serialize};

use crate::binning::{histogram, sturges_edges};
use crate::chi2::{chisquare, evidently_z_p_value, two_proportion_z};
use crate::divergence::{jensen_shannon, kl_divergence, psi};
use crate::error::{DriftError, check_sample};
use crate::ks::{Alternative, KsMethod, ks_2samp};
use crate::wasserstein::wasserstein_normed;

/// Evidently's column type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// Numerical.
    Num,
    /// Categorical.
    Cat,
}

/// Evidently's stattests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatTest {
    /// Two-sample KS p-value.
    Ks,
    /// Chi-square goodness-of-fit p-value.
    Chisquare,
    /// Two-proportion z-test p-value.
    Z,
    /// Normed Wasserstein distance.
    Wasserstein,
    /// Jensen-Shannon distance (natural log).
    Jensenshannon,
    /// PSI.
    Psi,
    /// KL divergence.
    KlDiv,
}

impl StatTest {
    /// Evidently's default threshold.
    pub fn default_threshold(self) -> f64 {
        match self {
            StatTest::Ks | StatTest::Chisquare | StatTest::Z => 0.05,
            _ => 0.1,
        }
    }

    /// True for tests whose value is a p-value (drift below the threshold).
    pub fn is_p_value(self) -> bool {
        matches!(self, StatTest::Ks | StatTest::Chisquare | StatTest::Z)
    }
}

/// Result of one Evidently stattest.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvidentlyResult {
    /// Test.
    pub test: StatTest,
    /// p-value or distance.
    pub value: f64,
    /// Threshold used.
    pub threshold: f64,
    /// Evidently's verdict.
    pub drift: bool,
}

fn distinct_sorted(values: &[f64]) -> Vec<f64> {
    let mut v = values.to_vec();
    v.sort_unstable_by(f64::total_cmp);
    v.dedup();
    v
}

fn check(reference: &[f64], current: &[f64]) -> Result<(), DriftError> {
    check_sample("reference", reference)?;
    check_sample("current", current)
}

/// `registry._get_default_stattest`.
pub fn default_stattest(reference: &[f64], current: &[f64], kind: ColumnType) -> StatTest {
    let all: Vec<f64> = reference.iter().chain(current).copied().collect();
    let n_values = distinct_sorted(&all).len();
    let numeric = kind == ColumnType::Num && n_values > 5;
    if reference.len() <= 1000 {
        if numeric {
            StatTest::Ks
        } else if n_values > 2 {
            StatTest::Chisquare
        } else {
            StatTest::Z
        }
    } else if numeric {
        StatTest::Wasserstein
    } else {
        StatTest::Jensenshannon
    }
}

/// Evidently's `get_binned_data`: proportions per bin (or per distinct value, ascending).
pub fn binned(
    reference: &[f64],
    current: &[f64],
    kind: ColumnType,
    feel_zeroes: bool,
) -> Result<(Vec<f64>, Vec<f64>), DriftError> {
    check(reference, current)?;
    let (nr, nc) = (reference.len() as f64, current.len() as f64);
    let (mut r, mut c): (Vec<f64>, Vec<f64>) =
        if kind == ColumnType::Num && distinct_sorted(reference).len() > 20 {
            let all: Vec<f64> = reference.iter().chain(current).copied().collect();
            let edges = sturges_edges(&all)?;
            (
                histogram(&edges, reference)
                    .iter()
                    .map(|&x| x as f64 / nr)
                    .collect(),
                histogram(&edges, current)
                    .iter()
                    .map(|&x| x as f64 / nc)
                    .collect(),
            )
        } else {
            let all: Vec<f64> = reference.iter().chain(current).copied().collect();
            let keys = distinct_sorted(&all);
            let count = |xs: &[f64]| {
                let mut counts = vec![0u64; keys.len()];
                for x in xs {
                    if let Ok(i) = keys.binary_search_by(|k| k.total_cmp(x)) {
                        counts[i] += 1;
                    }
                }
                counts
            };
            (
                count(reference).iter().map(|&x| x as f64 / nr).collect(),
                count(current).iter().map(|&x| x as f64 / nc).collect(),
            )
        };
    if feel_zeroes {
        fill_zeroes(&mut r);
        fill_zeroes(&mut c);
    }
    Ok((r, c))
}

fn fill_zeroes(p: &mut [f64]) {
    let min_nonzero = p
        .iter()
        .copied()
        .filter(|&x| x != 0.0)
        .fold(f64::INFINITY, f64::min);
    if !min_nonzero.is_finite() {
        return;
    }
    let fill = if min_nonzero <= 1e-4 {
        min_nonzero / 1e6
    } else {
        1e-4
    };
    for x in p.iter_mut().filter(|x| **x == 0.0) {
        *x = fill;
    }
}

fn verdict(test: StatTest, value: f64) -> EvidentlyResult {
    let threshold = test.default_threshold();
    let drift = if test.is_p_value() {
        value < threshold
    } else {
        value >= threshold
    };
    EvidentlyResult {
        test,
        value,
        threshold,
        drift,
    }
}

/// Runs one Evidently stattest with its default threshold.
pub fn stattest(
    test: StatTest,
    reference: &[f64],
    current: &[f64],
    kind: ColumnType,
) -> Result<EvidentlyResult, DriftError> {
    check(reference, current)?;
    let value = match test {
        StatTest::Ks => {
            ks_2samp(reference, current, Alternative::TwoSided, KsMethod::Auto)?.p_value
        }
        StatTest::Wasserstein => wasserstein_normed(reference, current)?,
        StatTest::Psi => {
            let (r, c) = binned(reference, current, kind, true)?;
            psi(&r, &c, f64::MIN_POSITIVE)?
        }
        StatTest::KlDiv => {
            let (r, c) = binned(reference, current, kind, true)?;
            kl_divergence(&r, &c, None)?
        }
        StatTest::Jensenshannon => {
            let (r, c) = binned(reference, current, kind, false)?;
            jensen_shannon(&r, &c, None)?
        }
        StatTest::Chisquare => {
            let all: Vec<f64> = reference.iter().chain(current).copied().collect();
            let keys = distinct_sorted(&all);
            let count = |xs: &[f64]| {
                let mut counts = vec![0.0; keys.len()];
                for x in xs {
                    if let Ok(i) = keys.binary_search_by(|k| k.total_cmp(x)) {
                        counts[i] += 1.0;
                    }
                }
                counts
            };
            let k_norm = current.len() as f64 / reference.len() as f64;
            let f_exp: Vec<f64> = count(reference).iter().map(|r| r * k_norm).collect();
            chisquare(&count(current), &f_exp)?.1
        }
        StatTest::Z => {
            let (rd, cd) = (distinct_sorted(reference), distinct_sorted(current));
            if rd.len() == 1 && cd.len() == 1 && rd[0] == cd[0] {
                1.0
            } else {
                let key = distinct_sorted(&[rd, cd].concat())[0];
                let hits = |xs: &[f64]| xs.iter().filter(|&&x| x == key).count() as f64;
                let z = two_proportion_z(
                    hits(reference),
                    reference.len() as f64,
                    hits(current),
                    current.len() as f64,
                )?;
                evidently_z_p_value(z.statistic)
            }
        }
    };
    Ok(verdict(test, value))
}

/// Evidently's verdict for one column with its default test.
pub fn column_drift(
    reference: &[f64],
    current: &[f64],
    kind: ColumnType,
) -> Result<EvidentlyResult, DriftError> {
    check(reference, current)?;
    stattest(
        default_stattest(reference, current, kind),
        reference,
        current,
        kind,
    )
}

/// Evidently's dataset rule: drift when at least `share` (default 0.5) of the columns drifted.
pub fn dataset_drift(columns: &[EvidentlyResult], share: f64) -> bool {
    !columns.is_empty()
        && columns.iter().filter(|c| c.drift).count() as f64 >= share * columns.len() as f64
}
