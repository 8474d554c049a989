//! The hardened rhai engine and the evaluation API: compile (cached by content hash), check,
//! evaluate `on_window` / `on_promotion`, read `schedule()`.
//!
//! Every sandbox setting is made in [`build_rhai`], and nowhere else: limits, the wall-clock
//! budget, no module loading, no `eval`, captured `print`/`debug`, no clock, no sleep.
//! [`PolicyEngine`] is `Send + Sync` and evaluation is a plain synchronous function; the
//! service runs it on blocking threads behind a semaphore.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rhai::module_resolvers::DummyModuleResolver;
use rhai::packages::{Package, StandardPackage};
use rhai::{AST, CallFnOptions, Dynamic, Module, OptimizationLevel, Scope};

use crate::cache::PolicyCache;
use crate::context::{PromotionContext, WindowContext};
use crate::decision::{Decision, Verdict};
use crate::error::{CompileError, EvalError, Position, strip_position};
use crate::limits::{self, LimitKind, Limits};
use crate::lint::{self, Diagnostic, KnownFunctions, Level};
use crate::revision::ContentHash;
use crate::sandbox::{self, Session};
use crate::schedule::Schedule;
use crate::{decision, helpers, shadow, time};

/// The result of one evaluation, with what the decision record needs besides the input.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation<T> {
    /// The decisions (or verdict), or why there are none.
    pub outcome: Result<T, EvalError>,
    /// Lines the script printed with `print` or `debug`, in order.
    pub log: Vec<String>,
    /// Wall-clock time spent in the script.
    pub duration: Duration,
    /// The limit that stopped the script, if one did.
    pub limit_hit: Option<LimitKind>,
}

/// A policy compiled and linted, ready to evaluate many times.
#[derive(Debug)]
pub struct CompiledPolicy {
    name: String,
    hash: ContentHash,
    ast: AST,
    warnings: Vec<Diagnostic>,
}

impl CompiledPolicy {
    /// The name it was compiled under (the file or policy name); part of the cache key.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// SHA-256 of the source; equal to the revision hash.
    pub fn hash(&self) -> ContentHash {
        self.hash
    }
    /// Linter warnings (compilation succeeded despite them).
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }
    /// Whether the policy defines `hook` with the right arity.
    pub fn defines(&self, hook: &str) -> bool {
        let arity = if hook == "schedule" { 0 } else { 1 };
        self.ast
            .iter_functions()
            .any(|f| f.name == hook && f.params.len() == arity)
    }
}

/// A sandboxed engine plus the compiled-policy cache. Build one per process and share it.
pub struct PolicyEngine {
    rhai: rhai::Engine,
    /// Non-strict, unoptimised twin used by the linter and to read top-level constants.
    lint_rhai: rhai::Engine,
    known: KnownFunctions,
    limits: Limits,
    cache: PolicyCache,
}

impl std::fmt::Debug for PolicyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyEngine")
            .field("limits", &self.limits)
            .field("cached", &self.cache.len())
            .finish()
    }
}

impl Default for PolicyEngine {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

/// How many compiled policies the cache keeps by default.
pub const DEFAULT_CACHE_CAPACITY: usize = 1024;

/// The natives every policy sees besides rhai's standard package.
fn policy_module() -> Module {
    let mut module = Module::new();
    decision::register(&mut module);
    helpers::register(&mut module);
    time::register(&mut module);
    shadow::register(&mut module);
    module
}

/// Builds the sandboxed rhai engine. The single place where the sandbox is configured.
fn build_rhai(limits: &Limits, for_lint: bool) -> rhai::Engine {
    let mut engine = rhai::Engine::new_raw();
    // rhai's standard package has no file, network or process access. Its few functions
    // that block, exit or read the clock are shadowed (see shadow.rs).
    engine.register_global_module(StandardPackage::new().as_shared_module());
    engine.register_global_module(policy_module().into());
    engine.register_type_with_name::<Decision>("Decision");
    engine.register_type_with_name::<Verdict>("Verdict");

    // No imports: a resolver that finds nothing, and the keyword itself disabled so the
    // author gets a compile-time error with a position.
    engine.set_module_resolver(DummyModuleResolver::new());
    engine.disable_symbol("import");
    engine.disable_symbol("export");
    engine.disable_symbol("eval");

    limits::apply(&mut engine, limits);
    engine.on_progress(sandbox::progress_callback(limits.max_operations));
    engine.on_print(|text| sandbox::log_line(text.to_string()));
    engine.on_debug(|text, _source, pos| {
        let line = match Position::from_rhai(pos) {
            Some(p) => format!("[debug {p}] {text}"),
            None => format!("[debug] {text}"),
        };
        sandbox::log_line(line);
    });
    #[allow(deprecated)] // rhai marks on_var as volatile, not as going away.
    engine.on_var(sandbox::check_variable);

    if for_lint {
        engine.set_optimization_level(OptimizationLevel::None);
    } else {
        // Undefined variables are compile errors, with a position.
        engine.set_strict_variables(true);
        engine.set_optimization_level(OptimizationLevel::Simple);
    }
    engine
}

impl PolicyEngine {
    /// An engine with these limits and a cache of [`DEFAULT_CACHE_CAPACITY`] policies.
    pub fn new(limits: Limits) -> Self {
        Self::with_cache_capacity(limits, DEFAULT_CACHE_CAPACITY)
    }

    /// An engine with these limits and a cache of at most `capacity` compiled policies.
    pub fn with_cache_capacity(limits: Limits, capacity: usize) -> Self {
        let rhai = build_rhai(&limits, false);
        let lint_rhai = build_rhai(&limits, true);
        let known = KnownFunctions::from_engine(&rhai);
        Self {
            rhai,
            lint_rhai,
            known,
            limits,
            cache: PolicyCache::new(capacity),
        }
    }

    /// A process-wide engine with default limits, for callers that do not configure one.
    pub fn shared() -> &'static PolicyEngine {
        static ENGINE: OnceLock<PolicyEngine> = OnceLock::new();
        ENGINE.get_or_init(PolicyEngine::default)
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Number of compiled policies in the cache.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    /// The cached compilation of the source with this hash under this name, if any.
    pub fn get_cached(&self, name: &str, hash: &ContentHash) -> Option<Arc<CompiledPolicy>> {
        self.cache.get(name, hash)
    }

    /// Compiles and lints without caching; returns every diagnostic (errors and warnings).
    pub fn check(&self, name: &str, source: &str) -> Vec<Diagnostic> {
        match self.compile_uncached(name, source) {
            Ok(policy) => policy.warnings,
            Err(e) => e.diagnostics,
        }
    }

    /// Compiles a policy, or returns the cached compilation of the same source under the same
    /// name. Fails when the compiler or the linter reports an error.
    pub fn compile(&self, name: &str, source: &str) -> Result<Arc<CompiledPolicy>, CompileError> {
        let hash = ContentHash::of(source);
        if let Some(hit) = self.cache.get(name, &hash) {
            return Ok(hit);
        }
        let compiled = Arc::new(self.compile_uncached(name, source)?);
        self.cache
            .insert((name.to_string(), hash), Arc::clone(&compiled));
        Ok(compiled)
    }

    fn compile_uncached(&self, name: &str, source: &str) -> Result<CompiledPolicy, CompileError> {
        let syntax_error = |e: rhai::ParseError| {
            let position =
                Position::from_rhai(e.position()).unwrap_or(Position { line: 1, column: 1 });
            let (code, message) = match e.err_type() {
                rhai::ParseErrorType::ExprTooDeep => (
                    "limit",
                    LimitKind::ExpressionDepth.describe(&self.limits) + " exceeded",
                ),
                other => ("syntax", strip_position(&other.to_string())),
            };
            CompileError {
                name: name.to_string(),
                diagnostics: vec![Diagnostic::new(name, Level::Error, code, message, position)],
            }
        };
        // Pass 1: parse as written (no optimisation) for the linter and top-level constants.
        let raw = self.lint_rhai.compile(source).map_err(syntax_error)?;
        let mut diagnostics = lint::lint(name, source, &raw, &self.known);

        // Pass 2: strict compile with top-level constants in scope, so hooks can use them
        // and undefined variables are reported. Scalars are inlined by the optimiser.
        let mut constants = Scope::new();
        for (var, _, value) in raw.iter_literal_variables(true, false) {
            constants.push_constant_dynamic(var.to_string(), value);
        }
        match self.rhai.compile_with_scope(&constants, source) {
            Ok(mut ast) => {
                if diagnostics.iter().any(Diagnostic::is_error) {
                    return Err(CompileError {
                        name: name.to_string(),
                        diagnostics,
                    });
                }
                ast.set_source(name);
                Ok(CompiledPolicy {
                    name: name.to_string(),
                    hash: ContentHash::of(source),
                    ast,
                    warnings: diagnostics,
                })
            }
            Err(e) => {
                diagnostics.extend(syntax_error(e).diagnostics);
                diagnostics.sort_by_key(|d| d.position);
                Err(CompileError {
                    name: name.to_string(),
                    diagnostics,
                })
            }
        }
    }

    /// Runs `on_window(ctx)`: the decisions for a closed monitoring window.
    pub fn evaluate_on_window(
        &self,
        policy: &CompiledPolicy,
        ctx: &WindowContext,
    ) -> Evaluation<Vec<Decision>> {
        self.run(policy, "on_window", ctx.to_dynamic(), decisions_from)
    }

    /// Runs `on_promotion(ctx)`: allow, deny or require approval.
    pub fn evaluate_on_promotion(
        &self,
        policy: &CompiledPolicy,
        ctx: &PromotionContext,
    ) -> Evaluation<Verdict> {
        self.run(policy, "on_promotion", ctx.to_dynamic(), |v| {
            v.try_cast::<Verdict>().ok_or_else(|| "a value that is not a verdict; return allow(), deny(reason) or require_approval(role, count)".to_string())
        })
    }

    /// Runs `schedule()`. `Ok(None)` when the policy does not define it (the service then
    /// uses the tenant's default schedule).
    pub fn schedule(&self, policy: &CompiledPolicy) -> Result<Option<Schedule>, EvalError> {
        if !policy.defines("schedule") {
            return Ok(None);
        }
        self.run(policy, "schedule", Dynamic::UNIT, |v| {
            let text = v.into_immutable_string().map_err(|t| {
                format!("a {t}, not a string; return \"hourly\", \"daily\" or a cron expression")
            })?;
            Schedule::parse(&text).map_err(|e| format!("an invalid schedule {text:?}: {e}"))
        })
        .outcome
        .map(Some)
    }

    fn run<T>(
        &self,
        policy: &CompiledPolicy,
        hook: &str,
        arg: Dynamic,
        convert: impl FnOnce(Dynamic) -> Result<T, String>,
    ) -> Evaluation<T> {
        if !policy.defines(hook) {
            let outcome = Err(EvalError::MissingHook {
                hook: hook.to_string(),
            });
            return Evaluation {
                outcome,
                log: Vec::new(),
                duration: Duration::ZERO,
                limit_hit: None,
            };
        }
        let options = CallFnOptions::new().eval_ast(false).rewind_scope(false);
        let session = Session::start(&self.limits);
        let result = catch_unwind(AssertUnwindSafe(|| {
            let mut scope = Scope::new();
            if hook == "schedule" {
                self.rhai.call_fn_with_options::<Dynamic>(
                    options,
                    &mut scope,
                    &policy.ast,
                    hook,
                    (),
                )
            } else {
                self.rhai.call_fn_with_options::<Dynamic>(
                    options,
                    &mut scope,
                    &policy.ast,
                    hook,
                    (arg,),
                )
            }
        }));
        let output = session.finish();
        let duration = output.started.elapsed();
        let outcome = match result {
            Ok(Ok(value)) => convert(value).map_err(|message| EvalError::BadReturn {
                hook: hook.to_string(),
                message,
            }),
            Ok(Err(err)) => Err(EvalError::from_rhai(&err, &self.limits)),
            Err(panic) => {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(ToString::to_string)
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".to_string());
                Err(EvalError::Internal { message })
            }
        };
        // A limit reached inside a callback whose error a native swallowed (rhai's `sort`
        // does) still fails the evaluation: the result was computed past a stop.
        let outcome = match (outcome, output.limit_hit) {
            (Err(e), _) if e.limit().is_some() => Err(e),
            (Err(e @ EvalError::Internal { .. }), _) => Err(e),
            (_, Some(limit)) => Err(EvalError::Limit {
                limit,
                message: limit.describe(&self.limits),
                position: None,
            }),
            (outcome, None) => outcome,
        };
        let limit_hit = outcome.as_ref().err().and_then(EvalError::limit);
        Evaluation {
            outcome,
            log: output.log,
            duration,
            limit_hit,
        }
    }
}

/// `on_window` may return nothing, one decision, or an array of decisions (units skipped).
fn decisions_from(value: Dynamic) -> Result<Vec<Decision>, String> {
    if value.is_unit() {
        return Ok(Vec::new());
    }
    if value.is_array() {
        let items = value.into_array().map_err(|t| format!("a {t}"))?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            if item.is_unit() {
                continue;
            }
            let type_name = item.type_name();
            match item.try_cast::<Decision>() {
                Some(d) => out.push(d),
                None => {
                    return Err(format!(
                        "an array whose element {i} is a {type_name}, not a decision"
                    ));
                }
            }
        }
        return Ok(out);
    }
    let type_name = value.type_name();
    value
        .try_cast::<Decision>()
        .map(|d| vec![d])
        .ok_or_else(|| {
            format!("a {type_name}; return a decision, an array of decisions, or nothing")
        })
}

/// Checks a policy source with the shared default engine: the `steward policy check` call.
pub fn check_source(name: &str, source: &str) -> Vec<Diagnostic> {
    PolicyEngine::shared().check(name, source)
}
