//! Test reports, printed like a test runner and ending with `N passed, M failed`.

use std::fmt;
use std::time::Duration;

/// The result of one test case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseResult {
    pub name: String,
    /// Why the case failed; `None` when it passed.
    pub failure: Option<String>,
    pub duration: Duration,
}

impl CaseResult {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// The results for one policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuiteReport {
    pub policy: String,
    /// A problem with the suite as a whole (no tests, does not compile, bad test file);
    /// counted as one failure.
    pub error: Option<String>,
    pub cases: Vec<CaseResult>,
}

impl SuiteReport {
    pub(crate) fn new(policy: &str) -> Self {
        Self {
            policy: policy.to_string(),
            error: None,
            cases: Vec::new(),
        }
    }

    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.passed()).count()
    }

    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed() + usize::from(self.error.is_some())
    }
}

/// The results of a whole run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestReport {
    pub suites: Vec<SuiteReport>,
}

impl TestReport {
    pub fn passed(&self) -> usize {
        self.suites.iter().map(SuiteReport::passed).sum()
    }

    pub fn failed(&self) -> usize {
        self.suites.iter().map(SuiteReport::failed).sum()
    }

    /// True when nothing failed and at least one case ran (the CLI exits non-zero otherwise).
    pub fn success(&self) -> bool {
        self.failed() == 0 && self.passed() > 0
    }

    /// The closing line: `N passed, M failed`.
    pub fn summary_line(&self) -> String {
        format!("{} passed, {} failed", self.passed(), self.failed())
    }
}

fn indent(text: &str, by: &str) -> String {
    text.lines()
        .map(|l| format!("{by}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl fmt::Display for TestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for suite in &self.suites {
            writeln!(f, "policy {}", suite.policy)?;
            if let Some(error) = &suite.error {
                writeln!(f, "  FAIL  (suite)\n{}", indent(error, "        "))?;
            }
            for case in &suite.cases {
                match &case.failure {
                    None => writeln!(f, "  ok    {}", case.name)?,
                    Some(why) => writeln!(f, "  FAIL  {}\n{}", case.name, indent(why, "        "))?,
                }
            }
        }
        write!(f, "{}", self.summary_line())
    }
}
