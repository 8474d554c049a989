//! Charts as SVG strings, drawn on the server: text is left to the browser's fonts (no font
//! library here), numbers are formatted to the precision the data has, and every coordinate is
//! checked finite and inside the drawing, whatever the data (tied, constant, heavy-tailed, tiny
//! samples, empty). Pure functions, no IO; the web pages and `steward drift --format html` both
//! draw with them.
//!
//! - [`cumulative`]: two distributions over the same bins as cumulative shares (an ogive: the
//!   share of values below each bin edge, joined by straight lines). Unlike densities over
//!   percentile bins, whose near-empty-width bins on tied data (temperatures recorded in tenths
//!   of a degree) become spikes many times taller than the distribution, a cumulative curve is
//!   bounded by 0 and 1: a tie is a vertical step, a constant feature one step.
//! - [`timeline`]: a quantity per window over time, with its threshold and event markers
//!   (incidents), flagged points in red.

mod axis;
mod cumulative;
mod timeline;

pub use axis::{format_number, nice_ticks};
pub use cumulative::{Series, cumulative};
pub use timeline::{Marker, Point, timeline};

/// The opening of a chart's `<svg>`: its size, and `title` as its accessible name.
fn open_chart(width: f64, height: f64, title: &str) -> String {
    let t = escape(title);
    format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width} {height:.0}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>"
    )
}

/// Escapes text for SVG/HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
