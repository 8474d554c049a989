//! `ks_2samp` against scipy: statistic, location, sign and p-value for every case, alternative
//! and method in ks_2samp.json, plus the finite-n and limiting Kolmogorov distributions.

use steward_drift::kolmogorov::{kolmogorov_sf, kstwo_sf};
use steward_drift::ks::{Alternative, KsMethod, ks_2samp};

use crate::vectors::{assert_close, load, num, sample};

const REL: f64 = 1e-9;

#[test]
fn ks_2samp_matches_scipy() {
    let v = load("ks_2samp.json");
    let mut checked = 0;
    let mut failures = Vec::new();
    for case in v["cases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let x = sample(&case["x"]);
        let y = sample(&case["y"]);
        for (alt_name, alt) in [
            ("two-sided", Alternative::TwoSided),
            ("less", Alternative::Less),
            ("greater", Alternative::Greater),
        ] {
            for (m_name, method) in [
                ("auto", KsMethod::Auto),
                ("exact", KsMethod::Exact),
                ("asymp", KsMethod::Asymp),
            ] {
                let want = &case["results"][alt_name][m_name];
                if want.get("skipped").is_some() {
                    continue;
                }
                let got = ks_2samp(&x, &y, alt, method).unwrap();
                let label = format!("{id} {alt_name} {m_name}");
                let ws = num(&want["statistic"]);
                let wp = num(&want["pvalue"]);
                let ok = crate::vectors::close(got.statistic, ws, REL)
                    && crate::vectors::close(got.p_value, wp, REL)
                    && got.statistic_location == num(&want["statistic_location"])
                    && i64::from(got.statistic_sign) == want["statistic_sign"].as_i64().unwrap()
                    && got.exact_fallback != want["warnings"].as_array().unwrap().is_empty();
                if !ok {
                    failures.push(format!(
                        "{label}: got D={} p={:e} loc={} sign={} fb={}; want D={ws} p={wp:e} loc={} sign={} warn={}",
                        got.statistic, got.p_value, got.statistic_location, got.statistic_sign, got.exact_fallback,
                        want["statistic_location"], want["statistic_sign"], want["warnings"]
                    ));
                }
                checked += 1;
            }
        }
        let info = &case["info"];
        let d = num(&case["results"]["two-sided"]["asymp"]["statistic"]);
        let en = num(&info["en"]);
        assert_close(
            &format!("{id} kstwo"),
            kstwo_sf(num(&info["round_en"]) as u64, d),
            num(&info["kstwo_sf_D_round_en"]),
            REL,
        );
        assert_close(
            &format!("{id} kstwobign"),
            kolmogorov_sf(en.sqrt() * d),
            num(&info["kstwobign_sf_sqrt_en_times_D"]),
            REL,
        );
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 250, "only {checked} results checked");
}
