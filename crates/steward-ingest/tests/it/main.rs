//! steward-ingest's integration tests: every format from every kind of input, schemas given and
//! inferred, SageMaker data capture, and bad input named by source, column and row.

mod bad_input;
mod fixtures;
mod formats;
mod sagemaker;
mod schemas;
