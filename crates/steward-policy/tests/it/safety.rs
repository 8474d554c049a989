//! Safety: every attack a policy author could write is stopped with an error naming the
//! limit, within the wall-clock budget, without a panic and without leaking state.

use std::time::Duration;

use steward_policy::{LimitKind, Limits, PolicyEngine};

use crate::support::window;

/// How far past its budget a stopped script may run in these tests. The bench measures the
/// real figure; this bound is loose so a loaded CI machine does not make the test flaky.
const TEST_SLACK: Duration = Duration::from_millis(250);

/// Each case: a name, an `on_window` body, and the limits that may stop it (whichever
/// is reached first on this machine).
const RUNAWAYS: &[(&str, &str, &[LimitKind])] = &[
    (
        "infinite loop",
        "loop { }",
        &[LimitKind::Operations, LimitKind::WallClock],
    ),
    (
        "busy loop with work",
        "let x = 0; while true { x += 1; }",
        &[LimitKind::Operations, LimitKind::WallClock],
    ),
    ("deep recursion", "down(0)", &[LimitKind::CallDepth]),
    ("mutual recursion", "ping(0)", &[LimitKind::CallDepth]),
    (
        "string bomb",
        "let s = \"x\"; loop { s += s; }",
        &[LimitKind::StringSize],
    ),
    (
        "string pad bomb",
        "let s = \"\"; s.pad(100000000, \"x\"); s",
        &[LimitKind::StringSize],
    ),
    (
        "array bomb",
        "let a = [1]; loop { a += a; }",
        &[LimitKind::ArraySize],
    ),
    (
        "array pad bomb",
        "let a = []; a.pad(100000000, 0); a",
        &[LimitKind::ArraySize],
    ),
    // rhai re-measures an array after each method call, so pushing is quadratic: on a
    // slow machine the clock may stop this one before the size limit does.
    (
        "array push bomb",
        "let a = []; loop { a.push(a.len()); }",
        &[LimitKind::ArraySize, LimitKind::WallClock],
    ),
    (
        "map bomb",
        "let m = #{}; let i = 0; loop { m[`k${i}`] = i; i += 1; }",
        &[LimitKind::MapSize],
    ),
    (
        "map of big strings",
        "let s = \"\"; s.pad(60000, \"x\"); let m = #{}; let i = 0; loop { m[`k${i}`] = s + i; i += 1; }",
        &[LimitKind::StringSize],
    ),
    (
        "nested array bomb",
        "let a = [[1]]; loop { a = [a, a]; }",
        &[LimitKind::ArraySize, LimitKind::Operations],
    ),
    (
        "huge range",
        "let n = 0; for i in range(0, 9223372036854775807) { n += 1; }",
        &[LimitKind::Operations, LimitKind::WallClock],
    ),
    (
        "sorting a huge array",
        "let a = []; for i in 0..9999 { a.push(9999 - i); } loop { a.sort(|x, y| x - y); a.reverse(); }",
        &[LimitKind::Operations, LimitKind::WallClock],
    ),
    (
        "sort with a looping comparator",
        "let a = []; for i in 0..9999 { a.push(i % 97); } a.sort(|x, y| { loop { } })",
        &[LimitKind::Operations, LimitKind::WallClock],
    ),
    (
        "sort with a slow comparator",
        "let a = []; for i in 0..9999 { a.push(i % 97); } loop { a.sort(|x, y| { let z = 0; for j in 0..1000 { z += j; } y - x }); }",
        &[LimitKind::Operations, LimitKind::WallClock],
    ),
    // rhai counts a callback's operations on a copy of its state; the engine counts them.
    (
        "nested callbacks",
        "big().map(|x| big().map(|y| big().len()))",
        &[LimitKind::Operations, LimitKind::WallClock],
    ),
    (
        "print flood",
        "loop { print(\"flood\"); }",
        &[LimitKind::Operations, LimitKind::WallClock],
    ),
    (
        "closure loop",
        "let f = |x| x + 1; let n = 0; loop { n = f.call(n); }",
        &[LimitKind::Operations, LimitKind::WallClock],
    ),
];

const PRELUDE: &str = "fn down(n) { down(n + 1) }\nfn ping(n) { pong(n + 1) }\nfn pong(n) { ping(n + 1) }\n\
     fn big() { let b = []; for i in 0..100 { b.push(i); } b }\n";

fn run_all(engine: &PolicyEngine) -> Duration {
    let budget = engine.limits().wall_clock;
    let mut worst = Duration::ZERO;
    for (name, body, allowed) in RUNAWAYS {
        let src = format!("{PRELUDE}fn on_window(ctx) {{ {body} }}");
        let policy = engine
            .compile(name, &src)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let eval = engine.evaluate_on_window(&policy, &window());
        let err = eval.outcome.as_ref().expect_err(name);
        let limit = eval
            .limit_hit
            .unwrap_or_else(|| panic!("{name}: no limit reported, error was {err}"));
        assert!(
            allowed.contains(&limit),
            "{name}: stopped by {limit}, expected one of {allowed:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("limit") || message.contains("budget"),
            "{name}: message does not name the limit: {message}"
        );
        assert!(
            eval.duration <= budget + TEST_SLACK,
            "{name}: ran {:?} with a {budget:?} budget",
            eval.duration
        );
        worst = worst.max(eval.duration.saturating_sub(budget));
    }
    worst
}

#[test]
fn runaway_scripts_are_stopped_by_a_named_limit() {
    // A debug build on a loaded two-core machine is slow; a one-second budget makes sure
    // the size limits, not the clock, stop the bombs. The clock has its own test below.
    let limits = Limits {
        wall_clock: Duration::from_secs(1),
        ..Limits::default()
    };
    let worst = run_all(&PolicyEngine::new(limits));
    println!("worst overshoot past the wall-clock budget: {worst:?}");
}

#[test]
fn wall_clock_budget_stops_scripts_the_operation_limit_would_not() {
    // With a practically unlimited operation count only the clock can stop these.
    let limits = Limits {
        max_operations: u64::MAX / 2,
        wall_clock: Duration::from_millis(50),
        ..Limits::default()
    };
    let engine = PolicyEngine::new(limits);
    let policy = engine
        .compile("spin", "fn on_window(ctx) { loop { } }")
        .unwrap();
    let mut worst = Duration::ZERO;
    for _ in 0..5 {
        let eval = engine.evaluate_on_window(&policy, &window());
        assert_eq!(
            eval.limit_hit,
            Some(LimitKind::WallClock),
            "{:?}",
            eval.outcome
        );
        assert!(
            eval.outcome
                .unwrap_err()
                .to_string()
                .contains("wall-clock budget (50 ms)")
        );
        assert!(eval.duration >= Duration::from_millis(50));
        worst = worst.max(eval.duration - Duration::from_millis(50));
    }
    assert!(worst <= TEST_SLACK, "overshoot {worst:?}");
    println!("wall-clock overshoot over 5 runs: worst {worst:?}");
}

/// rhai's `unchecked` feature compiles every limit out. If anything in the build turned it
/// on, recursion and loops would no longer be stopped and this test would fail (or hang
/// until the harness kills it), so CI notices.
#[test]
fn limits_are_enforced_so_rhai_unchecked_is_off() {
    let engine = PolicyEngine::default();
    let policy = engine
        .compile("deep", "fn f(n) { f(n + 1) } fn on_window(ctx) { f(0) }")
        .unwrap();
    assert_eq!(
        engine.evaluate_on_window(&policy, &window()).limit_hit,
        Some(LimitKind::CallDepth)
    );
    let policy = engine
        .compile("loop", "fn on_window(ctx) { loop {} }")
        .unwrap();
    assert!(
        engine
            .evaluate_on_window(&policy, &window())
            .limit_hit
            .is_some()
    );
}

/// Escapes that must fail at compile time, with a position and a message naming the cause.
const REJECTED_AT_COMPILE: &[(&str, &str, &str)] = &[
    (
        "import a file",
        "import \"/etc/passwd\" as p;\nfn on_window(ctx) { }",
        "import",
    ),
    (
        "import inside a hook",
        "fn on_window(ctx) {\n  import \"secrets\" as s;\n}",
        "import",
    ),
    ("eval", "fn on_window(ctx) { eval(\"1 + 1\") }", "eval"),
    ("sleep", "fn on_window(ctx) { sleep(10) }", "not available"),
    ("exit", "fn on_window(ctx) { exit(1) }", "not available"),
    (
        "the clock",
        "fn on_window(ctx) { timestamp() }",
        "not available",
    ),
    (
        "file access",
        "fn on_window(ctx) { open_file(\"/etc/passwd\") }",
        "unknown function",
    ),
    (
        "network access",
        "fn on_window(ctx) { http_get(\"http://evil\") }",
        "unknown function",
    ),
    (
        "environment",
        "fn on_window(ctx) { env(\"DATABASE_URL\") }",
        "unknown function",
    ),
    (
        "undefined global",
        "fn on_window(ctx) { TENANTS }",
        "Undefined variable",
    ),
];

#[test]
fn escapes_are_rejected_when_compiling() {
    let engine = PolicyEngine::default();
    for (name, src, expected) in REJECTED_AT_COMPILE {
        let err = engine.compile(name, src).expect_err(name);
        let text = err.to_string();
        assert!(text.contains(expected), "{name}: {text}");
        assert!(
            err.diagnostics.iter().all(|d| d.position.line >= 1),
            "{name}"
        );
    }
}

#[test]
fn deeply_nested_expressions_are_rejected_when_compiling() {
    let engine = PolicyEngine::default();
    let deep = format!(
        "fn on_window(ctx) {{ {}1{} }}",
        "(".repeat(5_000),
        ")".repeat(5_000)
    );
    let err = engine.compile("deep", &deep).expect_err("too deep");
    assert!(err.to_string().contains("expression depth limit"), "{err}");
}

#[test]
fn forbidden_functions_fail_even_when_called_indirectly() {
    let engine = PolicyEngine::default();
    for (callee, arg) in [("sleep", "10"), ("exit", "0"), ("timestamp", "")] {
        let src = format!("fn on_window(ctx) {{ let f = Fn(\"{callee}\"); f.call({arg}) }}");
        let policy = engine.compile(callee, &src).unwrap();
        let eval = engine.evaluate_on_window(&policy, &window());
        let err = eval.outcome.unwrap_err().to_string();
        assert!(err.contains("not available in policies"), "{callee}: {err}");
        assert!(
            eval.duration < Duration::from_secs(1),
            "{callee} did not block"
        );
    }
}

#[test]
fn evaluations_share_no_state() {
    let engine = PolicyEngine::default();
    // A script that mutates its context and its top-level constant cannot affect the next
    // evaluation, nor one of another policy (another tenant's, for the service).
    let writer = engine
        .compile("writer", "const SECRET = \"tenant-a\";\nfn on_window(ctx) { ctx.model.name = SECRET; print(ctx.model.name); }")
        .unwrap();
    let reader = engine
        .compile(
            "reader",
            "fn on_window(ctx) { print(ctx.model.name); print(is_def_var(\"SECRET\")); }",
        )
        .unwrap();
    let ctx = window();
    assert_eq!(
        engine.evaluate_on_window(&writer, &ctx).log,
        vec!["tenant-a".to_string()]
    );
    assert_eq!(
        engine.evaluate_on_window(&reader, &ctx).log,
        vec!["fraud".to_string(), "false".to_string()]
    );
    assert_eq!(
        ctx.model.name, "fraud",
        "the caller's context is never modified"
    );
}

#[test]
fn log_is_bounded() {
    let limits = Limits {
        max_log_lines: 5,
        ..Limits::default()
    };
    let engine = PolicyEngine::new(limits);
    let policy = engine
        .compile(
            "chatty",
            "fn on_window(ctx) { for i in 0..100 { print(i); } }",
        )
        .unwrap();
    let eval = engine.evaluate_on_window(&policy, &window());
    assert!(eval.outcome.is_ok());
    assert_eq!(eval.log.len(), 6);
    assert!(eval.log[5].contains("truncated"));
}
