//! Reading policy directories and history files from disk, for the CLI.
//!
//! The only IO in the crate, plain blocking `std::fs`: the CLI is synchronous, and the
//! service never calls this (it reads revisions from the store and passes text to
//! [`crate::testing::run_suites`] and [`crate::replay::replay`] directly).

use std::path::{Path, PathBuf};

use crate::context::WindowContext;
use crate::engine::PolicyEngine;
use crate::lint::Diagnostic;
use crate::replay::parse_history;
use crate::testing::{SuiteSource, TestReport, run_suites};

/// A file that could not be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

fn read(path: &Path) -> Result<String, FsError> {
    std::fs::read_to_string(path).map_err(|source| FsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The test-file path of a policy: `NAME.rhai` -> `NAME.tests.json`.
pub fn tests_path(policy: &Path) -> PathBuf {
    policy.with_extension("tests.json")
}

/// Reads every `*.rhai` policy under `dir` (recursively, in path order) with its tests.
/// A test file without a policy is reported as a suite that fails.
pub fn load_suites(dir: &Path) -> Result<Vec<SuiteSource>, FsError> {
    let mut policies = Vec::new();
    let mut orphans = Vec::new();
    collect(dir, &mut policies, &mut orphans)?;
    policies.sort();
    orphans.sort();
    let mut suites = Vec::new();
    for path in policies {
        let tests = tests_path(&path);
        let tests = if tests.exists() {
            Some((tests.display().to_string(), read(&tests)?))
        } else {
            None
        };
        suites.push(SuiteSource {
            policy_name: path.display().to_string(),
            policy_source: read(&path)?,
            tests,
        });
    }
    for orphan in orphans {
        suites.push(SuiteSource {
            policy_name: orphan.display().to_string(),
            policy_source: String::new(),
            tests: None,
        });
    }
    Ok(suites)
}

fn collect(
    dir: &Path,
    policies: &mut Vec<PathBuf>,
    orphans: &mut Vec<PathBuf>,
) -> Result<(), FsError> {
    let entries = std::fs::read_dir(dir).map_err(|source| FsError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let path = entry
            .map_err(|source| FsError::Read {
                path: dir.to_path_buf(),
                source,
            })?
            .path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if path.is_dir() {
            collect(&path, policies, orphans)?;
        } else if name.ends_with(".rhai") {
            policies.push(path);
        } else if let Some(stem) = name.strip_suffix(".tests.json")
            && !path.with_file_name(format!("{stem}.rhai")).exists()
        {
            orphans.push(path);
        }
    }
    Ok(())
}

/// `steward policy test DIR`: runs every policy's tests under `dir`.
pub fn run_test_dir(engine: &PolicyEngine, dir: &Path) -> Result<TestReport, FsError> {
    Ok(run_suites(engine, &load_suites(dir)?))
}

/// `steward policy check FILE`: the diagnostics of one policy file.
pub fn check_file(engine: &PolicyEngine, path: &Path) -> Result<Vec<Diagnostic>, FsError> {
    Ok(engine.check(&path.display().to_string(), &read(path)?))
}

/// Reads a history file for `steward policy replay` (see [`parse_history`]).
pub fn read_history(path: &Path) -> Result<Vec<WindowContext>, FsError> {
    parse_history(&read(path)?).map_err(|e| FsError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
