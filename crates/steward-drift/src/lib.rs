//! Steward's drift statistics: pure, fast, no IO.
//!
//! See the crate README for the API tour and the accuracy notes.

pub mod binning;
pub mod chi2;
pub mod divergence;
pub mod error;
pub mod kolmogorov;
pub mod ks;
pub mod special;
pub mod synth;
pub mod wasserstein;

pub use error::DriftError;
pub use ks::{Alternative, KsMethod, KsResult, ks_2samp, ks_2samp_sorted};
