//! The test runner reports failures precisely and counts like a test runner.

use steward_policy::PolicyEngine;
use steward_policy::testing::{SuiteSource, run_suites};

use crate::support::window_json;

fn suite(policy: &str, tests: Option<String>) -> SuiteSource {
    SuiteSource {
        policy_name: "p.rhai".into(),
        policy_source: policy.into(),
        tests: tests.map(|t| ("p.tests.json".into(), t)),
    }
}

fn tests_with(cases: serde_json::Value) -> String {
    serde_json::json!({"defaults": {"on_window": window_json()}, "cases": cases}).to_string()
}

#[test]
fn failures_are_explained_and_counted() {
    let policy = "fn on_window(ctx) { if ctx.drift.composite > 0.5 { alert(\"critical\", \"drift\", \"c\") } }";
    let tests = tests_with(serde_json::json!([
        {"name": "passes", "hook": "on_window", "expect": {"decisions": []}},
        {"name": "wrong severity", "hook": "on_window", "context": {"drift": {"composite": 0.9}},
         "expect": {"decisions": [{"kind": "alert", "severity": "warning"}]}},
        {"name": "expected nothing", "hook": "on_window", "context": {"drift": {"composite": 0.9}},
         "expect": {"decisions": []}},
        {"name": "bad context", "hook": "on_window", "context": {"drift": {"composit": 0.9}},
         "expect": {"decisions": []}},
        {"name": "missing hook", "hook": "on_promotion", "context": {}, "expect": {"verdict": {"kind": "allow"}}}
    ]));
    let report = run_suites(&PolicyEngine::default(), &[suite(policy, Some(tests))]);
    let text = report.to_string();
    assert_eq!(report.summary_line(), "1 passed, 4 failed", "{text}");
    assert!(!report.success());
    for expected in [
        "decisions[0].severity: expected \"warning\", got \"critical\"",
        "decisions: expected 0 element(s), got 1",
        "unknown field `composit`",
        "invalid on_promotion context",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    assert!(text.ends_with("1 passed, 4 failed"));
}

#[test]
fn errors_and_limits_can_be_expected() {
    let policy =
        "fn on_window(ctx) { if ctx.drift.composite > 0.5 { loop {} } throw \"no labels\" }";
    let tests = tests_with(serde_json::json!([
        {"name": "script error", "hook": "on_window", "expect": {"error": "no labels"}},
        {"name": "runaway", "hook": "on_window", "context": {"drift": {"composite": 0.9}}, "expect": {"limit": "operations"}}
    ]));
    let report = run_suites(&PolicyEngine::default(), &[suite(policy, Some(tests))]);
    assert_eq!(report.summary_line(), "2 passed, 0 failed", "{report}");
}

#[test]
fn suite_problems_count_as_failures() {
    let engine = PolicyEngine::default();
    let cases = [
        (suite("fn on_window(ctx) { }", None), "no test file"),
        (
            suite(
                "fn on_window(ctx) { alrt() }",
                Some(tests_with(serde_json::json!([]))),
            ),
            "does not compile",
        ),
        (
            suite("fn on_window(ctx) { }", Some("{ not json".into())),
            "invalid test file",
        ),
        (
            suite(
                "fn on_window(ctx) { }",
                Some(tests_with(serde_json::json!([]))),
            ),
            "no test cases",
        ),
    ];
    for (suite, expected) in cases {
        let report = run_suites(&engine, std::slice::from_ref(&suite));
        assert_eq!(report.failed(), 1, "{report}");
        assert!(report.to_string().contains(expected), "{report}");
    }
}
