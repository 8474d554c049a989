//! `steward drift` end to end: the real binary on CSV and Parquet fixtures written at test time;
//! exit codes, the order of features, the JSON and HTML forms, and one clear error per class of
//! bad file.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use steward_drift::synth::SplitMix64;
use tempfile::TempDir;

const ROWS: usize = 3_000;
const LABELS: [&str; 4] = ["red", "green", "blue", "black"];

struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn steward(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .output()
        .expect("the steward binary runs");
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn drift(reference: &Path, current: &Path, extra: &[&str]) -> Output {
    let (r, c) = (reference.to_str().unwrap(), current.to_str().unwrap());
    let mut args = vec!["drift", r, c];
    args.extend_from_slice(extra);
    steward(&args)
}

/// Columns `age` (integers), `income`, `shifted` (moved by `shift` sd) and `colour`.
struct Data {
    age: Vec<i64>,
    income: Vec<f64>,
    shifted: Vec<f64>,
    colour: Vec<&'static str>,
}

fn data(seed: u64, shift: f64) -> Data {
    let mut rng = SplitMix64::new(seed);
    let mut d = Data {
        age: Vec::new(),
        income: Vec::new(),
        shifted: Vec::new(),
        colour: Vec::new(),
    };
    for _ in 0..ROWS {
        d.age.push(20 + rng.next_below(50) as i64);
        d.income.push(50_000.0 + 10_000.0 * rng.next_normal());
        d.shifted.push(shift + rng.next_normal());
        d.colour.push(LABELS[rng.next_below(4) as usize]);
    }
    d
}

fn write_csv(dir: &TempDir, name: &str, d: &Data) -> PathBuf {
    let mut s = String::from("age,income,shifted,colour\n");
    for i in 0..ROWS {
        s.push_str(&format!(
            "{},{},{},{}\n",
            d.age[i], d.income[i], d.shifted[i], d.colour[i]
        ));
    }
    write_text(dir, name, &s)
}

fn write_parquet(dir: &TempDir, name: &str, d: &Data) -> PathBuf {
    let schema = Arc::new(Schema::new(vec![
        Field::new("age", DataType::Int64, false),
        Field::new("income", DataType::Float64, false),
        Field::new("shifted", DataType::Float64, false),
        Field::new("colour", DataType::Utf8, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(d.age.clone())),
        Arc::new(Float64Array::from(d.income.clone())),
        Arc::new(Float64Array::from(d.shifted.clone())),
        Arc::new(StringArray::from(d.colour.clone())),
    ];
    let path = dir.path().join(name);
    let file = std::fs::File::create(&path).unwrap();
    let mut w = ArrowWriter::try_new(file, Arc::clone(&schema), None).unwrap();
    w.write(&RecordBatch::try_new(schema, columns).unwrap())
        .unwrap();
    w.close().unwrap();
    path
}

fn write_text(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", out.stdout))
}

#[test]
fn same_distribution_exits_0_on_csv_and_parquet() {
    let dir = TempDir::new().unwrap();
    let (r, c) = (data(1, 0.0), data(2, 0.0));
    let pairs = [
        (write_csv(&dir, "r.csv", &r), write_csv(&dir, "c.csv", &c)),
        (
            write_parquet(&dir, "r.parquet", &r),
            write_parquet(&dir, "c.parquet", &c),
        ),
        (dir.path().join("r.csv"), dir.path().join("c.parquet")),
    ];
    for (reference, current) in pairs {
        let out = drift(&reference, &current, &[]);
        assert_eq!(
            out.code,
            Some(0),
            "{reference:?} vs {current:?}: {}{}",
            out.stdout,
            out.stderr
        );
        assert!(
            out.stdout.starts_with("no drift: 0 of 4 features drifted"),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn shifted_column_exits_1_and_is_reported_first() {
    let dir = TempDir::new().unwrap();
    let (r, c) = (data(1, 0.0), data(2, 0.5));
    for (reference, current) in [
        (write_csv(&dir, "r.csv", &r), write_csv(&dir, "c.csv", &c)),
        (
            write_parquet(&dir, "r.parquet", &r),
            write_parquet(&dir, "c.parquet", &c),
        ),
    ] {
        let out = drift(&reference, &current, &[]);
        assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
        assert!(
            out.stdout.starts_with("DRIFT: 1 of 4 features drifted"),
            "{}",
            out.stdout
        );
        let table: Vec<&str> = out
            .stdout
            .lines()
            .skip_while(|l| !l.starts_with("feature"))
            .collect();
        assert!(table[1].starts_with("shifted "), "{}", out.stdout);
        assert!(table[1].contains(" drift "), "{}", out.stdout);
    }
}

#[test]
fn json_has_files_verdicts_and_statistics() {
    let dir = TempDir::new().unwrap();
    let r = write_parquet(&dir, "r.parquet", &data(1, 0.0));
    let c = write_csv(&dir, "c.csv", &data(2, 0.5));
    let out = drift(
        &r,
        &c,
        &[
            "--format",
            "json",
            "--prediction",
            "shifted",
            "--target",
            "age",
        ],
    );
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let v = json(&out);
    assert_eq!(v["dataset_drift"], true);
    assert_eq!(v["method"], "auto");
    assert_eq!(v["reference"]["format"], "parquet");
    assert_eq!(v["current"]["format"], "csv");
    assert_eq!(v["current"]["rows"], ROWS as u64);
    let report = &v["report"];
    assert_eq!(report["drifted_features"], 1);
    assert_eq!(report["tested_features"], 4);
    let features = report["features"].as_array().unwrap();
    assert_eq!(features.len(), 4);
    let first = &features[0];
    assert_eq!(first["feature"], "shifted");
    assert_eq!(first["role"], "prediction");
    assert_eq!(first["kind"], "numeric");
    assert_eq!(first["verdict"], "drift");
    assert!(first["p_value"].as_f64().unwrap() < 1e-6);
    assert!(first["effect_size"].as_f64().unwrap() > 0.3);
    let age = features.iter().find(|f| f["feature"] == "age").unwrap();
    assert_eq!(age["role"], "target");
    let colour = features.iter().find(|f| f["feature"] == "colour").unwrap();
    assert_eq!(colour["kind"], "categorical");
    assert_eq!(colour["method"], "chi_square");
}

#[test]
fn html_is_one_page_with_an_svg_per_feature_drifted_first() {
    let dir = TempDir::new().unwrap();
    let r = write_csv(&dir, "r.csv", &data(1, 0.0));
    let c = write_csv(&dir, "c.csv", &data(2, 0.5));
    let out = drift(&r, &c, &["--format", "html"]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let html = &out.stdout;
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert_eq!(html.matches("<svg").count(), 4);
    assert_eq!(html.matches("<section").count(), 4);
    for external in ["<script", "<link", "src=", "url(", "@import"] {
        assert!(
            !html.contains(external),
            "page refers to an external asset: {external}"
        );
    }
    let first_section = html.find("<section").unwrap();
    assert!(html[first_section..].starts_with("<section id=\"f0\"><h2>shifted<"));
}

#[test]
fn html_charts_of_tied_and_constant_data_stay_bounded_and_uncut() {
    // 237 days of temperatures in tenths of a degree (many ties), a constant column, and a
    // three-row current set: each chart is a cumulative curve between 0% and 100%, its
    // caption inside the drawing.
    let dir = TempDir::new().unwrap();
    let rows = |n: usize, shift: f64| {
        let mut s = String::from("temperature,station\n");
        for d in 0..n {
            let t = 15.0 + ((d * 37 % 101) / 10) as f64 * 0.1 + shift;
            s.push_str(&format!("{t:.1},7\n"));
        }
        s
    };
    let r = write_text(&dir, "r.csv", &rows(237, 0.0));
    let c = write_text(&dir, "c.csv", &rows(3, 0.3));
    let out = drift(&r, &c, &["--format", "html"]);
    assert!(out.code == Some(0) || out.code == Some(1), "{}", out.stderr);
    let html = &out.stdout;
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 2, "{html}");
    assert!(!html.contains("NaN") && !html.contains("inf"), "{html}");
    for chart in html.split("<svg class=\"chart\"").skip(1) {
        let chart = chart.split("</svg>").next().unwrap();
        let height: f64 = chart
            .split("height=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        for text in chart.split("<text ").skip(1) {
            let y: f64 = text
                .split(" y=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert!(
                y < height,
                "a caption at {y} is cut by the chart's height {height}"
            );
        }
        assert!(chart.contains("% above"), "{chart}");
    }
}

#[test]
fn columns_and_evidently_method() {
    let dir = TempDir::new().unwrap();
    let r = write_csv(&dir, "r.csv", &data(1, 0.0));
    let c = write_csv(&dir, "c.csv", &data(2, 0.5));
    let out = drift(&r, &c, &["--columns", "income,colour", "--format", "json"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(
        json(&out)["report"]["features"].as_array().unwrap().len(),
        2
    );

    let out = drift(&r, &c, &["--method", "evidently", "--format", "json"]);
    let v = json(&out);
    let ev = &v["evidently"];
    assert_eq!(ev["columns"].as_array().unwrap().len(), 4);
    assert_eq!(ev["columns"][0]["feature"], "shifted");
    assert_eq!(ev["columns"][0]["test"], "wasserstein");
    // One of four columns is below Evidently's half-the-columns rule.
    assert_eq!(ev["dataset_drift"], false);
    assert_eq!(out.code, Some(0));
}

#[test]
fn bad_files_exit_2_naming_file_column_and_row() {
    let dir = TempDir::new().unwrap();
    let good = write_csv(&dir, "good.csv", &data(1, 0.0));
    let gp = good.to_str().unwrap();
    let mut rng = SplitMix64::new(9);
    let binary: Vec<u8> = (0..4096).map(|_| rng.next_below(256) as u8).collect();
    std::fs::write(dir.path().join("random.bin"), binary).unwrap();
    let cases: Vec<(&str, PathBuf, Vec<&str>)> = vec![
        (
            "missing column",
            write_text(&dir, "nocol.csv", "age,income,colour\n30,1.5,red\n"),
            vec!["has no column \"shifted\"", "nocol.csv"],
        ),
        (
            "type mismatch",
            write_text(
                &dir,
                "mismatch.csv",
                "age,income,shifted,colour\n30,1.5,0.1,red\n31,2.5,abc,red\n",
            ),
            vec![
                "type mismatch in column \"shifted\"",
                "mismatch.csv",
                "row 2 (line 3)",
                "\"abc\"",
            ],
        ),
        (
            "empty file",
            write_text(&dir, "empty.csv", ""),
            vec!["empty.csv is empty"],
        ),
        (
            "header only",
            write_text(&dir, "header.csv", "age,income,shifted,colour\n"),
            vec!["header.csv has no data rows"],
        ),
        (
            "NaN",
            write_text(
                &dir,
                "nan.csv",
                "age,income,shifted,colour\n30,1.5,0.1,red\n31,NaN,0.2,red\n",
            ),
            vec![
                "nan.csv",
                "column \"income\"",
                "non-finite value (NaN)",
                "row 2 (line 3)",
            ],
        ),
        (
            "infinity",
            write_text(
                &dir,
                "inf.csv",
                "age,income,shifted,colour\n30,1.5,0.1,red\n31,1.5,0.2,red\n32,1.5,-inf,red\n",
            ),
            vec![
                "inf.csv",
                "column \"shifted\"",
                "non-finite value (-inf)",
                "row 3 (line 4)",
            ],
        ),
        (
            "binary file",
            dir.path().join("random.bin"),
            vec!["random.bin is not CSV, JSON lines, Parquet or Arrow IPC"],
        ),
        (
            "broken parquet",
            write_text(&dir, "broken.parquet", "PAR1 this is not really parquet"),
            vec!["broken.parquet is not a readable Parquet file"],
        ),
        (
            "parquet name, other content",
            write_text(&dir, "text.parquet", "age,income\n1,2\n"),
            vec!["text.parquet is named like a Parquet file"],
        ),
        (
            "ragged csv",
            write_text(
                &dir,
                "ragged.csv",
                "age,income,shifted,colour\n30,1.5,0.1,red\n31,1.5\n",
            ),
            vec!["ragged.csv", "line"],
        ),
        (
            "unreadable file",
            dir.path().join("does-not-exist.csv"),
            vec!["cannot open", "does-not-exist.csv"],
        ),
    ];
    for (what, bad, wanted) in cases {
        let out = steward(&["drift", gp, bad.to_str().unwrap()]);
        assert_eq!(out.code, Some(2), "{what}: {}{}", out.stdout, out.stderr);
        assert!(out.stderr.starts_with("error: "), "{what}: {}", out.stderr);
        for w in wanted {
            assert!(
                out.stderr.contains(w),
                "{what}: {:?} lacks {w:?}",
                out.stderr
            );
        }
        assert!(!out.stderr.contains("panicked"), "{what}: {}", out.stderr);
    }
}

#[test]
fn bad_arguments_exit_2() {
    let dir = TempDir::new().unwrap();
    let good = write_csv(&dir, "good.csv", &data(1, 0.0));
    let gp = good.to_str().unwrap();
    let out = steward(&["drift", gp, gp, "--columns", "nope"]);
    assert_eq!(out.code, Some(2));
    assert!(
        out.stderr.contains("has no column \"nope\""),
        "{}",
        out.stderr
    );
    let out = steward(&["drift", gp, gp, "--alpha", "2"]);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("--alpha"), "{}", out.stderr);
    let out = steward(&["drift", gp, gp, "--format", "xml"]);
    assert_eq!(out.code, Some(2), "clap's usage errors also exit 2");
}

/// Labelled files: the current model's answers got worse while its inputs look the same.
#[test]
fn performance_against_the_reference_with_labels() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, flip: bool| {
        let mut text = String::from("x,label,score\n");
        for i in 0..2000u32 {
            // A deterministic, well-separated classifier: positive iff x > 0.
            let x = (f64::from(i) / 1999.0 - 0.5) * 4.0;
            let label = u8::from(x > 0.0);
            let mut p = 1.0 / (1.0 + (-3.0 * x).exp());
            if flip && i % 3 == 0 {
                p = 1.0 - p;
            }
            text.push_str(&format!("{x},{label},{p}\n"));
        }
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let reference = write("ref.csv", false);
    let same = write("same.csv", false);
    let worse = write("worse.csv", true);
    let run = |current: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_steward"))
            .args(["drift"])
            .arg(&reference)
            .arg(current)
            .args([
                "--target",
                "label",
                "--prediction",
                "score",
                "--format",
                "json",
            ])
            .output()
            .unwrap()
    };
    let ok = run(&same);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(v["performance"]["task"], "classification");
    assert_eq!(v["performance"]["degraded"], false);
    let bad = run(&worse);
    assert_eq!(bad.status.code(), Some(1), "degraded performance is drift");
    let v: serde_json::Value = serde_json::from_slice(&bad.stdout).unwrap();
    assert_eq!(v["performance"]["degraded"], true);
    let acc = v["performance"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "accuracy")
        .unwrap()
        .clone();
    assert!(
        acc["current"].as_f64().unwrap() < acc["baseline"].as_f64().unwrap() - 0.2,
        "{acc}"
    );
}
