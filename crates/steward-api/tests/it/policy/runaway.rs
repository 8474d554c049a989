//! Runaway and hostile scripts: stopped at their limits, recorded, and unable to hold the
//! runtime or the permits of other policies.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use steward_domain::Role;
use steward_service::PolicySettings;

use super::*;
use crate::app::*;

#[tokio::test]
async fn runaway_and_hostile_scripts_are_stopped_and_recorded() {
    // A wall clock no machine reaches first: each script must be stopped by the limit it
    // provokes (operations for the spin, sizes for the bombs), however slow or loaded the
    // machine is.
    let mut settings = PolicySettings::default();
    settings.limits.wall_clock = Duration::from_secs(600);
    let app = TestApp::with_policy(settings).await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let s = seed(&app, &owner).await;
    let author = app.token("acme", &[Role::PolicyAuthor]);
    let cases = [
        (
            "spin",
            "fn on_window(ctx) { loop { } }",
            &["operations"][..],
        ),
        (
            "recurse",
            "fn f(n) { f(n + 1) }\nfn on_window(ctx) { f(0) }",
            &["call_depth"][..],
        ),
        (
            "string-bomb",
            "fn on_window(ctx) { let s = \"xxxxxxxx\"; loop { s += s; } }",
            &["string_size"][..],
        ),
        (
            "array-bomb",
            "fn on_window(ctx) { let a = [1]; loop { a += a; } }",
            &["array_size"][..],
        ),
        (
            "map-bomb",
            "fn on_window(ctx) { let m = #{}; let i = 0; loop { m[`k${i}`] = i; i += 1; } }",
            &["map_size"][..],
        ),
    ];
    for (name, source, limits) in cases {
        let p = published(&app, &author, name, source).await;
        app.ok(
            &author,
            BIND,
            json!({"i": {"policyId": p, "modelId": s.model}}),
        )
        .await;
        let rec = app
            .ok(&author, EVALUATE, json!({"i": {"modelVersionId": s.version, "hook": "ON_WINDOW", "context": window_context(0.1)}}))
            .await["evaluatePolicy"]
            .clone();
        let hit = rec["limitHit"].as_str().unwrap_or_default();
        assert!(limits.contains(&hit), "{name}: limit {hit}: {rec}");
        assert_eq!(rec["outcome"]["outcome"], "failed", "{name}: {rec}");
        let message = rec["outcome"]["error"]["message"]
            .as_str()
            .unwrap_or_default();
        assert!(
            message.contains("limit") || message.contains("budget"),
            "{name}: {rec}"
        );
        // Unbind so the next case's model binding is allowed.
        let binding = app
            .ok(
                &author,
                "query($m: ID!) { policyResolution(modelId: $m) { binding { id } } }",
                json!({"m": s.model}),
            )
            .await["policyResolution"]["binding"]["id"]
            .clone();
        app.ok(
            &author,
            "mutation($i: UnbindPolicyInput!) { unbindPolicy(input: $i) { id } }",
            json!({"i": {"bindingId": binding}}),
        )
        .await;
    }
    // Importing files and eval are refused when proposing.
    for (source, what) in [
        (
            "import \"/etc/passwd\" as p;\nfn on_window(ctx) { [] }",
            "import",
        ),
        ("fn on_window(ctx) { eval(\"1\") }", "eval"),
    ] {
        let p = str_at(
            &app.ok(
                &author,
                CREATE_POLICY,
                json!({"i": {"name": format!("bad-{what}")}}),
            )
            .await,
            &["createPolicy", "id"],
        );
        let v = app
            .gql(
                &author,
                PROPOSE,
                json!({"i": {"policyId": p, "source": source}}),
            )
            .await;
        assert_eq!(code(&v), "INVALID", "{what}: {v}");
    }
}

/// While a script spins to its wall-clock budget, the async runtime keeps serving: the
/// evaluation runs on the blocking pool. On a current-thread runtime an evaluation on the
/// runtime thread would leave no room for the read below until the budget ran out.
#[tokio::test(flavor = "current_thread")]
async fn a_runaway_script_does_not_hold_the_runtime() {
    let mut settings = PolicySettings::default();
    settings.limits.wall_clock = Duration::from_secs(5);
    settings.limits.max_operations = u64::MAX;
    let app = Arc::new(TestApp::with_policy(settings).await);
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let s = seed(&app, &owner).await;
    let author = app.token("acme", &[Role::PolicyAuthor]);
    let p = published(&app, &author, "spin", "fn on_window(ctx) { loop { } }").await;
    app.ok(
        &author,
        BIND,
        json!({"i": {"policyId": p, "modelId": s.model}}),
    )
    .await;

    let spinning = {
        let (app, author) = (Arc::clone(&app), author.clone());
        let input = json!({"i": {"modelVersionId": s.version, "hook": "ON_WINDOW", "context": window_context(0.1)}});
        tokio::spawn(async move { app.ok(&author, EVALUATE, input).await })
    };
    wait_for_evaluations(&app, 1).await;
    // The runtime's only thread serves a read while the script spins.
    let models = app
        .ok(&owner, "{ models { nodes { id } } }", json!({}))
        .await;
    // The seed's fraud and scratch models, three approval fixtures and the ranker.
    assert_eq!(models["models"]["nodes"].as_array().map(Vec::len), Some(6));
    assert_eq!(
        app.service.policy_evaluations_in_flight(),
        1,
        "the read was only served after the runaway finished"
    );
    let rec = spinning.await.unwrap()["evaluatePolicy"].clone();
    assert_eq!(rec["limitHit"], "wall_clock", "{rec}");
}

/// Waits until `n` policy evaluations hold a permit (state, not time).
async fn wait_for_evaluations(app: &TestApp, n: usize) {
    for _ in 0..10_000 {
        if app.service.policy_evaluations_in_flight() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("{n} evaluations never started");
}

/// A revision that ran away once is a suspect: its next evaluations run in their own lane, so
/// with a single main permit another policy's evaluation still completes while the runaway
/// spins (with one shared permit it would wait the whole budget).
#[tokio::test]
async fn a_runaway_policy_cannot_take_the_permits_of_others() {
    let mut settings = PolicySettings {
        max_concurrent: 1,
        ..Default::default()
    };
    settings.limits.wall_clock = Duration::from_secs(1);
    settings.limits.max_operations = u64::MAX;
    let app = TestApp::with_policy(settings).await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let s = seed(&app, &owner).await;
    let author = app.token("acme", &[Role::PolicyAuthor]);
    let (spinner, spinner_v) = model_with_version(&app, &owner, "spinner").await;
    let p = published(&app, &author, "spin", "fn on_window(ctx) { loop { } }").await;
    app.ok(
        &author,
        BIND,
        json!({"i": {"policyId": p, "modelId": spinner}}),
    )
    .await;
    let spin = json!({"i": {"modelVersionId": spinner_v, "hook": "ON_WINDOW", "context": window_context(0.1)}});
    let first = app.ok(&author, EVALUATE, spin.clone()).await;
    assert_eq!(first["evaluatePolicy"]["limitHit"], "wall_clock");

    let runaway = async {
        let v = app.ok(&author, EVALUATE, spin.clone()).await;
        (std::time::Instant::now(), v)
    };
    let normal = async {
        // The runaway takes its permit first.
        wait_for_evaluations(&app, 1).await;
        let v = app
            .ok(&author, EVALUATE, json!({"i": {"modelVersionId": s.version, "hook": "ON_WINDOW", "context": window_context(0.1)}}))
            .await;
        (std::time::Instant::now(), v)
    };
    let ((runaway_done, r), (normal_done, n)) = tokio::join!(runaway, normal);
    assert_eq!(r["evaluatePolicy"]["limitHit"], "wall_clock");
    assert!(n["evaluatePolicy"]["limitHit"].is_null(), "{n}");
    assert!(
        normal_done < runaway_done,
        "the normal evaluation waited for the runaway"
    );
}
