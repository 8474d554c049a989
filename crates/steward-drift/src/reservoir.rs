//! A bounded, mergeable uniform sample (bottom-k sampling on pseudo-random priorities).
//!
//! Each value gets a 64-bit priority from SplitMix64 keyed by the builder's seed and a running
//! index; the sample keeps the `capacity` values with the smallest priorities. The union of two
//! samples, trimmed to the `capacity` smallest priorities, is exactly the sample the whole data
//! would have given, so merging is lossless. While fewer than `capacity` values have been seen
//! the sample is the complete data, which lets exact small-sample tests run on profiles.

use serde::{Deserialize, Serialize};

use crate::synth::SplitMix64;

/// Default number of values kept.
pub const DEFAULT_CAPACITY: usize = 2_048;

/// Bounded uniform sample of finite doubles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reservoir {
    capacity: usize,
    seed: u64,
    seen: u64,
    items: Vec<(u64, f64)>,
}

impl Reservoir {
    /// An empty sample keeping at most `capacity` values; `seed` keys the priorities (use
    /// different seeds for data profiled by different workers).
    pub fn new(capacity: usize, seed: u64) -> Self {
        Self {
            capacity: capacity.max(1),
            seed,
            seen: 0,
            items: Vec::new(),
        }
    }

    /// Number of values offered.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// Maximum number of values kept.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// A sample that stands for `seen` values of which none is kept: the sample of a summary
    /// imported without its rows (a SageMaker baseline), which tests must never take for the
    /// complete data.
    pub fn summary_only(capacity: usize, seed: u64, seen: u64) -> Self {
        Self {
            seen,
            ..Self::new(capacity, seed)
        }
    }

    /// True while every value offered is kept (the sample is the complete data).
    pub fn is_complete(&self) -> bool {
        self.seen as usize <= self.capacity && self.items.len() as u64 == self.seen
    }

    /// Offers one value.
    pub fn insert(&mut self, x: f64) {
        let priority = SplitMix64::output(self.seed, self.seen) ^ x.to_bits().rotate_left(17);
        self.seen += 1;
        self.items.push((priority, x));
        if self.items.len() >= 2 * self.capacity {
            self.trim();
        }
    }

    fn trim(&mut self) {
        if self.items.len() > self.capacity {
            self.items
                .select_nth_unstable_by_key(self.capacity - 1, |it| it.0);
            self.items.truncate(self.capacity);
        }
    }

    /// Merges another sample (lossless: the result is the bottom-k of the union).
    pub fn merge(&mut self, other: &Reservoir) {
        self.seen += other.seen;
        self.items.extend_from_slice(&other.items);
        self.capacity = self.capacity.min(other.capacity);
        self.trim();
    }

    /// The sampled values (at most `capacity`), in no particular order.
    pub fn values(&self) -> Vec<f64> {
        let mut items = self.items.clone();
        if items.len() > self.capacity {
            items.select_nth_unstable_by_key(self.capacity - 1, |it| it.0);
            items.truncate(self.capacity);
        }
        items.into_iter().map(|it| it.1).collect()
    }

    /// Compacts the sample to at most `capacity` values (done before serialising).
    pub fn compact(&mut self) {
        self.trim();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_until_capacity_then_bounded() {
        let mut r = Reservoir::new(10, 1);
        for i in 0..10 {
            r.insert(f64::from(i));
        }
        assert!(r.is_complete());
        assert_eq!(r.values().len(), 10);
        for i in 10..1000 {
            r.insert(f64::from(i));
        }
        assert!(!r.is_complete());
        assert_eq!(r.values().len(), 10);
    }

    #[test]
    fn summary_only_is_never_complete_even_merged() {
        let mut r = Reservoir::summary_only(10, 1, 5);
        assert!(!r.is_complete());
        assert!(r.values().is_empty());
        let mut other = Reservoir::new(10, 2);
        other.insert(1.0);
        r.merge(&other);
        assert!(!r.is_complete());
        assert_eq!(r.seen(), 6);
    }

    #[test]
    fn merge_keeps_bottom_k_of_union() {
        let mut a = Reservoir::new(50, 3);
        let mut b = Reservoir::new(50, 4);
        for i in 0..250 {
            a.insert(f64::from(i));
            b.insert(f64::from(i + 250));
        }
        let mut union: Vec<(u64, f64)> = a.items.iter().chain(&b.items).copied().collect();
        union.sort_by_key(|it| it.0);
        let mut want: Vec<f64> = union.iter().take(50).map(|it| it.1).collect();
        a.merge(&b);
        let mut got = a.values();
        want.sort_by(f64::total_cmp);
        got.sort_by(f64::total_cmp);
        assert_eq!(got, want);
        assert_eq!(a.seen(), 500);
    }

    #[test]
    fn sample_is_roughly_uniform() {
        let mut r = Reservoir::new(1000, 9);
        for i in 0..100_000 {
            r.insert(f64::from(i));
        }
        let mean = r.values().iter().sum::<f64>() / 1000.0;
        assert!((mean - 50_000.0).abs() < 3_000.0, "mean {mean}");
    }
}
