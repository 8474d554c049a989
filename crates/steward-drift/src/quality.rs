//! Data-quality findings of a window against its reference: missing-rate changes, values out of
//! the reference range, unseen categories and schema violations.

use serde::{Deserialize, Serialize};

use crate::chi2::two_proportion_z;
use crate::profile::{Profile, SchemaIssue};
use crate::window::WindowProfile;

/// One data-quality finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "finding", rename_all = "snake_case")]
pub enum Finding {
    /// The share of missing values changed significantly and by at least the tolerance.
    MissingRateChange {
        /// Feature.
        feature: String,
        /// Reference missing rate.
        reference_rate: f64,
        /// Current missing rate.
        current_rate: f64,
        /// Two-proportion z-test p-value.
        p_value: f64,
    },
    /// Current values outside the reference's [min, max].
    OutOfRange {
        /// Feature.
        feature: String,
        /// Values below the reference minimum.
        below: u64,
        /// Values above the reference maximum.
        above: u64,
        /// Share of current values out of range.
        share: f64,
    },
    /// Categories never seen in the reference.
    UnseenCategories {
        /// Feature.
        feature: String,
        /// Values in unseen categories.
        count: u64,
        /// Their share of current values.
        share: f64,
        /// Some of the unseen labels.
        examples: Vec<String>,
    },
    /// A schema violation (missing column, unexpected column, type mismatch).
    Schema(SchemaIssue),
}

/// All findings of `window` against `reference`.
pub fn findings(
    reference: &Profile,
    window: &WindowProfile,
    alpha: f64,
    missing_tolerance: f64,
) -> Vec<Finding> {
    let mut out: Vec<Finding> = window
        .schema_issues
        .iter()
        .cloned()
        .map(Finding::Schema)
        .collect();
    for (rf, wf) in reference.features.iter().zip(&window.features) {
        let (rn, wn) = (
            (rf.count + rf.missing) as f64,
            (wf.count + wf.missing) as f64,
        );
        if rn > 0.0 && wn > 0.0 {
            let (rr, wr) = (rf.missing_rate(), wf.missing_rate());
            if let Ok(z) = two_proportion_z(rf.missing as f64, rn, wf.missing as f64, wn)
                && z.p_value < alpha
                && (rr - wr).abs() >= missing_tolerance
            {
                {
                    out.push(Finding::MissingRateChange {
                        feature: rf.name.clone(),
                        reference_rate: rr,
                        current_rate: wr,
                        p_value: z.p_value,
                    });
                }
            }
        }
        if let Some(n) = &wf.numeric {
            let bad = n.below_reference + n.above_reference;
            if bad > 0 {
                out.push(Finding::OutOfRange {
                    feature: wf.name.clone(),
                    below: n.below_reference,
                    above: n.above_reference,
                    share: bad as f64 / wf.count.max(1) as f64,
                });
            }
        }
        if let Some(c) = &wf.categorical
            && c.unseen > 0
        {
            {
                out.push(Finding::UnseenCategories {
                    feature: wf.name.clone(),
                    count: c.unseen,
                    share: c.unseen as f64 / wf.count.max(1) as f64,
                    examples: c.unseen_examples.keys().cloned().collect(),
                });
            }
        }
    }
    out
}
