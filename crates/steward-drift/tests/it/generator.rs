//! The SplitMix64 generator and sample specs reproduce generator_selftest.json bit for bit
//! (raw outputs, first values and the SHA-256 of whole arrays).

use sha2::{Digest, Sha256};
use steward_drift::synth::{GenSpec, SplitMix64};

use crate::vectors::{load, nums};

#[test]
fn raw_outputs_match() {
    let v = load("generator_selftest.json");
    for row in v["raw_u64"].as_array().unwrap() {
        let seed: u64 = row["seed"].as_u64().unwrap();
        let mut rng = SplitMix64::new(seed);
        for want in row["first10"].as_array().unwrap() {
            let want: u64 = want.as_str().unwrap().parse().unwrap();
            assert_eq!(rng.next_u64(), want, "seed {seed}");
        }
    }
}

#[test]
fn samples_match_sha256() {
    let v = load("generator_selftest.json");
    let samples = v["samples"].as_array().unwrap();
    assert!(samples.len() >= 5);
    for s in samples {
        let spec: GenSpec = serde_json::from_value(s["gen"].clone()).unwrap();
        let data = spec.generate();
        if let Some(first8) = s.get("data_first8") {
            let want = nums(first8);
            assert_eq!(&data[..want.len()], want.as_slice(), "{spec:?}");
        }
        let mut hasher = Sha256::new();
        for x in &data {
            hasher.update(x.to_le_bytes());
        }
        let got = hex::encode(hasher.finalize());
        assert_eq!(
            got,
            s["checks"]["sha256_f64le"].as_str().unwrap(),
            "{spec:?}"
        );
    }
}
