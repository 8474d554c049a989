//! Corrections for testing many features at once: Benjamini-Hochberg (false discovery rate,
//! the default) and Bonferroni (family-wise error rate).

use serde::{Deserialize, Serialize};

/// Multiple-testing correction applied to the per-feature p-values of one report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// Benjamini-Hochberg step-up adjusted p-values.
    #[default]
    BenjaminiHochberg,
    /// Bonferroni: p times the number of tests, capped at 1.
    Bonferroni,
    /// No correction.
    None,
}

/// Adjusted p-values in the input order. NaN inputs stay NaN and do not count as tests.
pub fn adjust(p_values: &[f64], correction: Correction) -> Vec<f64> {
    let m = p_values.iter().filter(|p| !p.is_nan()).count();
    match correction {
        Correction::None => p_values.to_vec(),
        Correction::Bonferroni => p_values.iter().map(|p| (p * m as f64).min(1.0)).collect(),
        Correction::BenjaminiHochberg => {
            let mut order: Vec<usize> = (0..p_values.len())
                .filter(|&i| !p_values[i].is_nan())
                .collect();
            order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
            let mut out = vec![f64::NAN; p_values.len()];
            let mut running = 1.0f64;
            for (rank, &i) in order.iter().enumerate().rev() {
                let adj = p_values[i] * m as f64 / (rank + 1) as f64;
                running = running.min(adj);
                out[i] = running.min(1.0);
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bh_matches_statsmodels() {
        // statsmodels.stats.multitest.multipletests(p, method='fdr_bh')[1]
        let p = [0.01, 0.04, 0.03, 0.005, 0.5];
        let got = adjust(&p, Correction::BenjaminiHochberg);
        let want = [0.025, 0.05, 0.05, 0.025, 0.5];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{got:?}");
        }
        let b = adjust(&p, Correction::Bonferroni);
        assert_eq!(b, vec![0.05, 0.2, 0.15, 0.025, 1.0]);
        let n = adjust(&[f64::NAN, 0.01], Correction::BenjaminiHochberg);
        assert!(n[0].is_nan());
        assert_eq!(n[1], 0.01);
    }
}
