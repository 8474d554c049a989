//! Integration tests of steward-drift against the shared scipy/evidently reference vectors.

mod chi2;
mod concept;
mod divergence;
mod evidently;
mod generator;
mod hysteresis;
mod ks;
mod report;
mod vectors;
mod wasserstein;
