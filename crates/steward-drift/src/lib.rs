//! Steward's drift statistics: pure, fast, no IO.
//!
//! See the crate README for the API tour and the accuracy notes.

pub mod binning;
pub mod chi2;
pub mod concept;
pub mod divergence;
pub mod error;
pub mod estimate;
pub mod evidently;
pub mod fastbin;
pub mod kolmogorov;
pub mod ks;
pub mod multiple;
pub mod numeric;
pub mod performance;
pub mod profile;
pub mod quality;
pub mod report;
pub mod reservoir;
pub mod sagemaker;
pub mod score;
pub mod sketch;
pub mod special;
pub mod synth;
pub mod wasserstein;
pub mod window;

pub use error::DriftError;
pub use ks::{Alternative, KsMethod, KsResult, ks_2samp, ks_2samp_sorted};
pub use multiple::Correction;
pub use profile::{Column, ColumnData, FeatureKind, FeatureRole, Profile, ProfileConfig};
pub use quality::Finding;
pub use report::{
    DriftConfig, DriftReport, EffectMeasure, FeatureDrift, Method, Statistic, Verdict, compare,
};
pub use sagemaker::{SageMakerBaseline, import_baseline};
pub use score::{DriftState, Hysteresis, HysteresisConfig, Transition, composite_score};
pub use window::{SchemaIssue, WindowProfile};
