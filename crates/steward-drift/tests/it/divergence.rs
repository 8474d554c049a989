//! PSI (psi.json), KL (kl_entropy.json), Jensen-Shannon (jensenshannon.json) against scipy/numpy.

use steward_drift::binning::{bin_counts, quantile_edges};
use steward_drift::divergence::{PSI_EPS, jensen_shannon, kl_divergence, psi};

use crate::vectors::{assert_close, load, num, nums, sample};

const REL: f64 = 1e-9;

#[test]
fn psi_on_reference_quantile_bins_matches_numpy() {
    let v = load("psi.json");
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 25);
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let mut reference = sample(&case["reference"]);
        let current = sample(&case["current"]);
        reference.sort_unstable_by(f64::total_cmp);
        for (key, bins) in [("quantile10", 10), ("quantile5", 5)] {
            let want = &case[key];
            let edges = quantile_edges(&reference, bins).unwrap();
            assert_eq!(edges, nums(&want["inner_edges"]), "{id} {key} edges");
            let rc = bin_counts(&edges, &reference);
            let cc = bin_counts(&edges, &current);
            let as_u64 = |v: &serde_json::Value| -> Vec<u64> {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap())
                    .collect()
            };
            assert_eq!(rc, as_u64(&want["ref_counts"]), "{id} {key} ref counts");
            assert_eq!(cc, as_u64(&want["cur_counts"]), "{id} {key} cur counts");
            let rp: Vec<f64> = rc
                .iter()
                .map(|&c| c as f64 / reference.len() as f64)
                .collect();
            let cp: Vec<f64> = cc
                .iter()
                .map(|&c| c as f64 / current.len() as f64)
                .collect();
            let got = psi(&rp, &cp, PSI_EPS).unwrap();
            assert_close(&format!("{id} {key} psi"), got, num(&want["psi"]), REL);
        }
    }
}

#[test]
fn kl_matches_scipy_entropy() {
    let v = load("kl_entropy.json");
    for case in v["cases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let (p, q) = (nums(&case["p"]), nums(&case["q"]));
        for (key, base, swap) in [
            ("raw_base_e", None, false),
            ("raw_base2", Some(2.0), false),
            ("raw_reverse_q_p_base_e", None, true),
        ] {
            let want = num(&case[key]);
            let got = if swap {
                kl_divergence(&q, &p, base)
            } else {
                kl_divergence(&p, &q, base)
            };
            match got {
                Ok(g) => assert_close(&format!("{id} {key}"), g, want, REL),
                Err(e) => assert!(want.is_nan(), "{id} {key}: error {e} but scipy gave {want}"),
            }
        }
        // Zero-filled variant: normalise, replace exact zeros by 1e-4, then scipy renormalises.
        let fill = |x: &[f64]| -> Option<Vec<f64>> {
            let s: f64 = x.iter().sum();
            (s > 0.0).then(|| {
                x.iter()
                    .map(|v| if *v == 0.0 { 1e-4 } else { v / s })
                    .collect()
            })
        };
        if let (Some(pf), Some(qf)) = (fill(&p), fill(&q)) {
            let got = kl_divergence(&pf, &qf, None).unwrap();
            assert_close(
                &format!("{id} eps renorm"),
                got,
                num(&case["eps_fill_renorm_base_e"]),
                1e-8,
            );
        }
    }
}

#[test]
fn jensen_shannon_matches_scipy() {
    let v = load("jensenshannon.json");
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 30);
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let (p, q) = (nums(&case["p"]), nums(&case["q"]));
        for (key, base) in [("base2", Some(2.0)), ("base_e", None)] {
            let want = num(&case[key]);
            match jensen_shannon(&p, &q, base) {
                Ok(g) => assert_close(&format!("{id} {key}"), g, want, REL),
                Err(e) => assert!(want.is_nan(), "{id} {key}: error {e} but scipy gave {want}"),
            }
        }
    }
}
