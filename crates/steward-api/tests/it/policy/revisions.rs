//! Revisions: drafted, published, rolled back; names never leak between tenants.

use serde_json::{Value, json};
use steward_domain::Role;

use super::*;
use crate::app::*;

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
