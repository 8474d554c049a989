//! Rules on the source text that the compiler cannot check, in the spirit of rust-analyzer's
//! tidy test: every source file says what it is and stays under 600 lines, never unwraps outside
//! tests, and principals are built only by
//! authentication or as a system actor.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `crates/*/src`.
fn sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    for krate in std::fs::read_dir(workspace().join("crates"))
        .unwrap()
        .flatten()
    {
        let src = krate.path().join("src");
        if src.is_dir() {
            walk(&src, &mut out);
        }
    }
    assert!(out.len() > 50, "found only {} source files", out.len());
    out
}

fn relative(path: &Path) -> String {
    path.strip_prefix(workspace())
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

#[test]
fn every_source_file_opens_with_a_doc_comment() {
    let missing: Vec<String> = sources()
        .into_iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .map(|p| relative(&p))
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` line: {missing:?}"
    );
}

/// Files of one concept stay readable; a file past this wants splitting along its concepts.
const MAX_SOURCE_LINES: usize = 600;

#[test]
fn no_source_file_is_over_600_lines() {
    let long: Vec<String> = sources()
        .into_iter()
        .filter_map(|p| {
            let n = std::fs::read_to_string(&p).unwrap().lines().count();
            (n > MAX_SOURCE_LINES).then(|| format!("{} ({n} lines)", relative(&p)))
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these along their concepts: {long:?}"
    );
}

#[test]
fn principals_come_from_authentication_or_a_system_actor() {
    let offenders: Vec<String> = sources()
        .into_iter()
        .filter(|p| {
            let rel = relative(p);
            !rel.starts_with("crates/steward-service/src/auth/")
                && !rel.starts_with("crates/steward-domain/src/")
                && !rel.ends_with("/testing.rs")
        })
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .contains("Principal::authenticated(")
        })
        .map(|p| relative(&p))
        .collect();
    assert!(
        offenders.is_empty(),
        "only the authenticator builds principals from tokens; use Principal::system(SystemActor::..) in {offenders:?}"
    );
}

/// Source files that may panic on a failed `unwrap`/`expect`, and why: test support, where a
/// failed set-up must stop the test. Everywhere else a failure is an error value, and a proven
/// invariant is written as `unreachable!` with the proof beside it.
const MAY_UNWRAP: &[(&str, &str)] = &[
    (
        "crates/steward-store/src/testing.rs",
        "test support: a test database that cannot be created fails the test",
    ),
    (
        "crates/steward-service/src/testing.rs",
        "test support: a test database that cannot be opened fails the test",
    ),
    (
        "crates/steward-loopback/src/tests.rs",
        "the loopback receivers' unit tests, in a file of their own (`#[cfg(test)] mod tests;`)",
    ),
    (
        "crates/steward-server/src/config/tests.rs",
        "the configuration's unit tests, in a file of their own (`#[cfg(test)] mod tests;`)",
    ),
];

#[test]
fn no_unwrap_or_expect_outside_tests() {
    let mut offenders = Vec::new();
    for p in sources() {
        let rel = relative(&p);
        if MAY_UNWRAP.iter().any(|(f, _)| *f == rel) {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        // Unit tests sit in a `#[cfg(test)]` module at the end of a file.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (i, line) in code.lines().enumerate() {
            let line = line.split("//").next().unwrap_or("");
            if line.contains(".unwrap()") || line.contains(".expect(") {
                offenders.push(format!("{rel}:{}", i + 1));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "return an error instead (or list a proven invariant in MAY_UNWRAP): {offenders:?}"
    );
}
