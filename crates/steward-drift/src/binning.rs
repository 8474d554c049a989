//! Binning: numpy's linear (type 7) quantiles, reference-quantile bin edges, bin assignment by
//! `searchsorted(side='right')`, and numpy's equal-width `sturges` edges (Evidently's binning).

use crate::error::{DriftError, check_sample};

/// `numpy.quantile(sorted, p, method='linear')` on an ascending, non-empty slice.
pub fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    let virtual_index = (n as f64 - 1.0) * p;
    let prev = virtual_index.floor();
    let (lo, hi) = if virtual_index >= (n - 1) as f64 {
        (n - 1, n - 1)
    } else if virtual_index < 0.0 {
        (0, 0)
    } else {
        (prev as usize, prev as usize + 1)
    };
    let gamma = virtual_index - prev;
    let (a, b) = (sorted[lo], sorted[hi]);
    let diff = b - a;
    // numpy's _lerp: interpolate from the nearer end for monotonicity.
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

/// The `n_bins - 1` inner edges at probabilities `i / n_bins` (computed as numpy's `linspace`
/// does, `i * (1 / n_bins)`) of an ascending reference sample.
pub fn quantile_edges(sorted_reference: &[f64], n_bins: usize) -> Result<Vec<f64>, DriftError> {
    check_sample("reference sample", sorted_reference)?;
    if n_bins < 2 {
        return Err(DriftError::InvalidConfig(format!(
            "need at least 2 bins, got {n_bins}"
        )));
    }
    let step = 1.0 / n_bins as f64;
    Ok((1..n_bins)
        .map(|i| quantile_sorted(sorted_reference, i as f64 * step))
        .collect())
}

/// Bin of `v` given inner edges: `searchsorted(edges, v, side='right')`, so bin `i` is
/// `[e_i, e_{i+1})` with open outer bins. There are `edges.len() + 1` bins.
pub fn bin_index(edges: &[f64], v: f64) -> usize {
    edges.partition_point(|&e| e <= v)
}

/// Counts of `values` in the bins defined by inner `edges`.
pub fn bin_counts(edges: &[f64], values: &[f64]) -> Vec<u64> {
    let mut counts = vec![0u64; edges.len() + 1];
    for &v in values {
        counts[bin_index(edges, v)] += 1;
    }
    counts
}

/// `numpy.histogram_bin_edges(values, bins='sturges')`: equal-width edges over [min, max] with
/// width `ptp / (log2 n + 1)`; a constant sample gets the range [v - 0.5, v + 0.5] and one bin.
pub fn sturges_edges(values: &[f64]) -> Result<Vec<f64>, DriftError> {
    check_sample("binning sample", values)?;
    let (mut lo, mut hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let ptp = hi - lo;
    if lo == hi {
        lo -= 0.5;
        hi += 0.5;
    }
    let width = ptp / ((values.len() as f64).log2() + 1.0);
    let n_bins = if width > 0.0 {
        ((hi - lo) / width).ceil() as usize
    } else {
        1
    };
    Ok(linspace(lo, hi, n_bins + 1))
}

/// `numpy.linspace(start, stop, num)` with the endpoint included.
pub fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 1 {
        return vec![start];
    }
    let div = (num - 1) as f64;
    let delta = stop - start;
    let step = delta / div;
    let mut out: Vec<f64> = if step == 0.0 {
        (0..num).map(|i| (i as f64 / div) * delta + start).collect()
    } else {
        (0..num).map(|i| i as f64 * step + start).collect()
    };
    out[num - 1] = stop;
    out
}

/// `numpy.histogram(values, edges)` counts for full edges (first and last included; the last
/// bin is closed on the right). Values outside [first, last] are not counted.
pub fn histogram(edges: &[f64], values: &[f64]) -> Vec<u64> {
    let nb = edges.len().saturating_sub(1);
    let mut counts = vec![0u64; nb];
    if nb == 0 {
        return counts;
    }
    let (first, last) = (edges[0], edges[nb]);
    for &v in values {
        if v < first || v > last {
            continue;
        }
        let i = edges
            .partition_point(|&e| e <= v)
            .saturating_sub(1)
            .min(nb - 1);
        counts[i] += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_and_bins() {
        let s = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile_sorted(&s, 0.5), 3.0);
        assert_eq!(quantile_sorted(&s, 0.1), 1.4);
        assert_eq!(quantile_sorted(&s, 1.0), 5.0);
        let edges = quantile_edges(&s, 5).unwrap();
        assert_eq!(bin_counts(&edges, &s), vec![1, 1, 1, 1, 1]);
        assert_eq!(bin_index(&[1.0, 1.0, 2.0], 1.0), 2);
    }

    #[test]
    fn sturges_constant_and_range() {
        assert_eq!(sturges_edges(&[2.0, 2.0]).unwrap(), vec![1.5, 2.5]);
        let e = sturges_edges(&[0.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(e.len(), 4);
        assert_eq!(histogram(&e, &[0.0, 1.0, 2.0, 3.0]), vec![1, 1, 2]);
    }
}
