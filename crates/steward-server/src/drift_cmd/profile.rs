//! Profiling the selected columns of both files: the reference one column at a time (columns
//! spread over the cores), then the current file streamed batch by batch (its columns split
//! into one group per core, each group streaming its own columns), so memory stays at one
//! reference column per core plus one batch, whatever the size of the files.
//!
//! Numeric columns take steward-drift's fast path (`numeric::reference`, `NumericWindow`) for
//! a profile that is compared once ([`Purpose::Compare`]: steward-drift leaves the quantile
//! sketch empty, as `compare` never reads it). Categorical columns go through
//! `Profile::from_reference_with` and `WindowProfile::observe`. Evidently mode keeps each
//! column's raw values as well, since its tests compare whole samples.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, anyhow};
use arrow::array::ArrayRef;
use steward_drift::evidently::{self, ColumnType, EvidentlyResult};
use steward_drift::numeric::{self, NumericWindow, Purpose};
use steward_drift::profile::{FORMAT_VERSION, FeatureProfile};
use steward_drift::{Column, FeatureKind, FeatureRole, Profile, ProfileConfig, WindowProfile};

use super::columns::{append_numbers, labels, text_chunk};
use super::read::Side;

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

/// A column's raw values, kept for Evidently's tests.
enum Raw {
    Numbers(Vec<f64>),
    Text(Vec<ArrayRef>),
}

/// One profiled column of one file.
struct Profiled1 {
    feature: FeatureProfile,
    rows: u64,
    raw: Option<Raw>,
}

/// Runs `f` on every item on up to `threads` threads; the results in item order, or the first
/// error in item order (no new item starts after an error).
fn parallel_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<Result<R>>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, items.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let out = f(item);
                    let failed = out.is_err();
                    if let Ok(mut slots) = slots.lock() {
                        slots[i] = Some(out);
                    }
                    if failed {
                        next.store(items.len(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let slots = slots
        .into_inner()
        .map_err(|_| anyhow!("a profiling thread panicked"))?;
    let mut out = Vec::with_capacity(items.len());
    for slot in slots {
        match slot {
            Some(r) => out.push(r?),
            // Items after an error are skipped; the error comes first in order.
            None => break,
        }
    }
    if out.len() < items.len() {
        return Err(anyhow!("a column was not profiled"));
    }
    Ok(out)
}

/// Profiles every planned column of `reference` and `current`.
pub fn profile_all(
    reference: &Side,
    current: &Side,
    plan: &[Planned],
    config: &ProfileConfig,
    with_evidently: bool,
) -> Result<Profiled> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(plan.len())
        .max(1);
    let refs = parallel_map(plan, threads, |p| {
        reference_column(reference, p, config, with_evidently)
            .with_context(|| format!("column {:?}", p.name))
    })?;
    // Columns dealt to the groups in turn, numeric and categorical alike.
    let groups: Vec<Vec<usize>> = (0..threads)
        .map(|g| (g..plan.len()).step_by(threads).collect())
        .collect();
    let streamed = parallel_map(&groups, threads, |g| {
        stream_group(current, plan, g, &refs, config, with_evidently)
    })?;
    let mut windows: Vec<Option<Profiled1>> = (0..plan.len()).map(|_| None).collect();
    for (group, columns) in groups.iter().zip(streamed) {
        for (&i, column) in group.iter().zip(columns) {
            windows[i] = Some(column);
        }
    }
    let windows: Vec<Profiled1> = windows
        .into_iter()
        .map(|w| w.context("a column was not profiled"))
        .collect::<Result<_>>()?;
    let evidently = if with_evidently {
        let pairs: Vec<(&Profiled1, &Profiled1)> = refs.iter().zip(&windows).collect();
        Some(parallel_map(&pairs, threads, |(r, w)| {
            evidently_column(r, w).with_context(|| format!("column {:?}", r.feature.name))
        })?)
    } else {
        None
    };
    let reference_profile = Profile {
        format_version: FORMAT_VERSION,
        config: config.clone(),
        rows: refs.first().map_or(0, |r| r.rows),
        features: refs.into_iter().map(|r| r.feature).collect(),
    };
    let window = WindowProfile {
        format_version: FORMAT_VERSION,
        reference_fingerprint: reference_profile.fingerprint(),
        rows: windows.first().map_or(0, |w| w.rows),
        features: windows.into_iter().map(|w| w.feature).collect(),
        schema_issues: Vec::new(),
    };
    Ok(Profiled {
        reference: reference_profile,
        window,
        evidently,
    })
}

/// The reference profile of one column, read on its own.
fn reference_column(
    side: &Side,
    p: &Planned,
    config: &ProfileConfig,
    with_evidently: bool,
) -> Result<Profiled1> {
    let (mut chunks, rows) = side.columns(&[p.name.as_str()])?;
    let chunks = chunks.pop().unwrap_or_default();
    match p.kind {
        FeatureKind::Numeric => {
            let mut values = Vec::with_capacity(rows as usize);
            let mut missing = 0u64;
            let mut offset = 0u64;
            for chunk in &chunks {
                missing += append_numbers(side, &p.name, chunk, offset, &mut values)?;
                offset += chunk.len() as u64;
            }
            drop(chunks);
            let raw = with_evidently.then(|| Raw::Numbers(values.clone()));
            let feature = numeric::reference(
                &p.name,
                p.role,
                &mut values,
                missing,
                config,
                Purpose::Compare,
            )?;
            Ok(Profiled1 { feature, rows, raw })
        }
        FeatureKind::Categorical => {
            let text: Vec<ArrayRef> = chunks
                .iter()
                .map(|c| text_chunk(side, &p.name, c))
                .collect::<Result<_>>()?;
            drop(chunks);
            let labels = labels(&text);
            let col = [Column::categorical(&p.name, &labels).with_role(p.role)];
            let mut one = Profile::from_reference_with(&col, config)?;
            let feature = one.features.pop().context("empty reference profile")?;
            drop(labels);
            let raw = with_evidently.then_some(Raw::Text(text));
            Ok(Profiled1 { feature, rows, raw })
        }
    }
}

/// What one column of the current file is counted into.
enum Counting {
    Numeric(Box<NumericWindow>),
    Categorical(Profile, WindowProfile),
}

/// Streams the current file's columns `group` (indices into `plan`) batch by batch.
fn stream_group(
    side: &Side,
    plan: &[Planned],
    group: &[usize],
    refs: &[Profiled1],
    config: &ProfileConfig,
    with_evidently: bool,
) -> Result<Vec<Profiled1>> {
    if group.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<&str> = group.iter().map(|&i| plan[i].name.as_str()).collect();
    let mut counting = Vec::with_capacity(group.len());
    for &i in group {
        let rf = &refs[i].feature;
        counting.push(match plan[i].kind {
            FeatureKind::Numeric => {
                Counting::Numeric(Box::new(NumericWindow::new(rf, config, Purpose::Compare)?))
            }
            FeatureKind::Categorical => {
                let one = Profile {
                    format_version: FORMAT_VERSION,
                    config: config.clone(),
                    rows: refs[i].rows,
                    features: vec![rf.clone()],
                };
                let window = WindowProfile::empty(&one, 0);
                Counting::Categorical(one, window)
            }
        });
    }
    let mut raw: Vec<Option<Raw>> = group
        .iter()
        .map(|&i| {
            with_evidently.then(|| match plan[i].kind {
                FeatureKind::Numeric => Raw::Numbers(Vec::new()),
                FeatureKind::Categorical => Raw::Text(Vec::new()),
            })
        })
        .collect();
    let mut values = Vec::new();
    let mut offset = 0u64;
    for batch in side.stream(&names)? {
        let batch = batch.map_err(|e| anyhow!("{e}"))?;
        for (k, column) in batch.columns().iter().enumerate() {
            let p = &plan[group[k]];
            let context = || format!("column {:?}", p.name);
            match &mut counting[k] {
                Counting::Numeric(window) => {
                    values.clear();
                    let missing = append_numbers(side, &p.name, column, offset, &mut values)?;
                    window.observe(&values, missing).with_context(context)?;
                    if let Some(Raw::Numbers(all)) = &mut raw[k] {
                        all.extend_from_slice(&values);
                    }
                }
                Counting::Categorical(one, window) => {
                    let text = text_chunk(side, &p.name, column)?;
                    let labels = labels(std::slice::from_ref(&text));
                    let col = [Column::categorical(&p.name, &labels).with_role(p.role)];
                    window.observe(one, &col).with_context(context)?;
                    if let Some(Raw::Text(all)) = &mut raw[k] {
                        all.push(text.clone());
                    }
                }
            }
        }
        offset += batch.num_rows() as u64;
    }
    if offset == 0 {
        return Err(side.no_rows());
    }
    counting
        .into_iter()
        .zip(raw)
        .map(|(c, raw)| {
            let feature = match c {
                Counting::Numeric(window) => window.finish(),
                Counting::Categorical(_, mut window) => {
                    window.features.pop().context("empty window profile")?
                }
            };
            Ok(Profiled1 {
                feature,
                rows: offset,
                raw,
            })
        })
        .collect()
}

/// Evidently's verdict on one column from both sides' raw values.
fn evidently_column(reference: &Profiled1, current: &Profiled1) -> Result<EvidentlyResult> {
    let name = &reference.feature.name;
    let out = match (&reference.raw, &current.raw) {
        (Some(Raw::Numbers(r)), Some(Raw::Numbers(c))) => {
            evidently::column_drift(r, c, ColumnType::Num)?
        }
        (Some(Raw::Text(r)), Some(Raw::Text(c))) => evidently_categorical(&labels(r), &labels(c))?,
        _ => return Err(anyhow!("column {name:?}: raw values were not kept")),
    };
    Ok(out)
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
