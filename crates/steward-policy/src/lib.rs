//! Steward's policy engine: per-model rules written in rhai, sandboxed, testable and replayable.
//!
//! A policy is a rhai script defining hooks: `schedule()` (how often monitoring runs),
//! `on_window(ctx)` (decisions after a monitoring window) and `on_promotion(ctx)` (allow,
//! deny or require approvals). Evaluation is a pure, synchronous function from a context to
//! decisions: this crate performs no IO besides the optional [`fs`] helpers that read policy
//! directories for the CLI, and holds no async runtime.
//!
//! Entry points:
//! - [`PolicyEngine`]: compile (cached by content hash), [`PolicyEngine::evaluate_on_window`],
//!   [`PolicyEngine::evaluate_on_promotion`], [`PolicyEngine::schedule`];
//! - [`check_source`]: compiler and linter diagnostics with line and column;
//! - [`testing`]: the test-case format and runner behind `steward policy test`;
//! - [`replay`]: what a policy would have decided over a recorded history;
//! - [`binding`]: which policy applies to a model;
//! - [`revision`]: content hashes, revisions and decision records.

pub mod binding;
mod cache;
pub mod context;
pub mod decision;
mod engine;
mod error;
pub mod fs;
mod helpers;
mod limits;
mod lint;
pub mod replay;
pub mod revision;
mod sandbox;
pub mod schedule;
mod shadow;
pub mod testing;
pub mod time;
pub mod value;

pub use context::{PromotionContext, WindowContext};
pub use decision::{Decision, Severity, Verdict};
pub use engine::{CompiledPolicy, DEFAULT_CACHE_CAPACITY, Evaluation, PolicyEngine, check_source};
pub use error::{CompileError, EvalError, Position};
pub use limits::{LimitKind, Limits};
pub use lint::{Diagnostic, HOOKS, Level};
pub use revision::{ContentHash, DecisionRecord, PolicyRevision, RevisionStatus};
pub use schedule::Schedule;

/// Names and arities of every function the policy language adds to rhai's standard library
/// (decisions, verdicts and helpers), for documentation and editor tooling.
pub fn language_functions() -> Vec<(&'static str, usize)> {
    decision::CONSTRUCTORS
        .iter()
        .chain(helpers::HELPERS.iter())
        .chain(time::HELPERS.iter())
        .copied()
        .collect()
}
