//! SageMaker baselines imported as reference profiles: the fixture of tests/data/sagemaker
//! (written by make_baseline.py as a SageMaker baselining job would, 5,000 rows) against windows
//! drawn from the same generators, shifted or not; a baseline whose sketch still holds every
//! value gives the profile of the rows themselves; malformed files name the JSON path.

use serde_json::{Value, json};
use steward_drift::sagemaker::{InferredType, SageMakerBaseline, import_baseline};
use steward_drift::synth::{GenSpec, SplitMix64};
use steward_drift::{
    Column, DriftConfig, DriftReport, FeatureRole, Profile, Statistic, Verdict, WindowProfile,
    compare,
};

const STATISTICS: &str = include_str!("../data/sagemaker/statistics.json");
const CONSTRAINTS: &str = include_str!("../data/sagemaker/constraints.json");

fn baseline() -> SageMakerBaseline {
    import_baseline(STATISTICS, Some(CONSTRAINTS), &["score"]).unwrap()
}

/// Thresholds of US, DE and FR (JP takes the rest), as make_baseline.py draws `country`.
const COUNTRY_MIX: [f64; 3] = [0.45, 0.75, 0.90];

/// A window of `n` rows from make_baseline.py's generators with other seeds; `income_shift` in
/// standard deviations, `mix` the country thresholds.
fn window(reference: &Profile, n: usize, income_shift: f64, mix: [f64; 3]) -> WindowProfile {
    let age: Vec<Option<f64>> = GenSpec::IntUniform {
        seed: 21,
        n,
        k: 62,
        lo: 18.0,
    }
    .generate()
    .into_iter()
    .enumerate()
    .map(|(i, v)| (i % 40 != 7).then_some(v))
    .collect();
    let sd = 9000.0 / 3f64.sqrt();
    let income: Vec<Option<f64>> = GenSpec::IrwinHall4 {
        seed: 22,
        n,
        loc: 52000.0 + income_shift * sd,
        scale: 9000.0,
    }
    .generate()
    .into_iter()
    .map(Some)
    .collect();
    let mut rng = SplitMix64::new(23);
    let country: Vec<Option<&str>> = (0..n)
        .map(|i| {
            let u = rng.next_f64();
            let c = match mix.iter().position(|t| u < *t) {
                Some(0) => "US",
                Some(1) => "DE",
                Some(2) => "FR",
                _ => "JP",
            };
            (i % 100 != 3).then_some(c)
        })
        .collect();
    let score: Vec<Option<f64>> = GenSpec::Uniform {
        seed: 24,
        n,
        lo: 0.0,
        hi: 1.0,
    }
    .generate()
    .into_iter()
    .map(Some)
    .collect();
    let mut w = WindowProfile::empty(reference, 0);
    // Two batches, as a window arrives.
    for range in [0..n / 2, n / 2..n] {
        w.observe(
            reference,
            &[
                Column::numeric("age", &age[range.clone()]),
                Column::numeric("income", &income[range.clone()]),
                Column::categorical("country", &country[range.clone()]),
                Column::numeric("score", &score[range]).with_role(FeatureRole::Prediction),
            ],
        )
        .unwrap();
    }
    w
}

fn verdicts(report: &DriftReport) -> Vec<(String, Verdict)> {
    let mut v: Vec<(String, Verdict)> = report
        .features
        .iter()
        .map(|f| (f.feature.clone(), f.verdict))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn the_fixture_imports_as_a_profile_with_its_constraints() {
    let b = baseline();
    let p = &b.profile;
    assert_eq!(p.rows, 5000);
    let names: Vec<&str> = p.features.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["age", "income", "country", "score"]);
    assert_eq!(b.skipped, ["note"]);

    let age = p.feature("age").unwrap();
    assert_eq!((age.count, age.missing), (4875, 125));
    let n = age.numeric.as_ref().unwrap();
    assert_eq!(n.edges.len(), 99, "percentile bins from the sketch");
    assert_eq!(n.counts.iter().sum::<u64>(), 4875);
    assert!(!n.sample.is_complete(), "a sketch is not the rows");
    assert_eq!((n.moments.min, n.moments.max), (18.0, 79.0));
    assert!((n.edges[49] - 48.0).abs() <= 2.0, "median {}", n.edges[49]);

    let income = p.feature("income").unwrap().numeric.as_ref().unwrap();
    assert!((income.moments.mean - 52000.0).abs() < 200.0);
    assert!((income.moments.std() - 9000.0 / 3f64.sqrt()).abs() < 100.0);
    assert_eq!(income.sketch.count(), 5000);

    let country = p.feature("country").unwrap();
    assert_eq!((country.count, country.missing), (4950, 50));
    let c = country.categorical.as_ref().unwrap();
    let keys: Vec<&str> = c.counts.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["DE", "FR", "JP", "US"],
        "NullValue is the missing count"
    );
    assert_eq!(c.unseen, 0);

    assert_eq!(p.feature("score").unwrap().role, FeatureRole::Prediction);
    assert_eq!(p.feature("age").unwrap().role, FeatureRole::Input);

    let age_c = b.constraint("age").unwrap();
    assert_eq!(age_c.inferred_type, Some(InferredType::Integral));
    assert_eq!(age_c.completeness, Some(0.975));
    assert_eq!(age_c.non_negative, Some(true));
    let domains = b.constraint("country").unwrap().domains.clone().unwrap();
    assert_eq!(domains, ["DE", "FR", "JP", "US"]);
    assert_eq!(b.constraints.len(), 5);
}

#[test]
fn a_window_from_the_same_distribution_does_not_drift() {
    let b = baseline();
    let report = compare(
        &b.profile,
        &window(&b.profile, 2000, 0.0, COUNTRY_MIX),
        &DriftConfig::default(),
    )
    .unwrap();
    assert!(!report.dataset_drift, "{:?}", verdicts(&report));
    assert_eq!(report.tested_features, 4);
    for f in &report.features {
        assert_ne!(f.verdict, Verdict::Drift, "{}", f.feature);
        if f.kind == steward_drift::FeatureKind::Numeric {
            assert_eq!(f.method, Statistic::KsBinned, "{}", f.feature);
        }
    }
    // A value or two beyond the baseline's range is expected; missing rates and categories
    // are the baseline's.
    assert!(
        report.findings.iter().all(
            |f| matches!(f, steward_drift::Finding::OutOfRange { share, .. } if *share < 0.01)
        ),
        "{:?}",
        report.findings
    );
}

#[test]
fn a_shifted_window_drifts_in_the_shifted_features_only() {
    let b = baseline();
    let report = compare(
        &b.profile,
        &window(&b.profile, 2000, 0.5, [0.30, 0.60, 0.80]),
        &DriftConfig::default(),
    )
    .unwrap();
    let got = verdicts(&report);
    let drifted: Vec<&str> = got
        .iter()
        .filter(|(_, v)| *v == Verdict::Drift)
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(drifted, ["country", "income"], "{got:?}");
    let income = report.features.iter().find(|f| f.feature == "income");
    let effect = income.unwrap().effect_size;
    assert!(
        (0.35..0.65).contains(&effect),
        "a 0.5 sd shift, got {effect}"
    );
    let prediction = report.prediction_drift().unwrap();
    assert_eq!(
        (prediction.feature.as_str(), prediction.verdict),
        ("score", Verdict::NoDrift)
    );
}

#[test]
fn without_sketch_data_the_buckets_bin_the_profile() {
    let mut stats: Value = serde_json::from_str(STATISTICS).unwrap();
    for f in stats["features"].as_array_mut().unwrap() {
        if let Some(kll) = f.pointer_mut("/numerical_statistics/distribution/kll") {
            kll.as_object_mut().unwrap().remove("sketch");
        }
    }
    let b = import_baseline(&stats.to_string(), None, &["score"]).unwrap();
    let income = b
        .profile
        .feature("income")
        .unwrap()
        .numeric
        .as_ref()
        .unwrap();
    assert_eq!(income.edges.len(), 9, "ten equal-width buckets");
    assert_eq!(income.counts.iter().sum::<u64>(), 5000);
    assert!(b.constraints.is_empty());

    let same = compare(
        &b.profile,
        &window(&b.profile, 2000, 0.0, COUNTRY_MIX),
        &DriftConfig::default(),
    )
    .unwrap();
    assert!(!same.dataset_drift, "{:?}", verdicts(&same));
    let shifted = compare(
        &b.profile,
        &window(&b.profile, 2000, 0.5, COUNTRY_MIX),
        &DriftConfig::default(),
    )
    .unwrap();
    let drifted: Vec<(String, Verdict)> = verdicts(&shifted)
        .into_iter()
        .filter(|v| v.1 == Verdict::Drift)
        .collect();
    assert_eq!(drifted, [("income".to_owned(), Verdict::Drift)]);
}

/// statistics.json of one Fractional feature whose sketch holds every value in one level, as
/// Deequ's does up to 2,050 values.
fn one_level_statistics(values: &[f64]) -> String {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let std = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let (min, max) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    json!({
        "version": 0.0,
        "dataset": {"item_count": values.len()},
        "features": [{
            "name": "x",
            "inferred_type": "Fractional",
            "numerical_statistics": {
                "common": {"num_present": values.len(), "num_missing": 0},
                "mean": mean, "sum": mean * n, "std_dev": std, "min": min, "max": max,
                "distribution": {"kll": {
                    "buckets": [{"lower_bound": min, "upper_bound": max, "count": n}],
                    "sketch": {"parameters": {"c": 0.64, "k": 2048.0}, "data": [values]}
                }}
            }
        }]
    })
    .to_string()
}

#[test]
fn a_sketch_holding_every_value_gives_the_rows_own_profile_and_exact_tests() {
    let values = GenSpec::IrwinHall4 {
        seed: 31,
        n: 600,
        loc: 10.0,
        scale: 2.0,
    }
    .generate();
    let rows: Vec<Option<f64>> = values.iter().copied().map(Some).collect();
    let imported = import_baseline(&one_level_statistics(&values), None, &[])
        .unwrap()
        .profile;
    let native = Profile::from_reference(&[Column::numeric("x", &rows)]).unwrap();
    let (a, b) = (
        imported.features[0].numeric.as_ref().unwrap(),
        native.features[0].numeric.as_ref().unwrap(),
    );
    assert_eq!(a.edges, b.edges);
    assert_eq!(a.counts, b.counts);
    assert!(a.sample.is_complete());
    let (mut sa, mut sb) = (a.sample.values(), b.sample.values());
    sa.sort_by(f64::total_cmp);
    sb.sort_by(f64::total_cmp);
    assert_eq!(sa, sb);
    assert!((a.moments.std() - b.moments.std()).abs() < 1e-9);

    let current: Vec<Option<f64>> = GenSpec::IrwinHall4 {
        seed: 32,
        n: 400,
        loc: 10.6,
        scale: 2.0,
    }
    .generate()
    .into_iter()
    .map(Some)
    .collect();
    let cols = [Column::numeric("x", &current)];
    let config = DriftConfig::default();
    let ri = compare(
        &imported,
        &WindowProfile::from_window(&imported, &cols).unwrap(),
        &config,
    )
    .unwrap();
    let rn = compare(
        &native,
        &WindowProfile::from_window(&native, &cols).unwrap(),
        &config,
    )
    .unwrap();
    let (fi, fnat) = (&ri.features[0], &rn.features[0]);
    assert_eq!(fi.method, Statistic::KsExact);
    assert_eq!((fi.statistic, fi.p_value), (fnat.statistic, fnat.p_value));
    assert_eq!(fi.verdict, Verdict::Drift);
}

/// A change to the fixture, the file it breaks, the path and words its error names.
type Case = (
    &'static str,
    fn(&mut Value),
    &'static str,
    &'static str,
    &'static str,
);

#[test]
fn malformed_baselines_name_the_file_and_the_json_path() {
    let cases: Vec<Case> = vec![
        (
            "unknown type",
            |v| v["features"][1]["inferred_type"] = json!("Boolean"),
            "statistics.json",
            "features[1].inferred_type",
            "unknown variant `Boolean`",
        ),
        (
            "text in the sketch",
            |v| {
                v["features"][0]["numerical_statistics"]["distribution"]["kll"]["sketch"]["data"]
                    [1][2] = json!("x")
            },
            "statistics.json",
            "features[0].numerical_statistics.distribution.kll.sketch.data[1][2]",
            "invalid type: string \"x\"",
        ),
        (
            "no sketch, no buckets",
            |v| {
                let k = v
                    .pointer_mut("/features/1/numerical_statistics/distribution/kll")
                    .unwrap();
                *k = json!({"buckets": []});
            },
            "statistics.json",
            "features[1].numerical_statistics.distribution.kll",
            "neither sketch data nor buckets",
        ),
        (
            "negative bucket count",
            |v| {
                let k = &mut v["features"][1]["numerical_statistics"]["distribution"]["kll"];
                k.as_object_mut().unwrap().remove("sketch");
                k["buckets"][2]["count"] = json!(-3.0);
            },
            "statistics.json",
            "features[1].numerical_statistics.distribution.kll.buckets[2].count",
            "-3 is not a count",
        ),
        (
            "buckets with a gap",
            |v| {
                let k = &mut v["features"][1]["numerical_statistics"]["distribution"]["kll"];
                k.as_object_mut().unwrap().remove("sketch");
                k["buckets"][4]["lower_bound"] = json!(1.0);
            },
            "statistics.json",
            "features[1].numerical_statistics.distribution.kll.buckets[4].lower_bound",
            "does not continue buckets[3].upper_bound",
        ),
        (
            "no kll",
            |v| v["features"][0]["numerical_statistics"]["distribution"] = json!({}),
            "statistics.json",
            "features[0].numerical_statistics.distribution.kll",
            "missing",
        ),
        (
            "numeric feature without numbers",
            |v| {
                v["features"][3]
                    .as_object_mut()
                    .unwrap()
                    .remove("numerical_statistics");
            },
            "statistics.json",
            "features[3].numerical_statistics",
            "missing for a feature of type Fractional",
        ),
        (
            "no mean",
            |v| {
                v["features"][1]["numerical_statistics"]
                    .as_object_mut()
                    .unwrap()
                    .remove("mean");
            },
            "statistics.json",
            "features[1].numerical_statistics.mean",
            "missing",
        ),
        (
            "min above max",
            |v| v["features"][1]["numerical_statistics"]["min"] = json!(1e9),
            "statistics.json",
            "features[1].numerical_statistics",
            "min 1000000000 is above max",
        ),
        (
            "a name twice",
            |v| v["features"][2]["name"] = json!("age"),
            "statistics.json",
            "features[2].name",
            "\"age\" appears twice",
        ),
        (
            "categories beyond the count",
            |v| v["features"][2]["string_statistics"]["common"]["num_present"] = json!(100),
            "statistics.json",
            "features[2].string_statistics.distribution.categorical.buckets",
            "more than common.num_present (100)",
        ),
        (
            "item count as text",
            |v| v["dataset"]["item_count"] = json!("5000"),
            "statistics.json",
            "dataset.item_count",
            "invalid type: string \"5000\", expected f64",
        ),
        (
            "completeness as text",
            |v| v["features"][0]["completeness"] = json!("high"),
            "constraints.json",
            "features[0].completeness",
            "invalid type: string \"high\"",
        ),
        (
            "completeness above 1",
            |v| v["features"][1]["completeness"] = json!(1.5),
            "constraints.json",
            "features[1].completeness",
            "1.5 is not a share between 0 and 1",
        ),
    ];
    for (what, change, file, path, words) in cases {
        let (mut stats, mut cons): (Value, Value) = (
            serde_json::from_str(STATISTICS).unwrap(),
            serde_json::from_str(CONSTRAINTS).unwrap(),
        );
        change(if file == "statistics.json" {
            &mut stats
        } else {
            &mut cons
        });
        let err = import_baseline(&stats.to_string(), Some(&cons.to_string()), &["score"])
            .expect_err(what)
            .to_string();
        let want = format!("SageMaker {file}, {path}: ");
        assert!(err.starts_with(&want), "{what}: {err}");
        assert!(err.contains(words), "{what}: {err}");
    }
}

#[test]
fn unreadable_text_and_unknown_predictions_are_errors_too() {
    let err = import_baseline("{\"version\": 0.0, \"features\": [", None, &[])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("SageMaker statistics.json, ") && err.contains("EOF while parsing"),
        "{err}"
    );
    let err = import_baseline(&format!("{STATISTICS} x"), None, &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("top level: trailing characters"), "{err}");
    let err = import_baseline(STATISTICS, None, &["scroe"])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("features: no feature is called \"scroe\" (named as a prediction)"),
        "{err}"
    );
}
