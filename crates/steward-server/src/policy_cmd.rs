//! `steward policy check|test|replay`: the policy author's command line over steward-policy.
//!
//! None of these commands needs a configuration file, a database or the async runtime: they
//! read policy files from disk, evaluate them in the sandboxed engine and print the result.
//! Exit codes: 0 = fine, 1 = the policy has errors, failed tests or failed evaluations,
//! 2 = the command could not do its job (unreadable file, malformed history, bad arguments).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};
use serde_json::json;
use steward_policy::PolicyEngine;
use steward_policy::fs::{FsError, check_file, read_history, run_test_dir};
use steward_policy::replay::{ReplayOptions, ReplayStep, replay};

/// Output format of `replay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line per window, then a summary line.
    Text,
    /// One JSON document for machines.
    Json,
}

/// The `steward policy` subcommands.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Compile and lint policies; prints FILE:LINE:COLUMN per finding. Exit 1 on any error
    /// (warnings alone exit 0), 2 when a file cannot be read.
    Check {
        /// Policy files; a directory stands for every `*.rhai` file under it.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format (`json`: every diagnostic, then the counts).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run every policy's test cases (`NAME.tests.json` beside `NAME.rhai`) under DIR;
    /// ends with `N passed, M failed`, exit 1 when anything failed.
    Test {
        /// Directory searched recursively for `*.rhai` policies.
        dir: PathBuf,
        /// Output format (`json`: every case with its failure, then the counts).
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run the policy's `on_window` over recorded windows and print what it would have
    /// decided at each, with no side effects. Exit 1 when an evaluation failed.
    Replay {
        /// The policy file.
        file: PathBuf,
        /// Recorded `on_window` contexts: a JSON array, `{"windows": [...]}` or JSON lines.
        #[arg(long)]
        history: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// The three outcomes a policy command can have, in increasing severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    Ok,
    Failed,
    Error,
}

impl From<Status> for ExitCode {
    fn from(status: Status) -> Self {
        match status {
            Status::Ok => ExitCode::SUCCESS,
            Status::Failed => ExitCode::from(1),
            Status::Error => ExitCode::from(2),
        }
    }
}

/// Runs a `steward policy` subcommand and turns its outcome into the process exit code.
pub fn run(command: &PolicyCommand) -> ExitCode {
    let engine = PolicyEngine::default();
    let result = match command {
        PolicyCommand::Check { files, format } => check(&engine, files, *format),
        PolicyCommand::Test { dir, format } => test(&engine, dir, *format),
        PolicyCommand::Replay {
            file,
            history,
            format,
        } => replay_cmd(&engine, file, history, *format),
    };
    match result {
        Ok(status) => status.into(),
        Err(e) => {
            eprintln!("error: {e:#}");
            Status::Error.into()
        }
    }
}

/// Writes `text` to stdout at once. A closed pipe (`| head`) is not an error.
fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write the output")
        }
        _ => Ok(()),
    }
}

/// The library's file errors already name the path and the cause; as anyhow errors with a
/// source they would print the cause twice.
fn fs_error(e: FsError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// `check`: every file is checked even when an earlier one is unreadable, so one run shows
/// every problem; an unreadable file outranks lint errors in the exit code.
fn check(engine: &PolicyEngine, args: &[PathBuf], format: Format) -> Result<Status> {
    let mut status = Status::Ok;
    let mut files = Vec::new();
    for arg in args {
        if arg.is_dir() {
            let before = files.len();
            if let Err(e) = collect_policies(arg, &mut files) {
                eprintln!("error: {e:#}");
                status = Status::Error;
            } else if files.len() == before {
                eprintln!("error: no policies (*.rhai) under {}", arg.display());
                status = Status::Error;
            }
        } else {
            files.push(arg.clone());
        }
    }
    let (mut errors, mut warnings) = (0usize, 0usize);
    let mut checked = 0usize;
    let mut out = String::new();
    let mut found = Vec::new();
    for file in &files {
        let diagnostics = match check_file(engine, file) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("error: {e}");
                status = Status::Error;
                continue;
            }
        };
        checked += 1;
        if diagnostics.is_empty() {
            let _ = writeln!(out, "{}: ok", file.display());
        }
        for d in &diagnostics {
            if d.is_error() {
                errors += 1;
            } else {
                warnings += 1;
            }
            let _ = writeln!(out, "{d}");
        }
        found.extend(diagnostics);
    }
    let _ = writeln!(
        out,
        "{checked} {} checked: {errors} {}, {warnings} {}",
        plural(checked, "file", "files"),
        plural(errors, "error", "errors"),
        plural(warnings, "warning", "warnings"),
    );
    if format == Format::Json {
        out = serde_json::json!({"checked": checked, "errors": errors, "warnings": warnings,
            "diagnostics": found})
        .to_string()
            + "\n";
    }
    emit(&out)?;
    if errors > 0 {
        status = status.max(Status::Failed);
    }
    Ok(status)
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// Every `*.rhai` file under `dir`, recursively, in path order.
fn collect_policies(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut found = Vec::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot read {}", dir.display()))?
            .path();
        if path.is_dir() {
            collect_policies(&path, &mut found)?;
        } else if path.extension().is_some_and(|e| e == "rhai") {
            found.push(path);
        }
    }
    found.sort();
    out.extend(found);
    Ok(())
}

/// `test`: the library's report, printed as is; a directory without policies is a usage
/// error rather than a silent success.
fn test(engine: &PolicyEngine, dir: &Path, format: Format) -> Result<Status> {
    let report = run_test_dir(engine, dir).map_err(fs_error)?;
    if report.passed() == 0 && report.failed() == 0 {
        bail!(
            "no policies (*.rhai) with test cases under {}",
            dir.display()
        );
    }
    match format {
        Format::Text => emit(&format!("{report}\n"))?,
        Format::Json => {
            let suites: Vec<serde_json::Value> = report
                .suites
                .iter()
                .map(|s| {
                    let cases: Vec<serde_json::Value> = s
                        .cases
                        .iter()
                        .map(|c| serde_json::json!({"name": c.name, "passed": c.passed(), "failure": c.failure, "micros": c.duration.as_micros()}))
                        .collect();
                    serde_json::json!({"policy": s.policy, "error": s.error, "cases": cases})
                })
                .collect();
            let doc = serde_json::json!({"passed": report.passed(), "failed": report.failed(), "suites": suites});
            emit(&format!("{doc}\n"))?;
        }
    }
    Ok(if report.success() {
        Status::Ok
    } else {
        Status::Failed
    })
}

/// `replay`: anything that prevents the replay (unreadable or non-compiling policy, no
/// `on_window`, malformed or empty history) is an error; a window whose evaluation failed is
/// a finding, shown in place, and makes the exit code 1.
fn replay_cmd(
    engine: &PolicyEngine,
    file: &Path,
    history: &Path,
    format: Format,
) -> Result<Status> {
    let name = file.display().to_string();
    let source = std::fs::read_to_string(file).with_context(|| format!("cannot read {name}"))?;
    let policy = match engine.compile(&name, &source) {
        Ok(policy) => policy,
        Err(e) => {
            for d in &e.diagnostics {
                eprintln!("{d}");
            }
            bail!("{name} does not compile (see `steward policy check {name}`)");
        }
    };
    // Warnings go to stderr so that stdout stays one clean document in JSON form.
    for d in policy.warnings() {
        eprintln!("{d}");
    }
    if !policy.defines("on_window") {
        bail!("{name} defines no `fn on_window(ctx)`, which replay runs for each window");
    }
    let windows = read_history(history).map_err(fs_error)?;
    if windows.is_empty() {
        bail!("{}: the history holds no windows", history.display());
    }
    let steps = replay(engine, &policy, &windows, ReplayOptions::default());
    let decisions: usize = steps
        .iter()
        .map(|s| s.decisions.as_ref().map_or(0, Vec::len))
        .sum();
    let failed = steps.iter().filter(|s| s.decisions.is_err()).count();
    let out = match format {
        Format::Text => {
            let mut out = String::new();
            for step in &steps {
                let _ = writeln!(out, "{step}");
            }
            let _ = writeln!(
                out,
                "{} {} replayed: {decisions} {}, {failed} failed",
                steps.len(),
                plural(steps.len(), "window", "windows"),
                plural(decisions, "decision", "decisions"),
            );
            out
        }
        Format::Json => {
            let doc = json!({
                "policy": name,
                "hash": policy.hash().to_string(),
                "windows": steps.iter().map(step_json).collect::<Vec<_>>(),
                "summary": {"windows": steps.len(), "decisions": decisions, "failed": failed},
            });
            format!("{doc:#}\n")
        }
    };
    emit(&out)?;
    Ok(if failed > 0 {
        Status::Failed
    } else {
        Status::Ok
    })
}

/// One replay step as JSON: `decisions` on success, `error` (and `limit`) on failure.
/// Durations are left out so that a replay's output is reproducible.
fn step_json(step: &ReplayStep) -> serde_json::Value {
    let mut value = json!({
        "index": step.index,
        "window_end": step.window_end.to_string(),
        "log": step.log,
    });
    match &step.decisions {
        Ok(decisions) => {
            value["decisions"] = decisions.iter().map(|d| d.to_json()).collect();
        }
        Err(e) => {
            value["error"] = json!(e.to_string());
            value["limit"] = json!(step.limit_hit.map(|l| l.as_str()));
        }
    }
    value
}
