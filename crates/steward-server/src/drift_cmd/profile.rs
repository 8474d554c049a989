//! Profiling the selected columns of both files on all cores, one column per task.
//!
//! Categorical columns go through `Profile::from_reference` and `WindowProfile::from_window`
//! unchanged. Numeric columns take a faster path that fills the same [`FeatureProfile`] fields
//! from the crate's own building blocks (seeded sample, moments) and [`super::fastbin`]'s exact
//! replacements for sorting and bin search, in the same order, so `compare` gives the same
//! report bit for bit (a unit test below checks it against the crate's one-shot functions). The one difference: the KLL
//! quantile sketch is left empty, because `compare` never reads it and the CLI never stores a
//! profile; inserting into it would cost more than everything else together.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, anyhow};
use steward_drift::evidently::{self, ColumnType, EvidentlyResult};
use steward_drift::profile::FORMAT_VERSION;
use steward_drift::{
    Column, FeatureKind, FeatureRole, Profile, ProfileConfig, WindowProfile,
    profile::FeatureProfile,
};

use super::columns::{labels, numeric_values, text_chunks};
use super::read::Table;
use steward_drift::fastbin::{BinLookup, reference_bins};

/// One column to compare.
#[derive(Debug, Clone)]
pub struct Planned {
    /// Column name.
    pub name: String,
    /// Role given on the command line.
    pub role: FeatureRole,
    /// Kind resolved from both files.
    pub kind: FeatureKind,
}

/// The profiles of both files and, in Evidently mode, Evidently's per-column results.
#[derive(Debug)]
pub struct Profiled {
    /// Reference profile.
    pub reference: Profile,
    /// Current data counted against it.
    pub window: WindowProfile,
    /// Evidently's verdict per column, in plan order (Evidently mode only).
    pub evidently: Option<Vec<EvidentlyResult>>,
}

struct ColumnOutput {
    reference: FeatureProfile,
    window: FeatureProfile,
    evidently: Option<EvidentlyResult>,
}

/// Profiles every planned column of `reference` and `current` on up to `threads` threads.
pub fn profile_all(
    reference: &Table,
    current: &Table,
    plan: &[Planned],
    config: &ProfileConfig,
    with_evidently: bool,
) -> Result<Profiled> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(plan.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<Result<ColumnOutput>>>> =
        Mutex::new((0..plan.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                // Value buffers reused from column to column.
                let mut scratch = (Vec::new(), Vec::new());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = plan.get(i) else { break };
                    let out =
                        profile_column(reference, current, p, config, with_evidently, &mut scratch);
                    let failed = out.is_err();
                    if let Ok(mut slots) = slots.lock() {
                        slots[i] = Some(out);
                    }
                    if failed {
                        // Stop handing out work; the first error in plan order is reported.
                        next.store(plan.len(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let slots = slots
        .into_inner()
        .map_err(|_| anyhow!("a profiling thread panicked"))?;
    let mut ref_features = Vec::with_capacity(plan.len());
    let mut win_features = Vec::with_capacity(plan.len());
    let mut evidently = with_evidently.then(Vec::new);
    for slot in slots {
        let out = slot.context("a column was not profiled")??;
        ref_features.push(out.reference);
        win_features.push(out.window);
        if let (Some(all), Some(e)) = (evidently.as_mut(), out.evidently) {
            all.push(e);
        }
    }
    let reference_profile = Profile {
        format_version: FORMAT_VERSION,
        config: config.clone(),
        rows: reference.rows as u64,
        features: ref_features,
    };
    let window = WindowProfile {
        format_version: FORMAT_VERSION,
        reference_fingerprint: reference_profile.fingerprint(),
        rows: current.rows as u64,
        features: win_features,
        schema_issues: Vec::new(),
    };
    Ok(Profiled {
        reference: reference_profile,
        window,
        evidently,
    })
}

fn profile_column(
    reference: &Table,
    current: &Table,
    p: &Planned,
    config: &ProfileConfig,
    with_evidently: bool,
    scratch: &mut (Vec<f64>, Vec<f64>),
) -> Result<ColumnOutput> {
    let context = || format!("column {:?}", p.name);
    match p.kind {
        FeatureKind::Numeric => {
            let (ref_values, cur_values) = (&mut scratch.0, &mut scratch.1);
            let ref_missing = numeric_values(reference, &p.name, ref_values)?;
            let cur_missing = numeric_values(current, &p.name, cur_values)?;
            let evidently = if with_evidently {
                Some(
                    evidently::column_drift(ref_values, cur_values, ColumnType::Num)
                        .with_context(context)?,
                )
            } else {
                None
            };
            let (rf, wf) = numeric_profiles(
                &p.name,
                p.role,
                ref_values,
                ref_missing,
                cur_values,
                cur_missing,
                config,
            )
            .with_context(context)?;
            Ok(ColumnOutput {
                reference: rf,
                window: wf,
                evidently,
            })
        }
        FeatureKind::Categorical => {
            let (ref_text, cur_text) = (
                text_chunks(reference, &p.name)?,
                text_chunks(current, &p.name)?,
            );
            let (ref_labels, cur_labels) = (labels(&ref_text), labels(&cur_text));
            let ref_col = [Column::categorical(&p.name, &ref_labels).with_role(p.role)];
            let mut one = Profile::from_reference_with(&ref_col, config).with_context(context)?;
            let cur_col = [Column::categorical(&p.name, &cur_labels).with_role(p.role)];
            let mut win = WindowProfile::from_window(&one, &cur_col).with_context(context)?;
            let evidently = if with_evidently {
                Some(evidently_categorical(&ref_labels, &cur_labels).with_context(context)?)
            } else {
                None
            };
            Ok(ColumnOutput {
                reference: one.features.pop().context("empty reference profile")?,
                window: win.features.pop().context("empty window profile")?,
                evidently,
            })
        }
    }
}

/// Reference and window profiles of one numeric column (see the module docs).
fn numeric_profiles(
    name: &str,
    role: FeatureRole,
    ref_values: &mut [f64],
    ref_missing: u64,
    cur_values: &[f64],
    cur_missing: u64,
    config: &ProfileConfig,
) -> Result<(FeatureProfile, FeatureProfile)> {
    // The crate's constructors on an empty column give the seeded, empty structures.
    let mut empty =
        Profile::from_reference_with(&[Column::numeric(name, &[]).with_role(role)], config)?;
    let mut rf = empty.features.pop().context("empty reference profile")?;
    let rn = rf.numeric.as_mut().context("numeric profile missing")?;
    for &x in ref_values.iter() {
        rn.moments.insert(x);
        rn.sample.insert(x);
    }
    rn.sample.compact();
    if !ref_values.is_empty() {
        (rn.edges, rn.counts) = reference_bins(ref_values, config.bins)?;
    }
    rf.count = ref_values.len() as u64;
    rf.missing = ref_missing;

    empty.features = vec![rf];
    let mut window = WindowProfile::empty(&empty, 0);
    let mut wf = window.features.pop().context("empty window profile")?;
    let rf = empty.features.pop().context("empty reference profile")?;
    let (Some(r), Some(w)) = (rf.numeric.as_ref(), wf.numeric.as_mut()) else {
        return Err(anyhow!("numeric profile missing"));
    };
    let (lo, hi) = (r.moments.min, r.moments.max);
    let lookup = BinLookup::new(&r.edges);
    for &x in cur_values {
        w.counts[lookup.index(x)] += 1;
        if x < lo {
            w.below_reference += 1;
        } else if x > hi {
            w.above_reference += 1;
        }
        w.moments.insert(x);
        w.sample.insert(x);
    }
    w.sample.compact();
    wf.count = cur_values.len() as u64;
    wf.missing = cur_missing;
    Ok((rf, wf))
}

/// Evidently's verdict on labels: each distinct label (over both files, in sorted order) becomes
/// a number, missing values are dropped as Evidently drops them.
fn evidently_categorical(
    reference: &[Option<&str>],
    current: &[Option<&str>],
) -> Result<EvidentlyResult> {
    let mut keys: Vec<&str> = reference.iter().chain(current).flatten().copied().collect();
    keys.sort_unstable();
    keys.dedup();
    let code = |labels: &[Option<&str>]| -> Vec<f64> {
        labels
            .iter()
            .flatten()
            .filter_map(|l| keys.binary_search(l).ok().map(|i| i as f64))
            .collect()
    };
    Ok(evidently::column_drift(
        &code(reference),
        &code(current),
        ColumnType::Cat,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use steward_drift::synth::SplitMix64;
    use steward_drift::{DriftConfig, compare};

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

    /// The fast numeric path gives the crate's report exactly, small (exact KS) and large
    /// (binned KS) alike.
    #[test]
    fn numeric_fast_path_matches_the_crate() {
        let config = ProfileConfig::default();
        for (n, shift, round) in [
            (1_500, 0.3, false),
            (40_000, 0.05, false),
            (40_000, 0.0, false),
            (40_000, 0.2, true),
        ] {
            let (mut rv, ro) = column(1, n, 0.0, round);
            let (cv, co) = column(2, n + 17, shift, round);
            let slow_ref = Profile::from_reference(&[Column::numeric("x", &ro)]).unwrap();
            let slow_win =
                WindowProfile::from_window(&slow_ref, &[Column::numeric("x", &co)]).unwrap();
            let slow = compare(&slow_ref, &slow_win, &DriftConfig::default()).unwrap();

            let missing = |o: &[Option<f64>]| o.iter().filter(|v| v.is_none()).count() as u64;
            let (rf, wf) = numeric_profiles(
                "x",
                FeatureRole::Input,
                &mut rv,
                missing(&ro),
                &cv,
                missing(&co),
                &config,
            )
            .unwrap();
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
                features: vec![wf],
                schema_issues: Vec::new(),
            };
            let fast = compare(&fast_ref, &fast_win, &DriftConfig::default()).unwrap();
            assert_eq!(fast, slow, "n = {n}, shift = {shift}");
            assert_eq!(fast_ref.fingerprint(), slow_ref.fingerprint());
        }
    }

    #[test]
    fn evidently_labels_are_coded_over_both_files() {
        let r: Vec<Option<&str>> = (0..2000).map(|i| Some(["a", "b", "c"][i % 3])).collect();
        let c: Vec<Option<&str>> = (0..2000)
            .map(|i| if i % 2 == 0 { Some("a") } else { None })
            .collect();
        let res = evidently_categorical(&r, &c).unwrap();
        assert!(res.drift);
        assert!(!evidently_categorical(&r, &r).unwrap().drift);
    }
}
