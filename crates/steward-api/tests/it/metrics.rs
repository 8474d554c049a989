//! `/metrics`: closed without the operator's token, never opened by a tenant's; what a scrape
//! shows after real work (requests, GraphQL operations, a policy and a window evaluation with
//! drift and labelled performance, mutations, audit sizes); label values a client cannot mint;
//! per-model series capped with the rest counted.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;
use steward_api::ApiConfig;
use steward_domain::Role;
use tower::ServiceExt;

use crate::app::*;
use crate::monitoring::{STATE_POLICY, monitored, rows, send, tick};

const TOKEN: &str = "scrape-token-0123456789";

fn with_token() -> ApiConfig {
    ApiConfig {
        metrics_token: Some(TOKEN.into()),
        ..ApiConfig::default()
    }
}

/// `GET /metrics` with `authorization` (when given): status, content type, body.
async fn scrape(app: &TestApp, authorization: Option<&str>) -> (StatusCode, String, String) {
    let mut req = Request::get("/metrics");
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    let resp = app
        .router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, ctype, String::from_utf8(body.to_vec()).unwrap())
}

async fn text(app: &TestApp) -> String {
    let (status, _, body) = scrape(app, Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// The value of the series `name{labels}` (labels exactly as exposed), if present.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.parse().unwrap())
}

#[tokio::test]
async fn metrics_are_closed_without_the_operators_token() {
    let closed = TestApp::new().await;
    let (status, _, _) = scrape(&closed, Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "no token configured: no /metrics"
    );

    let app = TestApp::with(hs256_config(), with_token()).await;
    app.tenant("acme").await;
    let admin = app.token("acme", &[Role::PlatformAdmin, Role::GovernanceOfficer]);
    for auth in [
        None,
        Some(format!("Bearer {admin}")),
        Some("Bearer scrape-token-012345678".to_string()),
        Some(format!("Basic {TOKEN}")),
    ] {
        let (status, _, body) = scrape(&app, auth.as_deref()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth:?}: {body}");
        assert!(!body.contains("acme"), "{body}");
    }
    let (status, ctype, body) = scrape(&app, Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    assert!(body.ends_with("# EOF\n"), "{body}");
}

#[tokio::test]
async fn a_scrape_shows_requests_evaluations_drift_performance_and_audit_sizes() {
    let app = TestApp::with(hs256_config(), with_token()).await;
    let m = monitored(&app, "acme", STATE_POLICY, &[]).await;
    // A shifted window with labels: drift, and performance with its confidence band.
    let mut csv = String::from("amount,country,prediction,prediction_id\n");
    for (i, line) in rows(400, 80.0, &["DE"], None, None)
        .lines()
        .skip(1)
        .enumerate()
    {
        csv.push_str(&format!("{line},p{i}\n"));
    }
    let (s, v) = send(&app, &m, csv, None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let labels: String = std::iter::once("prediction_id,label\n".to_string())
        .chain((0..300).map(|i| format!("p{i},{}\n", i % 2)))
        .collect();
    let path = format!("/v1/model-versions/{}/labels", m.version);
    let (s, v) = app.post(&m.owner, &path, "text/csv", &[], labels).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(tick(&app, "2026-03-01T13:06:00Z").await.evaluated, 1);
    // A query naming a field the schema lacks: refused, and its name minted no series.
    let (s, _) = app
        .raw(
            Some(&m.owner),
            json!({"query": "{ zzzNoSuchField }"}).to_string(),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let t = text(&app).await;
    let model = r#"{tenant="acme",model="fraud"}"#;
    let drift = value(&t, &format!("steward_model_drift_score{model}")).expect(&t);
    assert!(drift > 0.2, "a shift of 80 on [100, 200) drifts: {drift}");
    assert!(value(&t, &format!("steward_model_drifted_features{model}")).unwrap() >= 1.0);
    let age = value(&t, &format!("steward_model_window_age_seconds{model}")).unwrap();
    assert!((0.0..=3600.0).contains(&age), "{age}");
    let acc = |s: &str| {
        value(
            &t,
            &format!(
                r#"steward_model_performance{s}{{tenant="acme",model="fraud",metric="accuracy"}}"#
            ),
        )
        .unwrap_or_else(|| panic!("accuracy{s} missing:\n{t}"))
    };
    let (lo, v, hi) = (acc("_lower"), acc(""), acc("_upper"));
    assert!(lo < v && v < hi, "{lo} < {v} < {hi}");
    assert_eq!(
        value(
            &t,
            r#"steward_model_performance_labelled_rows{tenant="acme",model="fraud",metric="accuracy"}"#
        ),
        Some(300.0)
    );
    assert_eq!(
        value(
            &t,
            r#"steward_model_info{tenant="acme",model="fraud",risk_tier="high",owner_team="risk"}"#
        ),
        Some(1.0),
        "{t}"
    );
    assert_eq!(
        value(
            &t,
            r#"steward_models{tenant="acme",risk_tier="high",health="drifting"}"#
        )
        .or_else(|| value(
            &t,
            r#"steward_models{tenant="acme",risk_tier="high",health="incident"}"#
        )),
        Some(1.0),
        "{t}"
    );
    assert_eq!(
        value(
            &t,
            r#"steward_window_evaluations_total{outcome="evaluated"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &t,
            r#"steward_policy_evaluations_total{hook="on_window",outcome="ok"}"#
        ),
        Some(1.0),
        "{t}"
    );
    assert_eq!(
        value(
            &t,
            r#"steward_graphql_operations_total{kind="mutation",field="registerModel",outcome="ok"}"#
        ),
        Some(1.0),
        "{t}"
    );
    assert_eq!(
        value(
            &t,
            r#"steward_graphql_operations_total{kind="invalid",field="-",outcome="error"}"#
        ),
        Some(1.0)
    );
    assert!(
        !t.contains("zzzNoSuchField"),
        "a client's field name became a label"
    );
    assert_eq!(
        value(
            &t,
            r#"steward_mutations_total{operation="model.register",outcome="ok"}"#
        ),
        Some(1.0)
    );
    let posts = value(
        &t,
        r#"steward_http_requests_total{method="POST",route="/v1/model-versions/{id}/observations",status="201"}"#,
    );
    assert_eq!(posts, Some(1.0), "{t}");
    let audit = value(&t, r#"steward_audit_tree_size{tenant="acme"}"#).unwrap();
    assert!(audit >= 8.0, "every mutation appended an event: {audit}");
    assert_eq!(value(&t, "steward_scheduler_due_windows"), Some(0.0));
    assert_eq!(value(&t, "steward_scheduler_lag_seconds"), Some(0.0));
    assert!(value(&t, r#"steward_db_pool_max_connections"#).unwrap() >= 1.0);

    // A window that closed and waits: the lag is how long it has waited.
    let (s, v) = send(&app, &m, rows(50, 0.0, &["DE"], None, None), None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    app.clock.set("2026-03-01T14:15:00Z".parse().unwrap());
    let t = text(&app).await;
    assert_eq!(value(&t, "steward_scheduler_due_windows"), Some(1.0), "{t}");
    let lag = value(&t, "steward_scheduler_lag_seconds").unwrap();
    assert!((0.0..=3600.0).contains(&lag) && lag > 0.0, "{lag}");
}

#[tokio::test]
async fn per_model_series_are_capped_with_the_rest_counted() {
    let app = TestApp::with(
        hs256_config(),
        ApiConfig {
            metrics_max_models: 2,
            ..with_token()
        },
    )
    .await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    for name in ["a", "b", "c", "d", "e"] {
        app.ok(
            &owner,
            "mutation($i: RegisterModelInput!) { registerModel(input: $i) { id } }",
            json!({"i": {"name": name, "ownerTeam": "t", "riskTier": "LOW"}}),
        )
        .await;
    }
    let t = text(&app).await;
    assert_eq!(t.matches("steward_model_info{").count(), 2, "{t}");
    assert_eq!(value(&t, "steward_model_series_dropped"), Some(3.0));
    assert_eq!(
        value(
            &t,
            r#"steward_models{tenant="acme",risk_tier="low",health="unmonitored"}"#
        ),
        Some(5.0),
        "the health counts cover every model"
    );
}
