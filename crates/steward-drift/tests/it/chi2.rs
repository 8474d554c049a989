//! chi2_contingency (with and without Yates), evidently-style chisquare, against
//! chi2_contingency.json.

use serde_json::Value;
use steward_drift::DriftError;
use steward_drift::chi2::{chi2_contingency, chisquare};

use crate::vectors::{assert_close, load, num, nums};

const REL: f64 = 1e-9;

fn flatten(v: &Value, shape: &mut Vec<usize>, out: &mut Vec<f64>, depth: usize) {
    match v {
        Value::Array(items) => {
            if shape.len() == depth {
                shape.push(items.len());
            }
            for it in items {
                flatten(it, shape, out, depth + 1);
            }
        }
        other => out.push(num(other)),
    }
}

#[test]
fn chi2_contingency_matches_scipy() {
    let v = load("chi2_contingency.json");
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 25);
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let (mut shape, mut data) = (Vec::new(), Vec::new());
        flatten(&case["observed"], &mut shape, &mut data, 0);
        for (key, correction) in [("correction_true", true), ("correction_false", false)] {
            let want = &case["results"][key];
            let got = chi2_contingency(&data, &shape, correction);
            if want.get("error").is_some() {
                assert!(
                    matches!(got, Err(DriftError::ZeroExpected(_))),
                    "{id} {key}: {got:?}"
                );
                continue;
            }
            let got = got.unwrap_or_else(|e| panic!("{id} {key}: {e}"));
            assert_close(
                &format!("{id} {key} stat"),
                got.statistic,
                num(&want["statistic"]),
                REL,
            );
            assert_close(
                &format!("{id} {key} p"),
                got.p_value,
                num(&want["pvalue"]),
                REL,
            );
            assert_eq!(got.dof as u64, want["dof"].as_u64().unwrap(), "{id}");
            let (mut es, mut ed) = (Vec::new(), Vec::new());
            flatten(&want["expected_freq"], &mut es, &mut ed, 0);
            for (g, w) in got.expected.iter().zip(&ed) {
                assert_close(&format!("{id} expected"), *g, *w, REL);
            }
        }
        if let Some(ev) = case.get("evidently_style_chisquare") {
            let rows: Vec<Vec<f64>> = case["observed"]
                .as_array()
                .unwrap()
                .iter()
                .map(nums)
                .collect();
            let (reference, current) = (&rows[0], &rows[1]);
            let k = current.iter().sum::<f64>() / reference.iter().sum::<f64>();
            let f_exp: Vec<f64> = reference.iter().map(|r| r * k).collect();
            for (g, w) in f_exp.iter().zip(nums(&ev["f_exp"])) {
                assert_close(&format!("{id} f_exp"), *g, w, REL);
            }
            let (stat, p) = chisquare(current, &f_exp).unwrap();
            assert_close(&format!("{id} ev stat"), stat, num(&ev["statistic"]), REL);
            assert_close(&format!("{id} ev p"), p, num(&ev["pvalue"]), REL);
        }
    }
}
