//! Replay over a recorded history simulates the state the policy reads back.

use serde_json::json;
use steward_policy::replay::{CarryState, ReplayOptions, parse_history, replay};
use steward_policy::{Decision, PolicyEngine};

use crate::support::window_json;

/// Five hourly windows whose composite drift rises, stays, then falls.
fn history() -> String {
    let scores = [0.05, 0.3, 0.2, 0.35, 0.05];
    let lines: Vec<String> = scores
        .iter()
        .enumerate()
        .map(|(i, score)| {
            let mut w = window_json();
            w["window"]["start"] = json!(format!("2025-03-01T{:02}:00:00Z", 9 + i));
            w["window"]["end"] = json!(format!("2025-03-01T{:02}:00:00Z", 10 + i));
            w["drift"]["composite"] = json!(score);
            w.to_string()
        })
        .collect();
    lines.join("\n")
}

const POLICY: &str = r#"
fn on_window(ctx) {
    let open = incident_open(ctx, "drift");
    let on = hysteresis(ctx.drift.composite, 0.1, 0.25, open);
    let out = [];
    if on && !open { out.push(open_incident("drift", "drift")); }
    if on && cooldown_over(ctx, "retrain", hours(2)) { out.push(retrain(#{ orchestrator: "airflow", job: "j" })); }
    if open && !on { out.push(resolve_incident("drift")); }
    out
}
"#;

fn kinds(d: &[Decision]) -> Vec<&'static str> {
    d.iter().map(Decision::kind).collect()
}

#[test]
fn simulated_state_drives_hysteresis_and_cooldown() {
    let engine = PolicyEngine::default();
    let policy = engine.compile("p", POLICY).unwrap();
    let windows = parse_history(&history()).unwrap();
    let steps = replay(&engine, &policy, &windows, ReplayOptions::default());
    let got: Vec<Vec<&str>> = steps
        .iter()
        .map(|s| kinds(s.decisions.as_ref().unwrap()))
        .collect();
    let want: Vec<Vec<&str>> = vec![
        vec![],
        vec!["open_incident", "retrain"],
        vec![],          // dead band, incident open, retrained an hour ago
        vec!["retrain"], // still drifting, cooldown over
        vec!["resolve_incident"],
    ];
    assert_eq!(got, want);
    assert!(
        steps[1]
            .to_string()
            .starts_with("#1 2025-03-01T11:00:00Z: "),
        "{}",
        steps[1]
    );

    // Evaluated as recorded, nothing carries over: each drifting window opens again.
    let recorded = replay(
        &engine,
        &policy,
        &windows,
        ReplayOptions {
            carry: CarryState::Recorded,
            ..Default::default()
        },
    );
    assert_eq!(
        kinds(recorded[3].decisions.as_ref().unwrap()),
        vec!["open_incident", "retrain"]
    );
}

#[test]
fn history_formats_and_errors() {
    let one = window_json();
    assert_eq!(parse_history(&json!([one]).to_string()).unwrap().len(), 1);
    assert_eq!(
        parse_history(&json!({"windows": [one, one]}).to_string())
            .unwrap()
            .len(),
        2
    );
    assert_eq!(parse_history(&history()).unwrap().len(), 5);
    let mut bad = window_json();
    bad["drift"]["composit"] = json!(1);
    assert!(
        parse_history(&json!([one, bad]).to_string())
            .unwrap_err()
            .to_string()
            .starts_with("window 1:")
    );
    let reversed: Vec<&str> = history().lines().rev().map(|_| "").collect::<Vec<_>>();
    assert_eq!(reversed.len(), 5);
    let lines: Vec<String> = history().lines().rev().map(str::to_string).collect();
    assert!(
        parse_history(&lines.join("\n"))
            .unwrap_err()
            .to_string()
            .contains("time order")
    );
}
