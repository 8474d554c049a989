//! Policy pages and the audit export: the overview's policy coverage and approvals, a policy's
//! revisions and bindings, a replay of an unpublished revision over the model's recorded
//! windows that shows where it would have decided otherwise, and the audit log downloaded as the
//! bundle an auditor verifies offline.

use axum::http::{StatusCode, header};
use serde_json::{Value, json};
use steward_audit::bundle::{VerifyOptions, verify_bundle};
use steward_domain::Role;

use crate::App;

const V1: &str = "fn on_window(ctx) { if ctx.drift.composite >= 0.3 { [alert(\"warning\", \"drift\", \"ml\")] } else { [] } }";
const V2: &str = "fn on_window(ctx) { if ctx.drift.composite >= 0.45 { [alert(\"warning\", \"drift\", \"ml\")] } else { [] } }";

fn window(day: u32, composite: f64) -> Value {
    json!({
        "window": {"start": format!("2026-03-{day:02}T00:00:00Z"), "end": format!("2026-03-{:02}T00:00:00Z", day + 1), "rows": 5000},
        "drift": {"composite": composite},
        "baseline": {"id": "b-1", "created_at": "2026-02-01T00:00:00Z"}
    })
}

/// A policy (revision 1 published and bound as the tenant default, revision 2 proposed) and
/// three windows of the model decided by revision 1: the policy's id.
async fn governed(app: &App, version: &str) -> String {
    let author = app.token("acme", &[Role::PolicyAuthor]);
    let p = app
        .gql(
            &author,
            "mutation { createPolicy(input: {name: \"drift-watch\", description: \"alerts on drift\"}) { id } }",
            json!({}),
        )
        .await;
    let id = p["createPolicy"]["id"].as_str().unwrap().to_string();
    let propose = "mutation($i: ProposePolicyRevisionInput!) { proposePolicyRevision(input: $i) { created } }";
    app.gql(
        &author,
        propose,
        json!({"i": {"policyId": id, "source": V1}}),
    )
    .await;
    app.gql(
        &author,
        "mutation($i: PublishPolicyRevisionInput!) { publishPolicyRevision(input: $i) { number } }",
        json!({"i": {"policyId": id, "number": 1}}),
    )
    .await;
    app.gql(
        &author,
        "mutation($i: BindPolicyInput!) { bindPolicy(input: $i) { id } }",
        json!({"i": {"policyId": id, "tenantDefault": true}}),
    )
    .await;
    let service = app.token("acme", &[Role::Service]);
    for (day, composite) in [(1, 0.2), (2, 0.4), (3, 0.5)] {
        app.gql(
            &service,
            "mutation($i: EvaluatePolicyInput!) { evaluatePolicy(input: $i) { id } }",
            json!({"i": {"modelVersionId": version, "hook": "ON_WINDOW", "context": window(day, composite)}}),
        )
        .await;
    }
    app.gql(
        &author,
        propose,
        json!({"i": {"policyId": id, "source": V2, "note": "fewer alerts"}}),
    )
    .await;
    id
}

#[tokio::test]
async fn a_policy_page_replays_a_revision_over_the_models_recorded_windows() {
    let app = App::new().await;
    let (model, version) = app.seed("acme", "fraud-detector").await;
    let policy = governed(&app, &version).await;
    let viewer = app.sign_in(&app.token("acme", &[Role::Viewer])).await;

    // The overview: the model is governed, nothing awaits approval.
    let o = app.get("/ui/", Some(&viewer)).await.body;
    assert!(
        o.contains("1 governed by a policy, 0 promotions awaiting approval"),
        "{o}"
    );
    assert!(
        o.contains(&format!(
            "<a href=\"/ui/policies/{policy}\">drift-watch (revision 1)</a>"
        )),
        "{o}"
    );

    // The model page lists the decisions with the policy and revision that made them.
    let m = app
        .get(&format!("/ui/models/{model}"), Some(&viewer))
        .await
        .body;
    assert!(
        m.contains(&format!(
            "<a href=\"/ui/policies/{policy}?revision=1\">drift-watch revision 1</a>"
        )),
        "{m}"
    );
    assert!(m.contains("<td>alert</td>"), "{m}");

    let list = app.get("/ui/policies", Some(&viewer)).await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(list.body.contains("drift-watch") && list.body.contains("revision 1"));

    let url = format!("/ui/policies/{policy}");
    let page = app.get(&url, Some(&viewer)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("every other model (the tenant default)"));
    let at = page.body.find("<pre class=\"source\"").expect("the source");
    assert!(
        page.body[at..].contains("ctx.drift.composite &#62;= 0.3"),
        "revision 1's source is shown: {}",
        &page.body[at..at + 200]
    );
    assert!(page.body.contains("fewer alerts") && page.body.contains("draft"));
    assert!(
        page.body.contains("alert {&#34;channel&#34;:&#34;ml&#34;"),
        "{}",
        page.body
    );

    // Revision 2 (a draft) over the three recorded windows: the 0.4 window no longer alerts.
    let r = app
        .get(&format!("{url}?revision=2&model={model}"), Some(&viewer))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("composite &#62;= 0.45"),
        "revision 2's source"
    );
    assert!(
        r.body.contains(
            "Revision 2 over 3 windows of fraud-detector: <strong>1</strong> decided otherwise"
        ),
        "{}",
        r.body
    );
    assert_eq!(r.body.matches("<tr class=\"alert\">").count(), 1);
    assert!(r.body.contains("2026-03-03T00:00:00Z"));
    // Revision 1 replayed decides as recorded.
    let same = app
        .get(&format!("{url}?revision=1&model={model}"), Some(&viewer))
        .await;
    assert!(
        same.body.contains("<strong>0</strong> decided otherwise"),
        "{}",
        same.body
    );
    // A revision that does not exist, another tenant's policy, a malformed id: 404.
    let none = app
        .get(&format!("{url}?revision=9&model={model}"), Some(&viewer))
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
    let (_, theirs) = app.seed("globex", "churn").await;
    let their_policy = {
        let author = app.token("globex", &[Role::PolicyAuthor]);
        let p = app
            .gql(
                &author,
                "mutation { createPolicy(input: {name: \"x\"}) { id } }",
                json!({}),
            )
            .await;
        p["createPolicy"]["id"].as_str().unwrap().to_string()
    };
    let _ = theirs;
    for path in [
        format!("/ui/policies/{their_policy}"),
        "/ui/policies/nope".to_string(),
    ] {
        assert_eq!(
            app.get(&path, Some(&viewer)).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_audit_log_downloads_as_a_bundle_that_verifies_offline() {
    let app = App::new().await;
    app.seed("acme", "fraud-detector").await;
    let officer = app
        .sign_in(&app.token("acme", &[Role::GovernanceOfficer]))
        .await;
    let page = app.get("/ui/audit", Some(&officer)).await;
    assert!(page.body.contains("href=\"/ui/audit/export\""));
    let r = app.get("/ui/audit/export", Some(&officer)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("steward-audit-acme.ndjson")
    );
    let options = VerifyOptions {
        trusted_key: Some(app.audit_key),
        strict_events: true,
        ..VerifyOptions::default()
    };
    let summary = verify_bundle(r.body.as_bytes(), &options).unwrap();
    assert!(summary.event_count >= 5, "{}", summary.event_count);
    assert_eq!(summary.first_seq, 0);
    // Viewers may not read the audit log, nor export it.
    let viewer = app.sign_in(&app.token("acme", &[Role::Viewer])).await;
    assert_eq!(
        app.get("/ui/audit/export", Some(&viewer)).await.status,
        StatusCode::FORBIDDEN
    );
}
