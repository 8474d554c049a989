//! The fast numeric path: a reference feature profile from one column's finite values, and a
//! window counted against it batch by batch, filling the same [`FeatureProfile`] fields as
//! [`Profile::from_reference`] and [`WindowProfile::observe`] in the same order, so that
//! [`crate::compare`] gives the same report bit for bit (the test below checks it).
//!
//! Faster because [`crate::fastbin`] replaces the full sort by selection and the bin search by a
//! table. What it does not always do is fill the KLL quantile sketch: that is decided here, by
//! [`Purpose`], not by callers poking at profile fields. A profile compared once and dropped
//! (`steward drift`) never has its sketch read, and inserting into it costs more than everything
//! else together; a profile that is kept, merged or served gets it filled.

use crate::error::DriftError;
use crate::fastbin::{BinLookup, reference_bins};
use crate::profile::{Column, FeatureProfile, FeatureRole, Profile, ProfileConfig};
use crate::window::WindowProfile;

/// What a profile is for, which decides whether its quantile sketch is filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Compared once with [`crate::compare`] and dropped: the sketch, which `compare` never
    /// reads, stays empty.
    Compare,
    /// Kept (stored, merged, served): the sketch is filled like every other field.
    Keep,
}

impl Purpose {
    fn fills_sketch(self) -> bool {
        self == Purpose::Keep
    }
}

fn check_finite(name: &str, values: &[f64]) -> Result<(), DriftError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(row) => Err(DriftError::NonFiniteInColumn {
            column: name.to_owned(),
            row,
            value: values[row],
        }),
        None => Ok(()),
    }
}

/// The reference profile of one numeric feature from its present values (`values`, reordered
/// in place) and its number of missing ones. A non-finite value is an error giving its index
/// in `values`.
pub fn reference(
    name: &str,
    role: FeatureRole,
    values: &mut [f64],
    missing: u64,
    config: &ProfileConfig,
    purpose: Purpose,
) -> Result<FeatureProfile, DriftError> {
    check_finite(name, values)?;
    // The one-shot constructor on an empty column gives the seeded, empty structures.
    let mut empty =
        Profile::from_reference_with(&[Column::numeric(name, &[]).with_role(role)], config)?;
    let mut feature = empty
        .features
        .pop()
        .ok_or_else(|| DriftError::InvalidConfig("empty reference profile".into()))?;
    let numeric = feature
        .numeric
        .as_mut()
        .ok_or_else(|| DriftError::InvalidConfig("numeric profile missing".into()))?;
    let sketch = purpose.fills_sketch();
    for &x in values.iter() {
        if sketch {
            numeric.sketch.insert(x);
        }
        numeric.moments.insert(x);
        numeric.sample.insert(x);
    }
    numeric.sample.compact();
    if !values.is_empty() {
        (numeric.edges, numeric.counts) = reference_bins(values, config.bins)?;
    }
    feature.count = values.len() as u64;
    feature.missing = missing;
    Ok(feature)
}

/// A numeric window counted against one reference feature, fed batch by batch.
#[derive(Debug)]
pub struct NumericWindow {
    feature: FeatureProfile,
    lookup: BinLookup,
    lo: f64,
    hi: f64,
    sketch: bool,
}

impl NumericWindow {
    /// An empty window for `reference` (a numeric feature profiled with `config`).
    pub fn new(
        reference: &FeatureProfile,
        config: &ProfileConfig,
        purpose: Purpose,
    ) -> Result<NumericWindow, DriftError> {
        let r = reference.numeric.as_ref().ok_or_else(|| {
            DriftError::Incompatible(format!("feature {:?} is not numeric", reference.name))
        })?;
        let one = Profile {
            format_version: crate::profile::FORMAT_VERSION,
            config: config.clone(),
            rows: 0,
            features: vec![reference.clone()],
        };
        let mut window = WindowProfile::empty(&one, 0);
        let feature = window
            .features
            .pop()
            .ok_or_else(|| DriftError::InvalidConfig("empty window profile".into()))?;
        Ok(NumericWindow {
            feature,
            lookup: BinLookup::new(&r.edges),
            lo: r.moments.min,
            hi: r.moments.max,
            sketch: purpose.fills_sketch(),
        })
    }

    /// Counts a batch's present values (`missing` more are absent). A non-finite value is an
    /// error giving its index in `values`; nothing of that batch is counted then.
    pub fn observe(&mut self, values: &[f64], missing: u64) -> Result<(), DriftError> {
        check_finite(&self.feature.name, values)?;
        let Some(w) = self.feature.numeric.as_mut() else {
            return Ok(());
        };
        for &x in values {
            w.counts[self.lookup.index(x)] += 1;
            if x < self.lo {
                w.below_reference += 1;
            } else if x > self.hi {
                w.above_reference += 1;
            }
            w.moments.insert(x);
            if self.sketch {
                w.sketch.insert(x);
            }
            w.sample.insert(x);
        }
        self.feature.count += values.len() as u64;
        self.feature.missing += missing;
        Ok(())
    }

    /// The window's feature profile.
    pub fn finish(mut self) -> FeatureProfile {
        if let Some(w) = self.feature.numeric.as_mut() {
            w.sample.compact();
        }
        self.feature
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::FORMAT_VERSION;
    use crate::synth::SplitMix64;
    use crate::{DriftConfig, compare};

    fn column(seed: u64, n: usize, shift: f64, round: bool) -> (Vec<f64>, Vec<Option<f64>>) {
        let mut rng = SplitMix64::new(seed);
        let with_missing: Vec<Option<f64>> = (0..n)
            .map(|i| {
                let x = shift + rng.next_normal();
                (i % 37 != 0).then_some(if round { (x * 2.0).round() } else { x })
            })
            .collect();
        (
            with_missing.iter().flatten().copied().collect(),
            with_missing,
        )
    }

    /// The fast path gives the one-shot constructors' report exactly, small (exact KS) and
    /// large (binned KS) alike, fed in one batch or many; kept profiles equal them field for
    /// field, sketch included.
    #[test]
    fn fast_path_matches_the_one_shot_constructors() {
        let config = ProfileConfig::default();
        for (n, shift, round, batch) in [
            (1_500, 0.3, false, 1_500),
            (40_000, 0.05, false, 4_096),
            (40_000, 0.0, false, 40_017),
            (40_000, 0.2, true, 999),
        ] {
            let (rv, ro) = column(1, n, 0.0, round);
            let (cv, co) = column(2, n + 17, shift, round);
            let slow_ref = Profile::from_reference(&[Column::numeric("x", &ro)]).unwrap();
            let slow_win =
                WindowProfile::from_window(&slow_ref, &[Column::numeric("x", &co)]).unwrap();
            let slow = compare(&slow_ref, &slow_win, &DriftConfig::default()).unwrap();
            let missing = |o: &[Option<f64>]| o.iter().filter(|v| v.is_none()).count() as u64;

            for purpose in [Purpose::Compare, Purpose::Keep] {
                let mut values = rv.clone();
                let rf = reference(
                    "x",
                    FeatureRole::Input,
                    &mut values,
                    missing(&ro),
                    &config,
                    purpose,
                )
                .unwrap();
                let mut window = NumericWindow::new(&rf, &config, purpose).unwrap();
                for (i, chunk) in cv.chunks(batch).enumerate() {
                    let gone = if i == 0 { missing(&co) } else { 0 };
                    window.observe(chunk, gone).unwrap();
                }
                let fast_ref = Profile {
                    format_version: FORMAT_VERSION,
                    config: config.clone(),
                    rows: ro.len() as u64,
                    features: vec![rf],
                };
                let fast_win = WindowProfile {
                    format_version: FORMAT_VERSION,
                    reference_fingerprint: fast_ref.fingerprint(),
                    rows: co.len() as u64,
                    features: vec![window.finish()],
                    schema_issues: Vec::new(),
                };
                let fast = compare(&fast_ref, &fast_win, &DriftConfig::default()).unwrap();
                assert_eq!(fast, slow, "n = {n}, shift = {shift}, {purpose:?}");
                assert_eq!(fast_ref.fingerprint(), slow_ref.fingerprint());
                if purpose == Purpose::Keep {
                    assert_eq!(fast_ref, slow_ref, "kept reference equals the one-shot one");
                    assert_eq!(
                        fast_win.features[0].numeric.as_ref().unwrap().sketch,
                        slow_win.features[0].numeric.as_ref().unwrap().sketch,
                    );
                } else {
                    let sketch = &fast_ref.features[0].numeric.as_ref().unwrap().sketch;
                    assert_eq!(sketch.count(), 0, "a compared profile skips the sketch");
                }
            }
        }
    }

    #[test]
    fn non_finite_values_are_refused_with_their_index() {
        let config = ProfileConfig::default();
        let mut values = vec![1.0, 2.0, f64::NAN];
        let err = reference(
            "x",
            FeatureRole::Input,
            &mut values,
            0,
            &config,
            Purpose::Compare,
        )
        .unwrap_err();
        assert!(
            matches!(err, DriftError::NonFiniteInColumn { row: 2, .. }),
            "{err}"
        );
        let rf = reference(
            "x",
            FeatureRole::Input,
            &mut [1.0, 2.0, 3.0],
            0,
            &config,
            Purpose::Compare,
        )
        .unwrap();
        let mut w = NumericWindow::new(&rf, &config, Purpose::Compare).unwrap();
        let err = w.observe(&[0.5, f64::INFINITY], 0).unwrap_err();
        assert!(
            matches!(err, DriftError::NonFiniteInColumn { row: 1, .. }),
            "{err}"
        );
    }
}
