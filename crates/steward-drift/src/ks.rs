//! Two-sample Kolmogorov-Smirnov test, reproducing `scipy.stats.ks_2samp` (scipy 1.17).
//!
//! The statistic is the largest gap between the two empirical CDFs. p-values are exact (lattice
//! path counting, as scipy) or asymptotic: two-sided uses the finite-n Kolmogorov distribution
//! `kstwo.sf(D, round(n1 n2 / (n1 + n2)))`, one-sided uses Hodges' approximation. `Auto` picks
//! exact when both samples have at most 10,000 values, and exact falls back to asymptotic where
//! scipy does (probability outside [0, 1], overflow, or a too-large lcm).

use serde::{Deserialize, Serialize};

use crate::error::{DriftError, check_sample};
use crate::kolmogorov::kstwo_sf;
use crate::special::binom;

/// Alternative hypothesis, with scipy's meaning (`less`: the CDF of x lies below that of y).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Alternative {
    /// The distributions differ.
    TwoSided,
    /// The CDF of the first sample is less than that of the second somewhere.
    Less,
    /// The CDF of the first sample is greater than that of the second somewhere.
    Greater,
}

/// How the p-value is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KsMethod {
    /// Exact when both samples have at most 10,000 values, otherwise asymptotic.
    Auto,
    /// Exact distribution (falls back to asymptotic when it cannot be computed).
    Exact,
    /// Asymptotic distribution.
    Asymp,
}

/// Outcome of a two-sample KS test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KsResult {
    /// The KS statistic (rounded to a multiple of 1/lcm(n1, n2) when the exact method ran).
    pub statistic: f64,
    /// The p-value.
    pub p_value: f64,
    /// The value at which the statistic is attained.
    pub statistic_location: f64,
    /// +1 when the first sample's CDF is above the second's there, -1 otherwise.
    pub statistic_sign: i8,
    /// Method that produced the p-value (`Exact` or `Asymp`).
    pub method: KsMethod,
    /// True when the exact method was requested but scipy's rules made it fall back.
    pub exact_fallback: bool,
}

/// Maximum sample size for which `Auto` selects the exact method (scipy's `MAX_AUTO_N`).
pub const MAX_AUTO_N: usize = 10_000;

/// Runs the test on two unsorted samples (copies and sorts them).
pub fn ks_2samp(
    x: &[f64],
    y: &[f64],
    alternative: Alternative,
    method: KsMethod,
) -> Result<KsResult, DriftError> {
    check_sample("first sample", x)?;
    check_sample("second sample", y)?;
    let mut xs = x.to_vec();
    let mut ys = y.to_vec();
    xs.sort_unstable_by(f64::total_cmp);
    ys.sort_unstable_by(f64::total_cmp);
    ks_2samp_sorted(&xs, &ys, alternative, method)
}

/// Runs the test on two samples already sorted ascending (not checked beyond finiteness).
pub fn ks_2samp_sorted(
    x: &[f64],
    y: &[f64],
    alternative: Alternative,
    method: KsMethod,
) -> Result<KsResult, DriftError> {
    check_sample("first sample", x)?;
    check_sample("second sample", y)?;
    let ext = extremes(x, y);
    let (d, loc, sign) = if alternative == Alternative::Less
        || (alternative == Alternative::TwoSided && ext.min_s > ext.max_s)
    {
        (ext.min_s, ext.min_loc, -1)
    } else {
        (ext.max_s, ext.max_loc, 1)
    };
    let (statistic, p_value, used, fallback) =
        p_value_for(d, x.len(), y.len(), alternative, method);
    Ok(KsResult {
        statistic,
        p_value,
        statistic_location: loc,
        statistic_sign: sign,
        method: used,
        exact_fallback: fallback,
    })
}

/// The p-value for a statistic `d` between samples of sizes `n1` and `n2`, with scipy's rules.
///
/// Returns `(statistic, p_value, method_used, exact_fell_back)`; the statistic is rounded to
/// `h / lcm(n1, n2)` when the exact method is attempted, as scipy does.
pub fn p_value_for(
    d: f64,
    n1: usize,
    n2: usize,
    alternative: Alternative,
    method: KsMethod,
) -> (f64, f64, KsMethod, bool) {
    let g = gcd(n1 as u64, n2 as u64);
    let n1g = n1 as u64 / g;
    let n2g = n2 as u64 / g;
    let mut d = d;
    let mut mode = match method {
        KsMethod::Auto if n1.max(n2) <= MAX_AUTO_N => KsMethod::Exact,
        KsMethod::Auto => KsMethod::Asymp,
        other => other,
    };
    let mut fallback = false;
    if method == KsMethod::Exact && n1g as f64 >= f64::from(i32::MAX) / n2g as f64 {
        mode = KsMethod::Asymp;
        fallback = true;
    }
    let mut prob = f64::NEG_INFINITY;
    if mode == KsMethod::Exact {
        let (ok, rounded, p) = attempt_exact(n1 as u64, n2 as u64, g, d, alternative);
        d = rounded;
        if ok {
            prob = p;
        } else {
            mode = KsMethod::Asymp;
            fallback = true;
        }
    }
    if mode == KsMethod::Asymp {
        let (m, n) = if n1 >= n2 {
            (n1 as f64, n2 as f64)
        } else {
            (n2 as f64, n1 as f64)
        };
        let en = m * n / (m + n);
        prob = if alternative == Alternative::TwoSided {
            kstwo_sf(en.round_ties_even() as u64, d)
        } else {
            let z = en.sqrt() * d;
            let expt = -2.0 * z * z - 2.0 * z * (m + 2.0 * n) / (m * n * (m + n)).sqrt() / 3.0;
            expt.exp()
        };
    }
    (d, prob.clamp(0.0, 1.0), mode, fallback)
}

struct Extremes {
    min_s: f64,
    min_loc: f64,
    max_s: f64,
    max_loc: f64,
}

/// Largest and smallest ECDF difference over the pooled values, located like numpy's
/// `argmax`/`argmin` over `concatenate([x, y])` (first occurrence in that order).
fn extremes(x: &[f64], y: &[f64]) -> Extremes {
    let (n1, n2) = (x.len() as f64, y.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut max_diff = f64::NEG_INFINITY;
    let mut min_diff = f64::INFINITY;
    // Locations of the first occurrence: candidates from x win over those from y, and within
    // each sample the smallest value (earliest index) wins.
    let (mut max_in_x, mut max_in_y): (Option<f64>, Option<f64>) = (None, None);
    let (mut min_in_x, mut min_in_y): (Option<f64>, Option<f64>) = (None, None);
    while i < x.len() || j < y.len() {
        let v = match (x.get(i), y.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => break,
        };
        let in_x = x.get(i) == Some(&v);
        let in_y = y.get(j) == Some(&v);
        while i < x.len() && x[i] == v {
            i += 1;
        }
        while j < y.len() && y[j] == v {
            j += 1;
        }
        let diff = i as f64 / n1 - j as f64 / n2;
        if diff > max_diff {
            max_diff = diff;
            max_in_x = in_x.then_some(v);
            max_in_y = in_y.then_some(v);
        } else if diff == max_diff {
            if in_x && max_in_x.is_none() {
                max_in_x = Some(v);
            }
            if in_y && max_in_y.is_none() {
                max_in_y = Some(v);
            }
        }
        if diff < min_diff {
            min_diff = diff;
            min_in_x = in_x.then_some(v);
            min_in_y = in_y.then_some(v);
        } else if diff == min_diff {
            if in_x && min_in_x.is_none() {
                min_in_x = Some(v);
            }
            if in_y && min_in_y.is_none() {
                min_in_y = Some(v);
            }
        }
    }
    Extremes {
        min_s: (-min_diff).clamp(0.0, 1.0),
        min_loc: min_in_x.or(min_in_y).unwrap_or(f64::NAN),
        max_s: max_diff,
        max_loc: max_in_x.or(max_in_y).unwrap_or(f64::NAN),
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// scipy's `_attempt_exact_2kssamp`: `(success, rounded_d, probability)`.
fn attempt_exact(n1: u64, n2: u64, g: u64, d: f64, alternative: Alternative) -> (bool, f64, f64) {
    let lcm = (n1 / g) * n2;
    let h = (d * lcm as f64).round_ties_even() as u64;
    let d = h as f64 / lcm as f64;
    if h == 0 {
        return (true, d, 1.0);
    }
    let prob = match alternative {
        Alternative::TwoSided if n1 == n2 => Some(prob_outside_square(n1, h)),
        Alternative::TwoSided => Some(outer_prob_inside_method(n1, n2, g, h)),
        _ if n1 == n2 => {
            let n = n1 as f64;
            Some((0..h).fold(1.0, |acc, j| acc * ((n - j as f64) / (n + j as f64 + 1.0))))
        }
        _ => count_paths_outside(n1, n2, g, h).and_then(|num_paths| {
            let bin = binom(n1 + n2, n1);
            if num_paths > bin || bin.is_infinite() {
                None
            } else {
                Some(num_paths / bin)
            }
        }),
    };
    match prob {
        Some(p) if (0.0..=1.0).contains(&p) => (true, d, p),
        _ => (false, d, f64::NAN),
    }
}

/// `P(D_{n,n} >= h/n)` by a Horner-like alternating series.
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let mut p = 0.0;
    let mut k = (n / h) as i64;
    let (nf, hf) = (n as f64, h as f64);
    while k >= 0 {
        let kf = k as f64;
        let mut p1 = 1.0;
        for j in 0..h {
            let jf = j as f64;
            p1 = (nf - kf * hf - jf) * p1 / (nf + kf * hf + jf + 1.0);
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// Proportion of lattice paths leaving the band |x/m - y/n| < h/lcm, computed as 1 - inside
/// (Viehmann's stable recursion, as scipy).
fn outer_prob_inside_method(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = (m / g, n / g);
    let (hi, ngi, mgi, ni) = (h as i64, ng as i64, mg as i64, n as i64);
    let mut minj: i64 = 0;
    let mut maxj: i64 = (h.div_ceil(mg) as i64).min(ni + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(ni + 1) as usize;
    let mut a = vec![1.0f64; len_a];
    for v in a.iter_mut().take(maxj as usize) {
        *v = 0.0;
    }
    for i in 1..=(m as i64) {
        let lastminj = minj;
        let lastlen = curlen;
        minj = (floor_div(ngi * i - hi, mgi) + 1).max(0).min(ni);
        maxj = ceil_div(ngi * i + hi, mgi).min(ni + 1);
        if maxj <= minj {
            return 1.0;
        }
        let fi = i as f64;
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..(maxj - minj) {
            let j = (jj + minj) as f64;
            val = (a[(jj + minj - lastminj) as usize] * fi + val * j) / (fi + j);
            a[jj as usize] = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let start = (maxj - minj) as usize;
            let end = (start + (lastlen - curlen) as usize).min(a.len());
            for v in &mut a[start..end] {
                *v = 1.0;
            }
        }
    }
    a[(maxj - minj - 1) as usize]
}

fn floor_div(a: i64, b: i64) -> i64 {
    a.div_euclid(b)
}

fn ceil_div(a: i64, b: i64) -> i64 {
    -((-a).div_euclid(b))
}

/// Number of lattice paths crossing the one-sided boundary; `None` when a float overflows (scipy
/// raises there and falls back to the asymptotic p-value).
fn count_paths_outside(m: u64, n: u64, g: u64, h: u64) -> Option<f64> {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = (m / g, n / g);
    let lxj = n as i64 + (mg as i64 - h as i64).div_euclid(mg as i64);
    if lxj <= 0 {
        return finite(binom(m + n, n));
    }
    let lxj = lxj as usize;
    let xj: Vec<u64> = (0..lxj as u64).map(|j| (h + mg * j).div_ceil(ng)).collect();
    let mut b = vec![0.0f64; lxj];
    b[0] = 1.0;
    for j in 1..lxj {
        let mut bj = finite(binom_i(xj[j] as i64 + j as i64, j as i64))?;
        for i in 0..j {
            let bin = finite(binom_i(
                xj[j] as i64 - xj[i] as i64 + (j - i) as i64,
                (j - i) as i64,
            ))?;
            bj = finite(bj - finite(bin * b[i])?)?;
        }
        b[j] = bj;
    }
    let mut num_paths = 0.0;
    for (j, &bj) in b.iter().enumerate() {
        let rest = n as i64 - j as i64;
        let bin = finite(binom_i((m as i64 - xj[j] as i64) + rest, rest))?;
        num_paths = finite(num_paths + finite(bj * bin)?)?;
    }
    Some(num_paths)
}

/// Binomial coefficient on signed arguments: 0 when `k > n >= 0`, NaN for negative `n`.
fn binom_i(n: i64, k: i64) -> f64 {
    if n < 0 || k < 0 {
        f64::NAN
    } else {
        binom(n as u64, k as u64)
    }
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_empty_and_nan() {
        assert!(matches!(
            ks_2samp(&[], &[1.0], Alternative::TwoSided, KsMethod::Auto),
            Err(DriftError::Empty { .. })
        ));
        assert!(matches!(
            ks_2samp(
                &[1.0, f64::NAN],
                &[1.0],
                Alternative::TwoSided,
                KsMethod::Auto
            ),
            Err(DriftError::NonFinite { index: 1, .. })
        ));
    }

    #[test]
    fn identical_samples_have_p_one() {
        let x = [1.0, 2.0, 3.0];
        let r = ks_2samp(&x, &x, Alternative::TwoSided, KsMethod::Auto).unwrap();
        assert_eq!(r.statistic, 0.0);
        assert_eq!(r.p_value, 1.0);
    }
}
