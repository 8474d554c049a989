//! False-alarm and detection simulation: Steward's default verdicts beside Evidently's defaults
//! on the data design of issue 4 (10 numeric N(0,1) and 3 categorical columns of 8 categories,
//! the same number of rows on each side), many seeds per sample size.
//!
//! Run: `cargo run --release -p steward-drift --example false_alarms -- [trials] [sizes...]`.
//! Prints one table row per sample size:
//! * false alarms on data without drift: share of columns flagged, and share of trials where
//!   the dataset verdict is drift (Steward: any column after Benjamini-Hochberg; Evidently:
//!   any column, and its own rule "at least half the columns");
//! * detection: a 0.1 sd location shift (numeric column 0), a scale change to 1.25 sd
//!   (numeric column 1) and a category mix change (category "a" twice as likely, categorical
//!   column 0), each as the share of trials in which that column was flagged.

use steward_drift::evidently::{ColumnType, column_drift, dataset_drift};
use steward_drift::synth::SplitMix64;
use steward_drift::{Column, DriftConfig, Profile, Verdict, WindowProfile, compare};

const NUMERIC: usize = 10;
const CATEGORICAL: usize = 3;
const LABELS: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];

struct Data {
    numeric: Vec<Vec<Option<f64>>>,
    categorical: Vec<Vec<Option<&'static str>>>,
}

fn generate(rng: &mut SplitMix64, n: usize, drift: bool) -> Data {
    let numeric = (0..NUMERIC)
        .map(|j| {
            let (loc, scale) = match (drift, j) {
                (true, 0) => (0.1, 1.0),
                (true, 1) => (0.0, 1.25),
                _ => (0.0, 1.0),
            };
            (0..n)
                .map(|_| Some(loc + scale * rng.next_normal()))
                .collect()
        })
        .collect();
    let categorical = (0..CATEGORICAL)
        .map(|j| {
            let weights: [f64; 8] = if drift && j == 0 {
                [2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
            } else {
                [1.0; 8]
            };
            let total: f64 = weights.iter().sum();
            (0..n)
                .map(|_| {
                    let mut u = rng.next_f64() * total;
                    for (w, label) in weights.iter().zip(LABELS) {
                        if u < *w {
                            return Some(label);
                        }
                        u -= w;
                    }
                    Some("h")
                })
                .collect()
        })
        .collect();
    Data {
        numeric,
        categorical,
    }
}

fn names() -> Vec<String> {
    (0..NUMERIC)
        .map(|j| format!("num{j}"))
        .chain((0..CATEGORICAL).map(|j| format!("cat{j}")))
        .collect()
}

fn columns<'a>(d: &'a Data, names: &'a [String]) -> Vec<Column<'a>> {
    let mut cols: Vec<Column<'a>> = d
        .numeric
        .iter()
        .enumerate()
        .map(|(j, v)| Column::numeric(&names[j], v))
        .collect();
    cols.extend(
        d.categorical
            .iter()
            .enumerate()
            .map(|(j, v)| Column::categorical(&names[NUMERIC + j], v)),
    );
    cols
}

/// Steward's flags per column (in column order).
fn steward_flags(reference: &Profile, current: &Data, names: &[String]) -> Vec<bool> {
    let window = WindowProfile::from_window(reference, &columns(current, names)).expect("window");
    let report = compare(reference, &window, &DriftConfig::default()).expect("report");
    names
        .iter()
        .map(|n| {
            report
                .features
                .iter()
                .any(|f| &f.feature == n && f.verdict == Verdict::Drift)
        })
        .collect()
}

/// Evidently's default flags per column; categories are coded as numbers, as pandas would
/// compare them.
fn evidently_flags(reference: &Data, current: &Data) -> (Vec<bool>, bool) {
    let plain = |v: &[Option<f64>]| {
        v.iter()
            .map(|x| x.unwrap_or(f64::NAN))
            .collect::<Vec<f64>>()
    };
    let code = |v: &[Option<&str>]| {
        v.iter()
            .map(|x| LABELS.iter().position(|l| Some(*l) == *x).unwrap_or(0) as f64)
            .collect::<Vec<f64>>()
    };
    let mut results = Vec::new();
    for j in 0..NUMERIC {
        results.push(
            column_drift(
                &plain(&reference.numeric[j]),
                &plain(&current.numeric[j]),
                ColumnType::Num,
            )
            .expect("ev"),
        );
    }
    for j in 0..CATEGORICAL {
        results.push(
            column_drift(
                &code(&reference.categorical[j]),
                &code(&current.categorical[j]),
                ColumnType::Cat,
            )
            .expect("ev"),
        );
    }
    (
        results.iter().map(|r| r.drift).collect(),
        dataset_drift(&results, 0.5),
    )
}

#[derive(Default)]
struct Tally {
    col_fa: f64,
    any_fa: f64,
    share_rule_fa: f64,
    shift: f64,
    scale: f64,
    mix: f64,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let trials: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(200);
    let sizes: Vec<usize> = if args.len() > 1 {
        args[1..].iter().filter_map(|s| s.parse().ok()).collect()
    } else {
        vec![100, 500, 1_000, 5_000, 50_000]
    };
    let names = names();
    println!(
        "trials per size: {trials}; columns: {NUMERIC} numeric N(0,1) + {CATEGORICAL} categorical (8 categories)"
    );
    println!(
        "| rows per side | who | column false alarms | dataset false alarms (any column) | dataset false alarms (share >= 0.5 rule) | 0.1 sd shift found | scale x1.25 found | category mix found |"
    );
    println!("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for &n in &sizes {
        let (mut st, mut ev) = (Tally::default(), Tally::default());
        for t in 0..trials {
            let mut rng = SplitMix64::new(0xD81F_7000 + (n as u64) * 1_000_003 + t as u64);
            let reference = generate(&mut rng, n, false);
            let null = generate(&mut rng, n, false);
            let drifted = generate(&mut rng, n, true);
            let profile = Profile::from_reference(&columns(&reference, &names)).expect("profile");
            let f0 = steward_flags(&profile, &null, &names);
            let f1 = steward_flags(&profile, &drifted, &names);
            st.col_fa += f0.iter().filter(|f| **f).count() as f64 / f0.len() as f64;
            st.any_fa += f64::from(u8::from(f0.iter().any(|f| *f)));
            st.share_rule_fa +=
                f64::from(u8::from(f0.iter().filter(|f| **f).count() * 2 >= f0.len()));
            st.shift += f64::from(u8::from(f1[0]));
            st.scale += f64::from(u8::from(f1[1]));
            st.mix += f64::from(u8::from(f1[NUMERIC]));
            let (e0, e0_rule) = evidently_flags(&reference, &null);
            let (e1, _) = evidently_flags(&reference, &drifted);
            ev.col_fa += e0.iter().filter(|f| **f).count() as f64 / e0.len() as f64;
            ev.any_fa += f64::from(u8::from(e0.iter().any(|f| *f)));
            ev.share_rule_fa += f64::from(u8::from(e0_rule));
            ev.shift += f64::from(u8::from(e1[0]));
            ev.scale += f64::from(u8::from(e1[1]));
            ev.mix += f64::from(u8::from(e1[NUMERIC]));
        }
        let pct = |x: f64| format!("{:.1}%", 100.0 * x / trials as f64);
        for (who, t) in [("Steward default", &st), ("Evidently default", &ev)] {
            println!(
                "| {n} | {who} | {} | {} | {} | {} | {} | {} |",
                pct(t.col_fa),
                pct(t.any_fa),
                pct(t.share_rule_fa),
                pct(t.shift),
                pct(t.scale),
                pct(t.mix)
            );
        }
    }
}
