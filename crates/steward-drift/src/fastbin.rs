//! Faster, exact replacements for the two hot loops of numeric profiling: the reference's
//! percentile edges and bin counts without a full sort, and window bin lookup through a table.
//!
//! Both give exactly what `quantile_edges` on a sorted copy, `bin_counts` and `bin_index` give
//! (the unit tests below and [`crate::numeric`]'s equivalence test check it): the
//! order statistics the edges interpolate between are found by selection, which also leaves
//! the values partitioned around them, so the count below each edge is known without looking
//! at the values again; ties at an edge fall back to the crate's `bin_counts`.

use crate::binning::{bin_counts, bin_index, quantile_edges};
use crate::error::DriftError;

/// The (lower, upper) order statistics `quantile_sorted` reads for probability `p`, exactly as
/// it computes them.
fn positions(n: usize, p: f64) -> (usize, usize) {
    let virtual_index = (n as f64 - 1.0) * p;
    if virtual_index >= (n - 1) as f64 {
        (n - 1, n - 1)
    } else if virtual_index < 0.0 {
        (0, 0)
    } else {
        let lo = virtual_index.floor() as usize;
        (lo, lo + 1)
    }
}

/// Puts the order statistics at `targets` (ascending, distinct, in range) in place, with every
/// value before a target no greater and every value after it no smaller.
fn select_all(values: &mut [f64], targets: &[usize], offset: usize) {
    if targets.is_empty() || values.is_empty() {
        return;
    }
    let mid = targets.len() / 2;
    let at = targets[mid] - offset;
    let (left, _, right) = values.select_nth_unstable_by(at, f64::total_cmp);
    select_all(left, &targets[..mid], offset);
    select_all(right, &targets[mid + 1..], offset + at + 1);
}

/// Percentile edges and reference bin counts of finite `values` (reordered in place), equal to
/// `quantile_edges(sorted, bins)` and `bin_counts(edges, values)`.
pub fn reference_bins(values: &mut [f64], bins: usize) -> Result<(Vec<f64>, Vec<u64>), DriftError> {
    let n = values.len();
    if n == 0 || bins < 2 {
        // Let the crate report the error it reports for these inputs.
        let edges = quantile_edges(values, bins)?;
        return Ok((edges.clone(), bin_counts(&edges, values)));
    }
    let step = 1.0 / bins as f64;
    let pairs: Vec<(usize, usize)> = (1..bins).map(|i| positions(n, i as f64 * step)).collect();
    let mut targets: Vec<usize> = pairs.iter().flat_map(|&(lo, hi)| [lo, hi]).collect();
    targets.sort_unstable();
    targets.dedup();
    select_all(values, &targets, 0);
    // quantile_edges only reads the selected positions, so it gives the edges of a full sort.
    let edges = quantile_edges(values, bins)?;
    // Values below edge e: when values[lo] < e <= values[hi], exactly lo + 1 (everything at or
    // before lo is <= values[lo] < e, everything from hi on is >= values[hi] >= e).
    let mut below = Vec::with_capacity(edges.len());
    for (&e, &(lo, hi)) in edges.iter().zip(&pairs) {
        if hi > lo && values[lo] < e && e <= values[hi] {
            below.push((lo + 1) as u64);
        } else {
            return Ok((edges.clone(), bin_counts(&edges, values)));
        }
    }
    let mut counts = Vec::with_capacity(edges.len() + 1);
    let mut prev = 0u64;
    for b in below {
        counts.push(b - prev);
        prev = b;
    }
    counts.push(n as u64 - prev);
    Ok((edges, counts))
}

/// Cells of the lookup table over the inner edges' range.
const CELLS: usize = 4096;

/// `bin_index(edges, x)` through a table of the answer at each cell's start, corrected by a few
/// comparisons, so most values cost one multiplication and one or two comparisons.
#[derive(Debug, Clone)]
pub struct BinLookup {
    edges: Vec<f64>,
    lo: f64,
    hi: f64,
    scale: f64,
    start: Vec<u32>,
}

impl BinLookup {
    /// A lookup for ascending inner `edges`.
    pub fn new(edges: &[f64]) -> BinLookup {
        let (lo, hi) = match (edges.first(), edges.last()) {
            (Some(&lo), Some(&hi)) => (lo, hi),
            _ => (0.0, 0.0),
        };
        let width = hi - lo;
        let usable = width > 0.0 && width.is_finite();
        let scale = if usable { CELLS as f64 / width } else { 0.0 };
        let start = if usable {
            (0..CELLS)
                .map(|c| bin_index(edges, lo + c as f64 / scale) as u32)
                .collect()
        } else {
            Vec::new()
        };
        BinLookup {
            edges: edges.to_vec(),
            lo,
            hi,
            scale,
            start,
        }
    }

    /// The bin of finite `x`: the number of edges `<= x`.
    #[inline]
    pub fn index(&self, x: f64) -> usize {
        let edges = self.edges.as_slice();
        if edges.is_empty() || x < self.lo {
            return 0;
        }
        if x >= self.hi {
            return edges.len();
        }
        if self.start.is_empty() {
            return bin_index(edges, x);
        }
        let cell = (((x - self.lo) * self.scale) as usize).min(CELLS - 1);
        let mut i = self.start[cell] as usize;
        // The table is exact at each cell's computed start; rounding may put x on either side,
        // so walk both ways to the exact answer.
        while i < edges.len() && edges[i] <= x {
            i += 1;
        }
        while i > 0 && edges[i - 1] > x {
            i -= 1;
        }
        i
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::SplitMix64;

    fn samples() -> Vec<Vec<f64>> {
        let mut rng = SplitMix64::new(11);
        let mut out = vec![
            vec![1.0],
            vec![2.0, 1.0],
            vec![3.0; 50],
            (0..101).map(f64::from).rev().collect(),
        ];
        for n in [99, 100, 1_000, 10_001, 54_321] {
            out.push((0..n).map(|_| rng.next_normal()).collect());
            // Heavy ties: integers, and a spike at zero.
            out.push((0..n).map(|_| rng.next_below(7) as f64).collect());
            out.push(
                (0..n)
                    .map(|i| {
                        if i % 3 == 0 {
                            0.0
                        } else {
                            rng.next_normal() * 1e6
                        }
                    })
                    .collect(),
            );
        }
        out
    }

    #[test]
    fn reference_bins_equal_sort_then_bin_counts() {
        for values in samples() {
            for bins in [2, 10, 100] {
                let mut sorted = values.clone();
                sorted.sort_unstable_by(f64::total_cmp);
                let edges = quantile_edges(&sorted, bins).unwrap();
                let counts = bin_counts(&edges, &values);
                let mut work = values.clone();
                let got = reference_bins(&mut work, bins).unwrap();
                assert_eq!(got, (edges, counts), "n = {}, bins = {bins}", values.len());
            }
        }
    }

    #[test]
    fn lookup_equals_bin_index() {
        for values in samples() {
            let mut sorted = values.clone();
            sorted.sort_unstable_by(f64::total_cmp);
            let edges = quantile_edges(&sorted, 100).unwrap();
            let lookup = BinLookup::new(&edges);
            let mut probes = values.clone();
            probes.extend(edges.iter().flat_map(|&e| [e, e.next_up(), e.next_down()]));
            probes.extend([-1e300, 1e300, 0.0, -0.0]);
            for x in probes {
                assert_eq!(lookup.index(x), bin_index(&edges, x), "x = {x}");
            }
        }
        assert_eq!(BinLookup::new(&[]).index(3.0), 0);
    }
}
