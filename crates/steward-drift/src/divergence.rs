//! Divergences between discrete distributions: PSI, KL (`scipy.stats.entropy`), Jensen-Shannon
//! distance (`scipy.spatial.distance.jensenshannon`), Hellinger distance and L-infinity.
//!
//! Inputs are non-negative weights (counts or proportions); the scipy functions normalise them,
//! PSI takes proportions as given and floors them at `eps` without renormalising, which is the
//! stated zero handling of the reference vectors (`eps = 1e-4`).

use crate::error::{DriftError, check_counts};
use crate::special::np_sum;

/// Default floor for PSI proportions: a proportion below it is replaced by it.
pub const PSI_EPS: f64 = 1e-4;

fn check_pair(p: &[f64], q: &[f64]) -> Result<(), DriftError> {
    if p.len() != q.len() {
        return Err(DriftError::ShapeMismatch(format!(
            "distributions have {} and {} bins",
            p.len(),
            q.len()
        )));
    }
    if p.is_empty() {
        return Err(DriftError::Empty {
            what: "distribution",
        });
    }
    check_counts("first distribution", p)?;
    check_counts("second distribution", q)
}

fn normalise(what: &'static str, p: &[f64]) -> Result<Vec<f64>, DriftError> {
    let s = np_sum(p);
    if s == 0.0 {
        return Err(DriftError::ZeroMass { what });
    }
    Ok(p.iter().map(|v| v / s).collect())
}

/// scipy's `rel_entr(x, y)`: `x ln(x/y)`, 0 when `x == 0`, infinite when `y == 0 < x`.
fn rel_entr(x: f64, y: f64) -> f64 {
    if x > 0.0 && y > 0.0 {
        // As xsf: log1p near a ratio of 1, and logs taken apart when the ratio over/underflows.
        let ratio = x / y;
        if 0.5 < ratio && ratio < 2.0 {
            x * ((x - y) / y).ln_1p()
        } else if f64::MIN_POSITIVE < ratio && ratio.is_finite() {
            x * ratio.ln()
        } else {
            x * (x.ln() - y.ln())
        }
    } else if x == 0.0 && y >= 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// Population stability index `sum (c - r) ln(c / r)` on proportions, each floored at `eps`.
pub fn psi(reference: &[f64], current: &[f64], eps: f64) -> Result<f64, DriftError> {
    check_pair(reference, current)?;
    if !(eps > 0.0 && eps.is_finite()) {
        return Err(DriftError::InvalidConfig(format!(
            "PSI epsilon must be positive, got {eps}"
        )));
    }
    let terms: Vec<f64> = reference
        .iter()
        .zip(current)
        .map(|(&r, &c)| {
            let (r, c) = (if r < eps { eps } else { r }, if c < eps { eps } else { c });
            (c - r) * (c / r).ln()
        })
        .collect();
    Ok(np_sum(&terms))
}

/// Kullback-Leibler divergence `KL(p || q)` of the normalised inputs (`scipy.stats.entropy(p,
/// q, base)`); infinite when `q` is zero where `p` is not. `base = None` means natural log.
pub fn kl_divergence(p: &[f64], q: &[f64], base: Option<f64>) -> Result<f64, DriftError> {
    check_pair(p, q)?;
    let (p, q) = (normalise("p", p)?, normalise("q", q)?);
    let terms: Vec<f64> = p.iter().zip(&q).map(|(&a, &b)| rel_entr(a, b)).collect();
    let s = np_sum(&terms);
    Ok(match base {
        Some(b) => s / b.ln(),
        None => s,
    })
}

/// Jensen-Shannon distance (the square root of the divergence) of the normalised inputs, as
/// `scipy.spatial.distance.jensenshannon(p, q, base)`: at most 1 in base 2, `sqrt(ln 2)` in
/// base e.
pub fn jensen_shannon(p: &[f64], q: &[f64], base: Option<f64>) -> Result<f64, DriftError> {
    check_pair(p, q)?;
    let (p, q) = (normalise("p", p)?, normalise("q", q)?);
    let m: Vec<f64> = p.iter().zip(&q).map(|(a, b)| (a + b) / 2.0).collect();
    let left: Vec<f64> = p.iter().zip(&m).map(|(&a, &b)| rel_entr(a, b)).collect();
    let right: Vec<f64> = q.iter().zip(&m).map(|(&a, &b)| rel_entr(a, b)).collect();
    let mut js = np_sum(&left) + np_sum(&right);
    if let Some(b) = base {
        js /= b.ln();
    }
    Ok((js / 2.0).max(0.0).sqrt())
}

/// Hellinger distance `sqrt(1/2 sum (sqrt p - sqrt q)^2)` of the normalised inputs, in [0, 1].
pub fn hellinger(p: &[f64], q: &[f64]) -> Result<f64, DriftError> {
    check_pair(p, q)?;
    let (p, q) = (normalise("p", p)?, normalise("q", q)?);
    let terms: Vec<f64> = p
        .iter()
        .zip(&q)
        .map(|(a, b)| {
            let d = a.sqrt() - b.sqrt();
            d * d
        })
        .collect();
    Ok((np_sum(&terms) / 2.0).sqrt())
}

/// L-infinity distance `max |p_i - q_i|` of the normalised inputs.
pub fn l_infinity(p: &[f64], q: &[f64]) -> Result<f64, DriftError> {
    check_pair(p, q)?;
    let (p, q) = (normalise("p", p)?, normalise("q", q)?);
    Ok(p.iter()
        .zip(&q)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hellinger_and_linf_known_values() {
        assert_eq!(hellinger(&[1.0, 0.0], &[0.0, 1.0]).unwrap(), 1.0);
        assert_eq!(hellinger(&[2.0, 2.0], &[1.0, 1.0]).unwrap(), 0.0);
        // p = (0.5, 0.5), q = (0.9, 0.1): 1/2 ((sqrt .5 - sqrt .9)^2 + (sqrt .5 - sqrt .1)^2).
        let want = ((0.5f64.sqrt() - 0.9f64.sqrt()).powi(2)
            + (0.5f64.sqrt() - 0.1f64.sqrt()).powi(2))
            / 2.0;
        assert!((hellinger(&[0.5, 0.5], &[0.9, 0.1]).unwrap() - want.sqrt()).abs() < 1e-15);
        assert!((l_infinity(&[1.0, 1.0], &[9.0, 1.0]).unwrap() - 0.4).abs() < 1e-15);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(
            kl_divergence(&[0.0, 0.0], &[1.0, 1.0], None),
            Err(DriftError::ZeroMass { .. })
        ));
        assert!(matches!(
            psi(&[1.0], &[1.0, 2.0], PSI_EPS),
            Err(DriftError::ShapeMismatch(_))
        ));
        assert!(matches!(
            jensen_shannon(&[-1.0, 2.0], &[1.0, 1.0], None),
            Err(DriftError::Negative { .. })
        ));
        assert!(matches!(
            hellinger(&[], &[],),
            Err(DriftError::Empty { .. })
        ));
    }
}
