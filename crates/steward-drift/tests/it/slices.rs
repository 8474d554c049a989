//! A slice of the reference data as a reference of its own: the EU rows of a worldwide reference
//! set, counted against its bins, compare with EU production without the drift a worldwide
//! comparison reads into features whose mix the slice fixes.

use steward_drift::synth::SplitMix64;
use steward_drift::{Column, DriftConfig, Profile, Verdict, WindowProfile, compare};

/// `n` rows of a region: amounts around `center`, countries of the region.
fn region(
    rng: &mut SplitMix64,
    n: usize,
    center: f64,
    countries: &[&'static str],
) -> (Vec<Option<f64>>, Vec<Option<&'static str>>) {
    (0..n)
        .map(|_| {
            let amount = center + 10.0 * rng.next_normal();
            let country = countries[rng.next_below(countries.len() as u64) as usize];
            (Some(amount), Some(country))
        })
        .unzip()
}

#[test]
fn a_slice_compared_with_its_own_reference_does_not_drift_on_what_defines_it() {
    let mut rng = SplitMix64::new(7);
    let eu_c = ["DE", "FR", "ES"];
    let us_c = ["US", "CA"];
    let (mut amount, mut country) = region(&mut rng, 3_000, 100.0, &eu_c);
    let (a2, c2) = region(&mut rng, 3_000, 120.0, &us_c);
    let eu_rows = amount.len();
    amount.extend(a2);
    country.extend(c2);
    let reference = Profile::from_reference(&[
        Column::numeric("amount", &amount),
        Column::categorical("country", &country),
    ])
    .unwrap();
    let eu_reference = WindowProfile::from_window(
        &reference,
        &[
            Column::numeric("amount", &amount[..eu_rows]),
            Column::categorical("country", &country[..eu_rows]),
        ],
    )
    .unwrap()
    .as_reference(&reference)
    .unwrap();
    assert_eq!(eu_reference.fingerprint(), reference.fingerprint());
    assert_eq!(eu_reference.rows, eu_rows as u64);

    let config = DriftConfig::default();
    let (mut calm, mut shifted) = (0, 0);
    for seed in 0..50 {
        let mut rng = SplitMix64::new(1_000 + seed);
        let (a, c) = region(&mut rng, 400, 100.0, &eu_c);
        let window = WindowProfile::from_window(
            &reference,
            &[
                Column::numeric("amount", &a),
                Column::categorical("country", &c),
            ],
        )
        .unwrap();
        let whole = compare(&reference, &window, &config).unwrap();
        assert!(
            whole.dataset_drift,
            "against the worldwide reference, EU always differs"
        );
        let own = compare(&eu_reference, &window, &config).unwrap();
        calm += usize::from(!own.dataset_drift);
        let (a, c) = region(&mut rng, 400, 112.0, &eu_c);
        let window = WindowProfile::from_window(
            &reference,
            &[
                Column::numeric("amount", &a),
                Column::categorical("country", &c),
            ],
        )
        .unwrap();
        let own = compare(&eu_reference, &window, &config).unwrap();
        shifted += usize::from(
            own.features
                .iter()
                .any(|f| f.feature == "amount" && f.verdict == Verdict::Drift),
        );
    }
    assert!(calm >= 47, "EU against EU: {calm}/50 calm");
    assert!(
        shifted >= 48,
        "a shift of 1.2 sd within EU is still caught: {shifted}/50"
    );
}
