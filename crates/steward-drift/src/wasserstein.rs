//! First Wasserstein distance between one-dimensional samples (`scipy.stats.wasserstein_distance`)
//! and Evidently's normed form `W1 / max(std(reference), 0.001)`.

use crate::error::{DriftError, check_counts, check_sample};
use crate::special::np_sum;

/// W1 between two unweighted samples: the area between their empirical CDFs.
pub fn wasserstein_1(u: &[f64], v: &[f64]) -> Result<f64, DriftError> {
    check_sample("first sample", u)?;
    check_sample("second sample", v)?;
    let mut us = u.to_vec();
    let mut vs = v.to_vec();
    us.sort_unstable_by(f64::total_cmp);
    vs.sort_unstable_by(f64::total_cmp);
    Ok(wasserstein_1_sorted(&us, &vs))
}

/// W1 between two ascending, non-empty, finite samples.
pub fn wasserstein_1_sorted(u: &[f64], v: &[f64]) -> f64 {
    let (nu, nv) = (u.len() as f64, v.len() as f64);
    let total = u.len() + v.len();
    let mut terms = Vec::with_capacity(total - 1);
    let (mut i, mut j) = (0usize, 0usize);
    // Walk the merged order; at each pooled value a_k (k < total - 1) the CDFs are the counts
    // <= a_k, and the term is |F_u - F_v| * (a_{k+1} - a_k).
    let next = |i: usize, j: usize| -> f64 {
        match (u.get(i), v.get(j)) {
            (Some(&a), Some(&b)) => a.min(b),
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => f64::NAN,
        }
    };
    let mut k = 0usize;
    while k + 1 < total {
        let a = next(i, j);
        while i < u.len() && u[i] <= a {
            i += 1;
        }
        while j < v.len() && v[j] <= a {
            j += 1;
        }
        let consumed = i + j;
        let cdf_gap = (i as f64 / nu - j as f64 / nv).abs();
        // Tied copies of a contribute zero-width terms; only the last one has a gap.
        terms.extend(std::iter::repeat_n(0.0, consumed - k - 1));
        let b = if consumed < total { next(i, j) } else { a };
        if consumed < total {
            terms.push(cdf_gap * (b - a));
        }
        k = consumed;
    }
    np_sum(&terms)
}

/// W1 between weighted samples; weights are normalised by their sums (scipy's `u_weights`,
/// `v_weights`).
pub fn wasserstein_1_weighted(
    u: &[f64],
    v: &[f64],
    u_weights: &[f64],
    v_weights: &[f64],
) -> Result<f64, DriftError> {
    check_sample("first sample", u)?;
    check_sample("second sample", v)?;
    if u.len() != u_weights.len() || v.len() != v_weights.len() {
        return Err(DriftError::ShapeMismatch(
            "one weight per value is required".into(),
        ));
    }
    check_counts("first weights", u_weights)?;
    check_counts("second weights", v_weights)?;
    let order = |x: &[f64]| {
        let mut idx: Vec<usize> = (0..x.len()).collect();
        idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
        idx
    };
    let (uo, vo) = (order(u), order(v));
    let us: Vec<f64> = uo.iter().map(|&i| u[i]).collect();
    let vs: Vec<f64> = vo.iter().map(|&i| v[i]).collect();
    let cum = |w: &[f64], o: &[usize]| {
        let mut c = Vec::with_capacity(o.len() + 1);
        c.push(0.0);
        let mut s = 0.0;
        for &i in o {
            s += w[i];
            c.push(s);
        }
        c
    };
    let (ucum, vcum) = (cum(u_weights, &uo), cum(v_weights, &vo));
    let (utot, vtot) = (ucum[us.len()], vcum[vs.len()]);
    if utot == 0.0 || vtot == 0.0 {
        return Err(DriftError::ZeroMass { what: "weights" });
    }
    let mut all: Vec<f64> = us.iter().chain(&vs).copied().collect();
    all.sort_by(f64::total_cmp);
    let terms: Vec<f64> = all
        .windows(2)
        .map(|w| {
            let ui = us.partition_point(|&x| x <= w[0]);
            let vi = vs.partition_point(|&x| x <= w[0]);
            (ucum[ui] / utot - vcum[vi] / vtot).abs() * (w[1] - w[0])
        })
        .collect();
    Ok(np_sum(&terms))
}

/// Population standard deviation (`numpy.std(x, ddof=0)`).
pub fn std_ddof0(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mean = np_sum(x) / n;
    let sq: Vec<f64> = x.iter().map(|v| (v - mean) * (v - mean)).collect();
    (np_sum(&sq) / n).sqrt()
}

/// Evidently's normed Wasserstein distance: `W1(reference, current) / max(std(reference), 0.001)`.
pub fn wasserstein_normed(reference: &[f64], current: &[f64]) -> Result<f64, DriftError> {
    let w = wasserstein_1(reference, current)?;
    Ok(w / std_ddof0(reference).max(0.001))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_equals_distance() {
        let u = [0.0, 1.0, 2.0, 3.0];
        let v: Vec<f64> = u.iter().map(|x| x + 0.5).collect();
        assert_eq!(wasserstein_1(&u, &v).unwrap(), 0.5);
        assert_eq!(wasserstein_1(&u, &u).unwrap(), 0.0);
        assert_eq!(wasserstein_1(&[1.0, 1.0], &[1.0]).unwrap(), 0.0);
    }
}
