//! Policies through the API: revisions (draft, publish, roll back), bindings and their
//! resolution, evaluations and their decision records, hostile contexts, runaway scripts.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use steward_domain::Role;
use steward_service::PolicySettings;

use crate::app::*;

const HIGH_RISK_PROMOTION: &str = include_str!("../../../../policies/high-risk-promotion.rhai");

/// Creates a policy with `source` as revision 1, published; returns its id.
async fn published(app: &TestApp, author: &str, name: &str, source: &str) -> String {
    let id = str_at(
        &app.ok(author, CREATE_POLICY, json!({"i": {"name": name}}))
            .await,
        &["createPolicy", "id"],
    );
    app.ok(
        author,
        PROPOSE,
        json!({"i": {"policyId": id, "source": source}}),
    )
    .await;
    app.ok(author, PUBLISH, json!({"i": {"policyId": id, "number": 1}}))
        .await;
    id
}

/// A policy's active revision number and its revisions as (number, status), newest first, with
/// the raw revision nodes.
async fn revision_states(
    app: &TestApp,
    token: &str,
    id: &str,
) -> (Value, Vec<(i64, String)>, Vec<Value>) {
    let v = app
        .ok(token, "query($i: ID!) { policy(id: $i) { activeRevisionNumber revisions { nodes { number status publishedBy source } } } }", json!({"i": id}))
        .await;
    let nodes = v["policy"]["revisions"]["nodes"]
        .as_array()
        .unwrap()
        .clone();
    let states = nodes
        .iter()
        .map(|n| {
            (
                n["number"].as_i64().unwrap(),
                n["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (v["policy"]["activeRevisionNumber"].clone(), states, nodes)
}

/// The resolution of `model`: which binding governs it and why.
async fn resolution(app: &TestApp, token: &str, model: &str) -> Value {
    let q = "query($m: ID!) { policyResolution(modelId: $m) { binding { id kind policyId } explanation } }";
    app.ok(token, q, json!({"m": model})).await["policyResolution"].clone()
}

/// Registers a low-risk model `name` with one version; returns (model id, version id).
async fn model_with_version(app: &TestApp, owner: &str, name: &str) -> (String, String) {
    let model = str_at(
        &app.ok(
            owner,
            REGISTER_MODEL,
            json!({"i": {"name": name, "ownerTeam": "t", "riskTier": "LOW"}}),
        )
        .await,
        &["registerModel", "id"],
    );
    let version = str_at(
        &app.ok(owner, REGISTER_VERSION, json!({"i": {"modelId": model, "artifactUri": "s3://m", "artifactDigest": digest(), "framework": "f"}}))
            .await,
        &["registerModelVersion", "id"],
    );
    (model, version)
}

async fn record_count(app: &TestApp, token: &str) -> usize {
    app.ok(
        token,
        "{ decisionRecords(first: 100) { nodes { id } } }",
        json!({}),
    )
    .await["decisionRecords"]["nodes"]
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test]
async fn revisions_are_drafted_published_and_rolled_back() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let author = app.token("acme", &[Role::PolicyAuthor]);
    let id = str_at(
        &app.ok(
            &author,
            CREATE_POLICY,
            json!({"i": {"name": "fraud", "description": "fraud model rules"}}),
        )
        .await,
        &["createPolicy", "id"],
    );
    let dup = app
        .gql(&author, CREATE_POLICY, json!({"i": {"name": "fraud"}}))
        .await;
    assert_eq!(code(&dup), "CONFLICT", "{dup}");

    // A source that does not compile is refused with every diagnostic's line and column.
    let bad = "fn on_window(ctx) {\n    [alrt(\"warning\", \"x\", \"slack\")]\n}\n";
    let v = app
        .gql(
            &author,
            PROPOSE,
            json!({"i": {"policyId": id, "source": bad}}),
        )
        .await;
    assert_eq!(code(&v), "INVALID", "{v}");
    let msg = v["errors"][0]["message"].as_str().unwrap();
    assert!(msg.starts_with("input.source: does not compile"), "{msg}");
    assert!(msg.contains("fraud:2:6"), "line and column: {msg}");
    assert!(msg.contains("alrt"), "{msg}");
    // So is a bad schedule, and an empty or oversized source.
    let v = app
        .gql(&author, PROPOSE, json!({"i": {"policyId": id, "source": "fn schedule() { \"every full moon\" }\nfn on_window(ctx) { [] }"}}))
        .await;
    assert_eq!(code(&v), "INVALID", "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("schedule()"),
        "{v}"
    );
    let v = app
        .gql(
            &author,
            PROPOSE,
            json!({"i": {"policyId": id, "source": "  "}}),
        )
        .await;
    assert_eq!(code(&v), "INVALID");
    let v = app
        .gql(&author, PROPOSE, json!({"i": {"policyId": id, "source": format!("// {}\nfn on_window(ctx) {{ [] }}", "x".repeat(300 * 1024))}}))
        .await;
    // The GraphQL body limit (1 MiB) lets 300 KiB through; the source limit refuses it.
    assert_eq!(code(&v), "INVALID", "{v}");

    let v1 = "fn on_window(ctx) { [] }\n";
    let v2 = "fn on_window(ctx) { if ctx.drift.composite > 0.3 { [alert(\"warning\", \"drift\", \"slack\")] } else { [] } }\n";
    let r = app
        .ok(
            &author,
            PROPOSE,
            json!({"i": {"policyId": id, "source": v1, "note": "first"}}),
        )
        .await;
    assert_eq!(r["proposePolicyRevision"]["revision"]["number"], 1);
    assert_eq!(r["proposePolicyRevision"]["revision"]["status"], "DRAFT");
    assert_eq!(r["proposePolicyRevision"]["created"], true);
    let hash1 = str_at(&r, &["proposePolicyRevision", "revision", "hash"]);
    assert_eq!(hash1.len(), 64);
    // The same source again is the same revision: content-addressed.
    let r = app
        .ok(
            &author,
            PROPOSE,
            json!({"i": {"policyId": id, "source": v1}}),
        )
        .await;
    assert_eq!(r["proposePolicyRevision"]["revision"]["number"], 1);
    assert_eq!(r["proposePolicyRevision"]["created"], false);
    let r = app
        .ok(
            &author,
            PROPOSE,
            json!({"i": {"policyId": id, "source": v2, "note": "alert on drift"}}),
        )
        .await;
    assert_eq!(r["proposePolicyRevision"]["revision"]["number"], 2);

    let (active, states, _) = revision_states(&app, &author, &id).await;
    assert_eq!(active, Value::Null);
    assert_eq!(states, vec![(2, "DRAFT".into()), (1, "DRAFT".into())]);

    let p = app
        .ok(
            &author,
            PUBLISH,
            json!({"i": {"policyId": id, "number": 1}}),
        )
        .await;
    assert_eq!(p["publishPolicyRevision"]["status"], "ACTIVE");
    assert_eq!(p["publishPolicyRevision"]["publishedBy"], "tester");
    app.ok(
        &author,
        PUBLISH,
        json!({"i": {"policyId": id, "number": 2}}),
    )
    .await;
    let (active, states, _) = revision_states(&app, &author, &id).await;
    assert_eq!(active, json!(2));
    assert_eq!(states, vec![(2, "ACTIVE".into()), (1, "SUPERSEDED".into())]);
    // Rolling back is publishing the earlier revision again.
    app.ok(
        &author,
        PUBLISH,
        json!({"i": {"policyId": id, "number": 1}}),
    )
    .await;
    let (active, states, nodes) = revision_states(&app, &author, &id).await;
    assert_eq!(active, json!(1));
    assert_eq!(states, vec![(2, "SUPERSEDED".into()), (1, "ACTIVE".into())]);
    assert_eq!(nodes[1]["source"], v1, "a revision's source never changes");

    let v = app
        .gql(
            &author,
            PUBLISH,
            json!({"i": {"policyId": id, "number": 3}}),
        )
        .await;
    assert_eq!(code(&v), "NOT_FOUND", "{v}");

    // Revisions and the activation history are append-only in the database itself.
    for sql in [
        "UPDATE policy_revisions SET source = 'fn on_window(ctx) { [rollback(\"x\")] }'",
        "DELETE FROM policy_revisions",
        "DELETE FROM policy_activations",
    ] {
        let e = app.db.execute(sql).await.unwrap_err().to_string();
        assert!(e.contains("append-only"), "{sql}: {e}");
    }
}

#[tokio::test]
async fn the_most_specific_binding_governs_and_is_recorded() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    // The seeded model `fraud` is high risk, tagged `eu`; the seed binds a tenant default and a
    // selector on `eu`.
    let s = seed(&app, &owner).await;
    let author = app.token("acme", &[Role::PolicyAuthor]);
    let r = resolution(&app, &author, &s.model).await;
    assert_eq!(r["binding"]["id"], json!(s.selector_binding));
    assert!(
        r["explanation"]
            .as_str()
            .unwrap()
            .contains("selector with 1 criteria"),
        "{r}"
    );

    let strict = published(
        &app,
        &author,
        "high-eu",
        "fn on_window(ctx) { [annotate(\"high-eu\")] }",
    )
    .await;
    let mine = published(
        &app,
        &author,
        "fraud-only",
        "fn on_window(ctx) { [annotate(\"fraud-only\")] }",
    )
    .await;
    let two = app
        .ok(
            &author,
            BIND,
            json!({"i": {"policyId": strict, "selector": {"tags": ["eu"], "riskTier": "HIGH"}}}),
        )
        .await;
    let two = str_at(&two, &["bindPolicy", "id"]);
    let r = resolution(&app, &author, &s.model).await;
    assert_eq!(r["binding"]["id"], json!(two));
    assert!(
        r["explanation"]
            .as_str()
            .unwrap()
            .contains("selector with 2 criteria"),
        "{r}"
    );
    // A selector that does not match changes nothing.
    app.ok(&author, BIND, json!({"i": {"policyId": mine, "selector": {"namePattern": "churn-*", "tags": ["eu"], "riskTier": "HIGH"}}}))
        .await;
    assert_eq!(
        resolution(&app, &author, &s.model).await["binding"]["id"],
        json!(two)
    );

    let model_binding = str_at(
        &app.ok(
            &author,
            BIND,
            json!({"i": {"policyId": mine, "modelId": s.model}}),
        )
        .await,
        &["bindPolicy", "id"],
    );
    let r = resolution(&app, &author, &s.model).await;
    assert_eq!(r["binding"]["id"], json!(model_binding));
    assert_eq!(r["binding"]["kind"], "MODEL");

    // The evaluation uses that binding's policy and records why.
    let rec = app
        .ok(&author, EVALUATE, json!({"i": {"modelVersionId": s.version, "hook": "ON_WINDOW", "context": window_context(0.2)}}))
        .await["evaluatePolicy"]
        .clone();
    assert_eq!(
        rec["outcome"],
        json!({"outcome": "decisions", "decisions": [{"kind": "annotate", "text": "fraud-only"}]})
    );
    assert!(
        rec["resolution"]
            .as_str()
            .unwrap()
            .contains("model binding"),
        "{rec}"
    );

    // One model binding per model, one tenant default per tenant.
    let v = app
        .gql(
            &author,
            BIND,
            json!({"i": {"policyId": strict, "modelId": s.model}}),
        )
        .await;
    assert_eq!(code(&v), "CONFLICT", "{v}");
    let v = app
        .gql(
            &author,
            BIND,
            json!({"i": {"policyId": strict, "tenantDefault": true}}),
        )
        .await;
    assert_eq!(code(&v), "CONFLICT", "{v}");
    // Malformed targets.
    for (input, field) in [
        (
            json!({"policyId": strict, "tenantDefault": true, "modelId": s.model}),
            "exactly one",
        ),
        (json!({"policyId": strict}), "exactly one"),
        (
            json!({"policyId": strict, "selector": {}}),
            "input.selector",
        ),
        (
            json!({"policyId": strict, "selector": {"namePattern": "a b"}}),
            "input.selector.namePattern",
        ),
        (
            json!({"policyId": strict, "selector": {"tags": ["has space"]}}),
            "input.selector.tags",
        ),
    ] {
        let v = app.gql(&author, BIND, json!({"i": input})).await;
        assert_eq!(code(&v), "INVALID", "{v}");
        assert!(
            v["errors"][0]["message"].as_str().unwrap().contains(field),
            "{v}"
        );
    }

    // Unbinding falls back to the next most specific; unbinding twice changes nothing.
    let unbind =
        "mutation($i: UnbindPolicyInput!) { unbindPolicy(input: $i) { id removedAt removedBy } }";
    let u1 = app
        .ok(&author, unbind, json!({"i": {"bindingId": model_binding}}))
        .await;
    assert_eq!(u1["unbindPolicy"]["removedBy"], "tester");
    let u2 = app
        .ok(&author, unbind, json!({"i": {"bindingId": model_binding}}))
        .await;
    assert_eq!(u1, u2);
    assert_eq!(
        resolution(&app, &author, &s.model).await["binding"]["id"],
        json!(two)
    );
    // Now the model binding slot is free again.
    app.ok(
        &author,
        BIND,
        json!({"i": {"policyId": strict, "modelId": s.model}}),
    )
    .await;
    // The old record still names the removed binding.
    let old = app
        .ok(
            &author,
            "query($i: ID!) { decisionRecord(id: $i) { bindingId } }",
            json!({"i": rec["id"]}),
        )
        .await;
    assert_eq!(old["decisionRecord"]["bindingId"], json!(model_binding));
}

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
    assert_eq!(list(&app, &viewer, &s, "hook: ON_PROMOTION").await, 1);
    assert_eq!(
        list(&app, &viewer, &s, "hook: ON_WINDOW, modelId: $m").await,
        3
    );
    assert_eq!(list(&app, &viewer, &s, "policyId: $p").await, 3);
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
    assert_eq!(
        page2["decisionRecords"]["nodes"].as_array().unwrap().len(),
        3
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
    assert_eq!(models["models"]["nodes"].as_array().map(Vec::len), Some(1));
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

#[tokio::test]
async fn another_tenants_policy_name_never_shows_in_my_warnings() {
    // The compiled-policy cache is shared by the process; tenant A compiles a source first,
    // tenant B proposes the same source and must see only its own policy's name.
    let app = TestApp::new().await;
    app.tenant("acme").await;
    app.tenant("globex").await;
    let a = app.token("acme", &[Role::PolicyAuthor]);
    let b = app.token("globex", &[Role::PolicyAuthor]);
    let source = "let x = 1;\nx + 1;\nfn on_window(ctx) { [] }\n";
    let mut warnings = Vec::new();
    for (token, name) in [(&a, "acme-secret-pricing"), (&b, "globex-rules")] {
        let id = str_at(
            &app.ok(token, CREATE_POLICY, json!({"i": {"name": name}}))
                .await,
            &["createPolicy", "id"],
        );
        let r = app
            .ok(
                token,
                PROPOSE,
                json!({"i": {"policyId": id, "source": source}}),
            )
            .await;
        warnings.push(r["proposePolicyRevision"]["warnings"].to_string());
    }
    assert!(
        warnings[0].contains("acme-secret-pricing"),
        "{}",
        warnings[0]
    );
    assert!(warnings[1].contains("globex-rules"), "{}", warnings[1]);
    assert!(!warnings[1].contains("acme"), "{}", warnings[1]);
}
