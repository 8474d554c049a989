//! Profiles: what Steward keeps of a data set instead of its rows.
//!
//! A reference [`Profile`] is built once from the whole reference data; per feature it holds the
//! type, missing count, bin edges at reference quantiles with counts, a mergeable quantile sketch,
//! moments, a bounded uniform sample, and for categorical features the category frequencies plus
//! an "unseen" bucket. A [`WindowProfile`] is computed *against* a reference (same bins, same
//! categories), can be fed batch by batch, and merges exactly (counts, moments, sample) or within
//! the sketch's documented rank error (quantiles). Both serialise with serde and carry
//! [`FORMAT_VERSION`].

use std::collections::{BTreeMap, HashMap};

pub use crate::window::{SchemaIssue, WindowProfile};

use serde::{Deserialize, Serialize};

use crate::binning::{bin_counts, quantile_edges};
use crate::error::DriftError;
use crate::reservoir::{DEFAULT_CAPACITY, Reservoir};
use crate::sketch::{DEFAULT_K, QuantileSketch};

/// Version of the serialised profile format; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// Kind of values a feature holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    /// Finite real numbers.
    Numeric,
    /// Labels compared as strings.
    Categorical,
}

/// What a column is to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureRole {
    /// A model input.
    #[default]
    Input,
    /// The model's output (prediction drift).
    Prediction,
    /// The ground-truth label.
    Target,
}

/// Borrowed values of one column; `None` is a missing value.
#[derive(Debug, Clone, Copy)]
pub enum ColumnData<'a> {
    /// Numbers; NaN and infinities are rejected with the row that holds them.
    Numeric(&'a [Option<f64>]),
    /// Labels.
    Categorical(&'a [Option<&'a str>]),
}

impl ColumnData<'_> {
    /// True when the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            ColumnData::Numeric(v) => v.len(),
            ColumnData::Categorical(v) => v.len(),
        }
    }

    /// Kind of the values.
    pub fn kind(&self) -> FeatureKind {
        match self {
            ColumnData::Numeric(_) => FeatureKind::Numeric,
            ColumnData::Categorical(_) => FeatureKind::Categorical,
        }
    }
}

/// One named column of a batch.
#[derive(Debug, Clone, Copy)]
pub struct Column<'a> {
    /// Column (feature) name.
    pub name: &'a str,
    /// Role of the column.
    pub role: FeatureRole,
    /// The values.
    pub data: ColumnData<'a>,
}

impl<'a> Column<'a> {
    /// A numeric input column.
    pub fn numeric(name: &'a str, values: &'a [Option<f64>]) -> Self {
        Self {
            name,
            role: FeatureRole::Input,
            data: ColumnData::Numeric(values),
        }
    }

    /// A categorical input column.
    pub fn categorical(name: &'a str, values: &'a [Option<&'a str>]) -> Self {
        Self {
            name,
            role: FeatureRole::Input,
            data: ColumnData::Categorical(values),
        }
    }

    /// The same column with another role.
    pub fn with_role(mut self, role: FeatureRole) -> Self {
        self.role = role;
        self
    }
}

/// Knobs of profile construction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProfileConfig {
    /// Number of reference-quantile bins for numeric features (100: percentiles).
    pub bins: usize,
    /// Accuracy parameter of the quantile sketch.
    pub sketch_k: u32,
    /// Capacity of the uniform sample; samples this small are kept whole (exact tests).
    pub sample_capacity: usize,
    /// Most categories kept per feature; rarer reference categories share the unseen bucket.
    pub max_categories: usize,
    /// Seed of the sample priorities.
    pub seed: u64,
}

impl Default for ProfileConfig {
    fn default() -> Self {
        Self {
            bins: 100,
            sketch_k: DEFAULT_K,
            sample_capacity: DEFAULT_CAPACITY,
            max_categories: 10_000,
            seed: 0x5EED_D41F,
        }
    }
}

/// Count, mean and centred second moment, merged with Chan et al.'s update.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Number of values.
    pub count: u64,
    /// Mean.
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
    /// Smallest value (infinite when empty).
    pub min: f64,
    /// Largest value (negative infinite when empty).
    pub max: f64,
}

impl Default for Moments {
    fn default() -> Self {
        Self {
            count: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Moments {
    /// Adds one value (Welford).
    pub fn insert(&mut self, x: f64) {
        self.count += 1;
        let d = x - self.mean;
        self.mean += d / self.count as f64;
        self.m2 += d * (x - self.mean);
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }

    /// Merges another set of moments.
    pub fn merge(&mut self, o: &Moments) {
        if o.count == 0 {
            return;
        }
        let n = (self.count + o.count) as f64;
        let d = o.mean - self.mean;
        self.mean += d * o.count as f64 / n;
        self.m2 += o.m2 + d * d * self.count as f64 * o.count as f64 / n;
        self.count += o.count;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
    }

    /// Population standard deviation (0 when empty).
    pub fn std(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            (self.m2 / self.count as f64).max(0.0).sqrt()
        }
    }
}

/// Numeric part of a feature profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericProfile {
    /// Inner bin edges (reference quantiles); there are `edges.len() + 1` bins.
    pub edges: Vec<f64>,
    /// Counts per bin.
    pub counts: Vec<u64>,
    /// Values below the reference minimum (windows only).
    pub below_reference: u64,
    /// Values above the reference maximum (windows only).
    pub above_reference: u64,
    /// Moments.
    pub moments: Moments,
    /// Quantile sketch.
    pub sketch: QuantileSketch,
    /// Uniform sample.
    pub sample: Reservoir,
}

/// Categorical part of a feature profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalProfile {
    /// Counts of the reference's categories (a window lists every one, zeros included).
    pub counts: BTreeMap<String, u64>,
    /// Values outside those categories.
    pub unseen: u64,
    /// A few unseen category names with their counts (windows only).
    pub unseen_examples: BTreeMap<String, u64>,
}

/// Profile of one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureProfile {
    /// Feature name.
    pub name: String,
    /// Role.
    pub role: FeatureRole,
    /// Kind.
    pub kind: FeatureKind,
    /// Non-missing values.
    pub count: u64,
    /// Missing values.
    pub missing: u64,
    /// Present for numeric features.
    pub numeric: Option<NumericProfile>,
    /// Present for categorical features.
    pub categorical: Option<CategoricalProfile>,
}

impl FeatureProfile {
    /// Missing values as a share of all rows (0 when there are none).
    pub fn missing_rate(&self) -> f64 {
        let total = self.count + self.missing;
        if total == 0 {
            0.0
        } else {
            self.missing as f64 / total as f64
        }
    }
}

/// Reference profile of a data set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Serialisation format version.
    pub format_version: u32,
    /// Construction settings.
    pub config: ProfileConfig,
    /// Rows profiled.
    pub rows: u64,
    /// Features in column order.
    pub features: Vec<FeatureProfile>,
}

pub(crate) fn check_lengths(columns: &[Column<'_>]) -> Result<usize, DriftError> {
    let rows = columns.first().map_or(0, |c| c.data.len());
    if let Some(c) = columns.iter().find(|c| c.data.len() != rows) {
        return Err(DriftError::ShapeMismatch(format!(
            "column {:?} has {} rows, expected {rows}",
            c.name,
            c.data.len()
        )));
    }
    Ok(rows)
}

fn finite_values(name: &str, values: &[Option<f64>]) -> Result<(Vec<f64>, u64), DriftError> {
    let mut out = Vec::with_capacity(values.len());
    let mut missing = 0u64;
    for (row, v) in values.iter().enumerate() {
        match *v {
            None => missing += 1,
            Some(x) if x.is_finite() => out.push(x),
            Some(x) => {
                return Err(DriftError::NonFiniteInColumn {
                    column: name.to_owned(),
                    row,
                    value: x,
                });
            }
        }
    }
    Ok((out, missing))
}

pub(crate) fn seed_for(base: u64, name: &str) -> u64 {
    fnv1a(base, name.as_bytes())
}

/// FNV-1a over bytes, continuing from `h`.
fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    if h == 0 {
        h = 0xcbf2_9ce4_8422_2325;
    }
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    h
}

impl Profile {
    /// Profiles reference columns with the default settings.
    pub fn from_reference(columns: &[Column<'_>]) -> Result<Profile, DriftError> {
        Self::from_reference_with(columns, &ProfileConfig::default())
    }

    /// Profiles reference columns; every column must have the same number of rows.
    pub fn from_reference_with(
        columns: &[Column<'_>],
        config: &ProfileConfig,
    ) -> Result<Profile, DriftError> {
        if config.bins < 2 || config.sample_capacity == 0 || config.max_categories == 0 {
            return Err(DriftError::InvalidConfig(
                "bins must be >= 2, sample_capacity and max_categories >= 1".into(),
            ));
        }
        let rows = check_lengths(columns)?;
        let mut seen = std::collections::HashSet::new();
        let mut features = Vec::with_capacity(columns.len());
        for col in columns {
            if !seen.insert(col.name) {
                return Err(DriftError::InvalidConfig(format!(
                    "duplicate column {:?}",
                    col.name
                )));
            }
            features.push(match col.data {
                ColumnData::Numeric(values) => reference_numeric(col, values, config)?,
                ColumnData::Categorical(values) => reference_categorical(col, values, config),
            });
        }
        Ok(Profile {
            format_version: FORMAT_VERSION,
            config: config.clone(),
            rows: rows as u64,
            features,
        })
    }

    /// The feature called `name`.
    pub fn feature(&self, name: &str) -> Option<&FeatureProfile> {
        self.features.iter().find(|f| f.name == name)
    }

    /// A digest of the bins and categories windows are counted against; windows carry it so
    /// that a window is never compared with (or merged into) another reference's bins.
    pub fn fingerprint(&self) -> u64 {
        let mut h = fnv1a(0, &self.format_version.to_le_bytes());
        for f in &self.features {
            h = fnv1a(h, f.name.as_bytes());
            h = fnv1a(h, &[f.kind as u8, 0xff]);
            if let Some(n) = &f.numeric {
                for e in &n.edges {
                    h = fnv1a(h, &e.to_bits().to_le_bytes());
                }
                h = fnv1a(h, &n.moments.min.to_bits().to_le_bytes());
                h = fnv1a(h, &n.moments.max.to_bits().to_le_bytes());
            }
            if let Some(c) = &f.categorical {
                for k in c.counts.keys() {
                    h = fnv1a(h, k.as_bytes());
                    h = fnv1a(h, &[0]);
                }
            }
        }
        h
    }

    /// Checks the format version after deserialising.
    pub fn validate(&self) -> Result<(), DriftError> {
        check_version(self.format_version)
    }
}

pub(crate) fn check_version(found: u32) -> Result<(), DriftError> {
    if found == FORMAT_VERSION {
        Ok(())
    } else {
        Err(DriftError::UnsupportedVersion {
            found,
            supported: FORMAT_VERSION,
        })
    }
}

fn reference_numeric(
    col: &Column<'_>,
    values: &[Option<f64>],
    config: &ProfileConfig,
) -> Result<FeatureProfile, DriftError> {
    let (mut vals, missing) = finite_values(col.name, values)?;
    let mut sketch = QuantileSketch::new(config.sketch_k);
    let mut sample = Reservoir::new(config.sample_capacity, seed_for(config.seed, col.name));
    let mut moments = Moments::default();
    for &x in &vals {
        sketch.insert(x);
        sample.insert(x);
        moments.insert(x);
    }
    sample.compact();
    vals.sort_unstable_by(f64::total_cmp);
    let (edges, counts) = if vals.is_empty() {
        (Vec::new(), vec![0])
    } else {
        let edges = quantile_edges(&vals, config.bins)?;
        let counts = bin_counts(&edges, &vals);
        (edges, counts)
    };
    Ok(FeatureProfile {
        name: col.name.to_owned(),
        role: col.role,
        kind: FeatureKind::Numeric,
        count: vals.len() as u64,
        missing,
        numeric: Some(NumericProfile {
            edges,
            counts,
            below_reference: 0,
            above_reference: 0,
            moments,
            sketch,
            sample,
        }),
        categorical: None,
    })
}

fn reference_categorical(
    col: &Column<'_>,
    values: &[Option<&str>],
    config: &ProfileConfig,
) -> FeatureProfile {
    let mut counts: HashMap<&str, u64> = HashMap::new();
    let mut missing = 0u64;
    for v in values {
        match v {
            Some(s) => *counts.entry(s).or_insert(0) += 1,
            None => missing += 1,
        }
    }
    let total: u64 = counts.values().sum();
    let mut ranked: Vec<(&str, u64)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let kept: BTreeMap<String, u64> = ranked
        .iter()
        .take(config.max_categories)
        .map(|(k, c)| ((*k).to_owned(), *c))
        .collect();
    let unseen = total - kept.values().sum::<u64>();
    FeatureProfile {
        name: col.name.to_owned(),
        role: col.role,
        kind: FeatureKind::Categorical,
        count: total,
        missing,
        numeric: None,
        categorical: Some(CategoricalProfile {
            counts: kept,
            unseen,
            unseen_examples: BTreeMap::new(),
        }),
    }
}
