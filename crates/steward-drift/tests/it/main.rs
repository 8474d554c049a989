//! Integration tests of steward-drift against the shared scipy/evidently reference vectors.

mod generator;
mod ks;
mod vectors;
