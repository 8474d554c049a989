//! Bindings and their resolution: the most specific binding governs, and says why.

use serde_json::json;
use steward_domain::Role;

use super::*;
use crate::app::*;

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
