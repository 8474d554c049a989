//! Drift reports: per-feature verdicts from a reference profile and a window profile.
//!
//! Default (`Method::Auto`) rule, chosen to keep false alarms at or below `alpha` at dataset
//! level while still catching small real shifts:
//!
//! * numeric: two-sample KS. When both sides are small enough to sit whole in the profile
//!   sample the exact scipy p-value is used; otherwise KS on the reference's percentile bins
//!   (conservative) with the finite-n asymptotic distribution. Effect size: Wasserstein-1 over
//!   the percentile bins divided by the reference standard deviation (a location shift of
//!   `d` standard deviations gives about `d`).
//! * categorical: chi-square test of homogeneity over the reference categories plus the unseen
//!   bucket (Yates when dof = 1). Effect size: Jensen-Shannon distance, base 2.
//! * p-values are adjusted across features (Benjamini-Hochberg by default). A feature drifts
//!   when its adjusted p-value is below `alpha` **and** its effect size reaches the minimum
//!   effect, so huge samples do not flag negligible shifts; a side with fewer than
//!   `min_samples` values gets "insufficient data".

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::chi2::chi2_homogeneity;
use crate::divergence::{PSI_EPS, jensen_shannon, psi};
use crate::error::DriftError;
use crate::ks::{Alternative, KsMethod, ks_2samp, p_value_for};
use crate::multiple::{Correction, adjust};
use crate::profile::{FORMAT_VERSION, FeatureKind, FeatureProfile, FeatureRole, Profile};
use crate::quality::{Finding, findings};
use crate::score::composite_score;
use crate::window::WindowProfile;

/// Per-feature method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// KS / chi-square with effect-size floors (see the module docs).
    #[default]
    Auto,
    /// Tests only, no effect-size floor (scipy-style: flags any significant difference).
    TestOnly,
    /// PSI on reference deciles (numeric) or categories, drift at `psi_threshold`.
    Psi,
}

/// Settings of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DriftConfig {
    /// Method.
    pub method: Method,
    /// Significance level after correction.
    pub alpha: f64,
    /// Multiple-testing correction.
    pub correction: Correction,
    /// Minimum non-missing values per side for a verdict.
    pub min_samples: u64,
    /// Minimum normalised Wasserstein distance for numeric drift.
    pub min_effect_numeric: f64,
    /// Minimum Jensen-Shannon distance (base 2) for categorical drift.
    pub min_effect_categorical: f64,
    /// PSI threshold for `Method::Psi`.
    pub psi_threshold: f64,
    /// Feature importance for the composite score (equal weights when absent).
    pub importance: Option<BTreeMap<String, f64>>,
    /// Smallest change of missing rate reported as a finding.
    pub missing_rate_tolerance: f64,
}

impl Default for DriftConfig {
    fn default() -> Self {
        Self {
            method: Method::Auto,
            alpha: 0.05,
            correction: Correction::BenjaminiHochberg,
            min_samples: 30,
            min_effect_numeric: 0.05,
            min_effect_categorical: 0.03,
            psi_threshold: 0.2,
            importance: None,
            missing_rate_tolerance: 0.01,
        }
    }
}

impl DriftConfig {
    fn validate(&self) -> Result<(), DriftError> {
        let ok = self.alpha > 0.0
            && self.alpha < 1.0
            && self.min_effect_numeric >= 0.0
            && self.min_effect_categorical >= 0.0
            && self.psi_threshold >= 0.0
            && self.missing_rate_tolerance >= 0.0;
        if ok {
            Ok(())
        } else {
            Err(DriftError::InvalidConfig(
                "alpha must be in (0, 1), thresholds non-negative".into(),
            ))
        }
    }
}

/// Outcome for one feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Significant and large enough.
    Drift,
    /// Significant but below the minimum effect size.
    NegligibleDrift,
    /// No significant difference.
    NoDrift,
    /// Too few values on one side.
    InsufficientData,
}

/// Statistic used for a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// KS on the complete samples (exact p-value as scipy's `auto`).
    KsExact,
    /// KS on the reference percentile bins (asymptotic p-value, conservative).
    KsBinned,
    /// Chi-square test of homogeneity.
    ChiSquare,
    /// Population stability index.
    Psi,
}

/// Effect-size measure of a feature result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EffectMeasure {
    /// Wasserstein-1 over the reference percentile bins / reference standard deviation.
    WassersteinNormed,
    /// Jensen-Shannon distance in base 2.
    JensenShannonBase2,
    /// Population stability index.
    Psi,
    /// Not computed (insufficient data).
    None,
}

/// One feature's drift result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDrift {
    /// Feature name.
    pub feature: String,
    /// Role (input, prediction, target).
    pub role: FeatureRole,
    /// Kind.
    pub kind: FeatureKind,
    /// Statistic used.
    pub method: Statistic,
    /// Its value (KS D, chi-square, or PSI).
    pub statistic: f64,
    /// Raw p-value, where the method has one.
    pub p_value: Option<f64>,
    /// p-value after the multiple-testing correction.
    pub adjusted_p_value: Option<f64>,
    /// Effect size (normalised Wasserstein for numeric, JS distance for categorical, PSI for
    /// `Method::Psi`).
    pub effect_size: f64,
    /// Name of the effect-size measure.
    pub effect_measure: EffectMeasure,
    /// PSI on reference deciles / categories, for reference.
    pub psi: f64,
    /// Verdict.
    pub verdict: Verdict,
    /// Non-missing reference values.
    pub reference_count: u64,
    /// Non-missing current values.
    pub current_count: u64,
}

/// Result of comparing a window with its reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// Report format version (same numbering as profiles).
    pub format_version: u32,
    /// Settings used.
    pub config: DriftConfig,
    /// Per-feature results, drifted features first, then by adjusted p-value.
    pub features: Vec<FeatureDrift>,
    /// Data-quality findings.
    pub findings: Vec<Finding>,
    /// Features with a verdict other than insufficient data.
    pub tested_features: usize,
    /// Features with verdict `Drift`.
    pub drifted_features: usize,
    /// True when any feature drifted.
    pub dataset_drift: bool,
    /// Weighted share of drifted features, in [0, 1].
    pub composite_score: f64,
}

impl DriftReport {
    /// Drift of the model's output, when a prediction column was profiled.
    pub fn prediction_drift(&self) -> Option<&FeatureDrift> {
        self.features
            .iter()
            .find(|f| f.role == FeatureRole::Prediction)
    }
}

/// Compares a window with its reference.
pub fn compare(
    reference: &Profile,
    window: &WindowProfile,
    config: &DriftConfig,
) -> Result<DriftReport, DriftError> {
    config.validate()?;
    window.check_reference(reference)?;
    let mut features = Vec::with_capacity(reference.features.len());
    for (rf, wf) in reference.features.iter().zip(&window.features) {
        features.push(feature_drift(rf, wf, config)?);
    }
    let raw: Vec<f64> = features
        .iter()
        .map(|f| f.p_value.unwrap_or(f64::NAN))
        .collect();
    let adjusted = adjust(&raw, config.correction);
    for (f, adj) in features.iter_mut().zip(adjusted) {
        if f.verdict == Verdict::InsufficientData {
            continue;
        }
        let (significant, large) = match config.method {
            Method::Psi => (true, f.effect_size >= config.psi_threshold),
            Method::TestOnly => (adj < config.alpha, true),
            Method::Auto => {
                let floor = match f.kind {
                    FeatureKind::Numeric => config.min_effect_numeric,
                    FeatureKind::Categorical => config.min_effect_categorical,
                };
                (adj < config.alpha, f.effect_size >= floor)
            }
        };
        if !adj.is_nan() {
            f.adjusted_p_value = Some(adj);
        }
        f.verdict = match (significant, large) {
            (true, true) => Verdict::Drift,
            (true, false) if config.method != Method::Psi => Verdict::NegligibleDrift,
            _ => Verdict::NoDrift,
        };
    }
    let tested: Vec<(String, bool)> = features
        .iter()
        .filter(|f| f.verdict != Verdict::InsufficientData)
        .map(|f| (f.feature.clone(), f.verdict == Verdict::Drift))
        .collect();
    let composite = composite_score(&tested, config.importance.as_ref())?;
    let drifted = tested.iter().filter(|t| t.1).count();
    features.sort_by(|a, b| {
        let rank = |f: &FeatureDrift| u8::from(f.verdict != Verdict::Drift);
        rank(a).cmp(&rank(b)).then(
            a.adjusted_p_value
                .unwrap_or(2.0)
                .total_cmp(&b.adjusted_p_value.unwrap_or(2.0)),
        )
    });
    Ok(DriftReport {
        format_version: FORMAT_VERSION,
        config: config.clone(),
        findings: findings(
            reference,
            window,
            config.alpha,
            config.missing_rate_tolerance,
        ),
        tested_features: tested.len(),
        drifted_features: drifted,
        dataset_drift: drifted > 0,
        composite_score: composite,
        features,
    })
}

fn feature_drift(
    rf: &FeatureProfile,
    wf: &FeatureProfile,
    config: &DriftConfig,
) -> Result<FeatureDrift, DriftError> {
    let mut out = FeatureDrift {
        feature: rf.name.clone(),
        role: rf.role,
        kind: rf.kind,
        method: Statistic::Psi,
        statistic: f64::NAN,
        p_value: None,
        adjusted_p_value: None,
        effect_size: f64::NAN,
        effect_measure: EffectMeasure::None,
        psi: f64::NAN,
        verdict: Verdict::InsufficientData,
        reference_count: rf.count,
        current_count: wf.count,
    };
    if rf.count < config.min_samples.max(1) || wf.count < config.min_samples.max(1) {
        return Ok(out);
    }
    out.verdict = Verdict::NoDrift;
    if let (Some(r), Some(w)) = (&rf.numeric, &wf.numeric) {
        out.psi = psi(&decile_props(&r.counts), &decile_props(&w.counts), PSI_EPS)?;
        out.effect_measure = EffectMeasure::WassersteinNormed;
        out.effect_size =
            binned_wasserstein(&r.edges, &r.counts, &w.counts) / r.moments.std().max(1e-3);
        if r.sample.is_complete() && w.sample.is_complete() {
            let res = ks_2samp(
                &r.sample.values(),
                &w.sample.values(),
                Alternative::TwoSided,
                KsMethod::Auto,
            )?;
            out.method = Statistic::KsExact;
            out.statistic = res.statistic;
            out.p_value = Some(res.p_value);
        } else {
            let d = binned_ks(&r.counts, &w.counts);
            let (d, p, _, _) = p_value_for(
                d,
                rf.count as usize,
                wf.count as usize,
                Alternative::TwoSided,
                KsMethod::Asymp,
            );
            out.method = Statistic::KsBinned;
            out.statistic = d;
            out.p_value = Some(p);
        }
    }
    if let (Some(r), Some(w)) = (&rf.categorical, &wf.categorical) {
        let mut rc: Vec<f64> = r.counts.values().map(|&c| c as f64).collect();
        let mut wc: Vec<f64> = r
            .counts
            .keys()
            .map(|k| w.counts.get(k).copied().unwrap_or(0) as f64)
            .collect();
        rc.push(r.unseen as f64);
        wc.push(w.unseen as f64);
        let props = |v: &[f64]| -> Vec<f64> {
            let s: f64 = v.iter().sum();
            v.iter().map(|x| x / s).collect()
        };
        out.psi = psi(&props(&rc), &props(&wc), PSI_EPS)?;
        out.effect_measure = EffectMeasure::JensenShannonBase2;
        out.effect_size = jensen_shannon(&rc, &wc, Some(2.0))?;
        let res = chi2_homogeneity(&rc, &wc)?;
        out.method = Statistic::ChiSquare;
        out.statistic = res.statistic;
        out.p_value = Some(res.p_value);
    }
    if config.method == Method::Psi {
        out.method = Statistic::Psi;
        out.statistic = out.psi;
        out.p_value = None;
        out.effect_size = out.psi;
        out.effect_measure = EffectMeasure::Psi;
    }
    Ok(out)
}

/// Proportions on deciles: percentile bins (100) are summed ten at a time; other bin counts are
/// used as they are.
fn decile_props(counts: &[u64]) -> Vec<f64> {
    let total: u64 = counts.iter().sum();
    let grouped: Vec<u64> = if counts.len().is_multiple_of(10) && counts.len() > 10 {
        counts
            .chunks(counts.len() / 10)
            .map(|c| c.iter().sum())
            .collect()
    } else {
        counts.to_vec()
    };
    grouped
        .iter()
        .map(|&c| c as f64 / total.max(1) as f64)
        .collect()
}

/// Largest gap between the two binned CDFs.
fn binned_ks(reference: &[u64], current: &[u64]) -> f64 {
    let (nr, nc) = (
        reference.iter().sum::<u64>() as f64,
        current.iter().sum::<u64>() as f64,
    );
    let (mut cr, mut cc, mut d) = (0u64, 0u64, 0.0f64);
    for (r, c) in reference.iter().zip(current) {
        cr += r;
        cc += c;
        d = d.max((cr as f64 / nr - cc as f64 / nc).abs());
    }
    d
}

/// Wasserstein-1 between the binned CDFs over the inner edges (trapezoid rule; the open outer
/// bins are left out).
fn binned_wasserstein(edges: &[f64], reference: &[u64], current: &[u64]) -> f64 {
    let (nr, nc) = (
        reference.iter().sum::<u64>() as f64,
        current.iter().sum::<u64>() as f64,
    );
    let (mut cr, mut cc) = (0u64, 0u64);
    let mut gaps = Vec::with_capacity(edges.len());
    for (r, c) in reference.iter().zip(current).take(edges.len()) {
        cr += r;
        cc += c;
        gaps.push((cr as f64 / nr - cc as f64 / nc).abs());
    }
    edges
        .windows(2)
        .zip(gaps.windows(2))
        .map(|(e, g)| (g[0] + g[1]) / 2.0 * (e[1] - e[0]))
        .sum()
}
