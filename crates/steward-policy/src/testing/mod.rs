//! Policy test cases: the file format and the runner behind `steward policy test`.
//!
//! A policy `NAME.rhai` is tested by `NAME.tests.json` beside it:
//!
//! ```json
//! {
//!   "defaults": { "on_window": { ...a full window context... } },
//!   "cases": [
//!     { "name": "quiet window", "hook": "on_window", "expect": { "decisions": [] } },
//!     { "name": "EU drift retrains", "hook": "on_window",
//!       "context": { "drift": { "composite": 0.4 } },
//!       "expect": { "decisions": [ { "kind": "retrain", "slice": { "region": "EU" } } ] } }
//!   ]
//! }
//! ```
//!
//! A case's `context` is merged into the hook's default context as a JSON merge patch
//! (RFC 7386: objects merge key by key, anything else replaces, `null` deletes), so each case
//! states only what makes it different. Expected values match *partially*: every key an
//! expected object names must be present and match, keys it leaves out are not checked;
//! arrays must have the same length and match element by element. docs/policy-guide.md
//! describes the format in full.

mod matching;
mod report;

use std::time::Instant;

use serde::Deserialize;
use serde_json::Value;

use crate::context::{PromotionContext, WindowContext};
use crate::engine::PolicyEngine;
use crate::limits::LimitKind;

pub use matching::{json_matches, merge_patch};
pub use report::{CaseResult, SuiteReport, TestReport};

/// A hook a test case exercises.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hook {
    OnWindow,
    OnPromotion,
    Schedule,
}

/// Default contexts, one per hook, that cases patch.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    #[serde(default)]
    pub on_window: Option<Value>,
    #[serde(default)]
    pub on_promotion: Option<Value>,
}

/// What a case expects. Name exactly one of `decisions`, `verdict`, `schedule`, `error`;
/// `limit` and `log` may be added.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// `on_window`: the decisions, in order (partial match of each).
    #[serde(default)]
    pub decisions: Option<Vec<Value>>,
    /// `on_promotion`: the verdict (partial match).
    #[serde(default)]
    pub verdict: Option<Value>,
    /// `schedule`: the schedule as written, or `null` when the policy defines none.
    #[serde(default)]
    pub schedule: Option<Value>,
    /// The evaluation fails with an error whose message contains this text.
    #[serde(default)]
    pub error: Option<String>,
    /// The evaluation is stopped by this limit.
    #[serde(default)]
    pub limit: Option<LimitKind>,
    /// The captured log, exactly.
    #[serde(default)]
    pub log: Option<Vec<String>>,
}

/// One test case.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    pub name: String,
    pub hook: Hook,
    /// Merge patch over the hook's default context (or the whole context without defaults).
    #[serde(default)]
    pub context: Option<Value>,
    pub expect: Expectation,
}

/// A whole `*.tests.json` file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    #[serde(default)]
    pub defaults: Defaults,
    pub cases: Vec<TestCase>,
}

impl TestFile {
    /// Parses a test file; errors name the line and column of the JSON problem.
    pub fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str(text).map_err(|e| format!("invalid test file: {e}"))
    }
}

/// A policy and its test file, as read by the caller (see [`crate::fs`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuiteSource {
    /// Shown in reports and diagnostics, usually the policy's path.
    pub policy_name: String,
    pub policy_source: String,
    /// The test file's name and text, or `None` when the policy has no tests.
    pub tests: Option<(String, String)>,
}

/// Runs every suite; the report says `N passed, M failed`.
pub fn run_suites(engine: &PolicyEngine, suites: &[SuiteSource]) -> TestReport {
    TestReport {
        suites: suites.iter().map(|s| run_suite(engine, s)).collect(),
    }
}

/// Runs the test cases of one policy. A policy that does not compile, has no test file or
/// has an unreadable one yields a suite error, counted as one failure.
pub fn run_suite(engine: &PolicyEngine, suite: &SuiteSource) -> SuiteReport {
    let mut report = SuiteReport::new(&suite.policy_name);
    let Some((tests_name, tests_text)) = &suite.tests else {
        report.error = Some(if suite.policy_name.ends_with(".tests.json") {
            "test file without a policy (expected NAME.rhai beside it)".into()
        } else {
            "no test file (expected NAME.tests.json beside the policy)".into()
        });
        return report;
    };
    let policy = match engine.compile(&suite.policy_name, &suite.policy_source) {
        Ok(p) => p,
        Err(e) => {
            let lines: Vec<String> = e.diagnostics.iter().map(ToString::to_string).collect();
            report.error = Some(format!("does not compile:\n{}", lines.join("\n")));
            return report;
        }
    };
    let file = match TestFile::parse(tests_text) {
        Ok(f) => f,
        Err(e) => {
            report.error = Some(format!("{tests_name}: {e}"));
            return report;
        }
    };
    if file.cases.is_empty() {
        report.error = Some(format!("{tests_name}: no test cases"));
    }
    for case in &file.cases {
        let started = Instant::now();
        let failure = run_case(engine, &policy, &file.defaults, case).err();
        report.cases.push(CaseResult {
            name: case.name.clone(),
            failure,
            duration: started.elapsed(),
        });
    }
    report
}

fn context_for(defaults: &Defaults, case: &TestCase) -> Result<Value, String> {
    let base = match case.hook {
        Hook::OnWindow => defaults.on_window.clone(),
        Hook::OnPromotion => defaults.on_promotion.clone(),
        Hook::Schedule => None,
    };
    match (base, &case.context) {
        (Some(mut base), Some(patch)) => {
            merge_patch(&mut base, patch);
            Ok(base)
        }
        (Some(base), None) => Ok(base),
        (None, Some(ctx)) => Ok(ctx.clone()),
        (None, None) => Err("no context: give `context` or a default for this hook".into()),
    }
}

/// The outcome of a hook as JSON, or the error message and limit.
type Observed = (Result<Value, (String, Option<LimitKind>)>, Vec<String>);

fn run_case(
    engine: &PolicyEngine,
    policy: &crate::CompiledPolicy,
    defaults: &Defaults,
    case: &TestCase,
) -> Result<(), String> {
    let (outcome, log): Observed = match case.hook {
        Hook::Schedule => {
            let r = engine.schedule(policy);
            let r = r.map(|s| s.map_or(Value::Null, |s| Value::String(s.to_string())));
            (r.map_err(|e| (e.to_string(), e.limit())), Vec::new())
        }
        Hook::OnWindow => {
            let ctx: WindowContext = serde_json::from_value(context_for(defaults, case)?)
                .map_err(|e| format!("invalid on_window context: {e}"))?;
            let eval = engine.evaluate_on_window(policy, &ctx);
            let out = eval
                .outcome
                .map(|d| Value::Array(d.iter().map(|d| d.to_json()).collect()));
            (out.map_err(|e| (e.to_string(), e.limit())), eval.log)
        }
        Hook::OnPromotion => {
            let ctx: PromotionContext = serde_json::from_value(context_for(defaults, case)?)
                .map_err(|e| format!("invalid on_promotion context: {e}"))?;
            let eval = engine.evaluate_on_promotion(policy, &ctx);
            let out = eval
                .outcome
                .map(|v| serde_json::to_value(v).unwrap_or(Value::Null));
            (out.map_err(|e| (e.to_string(), e.limit())), eval.log)
        }
    };
    check(&case.expect, case.hook, outcome, &log)
}

fn check(
    expect: &Expectation,
    hook: Hook,
    outcome: Result<Value, (String, Option<LimitKind>)>,
    log: &[String],
) -> Result<(), String> {
    let named = [
        expect.decisions.is_some(),
        expect.verdict.is_some(),
        expect.schedule.is_some(),
        expect.error.is_some(),
    ]
    .into_iter()
    .filter(|b| *b)
    .count();
    if named != 1 && expect.limit.is_none() {
        return Err("`expect` must name exactly one of decisions, verdict, schedule, error".into());
    }
    match outcome {
        Ok(actual) => {
            if expect.error.is_some() || expect.limit.is_some() {
                return Err(format!(
                    "expected an error, but the policy returned {actual}"
                ));
            }
            let expected = match hook {
                Hook::OnWindow => expect.decisions.clone().map(Value::Array),
                Hook::OnPromotion => expect.verdict.clone(),
                Hook::Schedule => expect.schedule.clone(),
            }
            .ok_or_else(|| "`expect` does not name what this hook returns".to_string())?;
            json_matches(&expected, &actual, &root_path(hook))?;
        }
        Err((message, limit)) => {
            let Some(wanted) = expect
                .error
                .as_ref()
                .or(expect.limit.as_ref().map(|_| &message))
            else {
                return Err(format!("evaluation failed: {message}"));
            };
            if !message.contains(wanted.as_str()) {
                return Err(format!(
                    "expected an error containing {wanted:?}, got: {message}"
                ));
            }
            if let Some(want) = expect.limit
                && limit != Some(want)
            {
                return Err(format!(
                    "expected to be stopped by the {want} limit, got: {message}"
                ));
            }
        }
    }
    if let Some(expected) = &expect.log
        && expected.as_slice() != log
    {
        return Err(format!("log: expected {expected:?}, got {log:?}"));
    }
    Ok(())
}

fn root_path(hook: Hook) -> String {
    match hook {
        Hook::OnWindow => "decisions",
        Hook::OnPromotion => "verdict",
        Hook::Schedule => "schedule",
    }
    .to_string()
}
