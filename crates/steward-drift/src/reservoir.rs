//! A bounded, mergeable uniform sample (bottom-k sampling on pseudo-random priorities).
//!
//! Each value gets a 64-bit priority from SplitMix64 keyed by the builder's seed and a running
//! index; the sample keeps the `capacity` values with the smallest priorities. The union of two
//! samples, trimmed to the `capacity` smallest priorities, is exactly the sample the whole data
//! would have given, so merging is lossless. While fewer than `capacity` values have been seen
//! the sample is the complete data, which lets exact small-sample tests run on profiles.
//!
//! Two things keep it cheap, because every profile carries one sample per numeric feature:
//! once the sample is full, a value whose priority is above the largest kept one is dropped
//! without being stored (it could never be in the bottom k); and in binary formats (the
//! MessagePack the server stores) the kept (priority, value) pairs are one packed byte string
//! of 16 bytes each, read and written without per-number parsing. Human-readable formats (the
//! JSON of `steward profile`) keep the list of pairs, and both forms are read back.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::synth::SplitMix64;

/// Default number of values kept.
pub const DEFAULT_CAPACITY: usize = 2_048;

/// Bounded uniform sample of finite doubles.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "Wire", into = "Wire")]
pub struct Reservoir {
    capacity: usize,
    seed: u64,
    seen: u64,
    items: Vec<(u64, f64)>,
    /// The largest priority kept by the last trim (`u64::MAX` until the sample first fills):
    /// a new value above it cannot be in the sample. Derived, so not stored.
    threshold: u64,
}

impl PartialEq for Reservoir {
    fn eq(&self, other: &Self) -> bool {
        // The threshold only speeds up inserts; two samples holding the same are equal.
        (self.capacity, self.seed, self.seen, &self.items)
            == (other.capacity, other.seed, other.seen, &other.items)
    }
}

/// The stored form of a [`Reservoir`].
#[derive(Serialize, Deserialize)]
struct Wire {
    capacity: usize,
    seed: u64,
    seen: u64,
    items: Items,
}

impl From<Wire> for Reservoir {
    fn from(w: Wire) -> Self {
        Reservoir {
            capacity: w.capacity.max(1),
            seed: w.seed,
            seen: w.seen,
            items: w.items.0,
            threshold: u64::MAX,
        }
    }
}

impl From<Reservoir> for Wire {
    fn from(r: Reservoir) -> Self {
        Wire {
            capacity: r.capacity,
            seed: r.seed,
            seen: r.seen,
            items: Items(r.items),
        }
    }
}

/// Size of one packed (priority, value) pair.
const PAIR_BYTES: usize = 16;

/// The kept pairs: a packed byte string in binary formats, a list of pairs in text formats.
struct Items(Vec<(u64, f64)>);

impl Serialize for Items {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            return self.0.serialize(serializer);
        }
        let mut bytes = Vec::with_capacity(self.0.len() * PAIR_BYTES);
        for &(priority, value) in &self.0 {
            bytes.extend_from_slice(&priority.to_le_bytes());
            bytes.extend_from_slice(&value.to_le_bytes());
        }
        serializer.serialize_bytes(&bytes)
    }
}

impl<'de> Deserialize<'de> for Items {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemsVisitor;

        impl<'de> Visitor<'de> for ItemsVisitor {
            type Value = Items;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of [priority, value] pairs or their packed bytes")
            }

            fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Items, E> {
                if !bytes.len().is_multiple_of(PAIR_BYTES) {
                    return Err(E::custom(format!(
                        "packed sample of {} bytes is not a whole number of {PAIR_BYTES}-byte pairs",
                        bytes.len()
                    )));
                }
                let mut items = Vec::with_capacity(bytes.len() / PAIR_BYTES);
                for pair in bytes.chunks_exact(PAIR_BYTES) {
                    let (p, v) = pair.split_at(8);
                    let word = |b: &[u8]| b.try_into().map(u64::from_le_bytes).map_err(E::custom);
                    let value = f64::from_bits(word(v)?);
                    if !value.is_finite() {
                        return Err(E::custom("packed sample holds a value that is not finite"));
                    }
                    items.push((word(p)?, value));
                }
                Ok(Items(items))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Items, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(pair) = seq.next_element::<(u64, f64)>()? {
                    items.push(pair);
                }
                Ok(Items(items))
            }
        }

        deserializer.deserialize_any(ItemsVisitor)
    }
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
            threshold: u64::MAX,
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
        if priority > self.threshold {
            return;
        }
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
            self.threshold = self.items[self.capacity - 1].0;
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

    /// Keeps at most `capacity` values from now on: the bottom `capacity` priorities of the
    /// sample, which is still a uniform sample of everything seen and still merges losslessly
    /// with samples of that capacity or more.
    pub fn shrink(&mut self, capacity: usize) {
        self.capacity = self.capacity.min(capacity.max(1));
        self.trim();
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
    fn dropping_values_above_the_threshold_keeps_the_exact_bottom_k() {
        let mut r = Reservoir::new(64, 11);
        let mut all = Vec::new();
        for i in 0..50_000u64 {
            let x = (i as f64).sqrt();
            all.push((SplitMix64::output(11, i) ^ x.to_bits().rotate_left(17), x));
            r.insert(x);
        }
        all.sort_by_key(|it| it.0);
        let mut want: Vec<f64> = all.iter().take(64).map(|it| it.1).collect();
        let mut got = r.values();
        want.sort_by(f64::total_cmp);
        got.sort_by(f64::total_cmp);
        assert_eq!(got, want);
        assert!(r.items.len() < 128, "kept {} pairs", r.items.len());
    }

    #[test]
    fn binary_form_is_packed_and_text_form_is_pairs_and_both_read_back() {
        let mut r = Reservoir::new(100, 5);
        for i in 0..1_000 {
            r.insert(f64::from(i) * 0.5);
        }
        r.compact();
        let packed = rmp_serde::to_vec_named(&r).unwrap();
        assert!(
            packed.len() < 100 * PAIR_BYTES + 64,
            "{} bytes",
            packed.len()
        );
        assert_eq!(rmp_serde::from_slice::<Reservoir>(&packed).unwrap(), r);
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.contains("\"items\":[["), "{text}");
        assert_eq!(serde_json::from_str::<Reservoir>(&text).unwrap(), r);
        // MessagePack written before the packed form (a list of pairs) still reads.
        let old =
            rmp_serde::to_vec_named(&serde_json::from_str::<serde_json::Value>(&text).unwrap())
                .unwrap();
        assert_eq!(rmp_serde::from_slice::<Reservoir>(&old).unwrap(), r);
    }

    #[test]
    fn a_packed_sample_of_odd_length_or_with_a_nan_is_refused() {
        struct Raw(Vec<u8>);
        impl Serialize for Raw {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }
        #[derive(Serialize)]
        struct Stored {
            capacity: usize,
            seed: u64,
            seen: u64,
            items: Raw,
        }
        let wire = |bytes: Vec<u8>| {
            let stored = Stored {
                capacity: 4,
                seed: 1,
                seen: 1,
                items: Raw(bytes),
            };
            rmp_serde::from_slice::<Reservoir>(&rmp_serde::to_vec_named(&stored).unwrap())
        };
        let mut good = 7u64.to_le_bytes().to_vec();
        good.extend_from_slice(&1.5f64.to_le_bytes());
        assert_eq!(wire(good.clone()).unwrap().values(), vec![1.5]);
        let err = wire(good[..15].to_vec()).unwrap_err().to_string();
        assert!(err.contains("15 bytes"), "{err}");
        let mut nan = 7u64.to_le_bytes().to_vec();
        nan.extend_from_slice(&f64::NAN.to_le_bytes());
        let err = wire(nan).unwrap_err().to_string();
        assert!(err.contains("not finite"), "{err}");
    }

    #[test]
    fn a_shrunk_sample_is_the_bottom_k_of_the_larger_one() {
        let mut big = Reservoir::new(200, 8);
        for i in 0..5_000 {
            big.insert(f64::from(i));
        }
        let mut items = big.items.clone();
        items.sort_by_key(|it| it.0);
        let mut want: Vec<f64> = items.iter().take(20).map(|it| it.1).collect();
        big.shrink(20);
        let mut got = big.values();
        want.sort_by(f64::total_cmp);
        got.sort_by(f64::total_cmp);
        assert_eq!(got, want);
        assert_eq!((big.capacity(), big.seen()), (20, 5_000));
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
