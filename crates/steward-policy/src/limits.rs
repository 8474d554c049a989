//! Resource limits of a policy evaluation, and the names under which a breach is reported.
//!
//! rhai's defaults differ between debug and release builds (call depth 8 vs 64, expression
//! depth 32 vs 64, ...). A policy that passes its tests on a laptop must behave the same on
//! the server, so every limit is set explicitly from [`Limits`], whatever the build profile.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Every limit an evaluation runs under. [`Limits::default`] is what the service uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// rhai operations (roughly: expressions evaluated) per evaluation.
    pub max_operations: u64,
    /// Nesting of script function calls (recursion depth).
    pub max_call_levels: usize,
    /// Nesting of expressions at the top level of a script (checked when compiling).
    pub max_expr_depth: usize,
    /// Nesting of expressions inside functions (checked when compiling).
    pub max_function_expr_depth: usize,
    /// Bytes in one string, and in all strings held inside one array or map.
    pub max_string_size: usize,
    /// Elements in one array, nested arrays included.
    pub max_array_size: usize,
    /// Entries in one object map, nested maps included.
    pub max_map_size: usize,
    /// Variables alive at once.
    pub max_variables: usize,
    /// Script functions a policy may define.
    pub max_functions: usize,
    /// Wall-clock budget of one evaluation, enforced from rhai's progress callback.
    pub wall_clock: Duration,
    /// Lines of `print`/`debug` output kept in the evaluation log.
    pub max_log_lines: usize,
    /// Bytes of `print`/`debug` output kept in the evaluation log.
    pub max_log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_operations: 1_000_000,
            max_call_levels: 32,
            max_expr_depth: 64,
            max_function_expr_depth: 32,
            max_string_size: 64 * 1024,
            max_array_size: 10_000,
            max_map_size: 10_000,
            max_variables: 512,
            max_functions: 256,
            wall_clock: Duration::from_millis(100),
            max_log_lines: 200,
            max_log_bytes: 64 * 1024,
        }
    }
}

/// Which limit stopped an evaluation (or a compilation, for expression depth).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    /// [`Limits::max_operations`].
    Operations,
    /// [`Limits::max_call_levels`].
    CallDepth,
    /// [`Limits::max_expr_depth`] or [`Limits::max_function_expr_depth`].
    ExpressionDepth,
    /// [`Limits::max_string_size`].
    StringSize,
    /// [`Limits::max_array_size`].
    ArraySize,
    /// [`Limits::max_map_size`].
    MapSize,
    /// [`Limits::max_variables`].
    Variables,
    /// [`Limits::max_functions`].
    Functions,
    /// [`Limits::wall_clock`].
    WallClock,
}

impl LimitKind {
    /// The stable name used in logs, decision records and test files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operations => "operations",
            Self::CallDepth => "call_depth",
            Self::ExpressionDepth => "expression_depth",
            Self::StringSize => "string_size",
            Self::ArraySize => "array_size",
            Self::MapSize => "map_size",
            Self::Variables => "variables",
            Self::Functions => "functions",
            Self::WallClock => "wall_clock",
        }
    }

    /// A sentence naming the limit and its configured value, for error messages.
    pub fn describe(self, limits: &Limits) -> String {
        match self {
            Self::Operations => format!("operation limit ({} operations)", limits.max_operations),
            Self::CallDepth => format!("call depth limit ({} levels)", limits.max_call_levels),
            Self::ExpressionDepth => format!(
                "expression depth limit ({} levels, {} inside functions)",
                limits.max_expr_depth, limits.max_function_expr_depth
            ),
            Self::StringSize => format!("string size limit ({} bytes)", limits.max_string_size),
            Self::ArraySize => format!("array size limit ({} elements)", limits.max_array_size),
            Self::MapSize => format!("map size limit ({} entries)", limits.max_map_size),
            Self::Variables => format!("variable limit ({} variables)", limits.max_variables),
            Self::Functions => format!("function limit ({} functions)", limits.max_functions),
            Self::WallClock => format!("wall-clock budget ({} ms)", limits.wall_clock.as_millis()),
        }
    }

    /// Classifies rhai's "data too large" message (its first field) into a limit.
    pub(crate) fn from_data_too_large(what: &str) -> Self {
        let what = what.to_ascii_lowercase();
        if what.contains("string") {
            Self::StringSize
        } else if what.contains("map") {
            Self::MapSize
        } else {
            Self::ArraySize
        }
    }
}

impl fmt::Display for LimitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Applies every limit to a rhai engine. The only place limits reach rhai.
pub(crate) fn apply(engine: &mut rhai::Engine, limits: &Limits) {
    engine
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_levels)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_function_expr_depth)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size)
        .set_max_variables(limits.max_variables)
        .set_max_functions(limits.max_functions)
        // No modules can be loaded at all (see engine.rs); zero makes that explicit.
        .set_max_modules(0);
}
