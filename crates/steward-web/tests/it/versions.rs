//! The model page's baseline charts and the version comparison: two versions with different
//! metrics, input schemas and baselines, compared side by side.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use steward_domain::Role;

use crate::App;

/// A CSV baseline: `amount` around `centre` (a deterministic spread), `country` DE/FR 3:1,
/// and `extra` when asked.
fn csv(rows: usize, centre: f64, extra: bool) -> String {
    let mut s = String::from(if extra {
        "amount,country,extra\n"
    } else {
        "amount,country\n"
    });
    for i in 0..rows {
        let amount = centre + ((i * 37) % 100) as f64 / 5.0 - 10.0;
        let country = if i % 4 == 3 { "FR" } else { "DE" };
        if extra {
            s.push_str(&format!("{amount},{country},{}\n", i % 7));
        } else {
            s.push_str(&format!("{amount},{country}\n"));
        }
    }
    s
}

async fn upload(app: &App, token: &str, version: &str, body: String) {
    let req = Request::post(format!("/v1/model-versions/{version}/baselines"))
        .header("content-type", "text/csv")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(body))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

#[tokio::test]
async fn the_model_page_draws_the_baseline_and_two_versions_compare_side_by_side() {
    let app = App::new().await;
    let (model, _) = app.seed("acme", "fraud-detector").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let register = async |uri: &str, metrics: Value, schema: Value| {
        let v = app.gql(&owner, "mutation($i: RegisterModelVersionInput!) { registerModelVersion(input: $i) { id } }",
            json!({"i": {"modelId": model, "artifactUri": uri, "artifactDigest": format!("sha256:{}", "cd".repeat(32)), "framework": "xgboost",
                   "metrics": metrics, "inputSchema": schema}})).await;
        v["registerModelVersion"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let two = json!([{"name": "amount", "type": "FLOAT"}, {"name": "country", "type": "STRING"}]);
    let three = json!([{"name": "amount", "type": "FLOAT"}, {"name": "country", "type": "STRING"}, {"name": "extra", "type": "INTEGER"}]);
    let v2 = register("s3://m/2", json!([{"name": "auc", "value": 0.91}]), two).await;
    let v3 = register(
        "s3://m/3",
        json!([{"name": "auc", "value": 0.93}, {"name": "recall", "value": 0.7}]),
        three,
    )
    .await;
    upload(&app, &owner, &v2, csv(400, 50.0, false)).await;
    upload(&app, &owner, &v3, csv(400, 80.0, true)).await;
    let viewer = app.sign_in(&app.token("acme", &[Role::Viewer])).await;

    let page = app.get(&format!("/ui/models/{model}"), Some(&viewer)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("The active baseline of"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains(">v3</a>: 400 rows"),
        "the newest version's: {}",
        page.body
    );
    assert!(page.body.contains("<strong>amount</strong>"));
    assert!(page.body.contains("amount: the reference distribution"));
    assert!(page.body.contains("DE 75.0%, FR 25.0%"), "{}", page.body);

    let cmp = app
        .get(&format!("/ui/models/{model}/compare"), Some(&viewer))
        .await;
    assert_eq!(cmp.status, StatusCode::OK, "{}", cmp.body);
    assert!(cmp.body.contains("fraud-detector</a>: v2 and v3"));
    assert!(
        cmp.body
            .contains("<td>auc</td><td>0.91</td><td>0.93</td><td>+0.0200</td>"),
        "{}",
        cmp.body
    );
    assert!(cmp.body.contains("<td>recall</td><td>-</td><td>0.7</td>"));
    assert!(
        cmp.body.contains("extra (integer)"),
        "added feature: {}",
        cmp.body
    );
    // The baselines: amount drawn for both over v2's bins, its mean moved by 30.
    assert!(cmp.body.contains("amount: v2 and v3"), "{}", cmp.body);
    assert!(
        cmp.body.contains("mean 49.9") || cmp.body.contains("mean 50.0"),
        "{}",
        cmp.body
    );
    assert!(
        cmp.body.contains("mean 79.9") || cmp.body.contains("mean 80.0"),
        "{}",
        cmp.body
    );
    assert!(
        cmp.body.contains("not in this baseline"),
        "extra is only in v3's"
    );
    // The compliance report sees v3's active baseline (read with every version's at once):
    // no baseline gap for the latest version, and the table marks v2's and v3's.
    let officer = app
        .sign_in(&app.token("acme", &[Role::GovernanceOfficer]))
        .await;
    let json = app
        .get(
            &format!("/ui/models/{model}/compliance?format=json"),
            Some(&officer),
        )
        .await;
    let report: Value = serde_json::from_str(&json.body).unwrap();
    let evaluation = &report["models"][0]["sections"][3];
    assert_eq!(evaluation["key"], "evaluation");
    assert_eq!(evaluation["gaps"], json!([]), "{evaluation}");
    let rows = evaluation["tables"][0]["rows"].as_array().unwrap();
    let with_baseline = rows
        .iter()
        .filter(|r| r[5].as_str().unwrap().contains("400 rows"))
        .count();
    assert_eq!(with_baseline, 2, "{rows:?}");
    // A version that does not exist: 404.
    let none = app
        .get(
            &format!("/ui/models/{model}/compare?a=2&b=9"),
            Some(&viewer),
        )
        .await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
}
