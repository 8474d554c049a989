//! Integration tests of steward-drift against the shared scipy/evidently reference vectors,
//! and of the SageMaker baseline import against a fixture written as SageMaker writes it.

mod chi2;
mod concept;
mod divergence;
mod estimate;
mod evidently;
mod generator;
mod hysteresis;
mod ks;
mod report;
mod sagemaker;
mod slices;
mod vectors;
mod wasserstein;
