//! Tests on counts: chi-square test of homogeneity/independence (`scipy.stats.chi2_contingency`,
//! Yates' correction when dof = 1), chi-square goodness of fit (`scipy.stats.chisquare`) and the
//! pooled two-proportion z-test.

use serde::{Deserialize, Serialize};

use crate::error::{DriftError, check_counts};
use crate::special::{chi2_sf, normal_cdf, normal_sf, np_sum};

/// Outcome of a chi-square test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chi2Result {
    /// Pearson's chi-square statistic (after Yates' correction when it applied).
    pub statistic: f64,
    /// Upper-tail p-value.
    pub p_value: f64,
    /// Degrees of freedom.
    pub dof: usize,
    /// Expected frequencies under independence, in the table's (row-major) order.
    pub expected: Vec<f64>,
}

/// Chi-square test of independence on an N-dimensional table stored row-major with `shape`.
///
/// A row or column without counts has a zero expected frequency and is an error (scipy raises
/// too). With `correction` and one degree of freedom, each cell moves by `min(0.5, |O - E|)`
/// towards its expectation. A table with zero degrees of freedom gives statistic 0 and p 1.
pub fn chi2_contingency(
    observed: &[f64],
    shape: &[usize],
    correction: bool,
) -> Result<Chi2Result, DriftError> {
    check_counts("contingency table", observed)?;
    let size: usize = shape.iter().product();
    if shape.is_empty() || size != observed.len() {
        return Err(DriftError::ShapeMismatch(format!(
            "table has {} cells but shape {shape:?}",
            observed.len()
        )));
    }
    if size == 0 {
        return Err(DriftError::Empty {
            what: "contingency table",
        });
    }
    let ndim = shape.len();
    let strides = strides(shape);
    // Margins: for each axis, the sum over all other axes.
    let mut margins: Vec<Vec<f64>> = shape.iter().map(|&s| vec![0.0; s]).collect();
    for (flat, &v) in observed.iter().enumerate() {
        for axis in 0..ndim {
            margins[axis][(flat / strides[axis]) % shape[axis]] += v;
        }
    }
    let total = np_sum(observed);
    let denom = total.powi(ndim as i32 - 1);
    let mut expected = Vec::with_capacity(size);
    for flat in 0..size {
        let mut prod = margins[0][(flat / strides[0]) % shape[0]];
        for axis in 1..ndim {
            prod *= margins[axis][(flat / strides[axis]) % shape[axis]];
        }
        expected.push(prod / denom);
    }
    if let Some(pos) = expected.iter().position(|&e| e == 0.0) {
        let idx = (0..ndim)
            .map(|axis| (pos / strides[axis]) % shape[axis])
            .collect();
        return Err(DriftError::ZeroExpected(idx));
    }
    let dof = (size + ndim - 1).saturating_sub(shape.iter().sum::<usize>());
    if dof == 0 {
        return Ok(Chi2Result {
            statistic: 0.0,
            p_value: 1.0,
            dof,
            expected,
        });
    }
    let adjusted: Vec<f64> = if dof == 1 && correction {
        observed
            .iter()
            .zip(&expected)
            .map(|(&o, &e)| {
                let diff = e - o;
                o + diff.abs().min(0.5) * sign(diff)
            })
            .collect()
    } else {
        observed.to_vec()
    };
    let terms: Vec<f64> = adjusted
        .iter()
        .zip(&expected)
        .map(|(&o, &e)| (o - e) * (o - e) / e)
        .collect();
    let statistic = np_sum(&terms);
    Ok(Chi2Result {
        statistic,
        p_value: chi2_sf(statistic, dof as f64),
        dof,
        expected,
    })
}

fn sign(x: f64) -> f64 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

fn strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for axis in (0..shape.len().saturating_sub(1)).rev() {
        strides[axis] = strides[axis + 1] * shape[axis + 1];
    }
    strides
}

/// Chi-square test of homogeneity for two count vectors over the same categories (a 2 x k
/// table: reference row, current row). Categories empty on both sides are dropped first, since
/// they carry no information and would make scipy raise.
pub fn chi2_homogeneity(reference: &[f64], current: &[f64]) -> Result<Chi2Result, DriftError> {
    if reference.len() != current.len() {
        return Err(DriftError::ShapeMismatch(format!(
            "{} reference categories vs {} current categories",
            reference.len(),
            current.len()
        )));
    }
    check_counts("reference counts", reference)?;
    check_counts("current counts", current)?;
    let (r, c): (Vec<f64>, Vec<f64>) = reference
        .iter()
        .zip(current)
        .filter(|(a, b)| **a + **b > 0.0)
        .map(|(a, b)| (*a, *b))
        .unzip();
    if r.is_empty() {
        return Err(DriftError::Empty {
            what: "category counts",
        });
    }
    let k = r.len();
    let mut table = r;
    table.extend(c);
    chi2_contingency(&table, &[2, k], true)
}

/// Pearson goodness-of-fit test, `scipy.stats.chisquare(f_obs, f_exp)`: dof = k - 1, a zero
/// expectation with a positive observation gives an infinite statistic, and 0/0 gives NaN.
///
/// Like scipy, the two vectors must have the same total to a relative 1e-8.
pub fn chisquare(f_obs: &[f64], f_exp: &[f64]) -> Result<(f64, f64), DriftError> {
    if f_obs.len() != f_exp.len() {
        return Err(DriftError::ShapeMismatch(format!(
            "{} observed vs {} expected frequencies",
            f_obs.len(),
            f_exp.len()
        )));
    }
    check_counts("observed frequencies", f_obs)?;
    check_counts("expected frequencies", f_exp)?;
    if f_obs.is_empty() {
        return Err(DriftError::Empty {
            what: "observed frequencies",
        });
    }
    let (so, se) = (np_sum(f_obs), np_sum(f_exp));
    if (so - se).abs() / so.min(se) > 1e-8 {
        return Err(DriftError::ShapeMismatch(format!(
            "observed total {so} and expected total {se} differ"
        )));
    }
    let terms: Vec<f64> = f_obs
        .iter()
        .zip(f_exp)
        .map(|(&o, &e)| (o - e) * (o - e) / e)
        .collect();
    let stat = np_sum(&terms);
    let dof = f_obs.len() as f64 - 1.0;
    Ok((stat, chi2_sf(stat, dof)))
}

/// Outcome of a two-proportion z-test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ZResult {
    /// `(p1 - p2) / sqrt(P (1 - P) (1/n1 + 1/n2))` with the pooled proportion `P`.
    pub statistic: f64,
    /// Two-sided p-value `2 * P(Z > |z|)`.
    pub p_value: f64,
}

/// Pooled two-proportion z-test of `x1` successes in `n1` trials against `x2` in `n2`.
///
/// When both samples are all successes or all failures the proportions are equal and the
/// p-value is 1 (the statistic is 0), rather than 0/0.
pub fn two_proportion_z(x1: f64, n1: f64, x2: f64, n2: f64) -> Result<ZResult, DriftError> {
    check_counts("successes and trials", &[x1, n1, x2, n2])?;
    if n1 == 0.0 || n2 == 0.0 {
        return Err(DriftError::Empty {
            what: "two-proportion sample",
        });
    }
    if x1 > n1 || x2 > n2 {
        return Err(DriftError::InvalidConfig(
            "more successes than trials".into(),
        ));
    }
    let (p1, p2) = (x1 / n1, x2 / n2);
    let pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    let var = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2);
    if var == 0.0 {
        return Ok(ZResult {
            statistic: 0.0,
            p_value: 1.0,
        });
    }
    let z = (p1 - p2) / var.sqrt();
    Ok(ZResult {
        statistic: z,
        p_value: 2.0 * normal_sf(z.abs()),
    })
}

/// Evidently's variant of the two-sided p-value, `2 * (1 - Φ(|z|))` (less precise in the far
/// tail than `2 * sf`, kept for compatibility).
pub fn evidently_z_p_value(z: f64) -> f64 {
    2.0 * (1.0 - normal_cdf(z.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z_test_symmetric_and_degenerate() {
        let a = two_proportion_z(30.0, 100.0, 45.0, 100.0).unwrap();
        let b = two_proportion_z(45.0, 100.0, 30.0, 100.0).unwrap();
        assert_eq!(a.p_value, b.p_value);
        assert_eq!(a.statistic, -b.statistic);
        assert_eq!(two_proportion_z(10.0, 10.0, 5.0, 5.0).unwrap().p_value, 1.0);
        assert!(two_proportion_z(11.0, 10.0, 5.0, 5.0).is_err());
    }

    #[test]
    fn homogeneity_drops_empty_categories() {
        let r = chi2_homogeneity(&[10.0, 0.0, 20.0], &[12.0, 0.0, 18.0]).unwrap();
        assert_eq!(r.dof, 1);
    }
}
