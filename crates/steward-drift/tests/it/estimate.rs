//! Window performance against the holdout, judged over many seeds: a window of about 700
//! labelled rows from the same calibrated model the holdout measured is flagged "degraded" in at
//! most 5% of windows, while a window that lost 0.1 accuracy is flagged in at least 90%; the
//! confidence intervals cover the true value about 95% of the time.

use std::collections::BTreeMap;

use steward_drift::concept::ConceptConfig;
use steward_drift::estimate::binary_window;
use steward_drift::synth::SplitMix64;

const ROWS: usize = 700;
const SEEDS: u64 = 400;

/// A calibrated logistic model's labelled window; with `flip`, that share of labels is inverted
/// (the world changed: the same scores now mean something else).
fn window(rng: &mut SplitMix64, rows: usize, flip: f64) -> (Vec<bool>, Vec<f64>) {
    (0..rows)
        .map(|_| {
            let x = rng.next_normal();
            let p = 1.0 / (1.0 + (-2.2 * x).exp());
            let label = rng.next_f64() < p;
            (if rng.next_f64() < flip { !label } else { label }, p)
        })
        .unzip()
}

/// The holdout metrics: accuracy and AUC of a very large window of the same model.
fn holdout() -> BTreeMap<String, f64> {
    let mut rng = SplitMix64::new(0xBA5E);
    let (l, s) = window(&mut rng, 200_000, 0.0);
    let est = binary_window(&l, &s, 0.5, &BTreeMap::new(), &ConceptConfig::default());
    est.iter().map(|e| (e.metric.clone(), e.value)).collect()
}

#[test]
fn exchangeable_windows_rarely_alarm_and_a_real_loss_almost_always_does() {
    let holdout = holdout();
    let config = ConceptConfig::default();
    let (mut false_alarms, mut caught, mut covered) = (0, 0, 0);
    for seed in 0..SEEDS {
        let mut rng = SplitMix64::new(seed);
        let (l, s) = window(&mut rng, ROWS, 0.0);
        let same = binary_window(&l, &s, 0.5, &holdout, &config);
        false_alarms += usize::from(same.iter().any(|e| e.degraded));
        let acc = &same[0];
        covered +=
            usize::from(acc.lower <= holdout["accuracy"] && holdout["accuracy"] <= acc.upper);
        assert_eq!(acc.n, ROWS as u64);
        // Flipping 12.5% of labels costs about 0.1 accuracy on this model (0.8 -> 0.7).
        let (l, s) = window(&mut rng, ROWS, 0.125);
        let worse = binary_window(&l, &s, 0.5, &holdout, &config);
        caught += usize::from(worse.iter().any(|e| e.degraded));
    }
    eprintln!(
        "holdout {holdout:?}: false alarms {false_alarms}/{SEEDS}, loss of 0.1 caught {caught}/{SEEDS}, 95% interval covered {covered}/{SEEDS}"
    );
    assert!(
        false_alarms * 20 <= SEEDS as usize,
        "false alarms {false_alarms}/{SEEDS}"
    );
    assert!(caught * 10 >= SEEDS as usize * 9, "caught {caught}/{SEEDS}");
    assert!((360..=395).contains(&covered), "coverage {covered}/{SEEDS}");
}
