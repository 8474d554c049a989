//! Evaluation API: decisions, verdicts, schedules, logs and the compiled-policy cache.

use steward_policy::{Decision, EvalError, PolicyEngine, Schedule, Severity, Verdict};

use crate::support::{promotion, window};

#[test]
fn on_window_returns_decisions_and_captures_print() {
    let engine = PolicyEngine::default();
    let src = r##"
        const LIMIT = 0.2;
        fn on_window(ctx) {
            print(`composite ${ctx.drift.composite}`);
            let out = [];
            for f in breaches(ctx, "psi", LIMIT) {
                out.push(alert("warning", `${f} drifted`, "#fraud"));
            }
            out
        }
    "##;
    let policy = engine.compile("p", src).unwrap();
    let eval = engine.evaluate_on_window(&policy, &window());
    assert_eq!(
        eval.outcome.unwrap(),
        vec![Decision::Alert {
            severity: Severity::Warning,
            summary: "amount drifted".into(),
            channel: "#fraud".into()
        }]
    );
    assert_eq!(eval.log, vec!["composite 0.18".to_string()]);
    assert_eq!(eval.limit_hit, None);
}

#[test]
fn on_promotion_returns_each_kind_of_verdict() {
    let engine = PolicyEngine::default();
    let cases: [(&str, Verdict); 3] = [
        ("allow()", Verdict::Allow),
        (
            r#"deny("holdout auc below champion")"#,
            Verdict::Deny {
                reason: "holdout auc below champion".into(),
            },
        ),
        (
            r#"require_approval("governance_officer", 2)"#,
            Verdict::RequireApproval {
                role: "governance_officer".into(),
                count: 2,
            },
        ),
    ];
    for (body, expected) in cases {
        let policy = engine
            .compile("p", &format!("fn on_promotion(ctx) {{ {body} }}"))
            .unwrap();
        assert_eq!(
            engine
                .evaluate_on_promotion(&policy, &promotion())
                .outcome
                .unwrap(),
            expected,
            "{body}"
        );
    }
}

#[test]
fn schedule_is_validated() {
    let engine = PolicyEngine::default();
    let cases: [(&str, Result<Option<Schedule>, &str>); 5] = [
        (r#"fn schedule() { "hourly" }"#, Ok(Some(Schedule::Hourly))),
        (
            r#"fn schedule() { "0 6 * * mon" }"#,
            Ok(Some(Schedule::parse("0 6 * * mon").unwrap())),
        ),
        ("fn on_window(ctx) { }", Ok(None)),
        (
            r#"fn schedule() { "every tuesday" }"#,
            Err("invalid schedule"),
        ),
        ("fn schedule() { 60 }", Err("not a string")),
    ];
    for (src, expected) in cases {
        let policy = engine.compile("p", src).unwrap();
        match (engine.schedule(&policy), expected) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{src}"),
            (Err(got), Err(want)) => assert!(got.to_string().contains(want), "{src}: {got}"),
            (got, want) => panic!("{src}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn bad_results_and_bad_arguments_are_clear_errors() {
    let engine = PolicyEngine::default();
    let cases = [
        ("fn on_window(ctx) { 42 }", "returned a i64"),
        ("fn on_window(ctx) { [annotate(\"x\"), 1] }", "element 1"),
        (
            "fn on_window(ctx) {\n  alert(\"loud\", \"s\", \"#c\")\n}",
            "unknown severity \"loud\"",
        ),
        (
            "fn on_window(ctx) { retrain(#{ orchestrator: \"airflow\" }) }",
            "`job` is required",
        ),
        (
            "fn on_window(ctx) { retrain(#{ orchestrator: \"airflow\", job: \"j\", when: 1 }) }",
            "unknown field `when`",
        ),
        (
            "fn on_window(ctx) { open_incident(\"\", \"s\") }",
            "`key` must not be empty",
        ),
        ("fn on_window(ctx) { ctx.drift.composite.nope }", "nope"),
        (
            "fn on_window(ctx) { throw \"custom failure\" }",
            "custom failure",
        ),
        (
            "fn on_promotion(ctx) { require_approval(\"boss\", 2) }",
            "unknown role",
        ),
        ("fn on_promotion(ctx) { annotate(\"x\") }", "not a verdict"),
        (
            "fn on_promotion(ctx) { ctx.champion.holdout.auc }",
            "verdict",
        ),
    ];
    for (src, expected) in cases {
        let policy = engine
            .compile("p", src)
            .unwrap_or_else(|e| panic!("{src}: {e}"));
        let err = if src.contains("on_promotion") {
            engine
                .evaluate_on_promotion(&policy, &promotion())
                .outcome
                .unwrap_err()
        } else {
            engine
                .evaluate_on_window(&policy, &window())
                .outcome
                .unwrap_err()
        };
        assert!(err.to_string().contains(expected), "{src}: {err}");
        assert_eq!(err.limit(), None);
    }
    // Script errors carry the position of the failing call.
    let policy = engine
        .compile(
            "p",
            "fn on_window(ctx) {\n  alert(\"loud\", \"s\", \"#c\")\n}",
        )
        .unwrap();
    let err = engine
        .evaluate_on_window(&policy, &window())
        .outcome
        .unwrap_err();
    assert!(
        matches!(err, EvalError::Script { position: Some(p), .. } if p.line == 2),
        "{err:?}"
    );
}

#[test]
fn missing_hook_is_reported_not_guessed() {
    let engine = PolicyEngine::default();
    let policy = engine.compile("p", "fn on_window(ctx) { }").unwrap();
    let eval = engine.evaluate_on_promotion(&policy, &promotion());
    assert_eq!(
        eval.outcome,
        Err(EvalError::MissingHook {
            hook: "on_promotion".into()
        })
    );
}

#[test]
fn helpers_compute_what_the_guide_says() {
    let engine = PolicyEngine::default();
    let cases = [
        ("metric_drop(ctx, \"auc\")", "0.03"),
        ("metric_drop(ctx, \"log_loss\")", "0.04"),
        ("metric_drop(ctx, \"f1\") == ()", "true"),
        ("drifted_features(ctx)", "[\"amount\"]"),
        ("feature(ctx, \"hour\").p_value", "0.4"),
        ("slice(ctx, \"EU\").filter.region", "EU"),
        ("hysteresis(0.15, 0.1, 0.2, true)", "true"),
        ("hysteresis(0.15, 0.1, 0.2, false)", "false"),
        ("hysteresis(0.25, 0.1, 0.2, false)", "true"),
        ("hysteresis(0.05, 0.1, 0.2, true)", "false"),
        ("no_worse_than(\"auc\", 0.80, 0.82, 0.01)", "false"),
        ("no_worse_than(\"log_loss\", 0.30, 0.31, 0)", "true"),
        ("relative_change(110, 100)", "0.1"),
        ("now(ctx) - ctx.window.start == hours(1)", "true"),
        ("cooldown_over(ctx, \"retrain\", days(7))", "true"),
        ("since_last(ctx, \"retrain\") == ()", "true"),
        ("incident_open(ctx, \"drift\")", "false"),
        ("mean([1, 2, 3.0])", "2.0"),
        ("median([5, 1, 3])", "3.0"),
        ("percentile([1, 2, 3, 4, 5], 25)", "2.0"),
        ("stddev([2, 4, 4, 4, 5, 5, 7, 9])", "2.138089935299395"),
        ("min_of([3, -1, 2])", "-1.0"),
        ("max_of([]) == ()", "true"),
        ("count_above([0.1, 0.3, 0.5], 0.2)", "2"),
        ("weekday(ctx.window.end)", "6"),
        ("hour_of_day(ctx.window.end)", "10"),
        ("format_time(ctx.window.end)", "2025-03-01T10:00:00Z"),
    ];
    for (expr, expected) in cases {
        let src = format!("fn on_window(ctx) {{ print(`${{{expr}}}`); }}");
        let policy = engine
            .compile("p", &src)
            .unwrap_or_else(|e| panic!("{expr}: {e}"));
        let eval = engine.evaluate_on_window(&policy, &window());
        assert!(eval.outcome.is_ok(), "{expr}: {:?}", eval.outcome);
        let got = eval.log.first().cloned().unwrap_or_default();
        let close = match (got.parse::<f64>(), expected.parse::<f64>()) {
            (Ok(a), Ok(b)) => (a - b).abs() < 1e-9,
            _ => got == expected,
        };
        assert!(close, "{expr}: got {got}, want {expected}");
    }
}

#[test]
fn compiled_policies_are_cached_by_name_and_content_hash() {
    let engine = PolicyEngine::with_cache_capacity(Default::default(), 2);
    let a = engine.compile("a", "fn on_window(ctx) { }").unwrap();
    let again = engine.compile("a", "fn on_window(ctx) { }").unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &again));
    assert_eq!(
        engine.get_cached("a", &a.hash()).map(|p| p.hash()),
        Some(a.hash())
    );
    engine.compile("b", "fn on_window(ctx) { [] }").unwrap();
    engine.compile("c", "fn on_window(ctx) { () }").unwrap();
    assert_eq!(engine.cached(), 2);
    assert!(
        engine.get_cached("a", &a.hash()).is_none(),
        "oldest entry evicted"
    );
}

#[test]
fn the_same_source_under_another_name_never_shows_the_first_name() {
    // Tenant A compiles its policy first; tenant B submits the same source under its own name.
    let engine = PolicyEngine::new(Default::default());
    let source = "let x = 1;\nx + 1;\nfn on_window(ctx) { [] }\n";
    let first = engine.compile("acme-secret-pricing", source).unwrap();
    let second = engine.compile("globex-policy", source).unwrap();
    assert!(!std::sync::Arc::ptr_eq(&first, &second));
    assert_eq!(second.name(), "globex-policy");
    assert!(
        !second.warnings().is_empty(),
        "the source has top-level code"
    );
    for w in second.warnings() {
        assert_eq!(w.policy, "globex-policy");
        assert!(!w.to_string().contains("acme"), "{w}");
    }
    // A runtime error names the caller's policy too.
    let failing = "fn on_window(ctx) { let y = ctx.nope.deeper; [] }\n";
    engine.compile("acme-secret-pricing", failing).unwrap();
    let b = engine.compile("globex-policy", failing).unwrap();
    let eval = engine.evaluate_on_window(&b, &window());
    let err = eval.outcome.expect_err("reading a field of () fails");
    assert!(!err.to_string().contains("acme"), "{err}");
}

#[test]
fn engine_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PolicyEngine>();
    let engine = PolicyEngine::default();
    let policy = engine
        .compile(
            "p",
            "fn on_window(ctx) { print(ctx.model.name); annotate(\"seen\") }",
        )
        .unwrap();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    let eval = engine.evaluate_on_window(&policy, &window());
                    assert_eq!(
                        eval.log,
                        vec!["fraud".to_string()],
                        "logs never mix between threads"
                    );
                    assert_eq!(eval.outcome.unwrap().len(), 1);
                }
            });
        }
    });
}
