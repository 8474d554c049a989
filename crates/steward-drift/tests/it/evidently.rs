//! Evidently compatibility mode against evidently_compat.json (Evidently 0.7.23's own stattest
//! functions): default test choice, binned proportions, every statistic and every verdict.

use steward_drift::evidently::{ColumnType, StatTest, binned, default_stattest, stattest};

use crate::vectors::{assert_close, load, num, nums, sample};

const REL: f64 = 1e-9;

fn test_named(name: &str) -> StatTest {
    match name {
        "ks" => StatTest::Ks,
        "chisquare" => StatTest::Chisquare,
        "z" => StatTest::Z,
        "wasserstein" | "wasserstein_norm" => StatTest::Wasserstein,
        "jensenshannon" => StatTest::Jensenshannon,
        "psi" => StatTest::Psi,
        "kl_div" => StatTest::KlDiv,
        other => panic!("unknown stattest {other}"),
    }
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

#[test]
fn evidently_stattests_match() {
    let v = load("evidently_compat.json");
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 50);
    let mut checked = 0;
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let kind = if case["feature_type"] == "num" {
            ColumnType::Num
        } else {
            ColumnType::Cat
        };
        let (r, c) = (sample(&case["reference"]), sample(&case["current"]));
        assert_eq!(
            default_stattest(&r, &c, kind),
            test_named(case["default_stattest"]["name"].as_str().unwrap()),
            "{id}"
        );
        let results = case["results"].as_object().unwrap();
        for (key, want) in results {
            if let Some(rest) = key.strip_prefix("binned_feel_zeroes_") {
                let (gr, gc) = binned(&r, &c, kind, rest == "true").unwrap();
                // Evidently orders categories by Python set order; compare as multisets there.
                assert_eq!(gr.len(), nums(&want["ref"]).len(), "{id} {key}");
                for (g, w) in sorted(gr).iter().zip(sorted(nums(&want["ref"]))) {
                    assert_close(&format!("{id} {key} ref"), *g, w, REL);
                }
                for (g, w) in sorted(gc).iter().zip(sorted(nums(&want["cur"]))) {
                    assert_close(&format!("{id} {key} cur"), *g, w, REL);
                }
                continue;
            }
            let test = test_named(key);
            let got = stattest(test, &r, &c, kind).unwrap();
            let (value, flag) = if test.is_p_value() {
                (
                    num(&want["pvalue"]),
                    want["drift_at_0.05"].as_bool().unwrap(),
                )
            } else {
                (num(&want["value"]), want["drift_at_0.1"].as_bool().unwrap())
            };
            assert_close(&format!("{id} {key}"), got.value, value, REL);
            assert_eq!(got.drift, flag, "{id} {key} verdict");
            checked += 1;
        }
    }
    assert!(checked >= 228, "{checked}");
}
