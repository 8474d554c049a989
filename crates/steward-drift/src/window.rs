//! Window profiles: production data counted against a reference profile's bins and categories,
//! fed batch by batch and merged across workers.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::binning::bin_index;
use crate::error::DriftError;
use crate::fastbin::BinLookup;
use crate::profile::{
    CategoricalProfile, Column, ColumnData, FORMAT_VERSION, FeatureKind, FeatureProfile, Moments,
    NumericProfile, Profile, check_lengths, check_version, seed_for,
};
use crate::reservoir::Reservoir;
use crate::sketch::QuantileSketch;

/// How many distinct unseen category names a window remembers (the counts are always exact).
const UNSEEN_EXAMPLES: usize = 20;

/// A problem with a window's columns relative to the reference schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "issue", rename_all = "snake_case")]
pub enum SchemaIssue {
    /// A reference feature was absent from a batch.
    MissingColumn {
        /// Feature name.
        feature: String,
    },
    /// A batch column has a name the reference does not know.
    UnexpectedColumn {
        /// Column name.
        column: String,
    },
    /// A batch column's kind differs from the reference feature's.
    TypeMismatch {
        /// Feature name.
        feature: String,
        /// Kind in the reference.
        expected: FeatureKind,
        /// Kind in the batch.
        found: FeatureKind,
    },
}

/// Profile of a production window, counted against a reference profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowProfile {
    /// Serialisation format version.
    pub format_version: u32,
    /// [`Profile::fingerprint`] of the reference it was counted against.
    pub reference_fingerprint: u64,
    /// Rows profiled.
    pub rows: u64,
    /// Features, in the reference's order.
    pub features: Vec<FeatureProfile>,
    /// Schema problems seen while profiling.
    pub schema_issues: Vec<SchemaIssue>,
}

impl WindowProfile {
    /// An empty window for `reference`; `worker` salts the sample priorities so that windows
    /// profiled by different workers sample independently.
    pub fn empty(reference: &Profile, worker: u64) -> WindowProfile {
        let features = reference
            .features
            .iter()
            .map(|f| FeatureProfile {
                name: f.name.clone(),
                role: f.role,
                kind: f.kind,
                count: 0,
                missing: 0,
                numeric: f.numeric.as_ref().map(|n| NumericProfile {
                    edges: n.edges.clone(),
                    counts: vec![0; n.edges.len() + 1],
                    below_reference: 0,
                    above_reference: 0,
                    moments: Moments::default(),
                    sketch: QuantileSketch::new(reference.config.sketch_k),
                    sample: Reservoir::new(
                        reference.config.sample_capacity,
                        seed_for(
                            reference.config.seed ^ worker.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                            &f.name,
                        ) ^ 0xA5A5,
                    ),
                }),
                categorical: f.categorical.as_ref().map(|c| CategoricalProfile {
                    counts: c.counts.keys().map(|k| (k.clone(), 0)).collect(),
                    unseen: 0,
                    unseen_examples: BTreeMap::new(),
                }),
            })
            .collect();
        WindowProfile {
            format_version: FORMAT_VERSION,
            reference_fingerprint: reference.fingerprint(),
            rows: 0,
            features,
            schema_issues: Vec::new(),
        }
    }

    /// Profiles one batch of current data against `reference`.
    pub fn from_window(
        reference: &Profile,
        columns: &[Column<'_>],
    ) -> Result<WindowProfile, DriftError> {
        let mut w = Self::empty(reference, 0);
        w.observe(reference, columns)?;
        Ok(w)
    }

    /// Adds a batch. Columns the reference lacks, features the batch lacks and kind mismatches
    /// are recorded as [`SchemaIssue`]s (the mismatched column is not counted); a NaN or
    /// infinite number is an error naming the column and row.
    pub fn observe(
        &mut self,
        reference: &Profile,
        columns: &[Column<'_>],
    ) -> Result<(), DriftError> {
        self.check_reference(reference)?;
        let rows = check_lengths(columns)?;
        for col in columns {
            if reference.feature(col.name).is_none() {
                self.push_issue(SchemaIssue::UnexpectedColumn {
                    column: col.name.to_owned(),
                });
            }
        }
        for (idx, rf) in reference.features.iter().enumerate() {
            let Some(col) = columns.iter().find(|c| c.name == rf.name) else {
                self.push_issue(SchemaIssue::MissingColumn {
                    feature: rf.name.clone(),
                });
                continue;
            };
            if col.data.kind() != rf.kind {
                self.push_issue(SchemaIssue::TypeMismatch {
                    feature: rf.name.clone(),
                    expected: rf.kind,
                    found: col.data.kind(),
                });
                continue;
            }
            let wf = &mut self.features[idx];
            match col.data {
                ColumnData::Numeric(values) => observe_numeric(wf, rf, col.name, values)?,
                ColumnData::Categorical(values) => observe_categorical(wf, values),
            }
        }
        self.rows += rows as u64;
        Ok(())
    }

    fn push_issue(&mut self, issue: SchemaIssue) {
        if !self.schema_issues.contains(&issue) {
            self.schema_issues.push(issue);
        }
    }

    /// Fails unless this window was counted against `reference`.
    pub fn check_reference(&self, reference: &Profile) -> Result<(), DriftError> {
        check_version(self.format_version)?;
        reference.validate()?;
        if self.reference_fingerprint != reference.fingerprint() {
            return Err(DriftError::Incompatible(
                "window was profiled against a different reference".into(),
            ));
        }
        Ok(())
    }

    /// Keeps at most `capacity` sampled values per numeric feature (a smaller profile to store
    /// once the window is evaluated; the sample stays uniform and mergeable).
    pub fn shrink_samples(&mut self, capacity: usize) {
        for n in self.features.iter_mut().filter_map(|f| f.numeric.as_mut()) {
            n.sample.shrink(capacity);
        }
    }

    /// Merges another window of the same reference into this one.
    pub fn merge(&mut self, other: &WindowProfile) -> Result<(), DriftError> {
        check_version(other.format_version)?;
        if other.reference_fingerprint != self.reference_fingerprint
            || other.features.len() != self.features.len()
        {
            return Err(DriftError::Incompatible(
                "windows were profiled against different references".into(),
            ));
        }
        for (a, b) in self.features.iter_mut().zip(&other.features) {
            a.count += b.count;
            a.missing += b.missing;
            if let (Some(x), Some(y)) = (a.numeric.as_mut(), b.numeric.as_ref()) {
                for (c, d) in x.counts.iter_mut().zip(&y.counts) {
                    *c += d;
                }
                x.below_reference += y.below_reference;
                x.above_reference += y.above_reference;
                x.moments.merge(&y.moments);
                x.sketch.merge(&y.sketch);
                x.sample.merge(&y.sample);
            }
            if let (Some(x), Some(y)) = (a.categorical.as_mut(), b.categorical.as_ref()) {
                for (k, v) in &y.counts {
                    *x.counts.entry(k.clone()).or_insert(0) += v;
                }
                x.unseen += y.unseen;
                for (k, v) in &y.unseen_examples {
                    if x.unseen_examples.len() < UNSEEN_EXAMPLES
                        || x.unseen_examples.contains_key(k)
                    {
                        *x.unseen_examples.entry(k.clone()).or_insert(0) += v;
                    }
                }
            }
        }
        self.rows += other.rows;
        for issue in &other.schema_issues {
            self.push_issue(issue.clone());
        }
        Ok(())
    }

    /// The feature called `name`.
    pub fn feature(&self, name: &str) -> Option<&FeatureProfile> {
        self.features.iter().find(|f| f.name == name)
    }

    /// This window, counted against `reference`, as a reference of its own: the profile of a
    /// slice of the reference data (the EU rows of a worldwide reference set), so that a slice of
    /// production is compared with the same slice of the reference. It keeps `reference`'s bins,
    /// categories and range, so windows counted against `reference` compare with it as they
    /// are.
    pub fn as_reference(&self, reference: &Profile) -> Result<Profile, DriftError> {
        self.check_reference(reference)?;
        let features = self
            .features
            .iter()
            .zip(&reference.features)
            .map(|(w, r)| {
                let mut f = w.clone();
                if let (Some(n), Some(rn)) = (f.numeric.as_mut(), r.numeric.as_ref()) {
                    // The range is part of what windows are counted against (out-of-range counts,
                    // the fingerprint); the slice's own mean and spread are kept.
                    n.moments.min = rn.moments.min;
                    n.moments.max = rn.moments.max;
                    n.below_reference = 0;
                    n.above_reference = 0;
                }
                f
            })
            .collect();
        let slice = Profile {
            format_version: FORMAT_VERSION,
            config: reference.config.clone(),
            rows: self.rows,
            features,
        };
        debug_assert_eq!(slice.fingerprint(), reference.fingerprint());
        Ok(slice)
    }
}

/// Rows from which a batch's numeric bins are found through a [`BinLookup`].
const LOOKUP_FROM_ROWS: usize = 1_024;

fn observe_numeric(
    wf: &mut FeatureProfile,
    rf: &FeatureProfile,
    name: &str,
    values: &[Option<f64>],
) -> Result<(), DriftError> {
    let (Some(n), Some(r)) = (wf.numeric.as_mut(), rf.numeric.as_ref()) else {
        return Ok(());
    };
    let (lo, hi) = (r.moments.min, r.moments.max);
    // The lookup table costs about as much as a few thousand binary searches to build.
    let lookup = (values.len() >= LOOKUP_FROM_ROWS).then(|| BinLookup::new(&n.edges));
    for (row, v) in values.iter().enumerate() {
        let Some(x) = *v else {
            wf.missing += 1;
            continue;
        };
        if !x.is_finite() {
            return Err(DriftError::NonFiniteInColumn {
                column: name.to_owned(),
                row,
                value: x,
            });
        }
        wf.count += 1;
        let bin = match &lookup {
            Some(l) => l.index(x),
            None => bin_index(&n.edges, x),
        };
        n.counts[bin] += 1;
        if x < lo {
            n.below_reference += 1;
        } else if x > hi {
            n.above_reference += 1;
        }
        n.moments.insert(x);
        n.sketch.insert(x);
        n.sample.insert(x);
    }
    n.sample.compact();
    Ok(())
}

fn observe_categorical(wf: &mut FeatureProfile, values: &[Option<&str>]) {
    let Some(c) = wf.categorical.as_mut() else {
        return;
    };
    // Count by borrowed key first: one String allocation per distinct label, not per row.
    let mut batch: HashMap<&str, u64> = HashMap::new();
    for v in values {
        match v {
            Some(s) => *batch.entry(s).or_insert(0) += 1,
            None => wf.missing += 1,
        }
    }
    for (k, v) in batch {
        wf.count += v;
        if let Some(slot) = c.counts.get_mut(k) {
            *slot += v;
        } else {
            c.unseen += v;
            if c.unseen_examples.len() < UNSEEN_EXAMPLES || c.unseen_examples.contains_key(k) {
                *c.unseen_examples.entry(k.to_owned()).or_insert(0) += v;
            }
        }
    }
}
