//! Loading the shared reference vectors: directory lookup, JSON helpers and sample materialisation.

use std::path::PathBuf;

use serde_json::Value;
use steward_drift::synth::GenSpec;

/// The vectors directory, kept in the repository (`tests/vectors`, a copy of the reference
/// vectors computed with scipy, numpy and Evidently; see its README). Panics (failing the test)
/// with a clear message when it is missing: the tests must not pass silently without their
/// reference data.
pub fn dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors"));
    assert!(
        dir.join("README.md").is_file(),
        "reference vectors not found at {}",
        dir.display()
    );
    dir
}

/// Parses one vectors file.
pub fn load(name: &str) -> Value {
    let path = dir().join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()))
}

/// A float that may be written as the strings "inf", "-inf" or "nan".
pub fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().expect("number"),
        Value::String(s) => match s.as_str() {
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            "nan" => f64::NAN,
            other => panic!("unexpected float string {other:?}"),
        },
        Value::Bool(b) => f64::from(u8::from(*b)),
        other => panic!("expected a number, got {other}"),
    }
}

/// An array of floats.
pub fn nums(v: &Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(num).collect()
}

/// Materialises a sample object `{gen, data?, checks?}`.
pub fn sample(v: &Value) -> Vec<f64> {
    if let Some(data) = v.get("data") {
        return nums(data);
    }
    let spec: GenSpec = serde_json::from_value(v["gen"].clone()).expect("gen spec");
    let data = spec.generate();
    if let Some(first3) = v.get("checks").and_then(|c| c.get("first3")) {
        assert_eq!(
            &data[..3],
            nums(first3).as_slice(),
            "generator drifted from the vectors"
        );
    }
    data
}

/// Relative closeness with an absolute floor for values near zero; equal infinities and NaNs
/// count as equal.
pub fn close(got: f64, want: f64, rel: f64) -> bool {
    if want.is_nan() {
        return got.is_nan();
    }
    if want.is_infinite() || got.is_infinite() {
        return got == want;
    }
    let diff = (got - want).abs();
    diff <= rel * want.abs() || diff <= 1e-300
}

/// Asserts closeness with a labelled message.
#[track_caller]
pub fn assert_close(label: &str, got: f64, want: f64, rel: f64) {
    assert!(
        close(got, want, rel),
        "{label}: got {got:e}, want {want:e} (rel err {:e})",
        ((got - want) / want).abs()
    );
}
