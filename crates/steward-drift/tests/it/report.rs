//! Profiles, window merging and drift reports: verdicts a user would see on synthetic data.

use steward_drift::synth::SplitMix64;
use steward_drift::{
    Column, DriftConfig, DriftError, FeatureRole, Finding, Profile, SchemaIssue, Verdict,
    WindowProfile, compare,
};

fn normal(seed: u64, n: usize, loc: f64, scale: f64) -> Vec<Option<f64>> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| Some(loc + scale * rng.next_normal()))
        .collect()
}

fn categories(seed: u64, n: usize, weights: &[f64]) -> Vec<Option<&'static str>> {
    const NAMES: [&str; 9] = ["a", "b", "c", "d", "e", "f", "g", "h", "zz"];
    let total: f64 = weights.iter().sum();
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| {
            let mut u = rng.next_f64() * total;
            for (i, w) in weights.iter().enumerate() {
                if u < *w {
                    return Some(NAMES[i]);
                }
                u -= w;
            }
            Some(NAMES[weights.len() - 1])
        })
        .collect()
}

fn verdict(reference: &Profile, window: &WindowProfile, name: &str) -> Verdict {
    let report = compare(reference, window, &DriftConfig::default()).unwrap();
    report
        .features
        .iter()
        .find(|f| f.feature == name)
        .unwrap()
        .verdict
}

#[test]
fn numeric_verdicts_by_shift_and_size() {
    // (n, shift in sd, scale, expected verdict)
    let cases = [
        (1_000, 0.0, 1.0, Verdict::NoDrift),
        (1_000, 0.5, 1.0, Verdict::Drift),
        (50_000, 0.1, 1.0, Verdict::Drift),
        (50_000, 0.0, 1.5, Verdict::Drift),
        (400_000, 0.02, 1.0, Verdict::NegligibleDrift),
        (20, 2.0, 1.0, Verdict::InsufficientData),
    ];
    for (i, &(n, shift, scale, want)) in cases.iter().enumerate() {
        let r = normal(100 + i as u64, n, 0.0, 1.0);
        let c = normal(200 + i as u64, n, shift, scale);
        let reference = Profile::from_reference(&[Column::numeric("x", &r)]).unwrap();
        let window = WindowProfile::from_window(&reference, &[Column::numeric("x", &c)]).unwrap();
        assert_eq!(
            verdict(&reference, &window, "x"),
            want,
            "case {i}: n={n} shift={shift} scale={scale}"
        );
    }
}

#[test]
fn categorical_mix_change_and_unseen_category() {
    let r = categories(1, 20_000, &[1.0; 8]);
    let same = categories(2, 20_000, &[1.0; 8]);
    let mixed = categories(3, 20_000, &[2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
    let unseen = categories(4, 20_000, &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]);
    let reference = Profile::from_reference(&[Column::categorical("c", &r)]).unwrap();
    for (data, want) in [
        (&same, Verdict::NoDrift),
        (&mixed, Verdict::Drift),
        (&unseen, Verdict::Drift),
    ] {
        let w = WindowProfile::from_window(&reference, &[Column::categorical("c", data)]).unwrap();
        assert_eq!(verdict(&reference, &w, "c"), want);
    }
    let w = WindowProfile::from_window(&reference, &[Column::categorical("c", &unseen)]).unwrap();
    let report = compare(&reference, &w, &DriftConfig::default()).unwrap();
    assert!(report.findings.iter().any(
        |f| matches!(f, Finding::UnseenCategories { examples, .. } if examples == &vec!["zz".to_owned()])
    ));
}

#[test]
fn merged_halves_give_the_same_report_as_the_whole() {
    for n in [1_000usize, 60_000] {
        let r = normal(7, n, 0.0, 1.0);
        let c = normal(8, n, 0.15, 1.0);
        let cats = categories(9, n, &[3.0, 1.0, 1.0]);
        let reference =
            Profile::from_reference(&[Column::numeric("x", &r), Column::categorical("c", &cats)])
                .unwrap();
        let whole = WindowProfile::from_window(
            &reference,
            &[Column::numeric("x", &c), Column::categorical("c", &cats)],
        )
        .unwrap();
        let half = n / 2;
        let mut a = WindowProfile::empty(&reference, 0);
        a.observe(
            &reference,
            &[
                Column::numeric("x", &c[..half]),
                Column::categorical("c", &cats[..half]),
            ],
        )
        .unwrap();
        let mut b = WindowProfile::empty(&reference, 1);
        b.observe(
            &reference,
            &[
                Column::numeric("x", &c[half..]),
                Column::categorical("c", &cats[half..]),
            ],
        )
        .unwrap();
        a.merge(&b).unwrap();
        let config = DriftConfig::default();
        let ra = compare(&reference, &a, &config).unwrap();
        let rw = compare(&reference, &whole, &config).unwrap();
        for (x, y) in ra.features.iter().zip(&rw.features) {
            assert_eq!(x.verdict, y.verdict, "n={n} {}", x.feature);
            assert_eq!(x.statistic, y.statistic, "n={n} {}", x.feature);
            assert_eq!(x.p_value, y.p_value, "n={n} {}", x.feature);
            assert!((x.effect_size - y.effect_size).abs() < 1e-12);
        }
        assert_eq!(a.rows, whole.rows);
    }
}

#[test]
fn profiles_round_trip_through_json_and_check_their_version() {
    let r = normal(1, 500, 0.0, 1.0);
    let reference = Profile::from_reference(&[Column::numeric("x", &r)]).unwrap();
    let json = serde_json::to_string(&reference).unwrap();
    let back: Profile = serde_json::from_str(&json).unwrap();
    assert_eq!(back.fingerprint(), reference.fingerprint());
    let window = WindowProfile::from_window(&back, &[Column::numeric("x", &r)]).unwrap();
    let mut wjson: serde_json::Value = serde_json::to_value(&window).unwrap();
    wjson["format_version"] = serde_json::json!(99);
    let future: WindowProfile = serde_json::from_value(wjson).unwrap();
    assert!(matches!(
        compare(&reference, &future, &DriftConfig::default()),
        Err(DriftError::UnsupportedVersion { found: 99, .. })
    ));
    let report = compare(&reference, &window, &DriftConfig::default()).unwrap();
    assert!(
        serde_json::to_string(&report)
            .unwrap()
            .contains("\"verdict\":\"no_drift\"")
    );
}

#[test]
fn bad_input_gives_clear_errors_and_schema_findings() {
    let r = normal(1, 100, 0.0, 1.0);
    let mut bad = r.clone();
    bad[17] = Some(f64::NAN);
    let err = Profile::from_reference(&[Column::numeric("income", &bad)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "column \"income\" has a non-finite value (NaN) at row 17"
    );
    let reference =
        Profile::from_reference(&[Column::numeric("x", &r), Column::numeric("y", &r)]).unwrap();
    let cats = vec![Some("a"); 100];
    let w = WindowProfile::from_window(
        &reference,
        &[Column::categorical("x", &cats), Column::numeric("z", &r)],
    )
    .unwrap();
    let report = compare(&reference, &w, &DriftConfig::default()).unwrap();
    let issues: Vec<&SchemaIssue> = report
        .findings
        .iter()
        .filter_map(|f| {
            if let Finding::Schema(s) = f {
                Some(s)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(issues.len(), 3, "{issues:?}");
    let other =
        Profile::from_reference(&[Column::numeric("x", &normal(2, 100, 0.0, 1.0))]).unwrap();
    assert!(matches!(
        compare(&other, &w, &DriftConfig::default()),
        Err(DriftError::Incompatible(_))
    ));
    assert!(
        Profile::from_reference(&[Column::numeric("x", &r[..10]), Column::numeric("y", &r)])
            .is_err()
    );
}

#[test]
fn prediction_drift_and_missing_rate_findings() {
    let r = normal(11, 5_000, 0.0, 1.0);
    let mut c = normal(12, 5_000, 1.0, 1.0);
    for v in c.iter_mut().step_by(10) {
        *v = None;
    }
    let reference =
        Profile::from_reference(&[Column::numeric("score", &r).with_role(FeatureRole::Prediction)])
            .unwrap();
    let w = WindowProfile::from_window(
        &reference,
        &[Column::numeric("score", &c).with_role(FeatureRole::Prediction)],
    )
    .unwrap();
    let report = compare(&reference, &w, &DriftConfig::default()).unwrap();
    assert_eq!(report.prediction_drift().unwrap().verdict, Verdict::Drift);
    assert!(
        report
            .findings
            .iter()
            .any(|f| matches!(f, Finding::MissingRateChange { .. }))
    );
    assert!(
        report
            .findings
            .iter()
            .any(|f| matches!(f, Finding::OutOfRange { above, .. } if *above > 0))
    );
    assert_eq!(report.composite_score, 1.0);
}
