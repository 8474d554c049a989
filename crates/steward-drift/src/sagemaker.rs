//! SageMaker Model Monitor baselines as reference profiles: the `statistics.json` (and,
//! optionally, the `constraints.json`) a SageMaker baselining job writes become a [`Profile`]
//! that windows are counted against and compared with, without the baseline's rows.
//!
//! * Numeric features (`Integral`, `Fractional`): moments from `mean`, `std_dev`, `min`, `max`
//!   and `common.num_present`. Bins come from the KLL sketch's items (`sketch.data[h]` holds
//!   Deequ's compactor `h`, each item standing for `2^h` values): when the sketch still holds
//!   every value (one level, as many items as `num_present`, which Deequ keeps up to 2,050
//!   values) the profile is the one [`Profile::from_reference`] builds from those values, sample
//!   included, so small baselines get exact tests; otherwise the edges are the sketch's
//!   quantiles at `i / bins` (at most one bin per retained item) and the counts are the items'
//!   weights per bin. Without sketch data the ten materialised `buckets` give the edges and
//!   counts. Counts are scaled to `num_present` when the weights add up to another total.
//!   Repeated edges are kept, as [`Profile::from_reference`] keeps them for tied values: they
//!   leave empty bins on both sides and keep 100 percentile bins for the decile PSI.
//! * String features: counts from `distribution.categorical.buckets`; a `NullValue` bucket
//!   (Deequ's name for missing values) is dropped when counting it would exceed `num_present`;
//!   values beyond the listed categories (Deequ lists the 1,000 most frequent) are unseen.
//! * `Unknown` features have no statistics to compare and are listed in
//!   [`SageMakerBaseline::skipped`].
//! * `constraints.json`: per feature the completeness, `is_non_negative` and the string domain,
//!   which a profile does not hold, in [`FeatureConstraints`].
//!
//! Every error names the file and the JSON path of the value to blame
//! (`SageMaker statistics.json, features[3].numerical_statistics.distribution.kll: ...`).

mod files;

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::binning::{bin_counts, bin_index, quantile_edges};
use crate::error::DriftError;
use crate::profile::{
    CategoricalProfile, FORMAT_VERSION, FeatureKind, FeatureProfile, FeatureRole, Moments,
    NumericProfile, Profile, ProfileConfig, seed_for,
};
use crate::reservoir::Reservoir;
use crate::sketch::QuantileSketch;
use files::{
    Kll, NumericalStatistics, STATISTICS, Statistics, StringStatistics, bad, parse,
    read_constraints, whole,
};

/// Deequ's stand-in for a missing value in a categorical histogram.
const NULL_VALUE: &str = "NullValue";
/// More levels than a KLL sketch ever has (item weights are `2^level`, kept in a u64).
const MAX_LEVELS: usize = 48;

/// SageMaker's inferred type of a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum InferredType {
    /// Whole numbers.
    Integral,
    /// Real numbers.
    Fractional,
    /// Text, compared as categories.
    String,
    /// Mixed or unreadable values.
    Unknown,
}

/// What `constraints.json` says of one feature that a profile does not hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConstraints {
    /// Feature name.
    pub name: String,
    /// Type the baseline inferred.
    pub inferred_type: Option<InferredType>,
    /// Share of non-missing values the baseline observed, in [0, 1].
    pub completeness: Option<f64>,
    /// `num_constraints.is_non_negative`: no value was negative.
    pub non_negative: Option<bool>,
    /// `string_constraints.domains`: the values observed, for small cardinality.
    pub domains: Option<Vec<String>>,
}

/// An imported SageMaker baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SageMakerBaseline {
    /// The reference profile, in the order of `statistics.json`'s features.
    pub profile: Profile,
    /// Per-feature constraints, in the order of `constraints.json` (empty without the file).
    pub constraints: Vec<FeatureConstraints>,
    /// Features left out of the profile because their type is `Unknown`.
    pub skipped: Vec<String>,
}

impl SageMakerBaseline {
    /// The constraints of the feature called `name`.
    pub fn constraint(&self, name: &str) -> Option<&FeatureConstraints> {
        self.constraints.iter().find(|c| c.name == name)
    }
}

/// Imports a baseline with the default profile settings; features named in `predictions` get
/// [`FeatureRole::Prediction`].
pub fn import_baseline(
    statistics: &str,
    constraints: Option<&str>,
    predictions: &[&str],
) -> Result<SageMakerBaseline, DriftError> {
    import_baseline_with(
        statistics,
        constraints,
        predictions,
        &ProfileConfig::default(),
    )
}

/// Imports a baseline; `config` sets the bins, the sketch and sample sizes windows use.
pub fn import_baseline_with(
    statistics: &str,
    constraints: Option<&str>,
    predictions: &[&str],
    config: &ProfileConfig,
) -> Result<SageMakerBaseline, DriftError> {
    if config.bins < 2 || config.sample_capacity == 0 || config.max_categories == 0 {
        return Err(DriftError::InvalidConfig(
            "bins must be >= 2, sample_capacity and max_categories >= 1".into(),
        ));
    }
    let stats: Statistics = parse(STATISTICS, statistics)?;
    if stats.features.is_empty() {
        return Err(bad(STATISTICS, "features", "is empty"));
    }
    if let Some(p) = predictions
        .iter()
        .find(|p| !stats.features.iter().any(|f| f.name == **p))
    {
        return Err(bad(
            STATISTICS,
            "features",
            format!("no feature is called {p:?} (named as a prediction)"),
        ));
    }
    let mut seen = HashSet::new();
    let mut features = Vec::with_capacity(stats.features.len());
    let mut skipped = Vec::new();
    for (i, f) in stats.features.iter().enumerate() {
        let at = format!("features[{i}]");
        if f.name.is_empty() {
            return Err(bad(STATISTICS, format!("{at}.name"), "is empty"));
        }
        if !seen.insert(f.name.as_str()) {
            return Err(bad(
                STATISTICS,
                format!("{at}.name"),
                format!("{:?} appears twice", f.name),
            ));
        }
        let role = if predictions.contains(&f.name.as_str()) {
            FeatureRole::Prediction
        } else {
            FeatureRole::Input
        };
        let missing_stats = |field: &str| {
            bad(
                STATISTICS,
                format!("{at}.{field}"),
                format!("missing for a feature of type {:?}", f.inferred_type),
            )
        };
        features.push(match f.inferred_type {
            InferredType::Integral | InferredType::Fractional => {
                let s = f
                    .numerical_statistics
                    .as_ref()
                    .ok_or_else(|| missing_stats("numerical_statistics"))?;
                numeric(&at, &f.name, s, role, config)?
            }
            InferredType::String => {
                let s = f
                    .string_statistics
                    .as_ref()
                    .ok_or_else(|| missing_stats("string_statistics"))?;
                categorical(&at, &f.name, s, role, config)?
            }
            InferredType::Unknown => {
                skipped.push(f.name.clone());
                continue;
            }
        });
    }
    let rows = match &stats.dataset {
        Some(d) => whole("dataset.item_count", d.item_count)?,
        None => features
            .iter()
            .map(|f| f.count + f.missing)
            .max()
            .unwrap_or(0),
    };
    let constraints = match constraints {
        Some(text) => read_constraints(text)?,
        None => Vec::new(),
    };
    Ok(SageMakerBaseline {
        profile: Profile {
            format_version: FORMAT_VERSION,
            config: config.clone(),
            rows,
            features,
        },
        constraints,
        skipped,
    })
}

fn numeric(
    at: &str,
    name: &str,
    s: &NumericalStatistics,
    role: FeatureRole,
    config: &ProfileConfig,
) -> Result<FeatureProfile, DriftError> {
    let at = format!("{at}.numerical_statistics");
    let count = whole(&format!("{at}.common.num_present"), s.common.num_present)?;
    let missing = whole(&format!("{at}.common.num_missing"), s.common.num_missing)?;
    let seed = seed_for(config.seed, name);
    let numeric = if count == 0 {
        NumericProfile {
            edges: Vec::new(),
            counts: vec![0],
            below_reference: 0,
            above_reference: 0,
            moments: Moments::default(),
            sketch: QuantileSketch::new(config.sketch_k),
            sample: Reservoir::new(config.sample_capacity, seed),
        }
    } else {
        let stat = |field: &str, v: Option<f64>| {
            v.ok_or_else(|| bad(STATISTICS, format!("{at}.{field}"), "missing"))
        };
        let (mean, std_dev) = (stat("mean", s.mean)?, stat("std_dev", s.std_dev)?);
        let (min, max) = (stat("min", s.min)?, stat("max", s.max)?);
        if min > max {
            return Err(bad(
                STATISTICS,
                &at,
                format!("min {min} is above max {max}"),
            ));
        }
        if std_dev < 0.0 {
            return Err(bad(
                STATISTICS,
                format!("{at}.std_dev"),
                format!("{std_dev} is negative"),
            ));
        }
        let kll_at = format!("{at}.distribution.kll");
        let kll = s
            .distribution
            .as_ref()
            .and_then(|d| d.kll.as_ref())
            .ok_or_else(|| bad(STATISTICS, &kll_at, "missing: no distribution to bin"))?;
        let bins = distribution(&kll_at, kll, count, (min, max), seed, config)?;
        NumericProfile {
            edges: bins.edges,
            counts: bins.counts,
            below_reference: 0,
            above_reference: 0,
            // Deequ's standard deviation is the population one, as `Moments::std` is.
            moments: Moments {
                count,
                mean,
                m2: std_dev * std_dev * count as f64,
                min,
                max,
            },
            sketch: bins.sketch,
            sample: bins.sample,
        }
    };
    Ok(FeatureProfile {
        name: name.to_owned(),
        role,
        kind: FeatureKind::Numeric,
        count,
        missing,
        numeric: Some(numeric),
        categorical: None,
    })
}

/// The binned part of a numeric profile.
struct Binned {
    edges: Vec<f64>,
    counts: Vec<u64>,
    sketch: QuantileSketch,
    sample: Reservoir,
}

/// Bins from the KLL sketch's items, or from its buckets when it has none (module docs).
fn distribution(
    at: &str,
    kll: &Kll,
    count: u64,
    (min, max): (f64, f64),
    seed: u64,
    config: &ProfileConfig,
) -> Result<Binned, DriftError> {
    let levels: Vec<Vec<f64>> = kll.sketch.as_ref().map_or(Vec::new(), |s| s.data.clone());
    if levels.len() > MAX_LEVELS {
        return Err(bad(
            STATISTICS,
            format!("{at}.sketch.data"),
            format!(
                "has {} levels; a KLL sketch has fewer than {MAX_LEVELS}",
                levels.len()
            ),
        ));
    }
    let retained: usize = levels.iter().map(Vec::len).sum();
    if retained > 0 {
        let sketch = QuantileSketch::from_levels(config.sketch_k, levels.clone(), min, max);
        let complete = levels[0].len() as u64 == count && levels[1..].iter().all(Vec::is_empty);
        if complete {
            // The sketch is the data: bin and sample it as a profile of the rows would.
            let mut sample = Reservoir::new(config.sample_capacity, seed);
            for &x in &levels[0] {
                sample.insert(x);
            }
            sample.compact();
            let mut sorted = levels[0].clone();
            sorted.sort_unstable_by(f64::total_cmp);
            let edges = quantile_edges(&sorted, config.bins)?;
            let counts = bin_counts(&edges, &sorted);
            return Ok(Binned {
                edges,
                counts,
                sketch,
                sample,
            });
        }
        let bins = config.bins.min(retained).max(2);
        let step = 1.0 / bins as f64;
        let ps: Vec<f64> = (1..bins).map(|i| i as f64 * step).collect();
        let edges = sketch.quantiles(&ps);
        let mut weights = vec![0u64; edges.len() + 1];
        for (h, items) in levels.iter().enumerate() {
            for &v in items {
                weights[bin_index(&edges, v)] += 1u64 << h;
            }
        }
        return Ok(Binned {
            counts: apportion(&weights, count),
            edges,
            sketch,
            sample: Reservoir::summary_only(config.sample_capacity, seed, count),
        });
    }
    if kll.buckets.is_empty() {
        return Err(bad(STATISTICS, at, "has neither sketch data nor buckets"));
    }
    let mut counts = Vec::with_capacity(kll.buckets.len());
    for (j, b) in kll.buckets.iter().enumerate() {
        let bat = format!("{at}.buckets[{j}]");
        if b.lower_bound > b.upper_bound {
            return Err(bad(
                STATISTICS,
                &bat,
                format!(
                    "lower_bound {} is above upper_bound {}",
                    b.lower_bound, b.upper_bound
                ),
            ));
        }
        if let Some(prev) = j.checked_sub(1).map(|p| &kll.buckets[p]) {
            let tolerance = 1e-9 * (1.0 + prev.upper_bound.abs().max(b.lower_bound.abs()));
            if (b.lower_bound - prev.upper_bound).abs() > tolerance {
                return Err(bad(
                    STATISTICS,
                    format!("{bat}.lower_bound"),
                    format!(
                        "{} does not continue buckets[{}].upper_bound {}",
                        b.lower_bound,
                        j - 1,
                        prev.upper_bound
                    ),
                ));
            }
        }
        counts.push(whole(&format!("{bat}.count"), b.count)?);
    }
    if counts.iter().all(|&c| c == 0) {
        return Err(bad(
            STATISTICS,
            format!("{at}.buckets"),
            format!("every count is 0 but common.num_present is {count}"),
        ));
    }
    // Deequ's bucket i is [lower, upper) and the last one is closed: the bins of `bin_index`.
    let edges = kll.buckets[..kll.buckets.len() - 1]
        .iter()
        .map(|b| b.upper_bound)
        .collect();
    Ok(Binned {
        edges,
        counts: apportion(&counts, count),
        sketch: QuantileSketch::new(config.sketch_k),
        sample: Reservoir::summary_only(config.sample_capacity, seed, count),
    })
}

/// Scales `weights` to add up to `total` (largest remainders, ties to the lower bin).
fn apportion(weights: &[u64], total: u64) -> Vec<u64> {
    let sum: u64 = weights.iter().sum();
    if sum == total || sum == 0 {
        return weights.to_vec();
    }
    let scale = total as f64 / sum as f64;
    let raw: Vec<f64> = weights.iter().map(|&w| w as f64 * scale).collect();
    let mut out: Vec<u64> = raw.iter().map(|r| r.floor() as u64).collect();
    let short = total.saturating_sub(out.iter().sum());
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.sort_by(|&a, &b| (raw[b] - raw[b].floor()).total_cmp(&(raw[a] - raw[a].floor())));
    for &i in order.iter().take(short as usize) {
        out[i] += 1;
    }
    out
}

fn categorical(
    at: &str,
    name: &str,
    s: &StringStatistics,
    role: FeatureRole,
    config: &ProfileConfig,
) -> Result<FeatureProfile, DriftError> {
    let at = format!("{at}.string_statistics");
    let count = whole(&format!("{at}.common.num_present"), s.common.num_present)?;
    let missing = whole(&format!("{at}.common.num_missing"), s.common.num_missing)?;
    let cat_at = format!("{at}.distribution.categorical");
    let buckets = s
        .distribution
        .as_ref()
        .and_then(|d| d.categorical.as_ref())
        .map_or(&[][..], |c| &c.buckets[..]);
    if count > 0 && buckets.is_empty() {
        return Err(bad(
            STATISTICS,
            &cat_at,
            "missing or empty: no categories to count",
        ));
    }
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for (j, b) in buckets.iter().enumerate() {
        let bat = format!("{cat_at}.buckets[{j}]");
        let c = whole(&format!("{bat}.count"), b.count)?;
        if counts.insert(b.value.clone(), c).is_some() {
            return Err(bad(
                STATISTICS,
                format!("{bat}.value"),
                format!("{:?} appears twice", b.value),
            ));
        }
    }
    let mut listed: u64 = counts.values().sum();
    if listed > count
        && let Some(&nulls) = counts.get(NULL_VALUE)
        && listed - nulls <= count
    {
        counts.remove(NULL_VALUE);
        listed -= nulls;
    }
    if listed > count {
        return Err(bad(
            STATISTICS,
            format!("{cat_at}.buckets"),
            format!("counts add up to {listed}, more than common.num_present ({count})"),
        ));
    }
    if counts.len() > config.max_categories {
        let mut ranked: Vec<(String, u64)> = counts.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(config.max_categories);
        counts = ranked.into_iter().collect();
    }
    let unseen = count - counts.values().sum::<u64>();
    Ok(FeatureProfile {
        name: name.to_owned(),
        role,
        kind: FeatureKind::Categorical,
        count,
        missing,
        numeric: None,
        categorical: Some(CategoricalProfile {
            counts,
            unseen,
            unseen_examples: BTreeMap::new(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_keeps_the_total_and_the_shape() {
        assert_eq!(apportion(&[1, 2, 3], 6), vec![1, 2, 3]);
        assert_eq!(apportion(&[2, 2, 4], 4), vec![1, 1, 2]);
        let scaled = apportion(&[3, 3, 3], 10);
        assert_eq!(scaled.iter().sum::<u64>(), 10);
        assert_eq!(scaled, vec![4, 3, 3]);
        assert_eq!(apportion(&[0, 0], 5), vec![0, 0]);
    }

    #[test]
    fn counts_are_whole_and_not_negative() {
        assert_eq!(whole("x", 2006.0).ok(), Some(2006));
        for bad_value in [-1.0, 0.5, 1e300] {
            let e = whole("a.b[1].count", bad_value).unwrap_err().to_string();
            assert!(
                e.contains("a.b[1].count") && e.contains("not a count"),
                "{e}"
            );
        }
    }
}
