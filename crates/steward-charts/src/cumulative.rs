//! Two (or more) distributions over the same bins, drawn as cumulative shares.

use std::fmt::Write as _;

use crate::axis::{format_number, nice_ticks};
use crate::escape;

/// One distribution: counts per bin over the chart's edges (`edges.len() + 1` counts: below the
/// first edge, between each pair, above the last).
pub struct Series<'a> {
    pub label: &'a str,
    /// A CSS colour.
    pub colour: &'a str,
    pub counts: &'a [u64],
}

const WIDTH: f64 = 560.0;
const PLOT_H: f64 = 170.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 28.0;

/// The share of each series' values below each edge, joined by straight lines, over the edges'
/// range (`x_label` names the axis: the feature, in its units). Below the axis, per series, the
/// share outside that range. A tie in the edges is a vertical step; all edges equal (a constant
/// feature) a single step in the middle of the chart. Series without values are listed as such.
pub fn cumulative(title: &str, x_label: &str, edges: &[f64], series: &[Series<'_>]) -> String {
    let finite: Vec<f64> = edges.iter().copied().filter(|e| e.is_finite()).collect();
    let (Some(lo), Some(hi)) = (
        finite.iter().copied().reduce(f64::min),
        finite.iter().copied().reduce(f64::max),
    ) else {
        return format!(
            "<p class=\"muted\">{}: no values to draw</p>",
            escape(title)
        );
    };
    // A constant feature: a range around its value, so the step stands in the middle.
    let (x0, x1) = if hi > lo {
        (lo, hi)
    } else {
        let pad = (lo.abs() * 0.05).max(0.5);
        (lo - pad, hi + pad)
    };
    let plot_w = WIDTH - LEFT - RIGHT;
    let sx = |x: f64| LEFT + ((x - x0) / (x1 - x0)).clamp(0.0, 1.0) * plot_w;
    let sy = |y: f64| TOP + (1.0 - y.clamp(0.0, 1.0)) * PLOT_H;
    let base = TOP + PLOT_H;
    // Caption lines under the axis: the tick labels, the axis title, one line per series.
    let height = base + 44.0 + 16.0 * series.len() as f64 + 6.0;
    let mut s = crate::open_chart(WIDTH, height, title);
    // Grid and y axis: 0%, 25% .. 100% of values.
    for q in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let y = sy(q);
        let _ = write!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#e3e7ee\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"11\">{:.0}%</text>",
            LEFT + plot_w,
            LEFT - 6.0,
            y + 4.0,
            q * 100.0
        );
    }
    let _ = write!(
        s,
        "<text x=\"{LEFT}\" y=\"{:.1}\" font-size=\"11\">share of values below</text>",
        TOP - 10.0
    );
    // X axis with round ticks, labelled to the precision their spacing needs.
    let ticks = nice_ticks(x0, x1, 5);
    let spacing = match ticks.as_slice() {
        [a, b, ..] => b - a,
        _ => (x1 - x0).abs(),
    };
    let _ = write!(
        s,
        "<line x1=\"{LEFT}\" y1=\"{base:.1}\" x2=\"{:.1}\" y2=\"{base:.1}\" stroke=\"#5d6675\"/>",
        LEFT + plot_w
    );
    for t in &ticks {
        let x = sx(*t);
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{base:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#5d6675\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\">{}</text>",
            base + 4.0,
            base + 16.0,
            escape(&format_number(*t, spacing))
        );
    }
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\">{}</text>",
        LEFT + plot_w / 2.0,
        base + 32.0,
        escape(x_label)
    );
    // The curves, then a caption line per series.
    for (i, series) in series.iter().enumerate() {
        let total: u64 = series.counts.iter().sum();
        let line_y = base + 50.0 + 16.0 * i as f64;
        if total == 0 {
            let _ = write!(
                s,
                "<text x=\"{LEFT}\" y=\"{line_y:.1}\" font-size=\"12\" fill=\"{}\">{}: no values</text>",
                escape(series.colour),
                escape(series.label)
            );
            continue;
        }
        let mut below = 0u64;
        let mut d = String::new();
        for (k, e) in edges.iter().enumerate() {
            below += series.counts.get(k).copied().unwrap_or(0);
            if !e.is_finite() {
                continue;
            }
            let share = below as f64 / total as f64;
            let cmd = if d.is_empty() { 'M' } else { 'L' };
            let _ = write!(d, "{cmd}{:.1},{:.1} ", sx(*e), sy(share));
        }
        let first = series.counts.first().copied().unwrap_or(0) as f64 / total as f64;
        let above = 1.0 - below as f64 / total as f64;
        let _ = write!(
            s,
            "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\
             <text x=\"{LEFT}\" y=\"{line_y:.1}\" font-size=\"12\" fill=\"{}\">{} ({total} values): \
             {:.1}% below {}, {:.1}% above {}</text>",
            d.trim_end(),
            escape(series.colour),
            escape(series.colour),
            escape(series.label),
            first * 100.0,
            escape(&format_number(lo, spacing / 10.0)),
            above.max(0.0) * 100.0,
            escape(&format_number(hi, spacing / 10.0)),
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference-quantile edges and counts for `values` (as a profile would hold them), and the
    /// counts of `other` over the same edges.
    fn binned(values: &[f64], other: &[f64]) -> (Vec<f64>, Vec<u64>, Vec<u64>) {
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let edges: Vec<f64> = (1..100)
            .map(|p| sorted[((p as f64 / 100.0) * (sorted.len() - 1) as f64).round() as usize])
            .collect();
        let count = |xs: &[f64]| {
            let mut c = vec![0u64; edges.len() + 1];
            for x in xs {
                c[edges.partition_point(|e| e <= x)] += 1;
            }
            c
        };
        (edges.clone(), count(values), count(other))
    }

    /// Every number in the SVG's coordinates is finite and inside the drawing; every curve
    /// rises left to right and stays between the 0% and 100% lines.
    fn check(svg: &str) {
        let height: f64 = svg
            .split("height=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        for attr in [" x=\"", " y=\"", " x1=\"", " y1=\"", " x2=\"", " y2=\""] {
            for part in svg.split(attr).skip(1) {
                let v: f64 = part.split('"').next().unwrap().parse().unwrap();
                assert!(
                    v.is_finite() && (0.0..=WIDTH.max(height)).contains(&v),
                    "{attr}{v}"
                );
            }
        }
        for text_y in svg
            .split("<text ")
            .skip(1)
            .map(|t| t.split(" y=\"").nth(1).unwrap())
        {
            let y: f64 = text_y.split('"').next().unwrap().parse().unwrap();
            assert!(
                y <= height - 4.0,
                "text at {y} is clipped by the height {height}"
            );
        }
        for path in svg.split("<path d=\"").skip(1) {
            let d = path.split('"').next().unwrap();
            let points: Vec<(f64, f64)> = d
                .split_whitespace()
                .map(|p| {
                    let (x, y) = p[1..].split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect();
            for w in points.windows(2) {
                assert!(w[1].0 >= w[0].0, "x goes back: {d}");
                assert!(w[1].1 <= w[0].1 + 1e-9, "the share falls: {d}");
            }
            for (_, y) in &points {
                assert!(
                    (TOP - 0.01..=TOP + PLOT_H + 0.01).contains(y),
                    "{y} outside 0..100%"
                );
            }
        }
    }

    fn chart(values: &[f64], other: &[f64]) -> String {
        let (edges, r, c) = binned(values, other);
        let svg = cumulative(
            "temperature",
            "temperature (°C)",
            &edges,
            &[
                Series {
                    label: "reference",
                    colour: "#40609f",
                    counts: &r,
                },
                Series {
                    label: "current",
                    colour: "#c2410c",
                    counts: &c,
                },
            ],
        );
        check(&svg);
        svg
    }

    #[test]
    fn tied_values_are_steps_not_spikes() {
        // 237 days of temperatures recorded in tenths of a degree: many ties.
        let days: Vec<f64> = (0..237)
            .map(|d| 15.0 + ((d * 37 % 101) / 10) as f64 * 0.1)
            .collect();
        let warmer: Vec<f64> = days.iter().map(|t| t + 1.5).collect();
        let svg = chart(&days, &warmer);
        assert!(svg.contains("temperature (°C)"));
        assert_eq!(svg.matches("<path").count(), 2);
    }

    #[test]
    fn a_constant_feature_is_one_step_in_the_middle() {
        let svg = chart(&[3.0; 50], &[3.0; 20]);
        // The axis is built around the value, which is labelled.
        assert!(svg.contains(">3<") || svg.contains(">3.0<"), "{svg}");
    }

    #[test]
    fn heavy_tails_tiny_and_empty_samples_stay_inside_the_chart() {
        // Cauchy-like: a few enormous values.
        let heavy: Vec<f64> = (1..500)
            .map(|i| (std::f64::consts::PI * (i as f64 / 500.0 - 0.5)).tan())
            .collect();
        let svg = chart(&heavy, &heavy[..100]);
        assert!(svg.contains("above"), "{svg}");
        chart(&[1.0, 2.0, 3.0], &[2.5]);
        let (edges, r, _) = binned(&[1.0, 2.0, 3.0], &[]);
        let svg = cumulative(
            "x",
            "x",
            &edges,
            &[
                Series {
                    label: "reference",
                    colour: "#40609f",
                    counts: &r,
                },
                Series {
                    label: "current",
                    colour: "#c2410c",
                    counts: &[],
                },
            ],
        );
        check(&svg);
        assert!(svg.contains("current: no values"));
        assert!(cumulative("x", "x", &[], &[]).contains("no values to draw"));
        assert!(cumulative("<b>", "x", &[f64::NAN], &[]).contains("&lt;b&gt;"));
    }
}
