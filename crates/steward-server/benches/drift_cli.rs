//! Whole-process benchmark of `steward drift` on Parquet: writes issue 4's data set (20 numeric
//! N(0,1) and 5 categorical columns of 8 labels; in the current file 5 numeric columns shifted by
//! 0.25 sd) at several sizes, runs the release binary several times per size and prints the
//! median wall time and peak memory (through `/usr/bin/time` when present).
//!
//! Run: `cargo bench -p steward-server --bench drift_cli -- [--runs 5]
//! [--dir /tmp/steward-drift-bench] [--before PATH] [ROWS ...]` (default rows: 10000 100000
//! 1000000). `--before PATH` runs another `steward` binary (say, a build of the previous commit)
//! side by side: the two alternate run by run on the same files, and each gets its own row.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{ArrayRef, Float64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use steward_drift::synth::SplitMix64;

const NUMERIC: usize = 20;
const SHIFTED: usize = 5;
const CATEGORICAL: usize = 5;
const SHIFT: f64 = 0.25;
const LABELS: [&str; 8] = [
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
];
const CHUNK: usize = 1 << 20;

type BoxError = Box<dyn std::error::Error>;

fn schema() -> Arc<Schema> {
    let mut fields: Vec<Field> = (0..NUMERIC)
        .map(|i| Field::new(format!("x{i:02}"), DataType::Float64, false))
        .collect();
    fields.extend((0..CATEGORICAL).map(|i| Field::new(format!("c{i}"), DataType::Utf8, false)));
    Arc::new(Schema::new(fields))
}

/// Writes `rows` rows; `current` shifts the first [`SHIFTED`] numeric columns.
fn write_file(path: &Path, rows: usize, seed: u64, current: bool) -> Result<(), BoxError> {
    let schema = schema();
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let mut writer = ArrowWriter::try_new(File::create(path)?, Arc::clone(&schema), Some(props))?;
    let mut rngs: Vec<SplitMix64> = (0..NUMERIC + CATEGORICAL)
        .map(|c| SplitMix64::new(seed.wrapping_mul(1000).wrapping_add(c as u64)))
        .collect();
    let mut done = 0;
    while done < rows {
        let n = CHUNK.min(rows - done);
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(NUMERIC + CATEGORICAL);
        for (c, rng) in rngs.iter_mut().enumerate() {
            if c < NUMERIC {
                let loc = if current && c < SHIFTED { SHIFT } else { 0.0 };
                let v: Float64Array = (0..n).map(|_| loc + rng.next_normal()).collect();
                columns.push(Arc::new(v));
            } else {
                let v: StringArray = (0..n)
                    .map(|_| Some(LABELS[rng.next_below(LABELS.len() as u64) as usize]))
                    .collect();
                columns.push(Arc::new(v));
            }
        }
        writer.write(&RecordBatch::try_new(Arc::clone(&schema), columns)?)?;
        done += n;
    }
    writer.close()?;
    Ok(())
}

struct Run {
    seconds: f64,
    max_rss_kib: Option<u64>,
}

fn run_once(exe: &Path, reference: &Path, current: &Path) -> Result<Run, BoxError> {
    let timer = Path::new("/usr/bin/time");
    let mut cmd = if timer.exists() {
        let mut c = Command::new(timer);
        c.args(["-f", "%M"]).arg(exe);
        c
    } else {
        Command::new(exe)
    };
    cmd.arg("drift")
        .arg(reference)
        .arg(current)
        .args(["--format", "json"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let out = cmd.output()?;
    let seconds = start.elapsed().as_secs_f64();
    if out.status.code() != Some(1) {
        return Err(format!(
            "expected exit code 1 (drift), got {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let max_rss_kib = String::from_utf8_lossy(&out.stderr)
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok());
    Ok(Run {
        seconds,
        max_rss_kib,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<(), BoxError> {
    let mut runs = 5usize;
    let mut dir = PathBuf::from("/tmp/steward-drift-bench");
    let mut binaries = vec![("this", PathBuf::from(env!("CARGO_BIN_EXE_steward")))];
    let mut sizes = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().ok_or("--runs needs a value")?.parse()?,
            "--dir" => dir = PathBuf::from(args.next().ok_or("--dir needs a value")?),
            "--before" => binaries.push((
                "before",
                PathBuf::from(args.next().ok_or("--before needs a value")?),
            )),
            // Flags cargo bench passes to every bench binary.
            "--bench" => {}
            other => sizes.push(other.replace('_', "").parse::<usize>()?),
        }
    }
    if sizes.is_empty() {
        sizes = vec![10_000, 100_000, 1_000_000];
    }
    let runs = runs.max(1);
    std::fs::create_dir_all(&dir)?;
    println!(
        "| binary | rows per side | file size (ref) | median wall | min | max | median peak RSS |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for rows in sizes {
        let reference = dir.join(format!("ref_{rows}.parquet"));
        let current = dir.join(format!("cur_{rows}.parquet"));
        if !reference.exists() || !current.exists() {
            eprintln!(
                "writing {} and {} ...",
                reference.display(),
                current.display()
            );
            write_file(&reference, rows, 1, false)?;
            write_file(&current, rows, 2, true)?;
        }
        // One warm-up run each so that every measured run reads the files from the page cache.
        for (_, exe) in &binaries {
            run_once(exe, &reference, &current)?;
        }
        let mut times = vec![Vec::with_capacity(runs); binaries.len()];
        let mut rss = vec![Vec::with_capacity(runs); binaries.len()];
        for _ in 0..runs {
            // Alternating, so that both binaries see the same machine load.
            for (b, (_, exe)) in binaries.iter().enumerate() {
                let r = run_once(exe, &reference, &current)?;
                times[b].push(r.seconds);
                if let Some(k) = r.max_rss_kib {
                    rss[b].push(k as f64);
                }
            }
        }
        let size_mib = std::fs::metadata(&reference)?.len() as f64 / (1024.0 * 1024.0);
        for (b, (label, _)) in binaries.iter().enumerate() {
            let times = std::mem::take(&mut times[b]);
            let rss = std::mem::take(&mut rss[b]);
            let (min, max) = (
                times.iter().copied().fold(f64::INFINITY, f64::min),
                times.iter().copied().fold(0.0, f64::max),
            );
            let rss = if rss.is_empty() {
                "n/a".to_owned()
            } else {
                format!("{:.0} MiB", median(rss) / 1024.0)
            };
            println!(
                "| {label} | {rows} | {size_mib:.1} MiB | {:.3} s | {min:.3} s | {max:.3} s | {rss} |",
                median(times)
            );
        }
    }
    Ok(())
}
