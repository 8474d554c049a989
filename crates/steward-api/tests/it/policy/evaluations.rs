//! Evaluations and their decision records; hostile contexts refused with their path.

use serde_json::{Value, json};
use steward_domain::Role;

use super::*;
use crate::app::*;

#[tokio::test]
async fn evaluations_store_what_was_decided_from_what() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let s = seed(&app, &owner).await;
    let service = app.token("acme", &[Role::Service]);
    let viewer = app.token("acme", &[Role::Viewer]);

    let rec = app
        .ok(&service, EVALUATE, json!({"i": {"modelVersionId": s.version, "hook": "ON_WINDOW", "context": window_context(0.45)}}))
        .await["evaluatePolicy"]
        .clone();
    assert_eq!(rec["revisionNumber"], 1);
    assert_eq!(rec["limitHit"], Value::Null);
    assert_eq!(
        rec["outcome"],
        json!({"outcome": "decisions", "decisions": [{"kind": "alert", "severity": "warning", "summary": "fraud: composite drift 0.45", "channel": "ml-monitoring"}]})
    );
    // Everyone in the tenant reads the record, with the input as evaluated: `model` was filled in
    // from the registry.
    let q = "query($i: ID!) { decisionRecord(id: $i) { input inputHash revisionHash hook evaluatedBy modelId modelVersionId durationUs } }";
    let full = app.ok(&viewer, q, json!({"i": rec["id"]})).await["decisionRecord"].clone();
    assert_eq!(
        full["input"]["model"],
        json!({"id": s.model, "name": "fraud", "version": "1", "tags": ["eu"], "risk_tier": "high"})
    );
    assert_eq!(full["input"]["drift"]["composite"], 0.45);
    assert_eq!(full["hook"], "ON_WINDOW");
    assert_eq!(full["evaluatedBy"], "tester");
    assert_eq!(full["modelVersionId"], json!(s.version));
    let policy = app
        .ok(
            &viewer,
            "query($i: ID!) { policy(id: $i) { activeRevision { hash } } }",
            json!({"i": s.policy}),
        )
        .await;
    assert_eq!(
        full["revisionHash"],
        policy["policy"]["activeRevision"]["hash"]
    );
    // The same context is stored once: equal input hashes; another context, another hash.
    let again = app
        .ok(&service, EVALUATE, json!({"i": {"modelVersionId": s.version, "hook": "ON_WINDOW", "context": window_context(0.45)}}))
        .await["evaluatePolicy"]["id"]
        .clone();
    let h = |v: &Value| v["decisionRecord"]["inputHash"].clone();
    let again = app.ok(&viewer, q, json!({"i": again})).await;
    assert_eq!(h(&again), full["inputHash"]);
    let seeded = app.ok(&viewer, q, json!({"i": s.record})).await;
    assert_ne!(h(&seeded), full["inputHash"]);

    // A promotion, through the high-risk gate bound to this model.
    let author = app.token("acme", &[Role::PolicyAuthor]);
    let gate = published(&app, &author, "high-risk-gate", HIGH_RISK_PROMOTION).await;
    app.ok(
        &author,
        BIND,
        json!({"i": {"policyId": gate, "modelId": s.model}}),
    )
    .await;
    let promotion = json!({
        "candidate": {"version": "2", "holdout": {"auc": 0.91}},
        "champion": {"version": "1", "holdout": {"auc": 0.90}},
        "approvals": [{"principal": "alice", "role": "governance_officer", "at": "2026-03-01T09:00:00Z"}],
        "requester": "alice",
        "requested_at": "2026-03-01T10:00:00Z"
    });
    let verdict = app
        .ok(&service, EVALUATE, json!({"i": {"modelVersionId": s.version, "hook": "ON_PROMOTION", "context": promotion}}))
        .await["evaluatePolicy"]
        .clone();
    assert_eq!(
        verdict["outcome"],
        json!({"outcome": "verdict", "verdict": {"kind": "require_approval", "role": "governance_officer", "count": 2}})
    );
    assert_eq!(verdict["log"], json!(["valid approvals: 0 of 2"]));

    // Lists filter by hook, model and policy, newest first, and page.
    assert_eq!(
        list(&app, &viewer, &s, "hook: ON_PROMOTION, modelId: $m").await,
        1
    );
    // Three by hand and the one of the seed's evaluated monitoring window.
    assert_eq!(
        list(&app, &viewer, &s, "hook: ON_WINDOW, modelId: $m").await,
        4
    );
    // And the seed's promotion of its low-risk `ranker`, under the same tenant default.
    assert_eq!(list(&app, &viewer, &s, "policyId: $p").await, 5);
    let page1 = app
        .ok(
            &viewer,
            "{ decisionRecords(first: 1) { nodes { id } pageInfo { hasNextPage endCursor } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        page1["decisionRecords"]["nodes"][0]["id"], verdict["id"],
        "newest first"
    );
    let cursor = page1["decisionRecords"]["pageInfo"]["endCursor"].clone();
    let page2 = app
        .ok(
            &viewer,
            "query($c: String) { decisionRecords(first: 10, after: $c) { nodes { id } } }",
            json!({"c": cursor}),
        )
        .await;
    // The other records: three by hand, the seed's window, and its four promotion requests.
    assert_eq!(
        page2["decisionRecords"]["nodes"].as_array().unwrap().len(),
        8
    );

    // Decision records are append-only in the database itself.
    for sql in [
        "UPDATE decision_records SET outcome = '{}'",
        "DELETE FROM decision_records",
        "DELETE FROM policy_inputs",
    ] {
        let e = app.db.execute(sql).await.unwrap_err().to_string();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
}

/// How many decision records a filter lists; `$m` is the seeded model, `$p` its policy.
async fn list(app: &TestApp, token: &str, s: &Seeded, filter: &str) -> usize {
    let (params, vars) = match (filter.contains("$m"), filter.contains("$p")) {
        (true, _) => ("($m: ID!)", json!({"m": s.model})),
        (_, true) => ("($p: ID!)", json!({"p": s.policy})),
        _ => ("", json!({})),
    };
    let q = format!("query{params} {{ decisionRecords({filter}) {{ nodes {{ id }} }} }}");
    app.ok(token, &q, vars).await["decisionRecords"]["nodes"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn hostile_contexts_are_refused_with_their_path_and_record_nothing() {
    // A body limit above the context limit, so that the service's own check is what refuses the
    // biggest context.
    let api = steward_api::ApiConfig {
        max_body_bytes: 4 << 20,
        ..Default::default()
    };
    let app = TestApp::with(hs256_config(), api).await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let s = seed(&app, &owner).await;
    let service = app.token("acme", &[Role::Service]);
    let before = record_count(&app, &service).await;
    let mut spoof = window_context(0.1);
    spoof["model"] = json!({"id": s.model, "name": "fraud", "version": "1", "risk_tier": "low"});
    let mut unknown = window_context(0.1);
    unknown["drift"]["compositee"] = json!(0.1);
    let mut wrong_type = window_context(0.1);
    wrong_type["drift"]["composite"] = json!("high");
    let mut bad_time = window_context(0.1);
    bad_time["window"]["end"] = json!("yesterday");
    let mut missing = window_context(0.1);
    missing.as_object_mut().unwrap().remove("baseline");
    let big = json!({"window": {"start": "2026-03-01T00:00:00Z", "end": "2026-03-02T00:00:00Z"}, "drift": {"composite": 0.1},
                     "baseline": {"id": "x".repeat(1024 * 1024 + 10), "created_at": "2026-02-01T00:00:00Z"}});
    for (hook, context, want) in [
        (
            "ON_WINDOW",
            spoof,
            "input.context.model: Steward fills this in",
        ),
        (
            "ON_WINDOW",
            unknown,
            "input.context.drift.compositee: unknown field `compositee`",
        ),
        (
            "ON_WINDOW",
            wrong_type,
            "input.context.drift.composite: invalid type",
        ),
        ("ON_WINDOW", bad_time, "input.context.window.end"),
        (
            "ON_WINDOW",
            missing,
            "input.context: missing field `baseline`",
        ),
        (
            "ON_WINDOW",
            json!([1, 2]),
            "input.context: must be a JSON object",
        ),
        ("ON_PROMOTION", window_context(0.1), "input.context"),
        ("ON_WINDOW", big, "input.context: is "),
    ] {
        let v = app
            .gql(
                &service,
                EVALUATE,
                json!({"i": {"modelVersionId": s.version, "hook": hook, "context": context}}),
            )
            .await;
        let msg = v["errors"][0]["message"].as_str().unwrap_or_default();
        assert_eq!(code(&v), "INVALID", "{want}: {v}");
        assert!(msg.starts_with(want), "want `{want}`, got `{msg}`");
    }
    assert_eq!(
        record_count(&app, &service).await,
        before,
        "nothing recorded"
    );

    // No binding, or a bound policy never published: refused, saying what to do.
    app.tenant("other").await;
    let other_owner = app.token("other", &[Role::ModelOwner]);
    let other_author = app.token("other", &[Role::PolicyAuthor]);
    let (_, version) = model_with_version(&app, &other_owner, "churn").await;
    let eval = json!({"i": {"modelVersionId": version, "hook": "ON_WINDOW", "context": window_context(0.1)}});
    let v = app.gql(&other_author, EVALUATE, eval.clone()).await;
    assert_eq!(code(&v), "FAILED_PRECONDITION", "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("no policy governs model `churn`"),
        "{v}"
    );
    let draft = str_at(
        &app.ok(
            &other_author,
            CREATE_POLICY,
            json!({"i": {"name": "draft-only"}}),
        )
        .await,
        &["createPolicy", "id"],
    );
    app.ok(
        &other_author,
        PROPOSE,
        json!({"i": {"policyId": draft, "source": "fn on_window(ctx) { [] }"}}),
    )
    .await;
    app.ok(
        &other_author,
        BIND,
        json!({"i": {"policyId": draft, "tenantDefault": true}}),
    )
    .await;
    let v = app.gql(&other_author, EVALUATE, eval).await;
    assert_eq!(code(&v), "FAILED_PRECONDITION", "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("`draft-only` (binding"),
        "{v}"
    );
}
