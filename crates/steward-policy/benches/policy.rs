//! Benchmarks: `on_window` throughput with a cached compiled policy, and how long a runaway
//! script runs past its wall-clock budget before it is stopped.
//!
//! Run with `cargo bench -p steward-policy`. Goals: at least 20,000 evaluations per second
//! per core for a typical ~30-line policy; runaway scripts stopped within budget + 20 ms.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use steward_policy::{Limits, PolicyEngine, WindowContext};

/// A typical policy: thresholds, a slice, history helpers, two or three decisions.
const TYPICAL: &str = r#"
const AUC_DROP = 0.03;
const HIGH = 0.25;
const LOW = 0.10;
const INCIDENT = "fraud-drift";

fn schedule() { "hourly" }

fn on_window(ctx) {
    let out = [];
    let was_on = incident_open(ctx, INCIDENT);
    let drifting = hysteresis(ctx.drift.composite, LOW, HIGH, was_on);
    if drifting && !was_on {
        out.push(open_incident(INCIDENT, `composite drift ${ctx.drift.composite}`));
        out.push(alert("warning", `drifted: ${drifted_features(ctx)}`, "ml-monitoring"));
    }
    if was_on && !drifting {
        out.push(resolve_incident(INCIDENT));
    }
    for f in ctx.drift.features {
        if f.statistic == "psi" && f.value > 0.3 {
            out.push(annotate(`${f.feature} psi ${f.value}`));
        }
    }
    let eu = slice(ctx, "EU");
    if eu != () && eu.baseline_metrics.auc - eu.metrics.auc >= AUC_DROP
        && cooldown_over(ctx, "retrain", hours(12)) {
        out.push(retrain(#{ orchestrator: "airflow", job: "fraud_retrain", slice: eu.filter }));
    }
    out
}
"#;

const WINDOW: &str = r#"{
    "model": {"id": "m-fraud", "name": "fraud", "version": "7", "tags": ["payments"], "risk_tier": "high"},
    "window": {"start": "2025-03-01T09:00:00Z", "end": "2025-03-01T10:00:00Z", "rows": 120000},
    "drift": {
        "composite": 0.3,
        "features": [
            {"feature": "amount", "statistic": "psi", "value": 0.31, "drifted": true},
            {"feature": "merchant_category", "statistic": "psi", "value": 0.04},
            {"feature": "country", "statistic": "psi", "value": 0.12},
            {"feature": "hour", "statistic": "ks", "value": 0.02, "p_value": 0.4},
            {"feature": "device", "statistic": "chi2", "value": 3.1, "p_value": 0.2},
            {"feature": "age_days", "statistic": "ks", "value": 0.05, "p_value": 0.1}
        ],
        "slices": [
            {"name": "EU", "filter": {"region": "EU"}, "rows": 40000, "composite": 0.22,
             "metrics": {"auc": 0.86}, "baseline_metrics": {"auc": 0.91}},
            {"name": "US", "filter": {"region": "US"}, "rows": 60000, "composite": 0.1,
             "metrics": {"auc": 0.9}, "baseline_metrics": {"auc": 0.91}}
        ]
    },
    "quality": [{"feature": "amount", "kind": "missing_rate", "severity": "warning", "value": 0.03}],
    "performance": {"metrics": {"auc": 0.88, "log_loss": 0.31}, "labelled_rows": 9000},
    "baseline": {"id": "b-7", "created_at": "2025-02-01T00:00:00Z", "metrics": {"auc": 0.91, "log_loss": 0.27}},
    "open_incidents": [],
    "recent_decisions": [
        {"at": "2025-02-28T10:00:00Z", "decision": {"kind": "retrain", "orchestrator": "airflow", "job": "fraud_retrain"}},
        {"at": "2025-02-28T11:00:00Z", "decision": {"kind": "annotate", "text": "note"}}
    ]
}"#;

fn on_window_throughput(c: &mut Criterion) {
    let engine = PolicyEngine::default();
    let ctx: WindowContext = serde_json::from_str(WINDOW).expect("valid window");
    let policy = engine
        .compile("typical", TYPICAL)
        .expect("typical policy compiles");
    assert_eq!(
        engine
            .evaluate_on_window(&policy, &ctx)
            .outcome
            .expect("evaluates")
            .len(),
        4
    );
    c.bench_function("on_window/typical_30_lines/cached", |b| {
        b.iter(|| {
            // The cache lookup is part of the measured path, as in the service.
            let policy = engine
                .compile("typical", black_box(TYPICAL))
                .expect("cached");
            black_box(engine.evaluate_on_window(&policy, black_box(&ctx)))
        })
    });
}

fn runaway_stop_latency(c: &mut Criterion) {
    let budget = Duration::from_millis(50);
    let engine = PolicyEngine::new(Limits {
        max_operations: u64::MAX / 2,
        wall_clock: budget,
        ..Limits::default()
    });
    let ctx: WindowContext = serde_json::from_str(WINDOW).expect("valid window");
    let mut group = c.benchmark_group("runaway");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(3));
    for (name, body) in [
        ("loop", "loop { }"),
        (
            "callbacks",
            "let a = []; for i in 0..100 { a.push(i); } loop { a = a.map(|x| x + 1); }",
        ),
        (
            "sort",
            "let a = []; for i in 0..5000 { a.push(5000 - i); } loop { a.sort(|x, y| x - y); a.reverse(); }",
        ),
    ] {
        let policy = engine
            .compile(name, &format!("fn on_window(ctx) {{ {body} }}"))
            .expect("compiles");
        let mut worst = Duration::ZERO;
        group.bench_function(format!("{name}/budget_50ms"), |b| {
            b.iter(|| {
                let eval = engine.evaluate_on_window(&policy, &ctx);
                assert!(eval.limit_hit.is_some());
                worst = worst.max(eval.duration.saturating_sub(budget));
                eval.duration
            })
        });
        println!("runaway/{name}: worst overshoot past the 50 ms budget {worst:?}");
    }
    group.finish();
}

criterion_group!(benches, on_window_throughput, runaway_stop_latency);
criterion_main!(benches);
