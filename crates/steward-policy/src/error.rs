//! Errors of compiling and evaluating policies, with the script position where one is known.

use std::fmt;

use rhai::EvalAltResult;
use serde::{Deserialize, Serialize};

use crate::limits::{LimitKind, Limits};
use crate::lint::Diagnostic;
use crate::sandbox::{OPERATIONS_TOKEN, WALL_CLOCK_TOKEN};

/// A 1-based line and column in a policy source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    pub(crate) fn from_rhai(pos: rhai::Position) -> Option<Self> {
        Some(Self {
            line: pos.line()?,
            column: pos.position().unwrap_or(1),
        })
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

fn at(pos: &Option<Position>) -> String {
    pos.map(|p| format!(" at line {}, column {}", p.line, p.column))
        .unwrap_or_default()
}

/// A policy that does not compile, or does not pass the linter.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("policy `{name}` does not compile: {}", first_error(.diagnostics))]
pub struct CompileError {
    pub name: String,
    /// Every diagnostic found (errors and warnings), in source order.
    pub diagnostics: Vec<Diagnostic>,
}

fn first_error(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .find(|d| d.is_error())
        .map(ToString::to_string)
        .unwrap_or_default()
}

/// Why an evaluation produced no result.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum EvalError {
    /// A resource limit stopped the script.
    #[error("policy stopped by the {message}{}", at(.position))]
    Limit {
        limit: LimitKind,
        message: String,
        position: Option<Position>,
    },
    /// The script raised an error (a bad argument, a missing field, `throw`, ...).
    #[error("policy failed{}: {message}", at(.position))]
    Script {
        message: String,
        position: Option<Position>,
    },
    /// The hook returned something that is not a decision, list of decisions, or verdict.
    #[error("`{hook}` returned {message}")]
    BadReturn { hook: String, message: String },
    /// The policy does not define the hook.
    #[error("policy does not define `fn {hook}`")]
    MissingHook { hook: String },
    /// The engine itself failed (a bug in rhai or in this crate); the input is not at fault.
    #[error("internal error in the policy engine: {message}")]
    Internal { message: String },
}

impl EvalError {
    /// The limit that stopped the evaluation, if that is what happened.
    pub fn limit(&self) -> Option<LimitKind> {
        match self {
            Self::Limit { limit, .. } => Some(*limit),
            _ => None,
        }
    }

    /// Translates a rhai error, unwrapping function-call frames to find the root cause.
    pub(crate) fn from_rhai(err: &EvalAltResult, limits: &Limits) -> Self {
        let position = Position::from_rhai(err.position());
        let limit = |limit: LimitKind| Self::Limit {
            limit,
            message: limit.describe(limits),
            position,
        };
        match err {
            EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => {
                let mut e = Self::from_rhai(inner, limits);
                // Keep the innermost position; fall back to the call site.
                match &mut e {
                    Self::Limit { position: p, .. } | Self::Script { position: p, .. }
                        if p.is_none() =>
                    {
                        *p = position;
                    }
                    _ => {}
                }
                e
            }
            EvalAltResult::ErrorTooManyOperations(_) => limit(LimitKind::Operations),
            EvalAltResult::ErrorStackOverflow(_) => limit(LimitKind::CallDepth),
            EvalAltResult::ErrorTooManyVariables(_) => limit(LimitKind::Variables),
            EvalAltResult::ErrorDataTooLarge(what, _) => {
                limit(LimitKind::from_data_too_large(what))
            }
            EvalAltResult::ErrorTerminated(token, _) => {
                let token = token
                    .read_lock::<rhai::ImmutableString>()
                    .map(|t| t.to_string());
                match token.as_deref() {
                    Some(WALL_CLOCK_TOKEN) => limit(LimitKind::WallClock),
                    Some(OPERATIONS_TOKEN) => limit(LimitKind::Operations),
                    _ => Self::Script {
                        message: "script terminated".into(),
                        position,
                    },
                }
            }
            EvalAltResult::ErrorRuntime(value, _) => Self::Script {
                message: value.to_string(),
                position,
            },
            other => Self::Script {
                message: strip_position(&other.to_string()),
                position,
            },
        }
    }
}

/// rhai appends " (line L, position C)" to messages; positions are reported separately.
pub(crate) fn strip_position(message: &str) -> String {
    match message.rfind(" (line ") {
        Some(i) if message.ends_with(')') => message[..i].to_string(),
        _ => message.to_string(),
    }
}
