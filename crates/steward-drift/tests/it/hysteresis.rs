//! Composite score and the hysteresis state machine: a score oscillating around a threshold
//! raises one alert, not a storm.

use std::collections::BTreeMap;

use steward_drift::{Hysteresis, HysteresisConfig, Transition, composite_score};

fn run(config: HysteresisConfig, scores: &[f64]) -> Vec<Transition> {
    let mut h = Hysteresis::new(config).unwrap();
    scores.iter().map(|&s| h.update(s).unwrap()).collect()
}

#[test]
fn transitions_table() {
    use Transition::{EnteredDrift as E, None as N, Recovered as R};
    let default = HysteresisConfig::default();
    let cases: Vec<(HysteresisConfig, Vec<f64>, Vec<Transition>)> = vec![
        // Oscillating around the high threshold: one alert.
        (
            default,
            vec![0.14, 0.16, 0.14, 0.16, 0.14, 0.16],
            vec![N, E, N, N, N, N],
        ),
        // Oscillating around the low threshold after entering: one recovery.
        (
            default,
            vec![0.2, 0.09, 0.11, 0.09, 0.11],
            vec![E, R, N, N, N],
        ),
        // Exactly at the thresholds does not move.
        (default, vec![0.15, 0.2, 0.10, 0.099], vec![N, E, N, R]),
        // Two consecutive windows needed.
        (
            HysteresisConfig {
                min_consecutive: 2,
                ..default
            },
            vec![0.2, 0.1, 0.2, 0.2, 0.0, 0.2, 0.0, 0.0],
            vec![N, N, N, E, N, N, N, R],
        ),
        // Cooldown suppresses re-entry for two windows.
        (
            HysteresisConfig {
                cooldown_windows: 2,
                ..default
            },
            vec![0.3, 0.0, 0.3, 0.3, 0.3],
            vec![E, R, N, N, E],
        ),
    ];
    for (i, (config, scores, want)) in cases.into_iter().enumerate() {
        assert_eq!(run(config, &scores), want, "case {i}");
    }
}

#[test]
fn invalid_configs_and_scores_are_errors() {
    assert!(
        Hysteresis::new(HysteresisConfig {
            low: 0.2,
            high: 0.1,
            ..Default::default()
        })
        .is_err()
    );
    let mut h = Hysteresis::new(HysteresisConfig::default()).unwrap();
    assert!(h.update(f64::NAN).is_err());
}

#[test]
fn composite_score_weights() {
    let features = vec![
        ("a".to_owned(), true),
        ("b".to_owned(), false),
        ("c".to_owned(), false),
        ("d".to_owned(), false),
    ];
    assert_eq!(composite_score(&features, None).unwrap(), 0.25);
    let importance: BTreeMap<String, f64> = [("a".to_owned(), 3.0), ("b".to_owned(), 1.0)]
        .into_iter()
        .collect();
    assert_eq!(composite_score(&features, Some(&importance)).unwrap(), 0.75);
    assert_eq!(composite_score(&[], None).unwrap(), 0.0);
    let bad: BTreeMap<String, f64> = [("a".to_owned(), -1.0)].into_iter().collect();
    assert!(composite_score(&features, Some(&bad)).is_err());
}
