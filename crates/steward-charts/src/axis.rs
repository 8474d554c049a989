//! Axis ticks at round numbers, and numbers printed with the precision their spacing needs.

/// About `n` ticks at round values (1, 2 or 5 times a power of ten apart) covering `[lo, hi]`.
/// A zero-width range gets one tick; non-finite bounds get none.
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !lo.is_finite() || !hi.is_finite() || n == 0 {
        return Vec::new();
    }
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    if hi - lo <= f64::EPSILON * lo.abs().max(1.0) {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    // Printed and read back at the step's precision: 0.6, not 0.6000000000000001.
    let decimals = (-step.log10().floor()).clamp(0.0, 15.0) as usize;
    (first..=last)
        .map(|k| {
            let v = k as f64 * step;
            format!("{v:.decimals$}").parse().unwrap_or(v)
        })
        .collect()
}

/// `x` with enough decimals to tell apart values `spacing` apart (at most 6), in plain
/// notation for everyday magnitudes and scientific beyond them.
pub fn format_number(x: f64, spacing: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x != 0.0 && (x.abs() >= 1e7 || x.abs() < 1e-5) {
        return format!("{x:.3e}");
    }
    let decimals = if spacing.is_finite() && spacing > 0.0 {
        (-spacing.log10().floor()).clamp(0.0, 6.0) as usize
    } else {
        3
    };
    let s = format!("{x:.decimals$}");
    // "-0" reads as a different number.
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        return format!("{:.decimals$}", 0.0);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(nice_ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        let t = nice_ticks(15.3, 24.8, 5);
        assert_eq!(t, vec![16.0, 18.0, 20.0, 22.0, 24.0]);
        assert_eq!(nice_ticks(7.0, 7.0, 5), vec![7.0]);
        assert!(nice_ticks(f64::NAN, 1.0, 5).is_empty());
        assert_eq!(nice_ticks(-1e6, 1e6, 4).len(), 5);
    }

    #[test]
    fn numbers_keep_the_precision_their_spacing_needs() {
        assert_eq!(format_number(20.1, 0.1), "20.1");
        assert_eq!(format_number(20.0, 2.0), "20");
        assert_eq!(format_number(0.000_001, 0.000_001), "1.000e-6");
        assert_eq!(format_number(-0.000_000_1, 0.1), "-1.000e-7");
        assert_eq!(format_number(-0.01, 0.1), "0.0");
        assert_eq!(format_number(123_456_789.0, 1.0), "1.235e8");
    }
}
