//! `steward drift REFERENCE CURRENT`: compares two data files (CSV, JSON lines, Parquet or
//! Arrow IPC, read through steward-ingest) column by column and prints a table, JSON or a
//! self-contained HTML page. Exit code 0 = no drift, 1 = drift,
//! 2 = error (unreadable or inconsistent input, bad arguments).

mod columns;
mod outcome;
mod performance;
mod profile;
mod read;
mod render_html;
mod render_text;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use steward_drift::{Correction, DriftConfig, FeatureRole, Method, ProfileConfig, compare};

use self::outcome::Outcome;
use self::profile::{Planned, profile_all};
use self::read::Side;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable table.
    Text,
    /// One JSON document for machines.
    Json,
    /// One self-contained HTML page with a chart per feature.
    Html,
}

/// How features are judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// KS / chi-square with Benjamini-Hochberg and effect-size floors (Steward's default).
    Auto,
    /// Tests only, no effect-size floor (flags any significant difference).
    TestOnly,
    /// PSI on reference deciles or categories, drift at --psi-threshold.
    Psi,
    /// Evidently 0.7.23's default tests and thresholds; dataset drift when half the columns drift.
    Evidently,
}

/// Arguments of `steward drift`.
#[derive(Debug, Args)]
pub struct DriftArgs {
    /// Reference data set (CSV with a header line, JSON lines, Parquet or Arrow IPC).
    pub reference: PathBuf,
    /// Current data set, compared with the reference (any of the same formats).
    pub current: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Columns to compare, comma-separated (default: every column of the reference).
    #[arg(long, value_delimiter = ',')]
    pub columns: Option<Vec<String>>,
    /// The ground-truth column (compared like the others, reported with the role "target").
    #[arg(long)]
    pub target: Option<String>,
    /// The model's output column (its drift is reported as prediction drift).
    #[arg(long)]
    pub prediction: Option<String>,
    /// Method.
    #[arg(long, value_enum, default_value_t = MethodArg::Auto)]
    pub method: MethodArg,
    /// Significance level after the multiple-testing correction.
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// PSI at or above which a feature drifts (--method psi).
    #[arg(long, default_value_t = 0.2)]
    pub psi_threshold: f64,
}

/// Runs `steward drift` and turns the outcome into the process exit code.
pub fn run(args: &DriftArgs) -> ExitCode {
    match execute(args) {
        Ok(true) => ExitCode::from(1),
        Ok(false) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Compares the files and prints the result; `Ok(true)` when the data set drifted.
fn execute(args: &DriftArgs) -> Result<bool> {
    let config = drift_config(args)?;
    let progress = crate::cli::Progress::spinner("reading the reference and the current data");
    let (reference, current) = std::thread::scope(|s| {
        let r = s.spawn(|| Side::open(&args.reference));
        let c = Side::open(&args.current);
        (r.join(), c)
    });
    let reference = reference.map_err(|_| anyhow::anyhow!("reading the reference panicked"))??;
    let current = current?;
    let names = select_columns(args, &reference, &current)?;
    let mut plan = Vec::with_capacity(names.len());
    for (name, role) in names {
        let kind = columns::resolve_kind(&reference, &current, &name)?;
        plan.push(Planned { name, role, kind });
    }
    progress.say(&format!("profiling {} columns", plan.len()));
    let profiled = profile_all(
        &reference,
        &current,
        &plan,
        &ProfileConfig::default(),
        args.method == MethodArg::Evidently,
    )?;
    let performance = match (&args.target, &args.prediction) {
        (Some(t), Some(p)) => Some(performance::compare(&reference, &current, t, p)?),
        _ => None,
    };
    let report = compare(&profiled.reference, &profiled.window, &config)
        .context("cannot compare the profiles")?;
    drop(progress);
    let mut outcome = Outcome::new(args, &reference, &current, &plan, report, profiled);
    outcome.performance = performance;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = match args.format {
        Format::Text => render_text::write(&mut out, &outcome),
        Format::Json => outcome.write_json(&mut out),
        Format::Html => render_html::write(&mut out, &outcome),
    };
    ignore_broken_pipe(written.and_then(|()| out.flush())).context("cannot write the output")?;
    Ok(outcome.dataset_drift())
}

fn drift_config(args: &DriftArgs) -> Result<DriftConfig> {
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        bail!("--alpha must be between 0 and 1, got {}", args.alpha);
    }
    if !(args.psi_threshold >= 0.0 && args.psi_threshold.is_finite()) {
        bail!("--psi-threshold must be a non-negative number");
    }
    Ok(DriftConfig {
        method: match args.method {
            MethodArg::TestOnly => Method::TestOnly,
            MethodArg::Psi => Method::Psi,
            MethodArg::Auto | MethodArg::Evidently => Method::Auto,
        },
        alpha: args.alpha,
        correction: Correction::BenjaminiHochberg,
        psi_threshold: args.psi_threshold,
        ..DriftConfig::default()
    })
}

/// The columns to compare with their roles: `--columns` (or every reference column whose type
/// can be compared), plus `--target` and `--prediction`; every one must exist in both files.
fn select_columns(
    args: &DriftArgs,
    reference: &Side,
    current: &Side,
) -> Result<Vec<(String, FeatureRole)>> {
    let mut names: Vec<String> = match &args.columns {
        Some(list) => list
            .iter()
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .collect(),
        None => {
            let mut all = Vec::new();
            for f in reference.schema().fields() {
                if columns::classify(f.data_type()).is_some() {
                    all.push(f.name().clone());
                } else {
                    eprintln!(
                        "note: skipping column {:?} of {}: type {} is neither numeric nor categorical",
                        f.name(),
                        reference.path.display(),
                        f.data_type()
                    );
                }
            }
            all
        }
    };
    for extra in [&args.target, &args.prediction].into_iter().flatten() {
        if !names.contains(extra) {
            names.push(extra.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    names.retain(|n| seen.insert(n.clone()));
    if names.is_empty() {
        bail!("no columns to compare");
    }
    if args.target.is_some() && args.target == args.prediction {
        bail!("--target and --prediction name the same column");
    }
    for name in &names {
        for source in [reference, current] {
            if !source.has_column(name) {
                bail!(
                    "{} has no column {name:?} (its columns: {})",
                    source.path.display(),
                    column_list(source)
                );
            }
        }
    }
    Ok(names
        .into_iter()
        .map(|n| {
            let role = if Some(&n) == args.target.as_ref() {
                FeatureRole::Target
            } else if Some(&n) == args.prediction.as_ref() {
                FeatureRole::Prediction
            } else {
                FeatureRole::Input
            };
            (n, role)
        })
        .collect())
}

fn column_list(source: &Side) -> String {
    const SHOWN: usize = 12;
    let fields = source.schema().fields();
    let mut list: Vec<String> = fields
        .iter()
        .take(SHOWN)
        .map(|f| format!("{:?}", f.name()))
        .collect();
    if fields.len() > SHOWN {
        list.push(format!("... {} more", fields.len() - SHOWN));
    }
    list.join(", ")
}

/// Treats a closed pipe (`steward drift ... | head`) as success.
fn ignore_broken_pipe(r: std::io::Result<()>) -> std::io::Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
