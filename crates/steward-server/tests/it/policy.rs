//! `steward policy check|test|replay` end to end: the real binary on the repository's example
//! policies and on small policies and histories written at test time; output, line and column
//! of findings, exit codes, and one clear error per kind of bad input.
//!
//! Every run points `STEWARD_CONFIG` at a file that does not exist: the policy commands must
//! work without configuration or database, and would fail loudly if they loaded either.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use tempfile::TempDir;

struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `steward` in `cwd`, so file names in the output are as short as the arguments.
fn steward(cwd: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_steward"))
        .args(args)
        .current_dir(cwd)
        .env("STEWARD_CONFIG", cwd.join("no-such-config.toml"))
        .env_remove("STEWARD_DATABASE_URL")
        .output()
        .expect("the steward binary runs");
    Output {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

fn write(dir: &TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).expect("write a fixture");
    path
}

/// Opens an incident (with an alert) when drift reaches 0.3 and resolves it at 0.1 or below;
/// throws on a negative score, so a replay can show a failed evaluation.
const WATCH: &str = r#"// Drift watch used by the CLI tests.
fn on_window(ctx) {
    let score = ctx.drift.composite;
    if score < 0.0 {
        throw "negative drift score";
    }
    let open = incident_open(ctx, "drift");
    if score >= 0.3 && !open {
        print(`composite ${score}`);
        return [open_incident("drift", "inputs drifted"), alert("warning", "drift", "ops")];
    }
    if score <= 0.1 && open {
        return resolve_incident("drift");
    }
}
"#;

/// An `on_window` context for the hour starting at `hour` with this composite drift score.
fn window(hour: u32, composite: f64) -> Value {
    json!({
        "model": {"id": "m-churn", "name": "churn", "version": "3", "risk_tier": "medium"},
        "window": {
            "start": format!("2025-03-01T{hour:02}:00:00Z"),
            "end": format!("2025-03-01T{:02}:00:00Z", hour + 1),
            "rows": 1000
        },
        "drift": {"composite": composite},
        "baseline": {"id": "b-3", "created_at": "2025-02-01T00:00:00Z"}
    })
}

/// A JSON-lines history of windows with these scores, one hour apart.
fn history(scores: &[f64]) -> String {
    scores
        .iter()
        .zip(0u32..)
        .map(|(&s, hour)| format!("{}\n", window(hour, s)))
        .collect()
}

fn last_line(text: &str) -> &str {
    text.lines().last().unwrap_or_default()
}

#[test]
fn test_passes_on_the_repository_examples() {
    let dir = examples_dir();
    let out = steward(&dir, &["policy", "test", "."]);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let summary = last_line(&out.stdout);
    let passed: usize = summary
        .strip_suffix(" passed, 0 failed")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected summary line {summary:?}"));
    let policies: Vec<String> = std::fs::read_dir(&dir)
        .expect("the examples directory")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".rhai"))
        .collect();
    assert!(policies.len() >= 5, "{policies:?}");
    assert!(passed >= policies.len(), "{summary}");
    for name in &policies {
        assert!(
            out.stdout.contains(name.as_str()),
            "{name} missing from\n{}",
            out.stdout
        );
    }
    assert!(!out.stdout.contains("FAIL"), "{}", out.stdout);

    // The same directory given as an absolute path, the way CI calls it, and through `check`.
    let absolute = dir.to_str().expect("a UTF-8 path");
    assert_eq!(steward(&dir, &["policy", "test", absolute]).code, Some(0));
    let checked = steward(&dir, &["policy", "check", absolute]);
    assert_eq!(
        checked.code,
        Some(0),
        "{}{}",
        checked.stdout,
        checked.stderr
    );
    assert_eq!(
        last_line(&checked.stdout),
        format!("{} files checked: 0 errors, 0 warnings", policies.len())
    );
}

#[test]
fn a_failing_case_exits_nonzero_and_names_the_case() {
    let dir = TempDir::new().expect("temp dir");
    write(&dir, "watch.rhai", WATCH);
    let tests = json!({
        "defaults": {"on_window": window(9, 0.05)},
        "cases": [
            {"name": "quiet window decides nothing", "hook": "on_window",
             "expect": {"decisions": []}},
            {"name": "drift pages someone critical", "hook": "on_window",
             "context": {"drift": {"composite": 0.5}},
             "expect": {"decisions": [{"kind": "open_incident"}, {"kind": "alert", "severity": "critical"}]}}
        ]
    });
    write(&dir, "watch.tests.json", &tests.to_string());

    let out = steward(dir.path(), &["policy", "test", "."]);
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("ok    quiet window decides nothing"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("FAIL  drift pages someone critical"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(r#"decisions[1].severity: expected "critical", got "warning""#),
        "{}",
        out.stdout
    );
    assert_eq!(last_line(&out.stdout), "1 passed, 1 failed");
}

#[test]
fn test_counts_a_policy_without_tests_as_a_failure() {
    let dir = TempDir::new().expect("temp dir");
    write(&dir, "untested.rhai", WATCH);
    let out = steward(dir.path(), &["policy", "test", "."]);
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("untested.rhai"), "{}", out.stdout);
    assert_eq!(last_line(&out.stdout), "0 passed, 1 failed");
}

#[test]
fn check_reports_line_and_column_of_each_finding() {
    // (file, source, exit code, text the output must contain)
    let cases: [(&str, &str, i32, &str); 6] = [
        (
            "syntax.rhai",
            "fn on_window(ctx) {\n    let x = ;\n}\n",
            1,
            "syntax.rhai:2:13: error[syntax]",
        ),
        (
            "typo.rhai",
            "fn on_window(ctx) {\n    let score = ctx.drift.composite;\n    alrt(\"warning\", \"drift\", \"ops\")\n}\n",
            1,
            "typo.rhai:3:5: error[unknown-function]: unknown function or decision `alrt` (did you mean `alert`?)",
        ),
        (
            "arity.rhai",
            "fn on_window(ctx) {\n    alert(\"warning\", \"drift\")\n}\n",
            1,
            "arity.rhai:2:5: error[arity]",
        ),
        (
            "hook.rhai",
            "fn on_windw(ctx) {\n    ()\n}\n",
            1,
            "hook.rhai:1:1: error[unknown-hook]",
        ),
        (
            "toplevel.rhai",
            "print(\"hello\");\nfn on_window(ctx) { () }\n",
            0,
            "toplevel.rhai:1:1: warning[top-level-code]",
        ),
        ("watch.rhai", WATCH, 0, "watch.rhai: ok"),
    ];
    let dir = TempDir::new().expect("temp dir");
    for (name, source, code, expected) in cases {
        write(&dir, name, source);
        let out = steward(dir.path(), &["policy", "check", name]);
        assert_eq!(
            out.code,
            Some(code),
            "{name}:\n{}{}",
            out.stdout,
            out.stderr
        );
        assert!(
            out.stdout.contains(expected),
            "{name}: expected {expected:?} in\n{}",
            out.stdout
        );
    }

    // Several files in one run: every finding is shown and one error fails the run.
    let out = steward(
        dir.path(),
        &[
            "policy",
            "check",
            "watch.rhai",
            "syntax.rhai",
            "toplevel.rhai",
        ],
    );
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("watch.rhai: ok"), "{}", out.stdout);
    assert!(out.stdout.contains("syntax.rhai:2:13"), "{}", out.stdout);
    assert_eq!(
        last_line(&out.stdout),
        "3 files checked: 1 error, 1 warning"
    );
}

#[test]
fn replay_prints_one_line_per_window_and_carries_state() {
    let dir = TempDir::new().expect("temp dir");
    write(&dir, "watch.rhai", WATCH);
    write(&dir, "history.jsonl", &history(&[0.05, 0.4, 0.5, 0.05]));

    let out = steward(
        dir.path(),
        &[
            "policy",
            "replay",
            "watch.rhai",
            "--history",
            "history.jsonl",
        ],
    );
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let windows: Vec<&str> = out.stdout.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(windows.len(), 4, "{}", out.stdout);
    assert_eq!(windows[0], "#0 2025-03-01T01:00:00Z: no decisions");
    assert!(
        windows[1].starts_with("#1 2025-03-01T02:00:00Z: ")
            && windows[1].contains(r#""kind":"open_incident""#)
            && windows[1].contains(r#""kind":"alert""#),
        "{}",
        windows[1]
    );
    // The incident opened at #1 is open at #2 (no second incident) and resolved at #3.
    assert_eq!(windows[2], "#2 2025-03-01T03:00:00Z: no decisions");
    assert!(
        windows[3].contains(r#""kind":"resolve_incident""#),
        "{}",
        windows[3]
    );
    assert!(
        out.stdout.contains("    log: composite 0.4"),
        "{}",
        out.stdout
    );
    assert_eq!(
        last_line(&out.stdout),
        "4 windows replayed: 3 decisions, 0 failed"
    );
}

#[test]
fn replay_as_json() {
    let dir = TempDir::new().expect("temp dir");
    write(&dir, "watch.rhai", WATCH);
    let doc = json!({"windows": [window(0, 0.05), window(1, 0.4)]});
    write(&dir, "history.json", &doc.to_string());

    let out = steward(
        dir.path(),
        &[
            "policy",
            "replay",
            "watch.rhai",
            "--history",
            "history.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let report: Value = serde_json::from_str(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(report["policy"], "watch.rhai");
    assert_eq!(report["hash"].as_str().map(str::len), Some(64));
    assert_eq!(
        report["summary"],
        json!({"windows": 2, "decisions": 2, "failed": 0})
    );
    let windows = report["windows"].as_array().expect("windows");
    assert_eq!(windows.len(), 2);
    assert_eq!(windows[0]["decisions"], json!([]));
    let kinds: Vec<&str> = windows[1]["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .filter_map(|d| d["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["open_incident", "alert"]);
    assert_eq!(windows[1]["log"], json!(["composite 0.4"]));
    assert_eq!(windows[1]["window_end"], "2025-03-01T02:00:00Z");
}

#[test]
fn replay_shows_a_failed_evaluation_in_place_and_exits_1() {
    let dir = TempDir::new().expect("temp dir");
    write(&dir, "watch.rhai", WATCH);
    write(&dir, "history.jsonl", &history(&[0.05, -1.0, 0.4]));

    let out = steward(
        dir.path(),
        &[
            "policy",
            "replay",
            "watch.rhai",
            "--history",
            "history.jsonl",
        ],
    );
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    let failed = out
        .stdout
        .lines()
        .find(|l| l.starts_with("#1 "))
        .unwrap_or_default();
    assert!(
        failed.contains("error:") && failed.contains("negative drift score"),
        "{}",
        out.stdout
    );
    // Later windows are still replayed.
    assert!(out.stdout.contains("#2 "), "{}", out.stdout);
    assert_eq!(
        last_line(&out.stdout),
        "3 windows replayed: 2 decisions, 1 failed"
    );
}

#[test]
fn bad_inputs_exit_2_with_a_clear_message() {
    let dir = TempDir::new().expect("temp dir");
    write(&dir, "watch.rhai", WATCH);
    write(
        &dir,
        "syntax.rhai",
        "fn on_window(ctx) {\n    let x = ;\n}\n",
    );
    write(&dir, "promote.rhai", "fn on_promotion(ctx) { allow() }\n");
    write(&dir, "truncated.json", "{\"windows\": [");
    write(&dir, "empty.jsonl", "");
    let incomplete = format!("{}\n{{\"model\": {{\"id\": \"m\"}}}}\n", window(0, 0.1));
    write(&dir, "incomplete.jsonl", &incomplete);
    write(&dir, "history.jsonl", &history(&[0.1]));
    std::fs::create_dir(dir.path().join("empty-dir")).expect("create a directory");

    // (arguments, text stderr must contain)
    let cases: [(&[&str], &str); 13] = [
        (
            &["policy", "check", "missing.rhai"],
            "cannot read missing.rhai",
        ),
        (&["policy", "check", "empty-dir"], "no policies (*.rhai)"),
        (&["policy", "check"], "required"),
        (
            &["policy", "test", "missing-dir"],
            "cannot read missing-dir",
        ),
        (&["policy", "test", "empty-dir"], "no policies (*.rhai)"),
        (
            &[
                "policy",
                "replay",
                "missing.rhai",
                "--history",
                "history.jsonl",
            ],
            "cannot read missing.rhai",
        ),
        (
            &[
                "policy",
                "replay",
                "watch.rhai",
                "--history",
                "missing.jsonl",
            ],
            "cannot read missing.jsonl",
        ),
        (
            &[
                "policy",
                "replay",
                "watch.rhai",
                "--history",
                "truncated.json",
            ],
            "truncated.json: not a JSON document",
        ),
        (
            &[
                "policy",
                "replay",
                "watch.rhai",
                "--history",
                "incomplete.jsonl",
            ],
            "incomplete.jsonl: window 1:",
        ),
        (
            &["policy", "replay", "watch.rhai", "--history", "empty.jsonl"],
            "empty.jsonl: the history holds no windows",
        ),
        (
            &[
                "policy",
                "replay",
                "syntax.rhai",
                "--history",
                "history.jsonl",
            ],
            "syntax.rhai does not compile",
        ),
        (
            &[
                "policy",
                "replay",
                "promote.rhai",
                "--history",
                "history.jsonl",
            ],
            "defines no `fn on_window(ctx)`",
        ),
        (
            &[
                "policy",
                "replay",
                "watch.rhai",
                "--history",
                "history.jsonl",
                "--format",
                "xml",
            ],
            "invalid value 'xml'",
        ),
    ];
    for (args, expected) in cases {
        let out = steward(dir.path(), args);
        assert_eq!(out.code, Some(2), "{args:?}:\n{}{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains(expected),
            "{args:?}: expected {expected:?} in\n{}",
            out.stderr
        );
    }
}
