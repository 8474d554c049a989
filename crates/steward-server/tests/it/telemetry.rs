//! Telemetry of a real `steward serve`: traces exported over OTLP/HTTP to a loopback receiver
//! that decodes them (a request's span, named by method and route, continuing the caller's `traceparent`, its GraphQL
//! operation, a window and a policy evaluation, a delivery whose `traceparent` reaches the
//! webhook), and `/metrics` on a listener of its own while the main listener keeps it closed.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use steward_loopback::{Contract, OtlpReceiver, OtlpSpan, Receiver};
use steward_store::testing::TestDb;

use crate::outbox::{SECRET, alerts, delivered, set_up};
use crate::serve::Deployment;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// Waits until the receiver holds spans of every name in `names`.
async fn spans_named(otlp: &OtlpReceiver, names: &[&str]) -> Vec<OtlpSpan> {
    for _ in 0..100 {
        let spans = otlp.spans();
        let seen: BTreeSet<&str> = spans.iter().map(|s| s.name.as_str()).collect();
        if names.iter().all(|n| seen.contains(n)) {
            return spans;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got: Vec<String> = otlp.spans().into_iter().map(|s| s.name).collect();
    panic!("spans {names:?} never arrived; got {got:?}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn traces_reach_an_otlp_receiver_and_continue_into_deliveries() {
    let otlp = OtlpReceiver::start().await.unwrap();
    let db = TestDb::new().await;
    let d = Deployment::on(&db);
    let endpoint = otlp.endpoint();
    let metrics_at = format!("127.0.0.1:{}", free_port());
    let p = d.serve_with(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ("OTEL_SERVICE_NAME", "steward-test"),
        ("STEWARD_MONITORING_SCHEDULER_INTERVAL_MS", "0"),
        ("STEWARD_OUTBOX_INTERVAL_MS", "50"),
        ("STEWARD_OUTBOX_ALLOW_PRIVATE_NETWORKS", "true"),
        ("STEWARD_METRICS_LISTEN", metrics_at.as_str()),
    ]);
    let (owner, officer) = d.tenant(&p).await;

    // A request carrying the caller's trace context is a child span in the caller's trace.
    let resp = reqwest::Client::new()
        .post(format!("{}/graphql", p.url))
        .bearer_auth(&owner)
        .header("traceparent", format!("00-{TRACE}-{CALLER_SPAN}-01"))
        .header("content-type", "application/json")
        .body(json!({"query": "{ models(first: 5) { nodes { name } } }"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let spans = spans_named(&otlp, &["POST /graphql", "query models"]).await;
    let http = spans
        .iter()
        .find(|s| s.name == "POST /graphql" && s.trace_id == TRACE)
        .unwrap_or_else(|| panic!("no request span in the caller's trace: {spans:#?}"));
    assert_eq!(http.parent_span_id, CALLER_SPAN);
    assert_eq!(http.service, "steward-test");
    assert_eq!(http.attr("http.route"), Some("/graphql"));
    assert_eq!(http.attr("http.response.status_code"), Some("200"));
    let op = spans
        .iter()
        .find(|s| s.name == "query models" && s.trace_id == TRACE)
        .unwrap();
    assert_eq!(op.parent_span_id, http.span_id);
    assert_eq!(op.attr("graphql.operation.name"), Some("models"));
    assert_eq!(op.attr("steward.tenant"), Some("acme"));

    // A window evaluated under a policy that alerts a webhook: the evaluation, the policy and
    // the delivery each have a span, and the webhook receives the delivery's trace context.
    let hook = Receiver::start(Contract::Webhook {
        secrets: vec![SECRET.into()],
    })
    .await
    .unwrap();
    set_up(&d, &p, &officer, &hook).await;
    let sre = d.token("acme", "sre");
    alerts(&p, &owner, &sre, "traced", 1, 1).await;
    delivered(&p, &sre, 1).await;
    let spans = spans_named(
        &otlp,
        &["window.evaluate", "policy.evaluate", "outbox.deliver"],
    )
    .await;
    let window = spans.iter().find(|s| s.name == "window.evaluate").unwrap();
    assert_eq!(window.attr("steward.tenant"), Some("acme"));
    assert!(window.attr("steward.model").is_some(), "{window:?}");
    let policy = spans.iter().find(|s| s.name == "policy.evaluate").unwrap();
    assert_eq!(
        policy.trace_id, window.trace_id,
        "the policy runs inside the evaluation"
    );
    assert_eq!(policy.attr("steward.model"), Some("traced0"));
    assert_eq!(policy.attr("policy.hook"), Some("on_window"));
    assert_eq!(policy.attr("decision.outcome"), Some("decisions"));
    let deliver = spans.iter().find(|s| s.name == "outbox.deliver").unwrap();
    assert_eq!(deliver.attr("outbox.target"), Some("hooks"));
    assert_eq!(deliver.attr("outbox.outcome"), Some("delivered"));
    assert!(deliver.attr("steward.decision").is_some(), "{deliver:?}");
    let accepted = hook.accepted();
    let traceparent = accepted[0]
        .header("traceparent")
        .expect("the webhook got a traceparent");
    assert_eq!(
        traceparent,
        format!("00-{}-{}-01", deliver.trace_id, deliver.span_id),
        "the webhook's caller is the delivery span"
    );

    // `/metrics` on its own listener, no token; closed on the main listener (no token set).
    let m = reqwest::get(format!("http://{metrics_at}/metrics"))
        .await
        .unwrap();
    assert_eq!(m.status(), 200);
    let text = m.text().await.unwrap();
    assert!(
        text.contains(
            r#"steward_delivery_attempts_total{tenant="acme",target="hooks",outcome="delivered"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains(r#"steward_audit_tree_size{tenant="acme"}"#));
    let closed = reqwest::get(format!("{}/metrics", p.url)).await.unwrap();
    assert_eq!(closed.status(), 404);
}
