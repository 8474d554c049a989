//! A mergeable quantile sketch (KLL, Karnin-Lang-Liberty 2016) with deterministic compaction.
//!
//! Level `h` holds items of weight `2^h`; a full level is sorted and every other item (starting
//! at an offset drawn by a deterministic coin per compaction) is promoted. With `k` items at the top level
//! the normalised rank error is about `2 / k`: for the default `k = 256`, the largest error over
//! 99 percentiles is 0.8% of rank in the median of 40 seeds and at most 1.1% (the unit tests
//! below measure it). Merging concatenates levels and
//! compacts, so profiles built apart and merged answer quantiles within the same error.

use serde::{Deserialize, Serialize};

use crate::synth::SplitMix64;

/// Default accuracy parameter.
pub const DEFAULT_K: u32 = 256;

/// Smallest capacity of a level (DataSketches' KLL uses 8 too): with deep sketches the lowest
/// levels would otherwise hold two or three items and be compacted every few inserts.
const MIN_LEVEL_CAPACITY: usize = 8;

/// KLL quantile sketch over finite doubles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantileSketch {
    k: u32,
    count: u64,
    min: f64,
    max: f64,
    levels: Vec<Vec<f64>>,
}

impl Default for QuantileSketch {
    fn default() -> Self {
        Self::new(DEFAULT_K)
    }
}

impl QuantileSketch {
    /// An empty sketch with accuracy parameter `k` (at least 8).
    pub fn new(k: u32) -> Self {
        Self {
            k: k.max(8),
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            levels: vec![Vec::new()],
        }
    }

    /// A sketch whose level `h` holds `levels[h]`, each item of weight `2^h` (an imported KLL
    /// sketch: SageMaker's baselines keep Deequ's compactors this way); `min` and `max` are the
    /// extremes of the data, which compaction may have dropped from the items. The caller checks
    /// that the items are finite and that there are fewer than 64 levels.
    pub(crate) fn from_levels(k: u32, mut levels: Vec<Vec<f64>>, min: f64, max: f64) -> Self {
        let count = levels
            .iter()
            .enumerate()
            .map(|(h, items)| (items.len() as u64) << h)
            .sum();
        if levels.is_empty() {
            levels.push(Vec::new());
        }
        Self {
            k: k.max(8),
            count,
            min,
            max,
            levels,
        }
    }

    /// Number of values summarised.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Smallest value seen (infinite when empty).
    pub fn min(&self) -> f64 {
        self.min
    }

    /// Largest value seen (negative infinite when empty).
    pub fn max(&self) -> f64 {
        self.max
    }

    /// Number of items retained.
    pub fn retained(&self) -> usize {
        self.levels.iter().map(Vec::len).sum()
    }

    fn capacity(&self, level: usize) -> usize {
        let depth = self.levels.len() - 1 - level;
        let cap = f64::from(self.k) * (2.0f64 / 3.0).powi(depth as i32);
        (cap.ceil() as usize).max(MIN_LEVEL_CAPACITY)
    }

    /// Adds one finite value (the caller guarantees finiteness).
    pub fn insert(&mut self, x: f64) {
        self.count += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        self.levels[0].push(x);
        if self.levels[0].len() >= self.capacity(0) {
            self.compress();
        }
    }

    /// Compacts every level at or over its capacity, lowest first, in place: a level is
    /// sorted, every other item promoted, and its buffer kept for the next items.
    fn compress(&mut self) {
        loop {
            let Some(level) =
                (0..self.levels.len()).find(|&h| self.levels[h].len() >= self.capacity(h))
            else {
                return;
            };
            if level + 1 == self.levels.len() {
                self.levels.push(Vec::new());
            }
            let (lower, upper) = self.levels.split_at_mut(level + 1);
            let (items, next) = (&mut lower[level], &mut upper[0]);
            items.sort_unstable_by(f64::total_cmp);
            // An odd item stays behind so that total weight is preserved exactly.
            let odd = if items.len() % 2 == 1 {
                items.pop()
            } else {
                None
            };
            // KLL's error bound wants a fair coin per compaction; this one is derived from the
            // count and the level, so the same data always gives the same sketch.
            let offset = (SplitMix64::output(self.count, level as u64) & 1) as usize;
            next.extend(items.iter().skip(offset).step_by(2).copied());
            items.clear();
            items.extend(odd);
        }
    }

    /// Merges another sketch into this one.
    pub fn merge(&mut self, other: &QuantileSketch) {
        if other.count == 0 {
            return;
        }
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        while self.levels.len() < other.levels.len() {
            self.levels.push(Vec::new());
        }
        for (h, items) in other.levels.iter().enumerate() {
            self.levels[h].extend_from_slice(items);
        }
        self.compress();
    }

    fn weighted(&self) -> (Vec<(f64, u64)>, u64) {
        let mut items: Vec<(f64, u64)> = self
            .levels
            .iter()
            .enumerate()
            .flat_map(|(h, items)| items.iter().map(move |&v| (v, 1u64 << h)))
            .collect();
        items.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let total = items.iter().map(|x| x.1).sum();
        (items, total)
    }

    /// Approximate quantile at probability `p` in [0, 1] (NaN when empty).
    pub fn quantile(&self, p: f64) -> f64 {
        self.quantiles(&[p]).pop().unwrap_or(f64::NAN)
    }

    /// Approximate quantiles at ascending probabilities.
    pub fn quantiles(&self, ps: &[f64]) -> Vec<f64> {
        if self.count == 0 {
            return vec![f64::NAN; ps.len()];
        }
        let (items, total) = self.weighted();
        let mut out = Vec::with_capacity(ps.len());
        let mut idx = 0usize;
        let mut cum = 0u64;
        for &p in ps {
            if p <= 0.0 {
                out.push(self.min);
                continue;
            }
            if p >= 1.0 {
                out.push(self.max);
                continue;
            }
            let target = p * total as f64;
            while idx < items.len() && ((cum + items[idx].1) as f64) < target {
                cum += items[idx].1;
                idx += 1;
            }
            out.push(items.get(idx).map_or(self.max, |x| x.0));
        }
        out
    }

    /// Approximate fraction of values `<= x`.
    pub fn cdf(&self, x: f64) -> f64 {
        if self.count == 0 {
            return f64::NAN;
        }
        let (items, total) = self.weighted();
        let below: u64 = items.iter().take_while(|v| v.0 <= x).map(|v| v.1).sum();
        below as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::SplitMix64;

    fn rank_error(sketch: &QuantileSketch, sorted: &[f64]) -> f64 {
        let n = sorted.len() as f64;
        (1..100)
            .map(|i| {
                let p = f64::from(i) / 100.0;
                let q = sketch.quantile(p);
                let r = sorted.partition_point(|&v| v <= q) as f64 / n;
                (r - p).abs()
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn rank_error_under_one_percent_and_merge_keeps_it() {
        let mut rng = SplitMix64::new(7);
        let data: Vec<f64> = (0..200_000).map(|_| rng.next_normal()).collect();
        let mut whole = QuantileSketch::default();
        let (mut a, mut b) = (QuantileSketch::default(), QuantileSketch::default());
        for (i, &x) in data.iter().enumerate() {
            whole.insert(x);
            if i % 3 == 0 { a.insert(x) } else { b.insert(x) }
        }
        a.merge(&b);
        let mut sorted = data.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        assert!(
            rank_error(&whole, &sorted) < 0.012,
            "whole {}",
            rank_error(&whole, &sorted)
        );
        assert!(
            rank_error(&a, &sorted) < 0.012,
            "merged {}",
            rank_error(&a, &sorted)
        );
        assert_eq!(a.count(), 200_000);
        assert!(whole.retained() < 2_000);
    }

    #[test]
    fn rank_error_over_many_seeds() {
        let mut errors: Vec<f64> = (0..40u64)
            .map(|seed| {
                let mut rng = SplitMix64::new(seed);
                let n = 50_000 + seed as usize * 3_000;
                let data: Vec<f64> = (0..n).map(|_| rng.next_normal()).collect();
                let mut s = QuantileSketch::default();
                for &x in &data {
                    s.insert(x);
                }
                let mut sorted = data;
                sorted.sort_unstable_by(f64::total_cmp);
                rank_error(&s, &sorted)
            })
            .collect();
        errors.sort_by(f64::total_cmp);
        let (median, max) = (errors[20], errors[39]);
        assert!(median < 0.009 && max < 0.012, "median {median}, max {max}");
    }

    #[test]
    fn empty_and_tiny() {
        let mut s = QuantileSketch::default();
        assert!(s.quantile(0.5).is_nan());
        s.insert(3.0);
        assert_eq!(s.quantile(0.5), 3.0);
        assert_eq!(s.cdf(3.0), 1.0);
    }
}
