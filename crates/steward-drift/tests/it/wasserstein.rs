//! Wasserstein-1 (unweighted and weighted) and Evidently's normed form against wasserstein.json.

use steward_drift::wasserstein::{
    std_ddof0, wasserstein_1, wasserstein_1_weighted, wasserstein_normed,
};

use crate::vectors::{assert_close, load, num, nums, sample};

const REL: f64 = 1e-9;

#[test]
fn wasserstein_matches_scipy() {
    let v = load("wasserstein.json");
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 35);
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let (u, w) = (sample(&case["u"]), sample(&case["v"]));
        let want = num(&case["wasserstein_distance"]);
        if case["u_weights"].is_null() {
            assert_close(
                &format!("{id} W1"),
                wasserstein_1(&u, &w).unwrap(),
                want,
                REL,
            );
            assert_close(
                &format!("{id} std"),
                std_ddof0(&u),
                num(&case["np_std_u_ddof0"]),
                REL,
            );
            assert_close(
                &format!("{id} normed"),
                wasserstein_normed(&u, &w).unwrap(),
                num(&case["evidently_normed"]),
                REL,
            );
        } else {
            let got = wasserstein_1_weighted(
                &u,
                &w,
                &nums(&case["u_weights"]),
                &nums(&case["v_weights"]),
            )
            .unwrap();
            assert_close(&format!("{id} weighted W1"), got, want, REL);
        }
    }
}
