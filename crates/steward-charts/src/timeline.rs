//! A quantity over time: one point per window, a threshold, and markers for events.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::axis::{format_number, nice_ticks};
use crate::escape;

/// One point: when, the value, whether it crossed its verdict (drawn filled red), and the
/// interval around it (a confidence interval, drawn as a shaded band; `None`: no band there).
pub struct Point {
    pub at: DateTime<Utc>,
    pub value: f64,
    pub flagged: bool,
    pub band: Option<(f64, f64)>,
}

/// A point's band, when both ends are finite.
fn band_of(p: &Point) -> Option<(f64, f64)> {
    p.band
        .filter(|(lo, hi)| lo.is_finite() && hi.is_finite())
        .map(|(lo, hi)| (lo.min(hi), lo.max(hi)))
}

/// An event on the time axis (an incident opened, a rollback), drawn as a labelled line.
pub struct Marker {
    pub at: DateTime<Utc>,
    pub label: String,
}

const WIDTH: f64 = 720.0;
const PLOT_H: f64 = 180.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 30.0;

/// `points` (any order; non-finite values are skipped) as a line over time, each run of points
/// with a band as a shaded area, `threshold` as a dashed line and `markers` as vertical lines;
/// the y axis from 0 (or the lowest value or band) to the highest value, band or threshold. Time
/// ticks are dates, or hours within a day.
pub fn timeline(
    title: &str,
    y_label: &str,
    points: &[Point],
    threshold: Option<f64>,
    markers: &[Marker],
) -> String {
    let mut pts: Vec<&Point> = points.iter().filter(|p| p.value.is_finite()).collect();
    pts.sort_by_key(|p| p.at);
    let (Some(first), Some(last)) = (pts.first(), pts.last()) else {
        return format!(
            "<p class=\"muted\">{}: no evaluated windows yet</p>",
            escape(title)
        );
    };
    let t0 = first.at.timestamp() as f64;
    let t1 = (last.at.timestamp() as f64).max(t0 + 3600.0);
    let values = pts
        .iter()
        .map(|p| p.value)
        .chain(
            pts.iter()
                .filter_map(|p| band_of(p))
                .flat_map(|(lo, hi)| [lo, hi]),
        )
        .chain(threshold.filter(|t| t.is_finite()));
    let y_hi = values.clone().fold(f64::MIN, f64::max);
    let y_lo = values.fold(0.0f64, f64::min);
    let y_hi = if y_hi > y_lo { y_hi * 1.05 } else { y_lo + 1.0 };
    let plot_w = WIDTH - LEFT - RIGHT;
    let sx = |t: f64| LEFT + ((t - t0) / (t1 - t0)).clamp(0.0, 1.0) * plot_w;
    let sy = |v: f64| TOP + (1.0 - ((v - y_lo) / (y_hi - y_lo)).clamp(0.0, 1.0)) * PLOT_H;
    let base = TOP + PLOT_H;
    let height = base + 40.0;
    let mut s = crate::open_chart(WIDTH, height, title);
    let ticks = nice_ticks(y_lo, y_hi, 4);
    let spacing = match ticks.as_slice() {
        [a, b, ..] => b - a,
        _ => y_hi - y_lo,
    };
    for v in &ticks {
        let y = sy(*v);
        let _ = write!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#e3e7ee\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"11\">{}</text>",
            LEFT + plot_w,
            LEFT - 6.0,
            y + 4.0,
            escape(&format_number(*v, spacing))
        );
    }
    let _ = write!(
        s,
        "<text x=\"{LEFT}\" y=\"{:.1}\" font-size=\"11\">{}</text>",
        TOP - 12.0,
        escape(y_label)
    );
    // Time axis: about six ticks, on whole days when the span is over two days.
    let span = t1 - t0;
    let step = if span > 2.0 * 86_400.0 {
        (span / 6.0 / 86_400.0).ceil() * 86_400.0
    } else {
        (span / 6.0 / 3600.0).ceil().max(1.0) * 3600.0
    };
    let _ = write!(
        s,
        "<line x1=\"{LEFT}\" y1=\"{base:.1}\" x2=\"{:.1}\" y2=\"{base:.1}\" stroke=\"#5d6675\"/>",
        LEFT + plot_w
    );
    let mut t = (t0 / step).ceil() * step;
    while t <= t1 {
        let x = sx(t);
        let label = DateTime::<Utc>::from_timestamp(t as i64, 0)
            .map(|d| {
                if step >= 86_400.0 {
                    d.format("%b %d").to_string()
                } else {
                    d.format("%H:%M").to_string()
                }
            })
            .unwrap_or_default();
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{base:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#5d6675\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"11\">{label}</text>",
            base + 4.0,
            base + 16.0,
        );
        t += step;
    }
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"12\">window end (UTC)</text>",
        LEFT + plot_w / 2.0,
        base + 32.0
    );
    if let Some(th) = threshold.filter(|t| t.is_finite()) {
        let y = sy(th);
        let _ = write!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#b42318\" stroke-dasharray=\"5 4\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" font-size=\"11\" fill=\"#b42318\">threshold {}</text>",
            LEFT + plot_w,
            LEFT + plot_w,
            (y - 4.0).max(TOP - 2.0),
            escape(&format_number(th, spacing / 10.0))
        );
    }
    for m in markers {
        let tm = m.at.timestamp() as f64;
        if tm < t0 || tm > t1 {
            continue;
        }
        let x = sx(tm);
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{TOP}\" x2=\"{x:.1}\" y2=\"{base:.1}\" stroke=\"#7a2e8e\" stroke-width=\"1.5\">\
             <title>{}</title></line>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#7a2e8e\">{}</text>",
            escape(&m.label),
            x + 3.0,
            TOP + 10.0,
            escape(&m.label)
        );
    }
    // Bands: one closed area per run of consecutive points that have one.
    for run in pts.split(|p| band_of(p).is_none()) {
        if run.is_empty() {
            continue;
        }
        let mut area = String::new();
        for (i, p) in run.iter().enumerate() {
            let (_, hi) = band_of(p).unwrap_or((p.value, p.value));
            let cmd = if i == 0 { 'M' } else { 'L' };
            let _ = write!(
                area,
                "{cmd}{:.1},{:.1} ",
                sx(p.at.timestamp() as f64),
                sy(hi)
            );
        }
        for p in run.iter().rev() {
            let (lo, _) = band_of(p).unwrap_or((p.value, p.value));
            let _ = write!(area, "L{:.1},{:.1} ", sx(p.at.timestamp() as f64), sy(lo));
        }
        let _ = write!(
            s,
            "<path class=\"band\" d=\"{}Z\" fill=\"#cdd9ef\" fill-opacity=\"0.7\" stroke=\"none\"/>",
            area
        );
    }
    let mut d = String::new();
    for (i, p) in pts.iter().enumerate() {
        let cmd = if i == 0 { 'M' } else { 'L' };
        let _ = write!(
            d,
            "{cmd}{:.1},{:.1} ",
            sx(p.at.timestamp() as f64),
            sy(p.value)
        );
    }
    let _ = write!(
        s,
        "<path d=\"{}\" fill=\"none\" stroke=\"#40609f\" stroke-width=\"1.6\"/>",
        d.trim_end()
    );
    for p in pts.iter().filter(|p| p.flagged) {
        let _ = write!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#b42318\"/>",
            sx(p.at.timestamp() as f64),
            sy(p.value)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_764_547_200 + h * 3600, 0).unwrap()
    }

    #[test]
    fn a_fortnight_of_hourly_windows_with_a_threshold_and_an_incident() {
        let points: Vec<Point> = (0..336)
            .map(|h| Point {
                at: at(h),
                value: if h > 200 { 0.3 } else { 0.05 },
                flagged: h > 200,
                band: None,
            })
            .collect();
        let markers = [Marker {
            at: at(204),
            label: "fraud-eu-data-drift <opened>".into(),
        }];
        let svg = timeline(
            "amount, slice eu",
            "effect size",
            &points,
            Some(0.1),
            &markers,
        );
        assert_eq!(svg.matches("<circle").count(), 135);
        assert!(svg.contains("threshold 0.1"), "{svg}");
        assert!(svg.contains("&lt;opened&gt;"));
        assert!(svg.contains("Dec 0"), "date ticks: {svg}");
        for part in svg
            .split(" x=\"")
            .skip(1)
            .chain(svg.split(" cx=\"").skip(1))
        {
            let v: f64 = part.split('"').next().unwrap().parse().unwrap();
            assert!((0.0..=WIDTH).contains(&v));
        }
    }

    #[test]
    fn one_window_a_flat_series_and_nothing_all_draw() {
        let one = [Point {
            at: at(0),
            value: 0.0,
            flagged: false,
            band: None,
        }];
        let svg = timeline("x", "y", &one, None, &[]);
        assert!(svg.contains("<path d=\"M"), "{svg}");
        let nan = [Point {
            at: at(0),
            value: f64::NAN,
            flagged: true,
            band: None,
        }];
        assert!(timeline("x", "y", &nan, Some(0.1), &[]).contains("no evaluated windows"));
        assert!(!timeline("x", "y", &one, Some(f64::INFINITY), &[]).contains("inf"));
    }

    #[test]
    fn a_band_is_shaded_within_the_plot_and_gaps_split_it() {
        // Accuracy 0.9 +- 0.05 for 10 windows, no interval for one, then 5 more.
        let points: Vec<Point> = (0..16)
            .map(|h| Point {
                at: at(h),
                value: 0.9,
                flagged: false,
                band: (h != 10).then_some((0.85, 0.95)),
            })
            .collect();
        let svg = timeline("accuracy", "accuracy (95% interval)", &points, None, &[]);
        assert_eq!(svg.matches("class=\"band\"").count(), 2, "{svg}");
        // The axis reaches the band's top, not only the values.
        let ys: Vec<f64> = svg
            .split("class=\"band\" d=\"")
            .skip(1)
            .flat_map(|p| {
                p.split('"').next().unwrap().split(' ').filter_map(|c| {
                    c.trim_start_matches(['M', 'L'])
                        .trim_end_matches('Z')
                        .split(',')
                        .nth(1)?
                        .parse::<f64>()
                        .ok()
                })
            })
            .collect();
        assert!(
            ys.iter().all(|y| (TOP..=TOP + PLOT_H).contains(y)),
            "{ys:?}"
        );
        let top = ys.iter().copied().fold(f64::MAX, f64::min);
        assert!(
            top < TOP + 20.0,
            "the band's top is near the plot's top: {top}"
        );
        // A band with a non-finite end is not drawn.
        let odd = [Point {
            at: at(0),
            value: 0.5,
            flagged: false,
            band: Some((f64::NAN, 0.6)),
        }];
        assert!(!timeline("x", "y", &odd, None, &[]).contains("class=\"band\""));
    }
}
