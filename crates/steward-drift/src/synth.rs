//! Deterministic synthetic data: SplitMix64 and the sample generators of the shared reference vectors.
//!
//! The generators reproduce `tests/vectors/README.md` bit for bit (the tests check SHA-256 digests
//! of whole arrays), so tests, benchmarks and the false-alarm simulation all draw the same numbers
//! as the Python script that produced the scipy vectors.

use serde::{Deserialize, Serialize};

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64 in counter form: output `k` depends only on the seed and `k`.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    seed: u64,
    counter: u64,
}

impl SplitMix64 {
    /// A generator whose first output is `output(seed, 0)`.
    pub fn new(seed: u64) -> Self {
        Self { seed, counter: 0 }
    }

    /// The `k`-th output for `seed` (k = 0, 1, ...).
    pub fn output(seed: u64, k: u64) -> u64 {
        let mut z = seed.wrapping_add(k.wrapping_add(1).wrapping_mul(GOLDEN));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The next raw 64-bit output.
    pub fn next_u64(&mut self) -> u64 {
        let out = Self::output(self.seed, self.counter);
        self.counter = self.counter.wrapping_add(1);
        out
    }

    /// A uniform double in [0, 1) with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        to_unit(self.next_u64())
    }

    /// An integer uniform on `0..k` (k <= 1024), by the multiply-shift rule of the vectors.
    pub fn next_below(&mut self, k: u64) -> u64 {
        ((self.next_u64() >> 11) * k) >> 53
    }

    /// A standard normal deviate (Box-Muller on two uniforms); used by the simulation only.
    pub fn next_normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

fn to_unit(out: u64) -> f64 {
    (out >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
}

/// A sample specification, as written in the vectors' `gen` objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GenSpec {
    /// Sum of four uniforms, centred and scaled: mean `loc`, variance `scale^2 / 3`.
    IrwinHall4 {
        /// Seed of the SplitMix64 stream.
        seed: u64,
        /// Sample size.
        n: usize,
        /// Location.
        loc: f64,
        /// Scale.
        scale: f64,
    },
    /// Uniform on `[lo, hi)`.
    Uniform {
        /// Seed of the SplitMix64 stream.
        seed: u64,
        /// Sample size.
        n: usize,
        /// Lower bound.
        lo: f64,
        /// Upper bound.
        hi: f64,
    },
    /// Integers `lo..lo+k` as doubles (many ties).
    IntUniform {
        /// Seed of the SplitMix64 stream.
        seed: u64,
        /// Sample size.
        n: usize,
        /// Number of distinct values (at most 1024).
        k: u64,
        /// Smallest value.
        lo: f64,
    },
}

impl GenSpec {
    /// Generates the sample exactly as the reference script does.
    pub fn generate(&self) -> Vec<f64> {
        match *self {
            GenSpec::IrwinHall4 {
                seed,
                n,
                loc,
                scale,
            } => {
                let mut rng = SplitMix64::new(seed);
                (0..n)
                    .map(|_| {
                        let u0 = rng.next_f64();
                        let u1 = rng.next_f64();
                        let u2 = rng.next_f64();
                        let u3 = rng.next_f64();
                        let s = ((u0 + u1) + u2) + u3;
                        loc + scale * (s - 2.0)
                    })
                    .collect()
            }
            GenSpec::Uniform { seed, n, lo, hi } => {
                let mut rng = SplitMix64::new(seed);
                let w = hi - lo;
                (0..n).map(|_| lo + w * rng.next_f64()).collect()
            }
            GenSpec::IntUniform { seed, n, k, lo } => {
                let mut rng = SplitMix64::new(seed);
                (0..n).map(|_| lo + rng.next_below(k) as f64).collect()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_form_matches_sequential_splitmix() {
        // Sequential SplitMix64 starting at state s: state += golden; mix(state).
        let mut state: u64 = 12345;
        let mut rng = SplitMix64::new(12345);
        for _ in 0..5 {
            state = state.wrapping_add(GOLDEN);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            assert_eq!(rng.next_u64(), z ^ (z >> 31));
        }
    }

    #[test]
    fn unit_interval_is_half_open() {
        assert_eq!(to_unit(0), 0.0);
        assert!(to_unit(u64::MAX) < 1.0);
    }
}
