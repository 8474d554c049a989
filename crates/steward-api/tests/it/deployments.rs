//! Deployments end to end: endpoints and their revisions, one-step rollback carried to a KServe
//! InferenceService (the loopback stand-in enforcing merge-patch semantics and resourceVersion
//! preconditions), four-eyes approvals (self-approval, wrong role, quorum, expiry, cancellation
//! on a change of candidate or policy revision), the policy's `on_promotion` verdict, rollouts
//! with their steps, pauses and aborts, a policy's rollback decision, `servedAt` across many
//! changes, and promotions racing rollbacks.

use serde_json::{Value, json};
use steward_domain::Role;
use steward_loopback::{Contract, Receiver};
use steward_service::monitoring::Clock;

use crate::app::*;

const ROLLBACK: &str = "mutation($i: RollbackInputGql!) { rollback(input: $i) { number change champion { version } canary { version } actor reason incidentId decisionRecordId at } }";
const APPROVE: &str = "mutation($i: RequestReasonInput!) { approvePromotion(input: $i) { status outcome approvals { approver role counts cancelReason } } }";
const REJECT: &str =
    "mutation($i: RequestReasonInput!) { rejectPromotion(input: $i) { status outcome } }";
const CURRENT: &str = "query($e: ID!) { endpoint(id: $e) { revision current { number change champion { version } canary { version percent } championPercent } } }";

/// A tenant with a model of `tier` and versions 1..=n (AUC 0.80, 0.85, ...), no policy.
struct Fixture {
    owner: String,
    sre: String,
    officer: String,
    model: String,
    versions: Vec<String>,
}

async fn fixture(app: &TestApp, tenant: &str, tier: &str, n: usize) -> Fixture {
    app.tenant(tenant).await;
    let owner = app.token_as("mo", tenant, &[Role::ModelOwner]);
    let model = str_at(
        &app.ok(
            &owner,
            REGISTER_MODEL,
            json!({"i": {"name": "scorer", "ownerTeam": "risk", "riskTier": tier}}),
        )
        .await,
        &["registerModel", "id"],
    );
    let mut versions = Vec::new();
    for i in 1..=n {
        let auc = 0.75 + 0.05 * i as f64;
        versions.push(version_of(app, &owner, &model, &format!("s3://m/{i}"), auc).await);
    }
    Fixture {
        sre: app.token_as("sam", tenant, &[Role::Sre]),
        officer: app.token_as("olga", tenant, &[Role::GovernanceOfficer]),
        owner,
        model,
        versions,
    }
}

async fn endpoint(app: &TestApp, f: &Fixture, champion: usize, target: Option<&str>) -> String {
    let v = app
        .ok(
            &f.sre,
            CREATE_ENDPOINT,
            json!({"i": {"modelId": f.model, "name": "scorer-prod", "environment": "prod",
                "target": target, "championVersionId": f.versions[champion - 1],
                "reason": "first deployment"}}),
        )
        .await;
    str_at(&v, &["createEndpoint", "id"])
}

async fn request(app: &TestApp, token: &str, endpoint: &str, version: &str, plan: Value) -> Value {
    app.gql(
        token,
        REQUEST_PROMOTION,
        json!({"i": {"endpointId": endpoint, "candidateVersionId": version,
            "artifactDigest": digest(), "plan": plan, "reason": "better holdout AUC"}}),
    )
    .await
}

async fn current(app: &TestApp, token: &str, endpoint: &str) -> Value {
    app.ok(token, CURRENT, json!({"e": endpoint})).await["endpoint"].clone()
}

fn later(app: &TestApp, secs: i64) {
    let next = app.clock.now() + chrono::Duration::seconds(secs);
    app.clock.set(next);
}

#[tokio::test]
async fn an_sre_rolls_back_the_kserve_endpoint_in_one_call_and_sees_the_history() {
    let app = TestApp::new().await;
    let f = fixture(&app, "acme", "LOW", 2).await;
    let kserve = Receiver::start(Contract::Kserve {
        namespace: "fraud".into(),
        name: "scorer".into(),
        storage_uri: "s3://m/1".into(),
        token: Some("k8s-token".into()),
    })
    .await
    .unwrap();
    app.ok(
        &f.officer,
        "mutation($i: PutDeliveryTargetInput!) { putDeliveryTarget(input: $i) { name } }",
        json!({"i": {"name": "kserve-prod", "kind": "KSERVE", "url": kserve.url(), "secret": "k8s-token"}}),
    )
    .await;
    let created_at = app.clock.now();
    let e = endpoint(&app, &f, 1, Some("kserve-prod")).await;
    app.service.run_relay_pass().await.unwrap();
    let isvc = kserve.inference_service();
    assert_eq!(
        isvc["metadata"]["annotations"]["serving.steward.dev/revision"],
        "1"
    );

    // A low-risk model with no policy: allowed at once, promoted without steps.
    later(&app, 600);
    let r = request(&app, &f.owner, &e, &f.versions[1], Value::Null).await;
    assert_eq!(r["data"]["requestPromotion"]["status"], "PROMOTED", "{r}");
    assert_eq!(
        r["data"]["requestPromotion"]["verdict"]["source"],
        "risk_tier_default"
    );
    let promoted_at = app.clock.now();
    app.service.run_relay_pass().await.unwrap();
    assert_eq!(kserve.traffic(), vec![("s3://m/2".to_string(), 100)]);

    // The rollback: one call, delivered by the relay, the spec names version 1 again.
    later(&app, 3600);
    let rolled_at = app.clock.now();
    let v = app
        .ok(
            &f.sre,
            ROLLBACK,
            json!({"i": {"endpointId": e, "reason": "EU drift incident", "expectedRevision": 2}}),
        )
        .await;
    let rev = &v["rollback"];
    assert_eq!(
        (
            rev["number"].as_i64(),
            rev["change"].as_str(),
            rev["champion"]["version"].as_i64()
        ),
        (Some(3), Some("ROLLED_BACK"), Some(1)),
        "{v}"
    );
    assert_eq!(rev["actor"], "sam");
    later(&app, 2);
    let pass = app.service.run_relay_pass().await.unwrap();
    assert_eq!(pass.delivered, 1, "{pass:?}");
    let isvc = kserve.inference_service();
    assert_eq!(isvc["spec"]["predictor"]["model"]["storageUri"], "s3://m/1");
    assert!(
        isvc["spec"]["predictor"]
            .get("canaryTrafficPercent")
            .is_none(),
        "the spec names what serves: {isvc}"
    );
    assert_eq!(kserve.traffic(), vec![("s3://m/1".to_string(), 100)]);
    assert!(
        kserve.received().iter().all(|r| r.problem.is_none()),
        "every request met the contract"
    );

    // The history.
    let h = app
        .ok(
            &f.sre,
            "query($e: ID!) { rollbacks(endpointId: $e) { fromChampion { version } toChampion { version } effectiveAt secondsToEffect revision { actor reason } } }",
            json!({"e": e}),
        )
        .await;
    let rb = &h["rollbacks"][0];
    assert_eq!(
        (
            rb["fromChampion"]["version"].as_i64(),
            rb["toChampion"]["version"].as_i64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(rb["revision"]["reason"], "EU drift incident");
    assert!(rb["secondsToEffect"].as_f64().unwrap() >= 0.0, "{h}");
    let served = |at: chrono::DateTime<chrono::Utc>| {
        let q = "query($e: ID!, $t: DateTime!) { servedAt(endpointId: $e, at: $t) { number champion { version } } }";
        let vars = json!({"e": e, "t": at.to_rfc3339()});
        let token = f.sre.clone();
        let app = &app;
        async move { app.ok(&token, q, vars).await["servedAt"].clone() }
    };
    assert!(
        served(created_at - chrono::Duration::seconds(1))
            .await
            .is_null()
    );
    assert_eq!(served(created_at).await["number"], 1);
    assert_eq!(served(promoted_at).await["champion"]["version"], 2);
    assert_eq!(
        served(rolled_at - chrono::Duration::seconds(1)).await["champion"]["version"],
        2
    );
    assert_eq!(served(rolled_at).await["champion"]["version"], 1);

    // A rollback decided on a stale revision is refused; a retried one is not doubled.
    let stale = app
        .gql(
            &f.sre,
            ROLLBACK,
            json!({"i": {"endpointId": e, "reason": "again", "expectedRevision": 2}}),
        )
        .await;
    assert_eq!(code(&stale), "CONFLICT", "{stale}");
    let keyed = json!({"i": {"endpointId": e, "reason": "drill", "toRevision": 2, "idempotencyKey": "drill-1"}});
    let first = app.ok(&f.sre, ROLLBACK, keyed.clone()).await;
    let again = app.ok(&f.sre, ROLLBACK, keyed).await;
    assert_eq!(first["rollback"]["number"], again["rollback"]["number"]);
    assert_eq!(current(&app, &f.sre, &e).await["revision"], 4);

    // Model owners do not roll back; another tenant's endpoint reads as missing.
    let denied = app
        .gql(
            &f.owner,
            ROLLBACK,
            json!({"i": {"endpointId": e, "reason": "x"}}),
        )
        .await;
    assert_eq!(code(&denied), "FORBIDDEN");
    app.tenant("other").await;
    let stranger = app.token("other", &[Role::Sre]);
    let v = app
        .gql(
            &stranger,
            ROLLBACK,
            json!({"i": {"endpointId": e, "reason": "x"}}),
        )
        .await;
    assert_eq!(code(&v), "NOT_FOUND", "{v}");
    let v = app.gql(&stranger, CURRENT, json!({"e": e})).await;
    assert_eq!(code(&v), "NOT_FOUND", "{v}");

    // Every change is in the audit log.
    let events = app
        .ok(
            &f.officer,
            "{ auditEvents(first: 100) { nodes { action outcome target { kind } } } }",
            json!({}),
        )
        .await;
    let actions: Vec<(String, String)> = events["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for want in ["endpoint.manage", "promotion.request", "deployment.operate"] {
        assert!(
            actions.iter().any(|(a, o)| a == want && o == "OK"),
            "{want}: {actions:?}"
        );
    }
    assert!(
        actions
            .iter()
            .any(|(a, o)| a == "deployment.operate" && o == "FAILED"),
        "the stale rollback"
    );
    assert!(
        actions
            .iter()
            .any(|(a, o)| a == "deployment.operate" && o == "DENIED")
    );
}

#[tokio::test]
async fn a_high_risk_promotion_needs_two_governance_officers_other_than_the_requester() {
    let app = TestApp::new().await;
    let f = fixture(&app, "acme", "HIGH", 2).await;
    let e = endpoint(&app, &f, 1, None).await;
    // The requester also holds the governance officer role: it does not let them approve.
    let requester = app.token_as("mo", "acme", &[Role::ModelOwner, Role::GovernanceOfficer]);
    let r = request(&app, &requester, &e, &f.versions[1], Value::Null).await;
    let req = &r["data"]["requestPromotion"];
    assert_eq!(req["status"], "AWAITING_APPROVAL", "{r}");
    assert_eq!(
        req["verdict"]["verdict"],
        json!({"kind": "require_approval", "role": "governance_officer", "count": 2})
    );
    let id = req["id"].as_str().unwrap().to_string();
    let answer = |token: String, q: &'static str| {
        let app = &app;
        let id = id.clone();
        async move {
            app.gql(
                &token,
                q,
                json!({"i": {"requestId": id, "reason": "reviewed"}}),
            )
            .await
        }
    };

    let own = answer(requester.clone(), APPROVE).await;
    assert_eq!(code(&own), "FORBIDDEN", "{own}");
    assert!(
        own["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("four eyes"),
        "{own}"
    );
    let wrong = answer(app.token_as("sam", "acme", &[Role::Sre]), APPROVE).await;
    assert_eq!(code(&wrong), "FORBIDDEN", "{wrong}");
    let gina = app.token_as("gina", "acme", &[Role::GovernanceOfficer]);
    let v = answer(gina.clone(), APPROVE).await;
    assert_eq!(
        v["data"]["approvePromotion"]["status"], "AWAITING_APPROVAL",
        "{v}"
    );
    let twice = answer(gina, APPROVE).await;
    assert_eq!(code(&twice), "CONFLICT", "{twice}");
    assert_eq!(
        current(&app, &f.sre, &e).await["current"]["champion"]["version"],
        1
    );
    let v = answer(
        app.token_as("gus", "acme", &[Role::GovernanceOfficer]),
        APPROVE,
    )
    .await;
    let done = &v["data"]["approvePromotion"];
    assert_eq!(done["status"], "PROMOTED", "{v}");
    let approvers: Vec<&str> = done["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["approver"].as_str().unwrap())
        .collect();
    assert_eq!(approvers, ["gina", "gus"]);
    let now = current(&app, &f.sre, &e).await;
    assert_eq!(now["current"]["champion"]["version"], 2);
    assert_eq!(now["current"]["change"], "PROMOTED");

    // The refusals were audited as denials.
    let events = app
        .ok(
            &f.officer,
            "{ auditEvents(first: 100) { nodes { action outcome actor { sub } } } }",
            json!({}),
        )
        .await;
    let denials: Vec<&str> = events["auditEvents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "promotion.approve" && e["outcome"] == "DENIED")
        .map(|e| e["actor"]["sub"].as_str().unwrap())
        .collect();
    assert_eq!(denials, ["mo", "sam"]);
}

#[tokio::test]
async fn approvals_are_cancelled_when_the_candidate_changes_and_expire() {
    let app = TestApp::new().await;
    let f = fixture(&app, "acme", "HIGH", 3).await;
    let e = endpoint(&app, &f, 1, None).await;
    let r = request(&app, &f.owner, &e, &f.versions[1], Value::Null).await;
    let id = str_at(&r, &["data", "requestPromotion", "id"]);
    let gina = app.token_as("gina", "acme", &[Role::GovernanceOfficer]);
    let gus = app.token_as("gus", "acme", &[Role::GovernanceOfficer]);
    let approve = |token: &String| {
        let (app, id, token) = (&app, id.clone(), token.clone());
        async move {
            app.gql(
                &token,
                APPROVE,
                json!({"i": {"requestId": id, "reason": "ok"}}),
            )
            .await
        }
    };
    approve(&gina).await;
    // The requester moves to version 3: gina's approval no longer counts.
    let change = "mutation($i: UpdatePromotionRequestInput!) { updatePromotionRequest(input: $i) { status candidateVersion approvals { approver counts cancelReason } } }";
    let v = app
        .ok(&f.owner, change, json!({"i": {"requestId": id, "candidateVersionId": f.versions[2], "artifactDigest": digest()}}))
        .await;
    let u = &v["updatePromotionRequest"];
    assert_eq!(
        (u["status"].as_str(), u["candidateVersion"].as_i64()),
        (Some("AWAITING_APPROVAL"), Some(3))
    );
    assert_eq!(u["approvals"][0]["counts"], false);
    assert!(
        u["approvals"][0]["cancelReason"]
            .as_str()
            .unwrap()
            .contains("candidate changed"),
        "{v}"
    );
    // Only the requester changes it; a wrong digest is refused and changes nothing.
    let other_owner = app.token_as("ola", "acme", &[Role::ModelOwner]);
    let v = app
        .gql(&other_owner, change, json!({"i": {"requestId": id, "plan": {"steps": [{"percent": 5, "bakeMinutes": 10, "onFailure": "ABORT", "onInconclusive": "PAUSE"}]}}}))
        .await;
    assert_eq!(code(&v), "FORBIDDEN", "{v}");
    let bad = format!("sha256:{}", "cd".repeat(32));
    let v = app
        .gql(&f.owner, change, json!({"i": {"requestId": id, "candidateVersionId": f.versions[1], "artifactDigest": bad}}))
        .await;
    assert_eq!(code(&v), "INVALID", "{v}");

    // Approvals expire (72 hours by default): gina's second approval lapses before gus's.
    approve(&gina).await;
    later(&app, 73 * 3600);
    let v = approve(&gus).await;
    assert_eq!(
        v["data"]["approvePromotion"]["status"], "AWAITING_APPROVAL",
        "{v}"
    );
    let v = approve(&gina).await;
    assert_eq!(v["data"]["approvePromotion"]["status"], "PROMOTED", "{v}");
    assert_eq!(
        current(&app, &f.sre, &e).await["current"]["champion"]["version"],
        3
    );
    // A finished request is not answered again.
    let v = approve(&gus).await;
    assert_eq!(code(&v), "FAILED_PRECONDITION", "{v}");
}

/// Compares holdout AUCs; two governance officers for the rest.
const PROMOTION_POLICY: &str = r#"
fn on_promotion(ctx) {
    if ctx.champion != () && ctx.candidate.holdout.auc < ctx.champion.holdout.auc {
        return deny(`holdout AUC ${ctx.candidate.holdout.auc} is below the champion's ${ctx.champion.holdout.auc}`);
    }
    require_approval("governance_officer", 2)
}
"#;

#[tokio::test]
async fn the_policy_answers_with_holdout_metrics_and_a_new_revision_cancels_approvals() {
    let app = TestApp::new().await;
    let f = fixture(&app, "acme", "HIGH", 4).await;
    let author = app.token("acme", &[Role::PolicyAuthor]);
    let p = str_at(
        &app.ok(&author, CREATE_POLICY, json!({"i": {"name": "promo"}}))
            .await,
        &["createPolicy", "id"],
    );
    app.ok(
        &author,
        PROPOSE,
        json!({"i": {"policyId": p, "source": PROMOTION_POLICY}}),
    )
    .await;
    app.ok(&author, PUBLISH, json!({"i": {"policyId": p, "number": 1}}))
        .await;
    app.ok(
        &author,
        BIND,
        json!({"i": {"policyId": p, "modelId": f.model}}),
    )
    .await;
    // Version 3 serves; version 2 has a lower holdout AUC.
    let e = endpoint(&app, &f, 3, None).await;
    let r = request(&app, &f.owner, &e, &f.versions[1], Value::Null).await;
    let denied = &r["data"]["requestPromotion"];
    assert_eq!(denied["status"], "DENIED", "{r}");
    assert!(
        denied["outcome"]
            .as_str()
            .unwrap()
            .contains("below the champion"),
        "{r}"
    );
    assert_eq!(denied["policyRevision"], "promo@1");
    assert!(denied["decisionRecordId"].is_string());

    let r = request(&app, &f.owner, &e, &f.versions[3], Value::Null).await;
    let id = str_at(&r, &["data", "requestPromotion", "id"]);
    let gina = app.token_as("gina", "acme", &[Role::GovernanceOfficer]);
    let gus = app.token_as("gus", "acme", &[Role::GovernanceOfficer]);
    app.ok(
        &gina,
        APPROVE,
        json!({"i": {"requestId": id, "reason": "ok"}}),
    )
    .await;
    // A new revision of the policy: the approvals given under the old one are cancelled.
    let v2 = format!("{PROMOTION_POLICY}\n// reviewed again\n");
    app.ok(
        &author,
        PROPOSE,
        json!({"i": {"policyId": p, "source": v2}}),
    )
    .await;
    app.ok(&author, PUBLISH, json!({"i": {"policyId": p, "number": 2}}))
        .await;
    let v = app
        .ok(
            &gus,
            APPROVE,
            json!({"i": {"requestId": id, "reason": "ok"}}),
        )
        .await;
    let a = &v["approvePromotion"];
    assert_eq!(a["status"], "AWAITING_APPROVAL", "{v}");
    assert!(
        a["approvals"][0]["cancelReason"]
            .as_str()
            .unwrap()
            .contains("promo@1 to promo@2"),
        "{v}"
    );
    let v = app
        .ok(
            &gina,
            APPROVE,
            json!({"i": {"requestId": id, "reason": "ok"}}),
        )
        .await;
    assert_eq!(v["approvePromotion"]["status"], "PROMOTED", "{v}");

    // A rejection ends a request, with the reason.
    let r = request(&app, &f.owner, &e, &f.versions[2], Value::Null).await;
    let id = str_at(&r, &["data", "requestPromotion", "id"]);
    // (Version 3 is below version 4 now serving: denied by the policy, not rejectable.)
    assert_eq!(r["data"]["requestPromotion"]["status"], "DENIED", "{r}");
    let v = app
        .gql(
            &gina,
            REJECT,
            json!({"i": {"requestId": id, "reason": "no"}}),
        )
        .await;
    assert_eq!(code(&v), "FAILED_PRECONDITION");
}

#[tokio::test]
async fn a_rejection_ends_the_request_and_a_withdrawal_too() {
    let app = TestApp::new().await;
    let f = fixture(&app, "acme", "MEDIUM", 3).await;
    let e = endpoint(&app, &f, 1, None).await;
    // A pipeline retrying with its idempotency key gets its first request back, not a second.
    let keyed = json!({"i": {"endpointId": e, "candidateVersionId": f.versions[1],
        "artifactDigest": digest(), "reason": "nightly", "idempotencyKey": "ci-run-77"}});
    let first = app.ok(&f.owner, REQUEST_PROMOTION, keyed.clone()).await;
    let again = app.ok(&f.owner, REQUEST_PROMOTION, keyed).await;
    assert_eq!(
        first["requestPromotion"]["id"],
        again["requestPromotion"]["id"]
    );
    let other = json!({"i": {"endpointId": e, "candidateVersionId": f.versions[2],
        "artifactDigest": digest(), "reason": "nightly", "idempotencyKey": "ci-run-77"}});
    let v = app.gql(&f.owner, REQUEST_PROMOTION, other).await;
    assert_eq!(code(&v), "CONFLICT", "the key names another request: {v}");
    let id = str_at(&first, &["requestPromotion", "id"]);
    let v = app
        .ok(
            &f.officer,
            REJECT,
            json!({"i": {"requestId": id, "reason": "no rollout before the audit"}}),
        )
        .await;
    assert_eq!(v["rejectPromotion"]["status"], "REJECTED");
    assert!(
        v["rejectPromotion"]["outcome"]
            .as_str()
            .unwrap()
            .contains("before the audit")
    );
    let r = request(&app, &f.owner, &e, &f.versions[2], Value::Null).await;
    let id = str_at(&r, &["data", "requestPromotion", "id"]);
    let v = app
        .ok(
            &f.owner,
            "mutation($i: RequestReasonInput!) { withdrawPromotionRequest(input: $i) { status } }",
            json!({"i": {"requestId": id, "reason": "superseded"}}),
        )
        .await;
    assert_eq!(v["withdrawPromotionRequest"]["status"], "CANCELLED");
    assert_eq!(
        current(&app, &f.sre, &e).await["revision"],
        1,
        "nothing changed the endpoint"
    );
}

fn step(percent: u8, on_failure: &str, on_inconclusive: &str) -> Value {
    json!({"percent": percent, "bakeMinutes": 30, "onFailure": on_failure, "onInconclusive": on_inconclusive})
}

#[tokio::test]
async fn a_canary_walks_its_steps_pauses_when_inconclusive_and_stops_when_told() {
    let app = TestApp::new().await;
    let f = fixture(&app, "acme", "LOW", 3).await;
    let e = endpoint(&app, &f, 1, None).await;
    let plan = json!({"steps": [step(10, "ABORT", "CONTINUE"), step(50, "ABORT", "PAUSE")]});
    let r = request(&app, &f.owner, &e, &f.versions[1], plan).await;
    let id = str_at(&r, &["data", "requestPromotion", "id"]);
    assert_eq!(r["data"]["requestPromotion"]["status"], "ROLLING", "{r}");
    let now = current(&app, &f.sre, &e).await;
    assert_eq!(
        now["current"]["canary"],
        json!({"version": 2, "percent": 10})
    );
    assert_eq!(now["current"]["championPercent"], 90);
    let get =
        "query($i: ID!) { promotionRequest(id: $i) { status step pausedBy pauseReason outcome } }";
    let status = |id: &str| {
        let (app, token, id) = (&app, f.sre.clone(), id.to_string());
        async move { app.ok(&token, get, json!({"i": id})).await["promotionRequest"].clone() }
    };
    // Not baked yet: nothing moves.
    later(&app, 60);
    assert_eq!(app.service.advance_rollouts().await.unwrap(), 0);
    // Baked, no canary window (inconclusive): step 1 continues to 50%.
    later(&app, 30 * 60);
    assert_eq!(app.service.advance_rollouts().await.unwrap(), 1);
    assert_eq!(
        current(&app, &f.sre, &e).await["current"]["canary"]["percent"],
        50
    );
    // Step 2 pauses for a person, naming why.
    later(&app, 31 * 60);
    app.service.advance_rollouts().await.unwrap();
    let s = status(&id).await;
    assert_eq!(s["status"], "PAUSED", "{s}");
    assert_eq!(s["pausedBy"], "system:scheduler");
    assert!(
        s["pauseReason"]
            .as_str()
            .unwrap()
            .contains("no evaluated window"),
        "{s}"
    );
    let op = |name: &'static str| {
        let q = format!("mutation($i: RequestReasonInput!) {{ {name}(input: $i) {{ status }} }}");
        let (app, token, id) = (&app, f.sre.clone(), id.clone());
        async move {
            app.gql(
                &token,
                &q,
                json!({"i": {"requestId": id, "reason": "looked at the dashboards"}}),
            )
            .await
        }
    };
    assert_eq!(
        op("resumeRollout").await["data"]["resumeRollout"]["status"],
        "ROLLING"
    );
    // Model owners do not operate rollouts.
    let v = app
        .gql(
            &f.owner,
            "mutation($i: RequestReasonInput!) { promoteRollout(input: $i) { status } }",
            json!({"i": {"requestId": id, "reason": "x"}}),
        )
        .await;
    assert_eq!(code(&v), "FORBIDDEN");
    assert_eq!(
        op("promoteRollout").await["data"]["promoteRollout"]["status"],
        "PROMOTED"
    );
    let now = current(&app, &f.sre, &e).await;
    assert_eq!(now["current"]["champion"]["version"], 2);
    assert!(now["current"]["canary"].is_null());

    // An abort sends the canary's traffic back to the champion.
    let plan = json!({"steps": [step(20, "ABORT", "PAUSE")]});
    let r = request(&app, &f.owner, &e, &f.versions[2], plan.clone()).await;
    let id = str_at(&r, &["data", "requestPromotion", "id"]);
    let abort = format!(
        "mutation {{ abortRollout(input: {{requestId: \"{id}\", reason: \"latency\"}}) {{ status }} }}"
    );
    assert_eq!(
        app.ok(&f.sre, &abort, json!({})).await["abortRollout"]["status"],
        "ABORTED"
    );
    let now = current(&app, &f.sre, &e).await;
    assert_eq!(
        (
            now["current"]["change"].as_str(),
            now["current"]["champion"]["version"].as_i64()
        ),
        (Some("ABORTED"), Some(2))
    );
    assert!(now["current"]["canary"].is_null());

    // A pause nobody answers ends in an abort after its timeout (24 hours by default).
    let r = request(&app, &f.owner, &e, &f.versions[2], plan.clone()).await;
    let id = str_at(&r, &["data", "requestPromotion", "id"]);
    later(&app, 31 * 60);
    app.service.advance_rollouts().await.unwrap();
    assert_eq!(status(&id).await["status"], "PAUSED");
    later(&app, 25 * 3600);
    app.service.advance_rollouts().await.unwrap();
    let s = status(&id).await;
    assert_eq!(s["status"], "ABORTED", "{s}");
    assert!(s["outcome"].as_str().unwrap().contains("ran out"), "{s}");

    // A rollback during a canary: the champion stays, the canary goes, the request is aborted.
    let r = request(&app, &f.owner, &e, &f.versions[2], plan).await;
    let id = str_at(&r, &["data", "requestPromotion", "id"]);
    let v = app
        .ok(
            &f.sre,
            ROLLBACK,
            json!({"i": {"endpointId": e, "reason": "canary errors"}}),
        )
        .await;
    assert_eq!(v["rollback"]["champion"]["version"], 2);
    assert!(v["rollback"]["canary"].is_null());
    let s = status(&id).await;
    assert_eq!(s["status"], "ABORTED");
    assert!(s["outcome"].as_str().unwrap().contains("rollback"), "{s}");
}

#[tokio::test]
async fn served_at_answers_exactly_across_100_random_changes() {
    let app = TestApp::new().await;
    let f = fixture(&app, "acme", "LOW", 4).await;
    let created = app.clock.now();
    let e = endpoint(&app, &f, 1, None).await;
    let mut history = vec![(created, 1i64)];
    let mut champion = 1usize;
    let mut seed: u64 = 0x5eed_1234;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    for _ in 0..100 {
        // 2 to 600 seconds later, with milliseconds.
        let ms = 2_000 + next(598_000) as i64;
        let at = app.clock.now() + chrono::Duration::milliseconds(ms);
        app.clock.set(at);
        let mut to = 1 + next(4) as usize;
        if to == champion {
            to = to % 4 + 1;
        }
        let r = request(&app, &f.owner, &e, &f.versions[to - 1], Value::Null).await;
        assert_eq!(r["data"]["requestPromotion"]["status"], "PROMOTED", "{r}");
        champion = to;
        history.push((at, to as i64));
    }
    let q = "query($e: ID!, $t: DateTime!) { servedAt(endpointId: $e, at: $t) { number champion { version } } }";
    let served = |t: chrono::DateTime<chrono::Utc>| {
        let (app, token, e) = (&app, f.sre.clone(), e.clone());
        async move {
            app.ok(&token, q, json!({"e": e, "t": t.to_rfc3339()}))
                .await["servedAt"]
                .clone()
        }
    };
    for (i, (at, version)) in history.iter().enumerate() {
        let here = served(*at).await;
        assert_eq!(
            (
                here["number"].as_i64(),
                here["champion"]["version"].as_i64()
            ),
            (Some(i as i64 + 1), Some(*version)),
            "change {i}"
        );
        let just_before = served(*at - chrono::Duration::milliseconds(1)).await;
        if i == 0 {
            assert!(just_before.is_null());
        } else {
            assert_eq!(
                just_before["number"].as_i64(),
                Some(i as i64),
                "a millisecond before change {i}"
            );
        }
    }
    let v = app
        .ok(
            &f.sre,
            "query($e: ID!) { deploymentRevisions(endpointId: $e, first: 500) { number } }",
            json!({"e": e}),
        )
        .await;
    assert_eq!(v["deploymentRevisions"].as_array().unwrap().len(), 101);
}

#[tokio::test]
async fn promotions_racing_rollbacks_lose_no_change_and_leave_one_champion() {
    let app = TestApp::new().await;
    let f = fixture(&app, "acme", "LOW", 4).await;
    let e = endpoint(&app, &f, 1, None).await;
    let r = request(&app, &f.owner, &e, &f.versions[1], Value::Null).await;
    assert_eq!(r["data"]["requestPromotion"]["status"], "PROMOTED", "{r}");
    let mut expected_revisions = 2;
    for round in 0..20u64 {
        later(&app, 60);
        let now = current(&app, &f.sre, &e).await;
        let seen = now["revision"].as_i64().unwrap();
        let champion = now["current"]["champion"]["version"].as_i64().unwrap() as usize;
        let candidate = |k: usize| (champion + k - 1) % 4 + 1;
        let rollback = |reason: String| {
            let (app, token, e) = (&app, f.sre.clone(), e.clone());
            async move {
                app.gql(&token, ROLLBACK, json!({"i": {"endpointId": e, "reason": reason, "expectedRevision": seen, "toRevision": 1}})).await
            }
        };
        let (a, b, c, d) = tokio::join!(
            rollback(format!("a{round}")),
            request(
                &app,
                &f.owner,
                &e,
                &f.versions[candidate(1 + (round as usize % 2)) - 1],
                Value::Null
            ),
            rollback(format!("b{round}")),
            request(
                &app,
                &f.owner,
                &e,
                &f.versions[candidate(2 + (round as usize % 2)) - 1],
                Value::Null
            ),
        );
        let rollbacks_ok = [&a, &c]
            .iter()
            .filter(|v| v.get("errors").is_none())
            .count();
        for v in [&a, &c] {
            if v.get("errors").is_some() {
                assert_eq!(code(v), "CONFLICT", "{v}");
            }
        }
        assert!(
            rollbacks_ok <= 1,
            "two rollbacks decided on one revision both landed: {a} {c}"
        );
        let promotions_ok = [&b, &d]
            .iter()
            .filter(|v| v["data"]["requestPromotion"]["status"] == "PROMOTED")
            .count();
        for v in [&b, &d] {
            if v.get("errors").is_some() {
                // A promotion of the version that just became champion is refused as such;
                // one decided on a revision that moved meanwhile is refused (PostgreSQL).
                assert!(["INVALID", "CONFLICT"].contains(&code(v).as_str()), "{v}");
            }
        }
        expected_revisions += rollbacks_ok + promotions_ok;
        let after = current(&app, &f.sre, &e).await;
        assert_eq!(
            after["revision"].as_i64(),
            Some(expected_revisions as i64),
            "round {round}: every change is one revision"
        );
    }
    // The history has one champion at every revision and no gap.
    let v = app
        .ok(&f.sre, "query($e: ID!) { deploymentRevisions(endpointId: $e, first: 500) { number champion { version percent } championPercent } }", json!({"e": e}))
        .await;
    let revs = v["deploymentRevisions"].as_array().unwrap();
    assert_eq!(revs.len(), expected_revisions);
    for (i, r) in revs.iter().enumerate() {
        assert_eq!(r["number"].as_i64(), Some((expected_revisions - i) as i64));
        assert!(
            r["champion"]["version"]
                .as_i64()
                .is_some_and(|v| (1..=4).contains(&v))
        );
        assert_eq!(r["championPercent"], 100);
    }
}

/// Drift opens an incident and rolls the model back.
const ROLLBACK_POLICY: &str = r#"
fn schedule() { "hourly" }
fn on_promotion(ctx) { allow() }
fn on_window(ctx) {
    if ctx.drift.composite < 0.3 { return []; }
    [open_incident("drift", "inputs drifting"), rollback("inputs drifting after the release")]
}
"#;

#[tokio::test]
async fn a_policy_rollback_decision_rolls_the_serving_endpoint_back() {
    use crate::monitoring::{monitored, rows, send};
    let app = TestApp::new().await;
    let m = monitored(&app, "acme", ROLLBACK_POLICY, &[]).await;
    let sre = app.token("acme", &[Role::Sre]);
    // The monitored version was promoted over another one.
    let old = version_of(&app, &m.owner, &m.model, "s3://m/0", 0.9).await;
    let v = app
        .ok(
            &sre,
            CREATE_ENDPOINT,
            json!({"i": {"modelId": m.model, "name": "fraud-prod", "environment": "prod",
            "championVersionId": old, "reason": "first"}}),
        )
        .await;
    let e = str_at(&v, &["createEndpoint", "id"]);
    let r = request(&app, &m.owner, &e, &m.version, Value::Null).await;
    assert_eq!(r["data"]["requestPromotion"]["status"], "PROMOTED", "{r}");
    // A drifted window: the evaluation rolls the endpoint back in its own transaction.
    app.clock.set("2026-03-01T10:30:00Z".parse().unwrap());
    let (s, b) = send(&app, &m, rows(200, 150.0, &["DE", "FR"], None, None), None).await;
    assert_eq!(s.as_u16(), 201, "{b}");
    later(&app, 36 * 60);
    assert_eq!(app.service.run_scheduler_tick().await.unwrap().evaluated, 1);
    let now = current(&app, &sre, &e).await;
    assert_eq!(now["current"]["change"], "ROLLED_BACK", "{now}");
    let h = app
        .ok(&sre, "query($e: ID!) { deploymentRevisions(endpointId: $e, first: 1) { actor reason incidentId decisionRecordId champion { versionId } } }", json!({"e": e}))
        .await;
    let rev = &h["deploymentRevisions"][0];
    assert_eq!(rev["actor"], "system:scheduler");
    assert_eq!(rev["reason"], "inputs drifting after the release");
    assert!(
        rev["incidentId"].is_string() && rev["decisionRecordId"].is_string(),
        "{h}"
    );
    assert_eq!(rev["champion"]["versionId"], old);
}

#[tokio::test]
async fn the_outbox_keeps_every_action_and_attempt_through_the_deployments_migration() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let s = seed(&app, &owner).await;
    let sre = app.token("acme", &[Role::Sre]);
    // An attempt on the seed's alert (nobody listens on port 9): a row in delivery_attempts.
    app.ok(&sre, "mutation { deliverNow { claimed } }", json!({}))
        .await;
    let q = "{ pendingActions { id kind status attempts target decisionRecordId deliveries { attempt outcome } } }";
    let before = app.ok(&sre, q, json!({})).await;
    assert!(
        !before["pendingActions"][0]["deliveries"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{before}"
    );
    if app.db.is_postgres() {
        // PostgreSQL drops the NOT NULL in place; nothing is copied.
        let cols = app
            .db
            .query("SELECT is_nullable FROM information_schema.columns WHERE table_name = 'outbox_actions' AND column_name = 'decision_record_id'")
            .await
            .unwrap();
        assert_eq!(cols[0]["is_nullable"], "YES");
        return;
    }
    // SQLite rebuilds the outbox and its attempts: every row comes back as it was.
    // m0013 and the migrations after it.
    app.db
        .redo_migrations_since("m0013_deployments")
        .await
        .unwrap();
    assert_eq!(app.ok(&sre, q, json!({})).await, before);
    assert!(
        app.db
            .query("PRAGMA foreign_key_check")
            .await
            .unwrap()
            .is_empty()
    );
    let e = app
        .db
        .execute("UPDATE delivery_attempts SET outcome = 'delivered'")
        .await
        .unwrap_err();
    assert!(e.contains("append-only"), "{e}");
    let e = app
        .db
        .execute("INSERT INTO delivery_attempts (id, tenant_id, action_id, attempt, at, target, latency_ms, outcome, detail, response_excerpt) VALUES ('00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000001', '00000000-0000-0000-0000-000000000009', 1, '2026-01-01', 't', 0, 'retry', '', '')")
        .await
        .unwrap_err();
    assert!(e.to_lowercase().contains("foreign key"), "{e}");
    // The deployment tables came back empty (the migration's down drops them) and work.
    let _ = s;
    assert_eq!(
        app.ok(&sre, "{ endpoints { id } }", json!({})).await["endpoints"],
        json!([])
    );
}

/// Promotions allowed; windows hourly.
const SHADOW_POLICY: &str = r#"
fn schedule() { "hourly" }
fn on_promotion(ctx) { allow() }
fn on_window(ctx) { [] }
"#;

#[tokio::test]
async fn a_shadow_is_compared_with_the_champion_on_the_same_requests() {
    use crate::monitoring::{monitored, rows};
    let app = TestApp::new().await;
    let m = monitored(&app, "acme", SHADOW_POLICY, &[]).await;
    let sre = app.token("acme", &[Role::Sre]);
    let shadow = str_at(
        &app.ok(&m.owner, REGISTER_VERSION, json!({"i": {"modelId": m.model, "artifactUri": "s3://m/2",
            "artifactDigest": digest(), "framework": "xgboost", "metrics": [{"name": "auc", "value": 0.95}],
            "inputSchema": [{"name": "amount", "type": "FLOAT"}, {"name": "country", "type": "CATEGORICAL"}]}}))
            .await,
        &["registerModelVersion", "id"],
    );
    let (s, b) = app
        .post(
            &m.owner,
            &format!("/v1/model-versions/{shadow}/baselines"),
            "text/csv",
            &[],
            rows(600, 0.0, &["DE", "FR"], None, None),
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{b}");
    let v = app
        .ok(
            &sre,
            CREATE_ENDPOINT,
            json!({"i": {"modelId": m.model, "name": "fraud-prod", "environment": "prod",
            "championVersionId": m.version, "reason": "first"}}),
        )
        .await;
    let e = str_at(&v, &["createEndpoint", "id"]);
    let r = app
        .gql(&m.owner, REQUEST_PROMOTION, json!({"i": {"endpointId": e, "candidateVersionId": shadow,
            "artifactDigest": digest(), "mode": "SHADOW", "plan": {"mirrorPercent": 20}, "reason": "shadow first"}}))
        .await;
    assert_eq!(r["data"]["requestPromotion"]["status"], "PROMOTED", "{r}");
    let now = app
        .ok(&sre, "query($e: ID!) { endpoint(id: $e) { current { change champion { version } shadow { version percent } } } }", json!({"e": e}))
        .await;
    assert_eq!(now["endpoint"]["current"]["change"], "SHADOW_STARTED");
    assert_eq!(now["endpoint"]["current"]["shadow"]["percent"], 20);

    // 100 requests answered by both; the shadow agrees on 80 of them.
    later(&app, 60);
    let (mut live, mut mirrored) = (String::new(), String::new());
    for (csv, _) in [(&mut live, 0), (&mut mirrored, 1)] {
        csv.push_str("amount,country,prediction,prediction_id\n");
    }
    for i in 0..100 {
        let truth = i % 2 == 0;
        let score = |right: bool| if right == truth { 0.9 } else { 0.1 };
        live.push_str(&format!("{},DE,{},r{i}\n", 100 + i, score(i < 90)));
        mirrored.push_str(&format!("{},DE,{},r{i}\n", 100 + i, score(i < 70)));
    }
    let post = |version: &str, body: String, query: &str| {
        let path = format!("/v1/model-versions/{version}/observations{query}");
        let (app, owner) = (&app, m.owner.clone());
        async move { app.post(&owner, &path, "text/csv", &[], body).await }
    };
    let (s, v) = post(&m.version, live, "").await;
    assert_eq!(s.as_u16(), 201, "{v}");
    let (s, v) = post(&shadow, mirrored, "?shadow=true").await;
    assert_eq!(s.as_u16(), 201, "{v}");
    assert_eq!(
        v["shadow"], true,
        "the batch is marked as mirrored traffic: {v}"
    );
    let compare = "query($e: ID!) { shadowComparison(endpointId: $e) { champion { version } shadow { version percent } pairs agreement meanAbsScoreDiff labelled metrics { metric champion shadow delta championLower championUpper labelledRows } } }";
    let c = app.ok(&sre, compare, json!({"e": e})).await["shadowComparison"].clone();
    assert_eq!(
        (c["pairs"].as_u64(), c["labelled"].as_u64()),
        (Some(100), Some(0)),
        "{c}"
    );
    assert!((c["agreement"].as_f64().unwrap() - 0.8).abs() < 1e-9, "{c}");
    assert_eq!(c["metrics"], json!([]));

    // Labels arrive for the champion's predictions: both are scored on the same requests.
    let mut labels = String::from("prediction_id,label\n");
    for i in 0..100 {
        labels.push_str(&format!("r{i},{}\n", u8::from(i % 2 == 0)));
    }
    let (s, v) = app
        .post(
            &m.owner,
            &format!("/v1/model-versions/{}/labels", m.version),
            "text/csv",
            &[],
            labels,
        )
        .await;
    assert_eq!(s.as_u16(), 201, "{v}");
    let c = app.ok(&sre, compare, json!({"e": e})).await["shadowComparison"].clone();
    assert_eq!(c["labelled"], 100, "{c}");
    let acc = c["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == "accuracy")
        .unwrap()
        .clone();
    assert!(
        (acc["champion"].as_f64().unwrap() - 0.9).abs() < 1e-9,
        "{acc}"
    );
    assert!(
        (acc["shadow"].as_f64().unwrap() - 0.7).abs() < 1e-9,
        "{acc}"
    );
    assert!((acc["delta"].as_f64().unwrap() + 0.2).abs() < 1e-9, "{acc}");
    assert!(
        acc["championLower"].as_f64().unwrap() < 0.9
            && acc["championUpper"].as_f64().unwrap() > 0.9
    );

    // Model owners do not stop a shadow; SREs do, and the comparison ends with it.
    let stop = "mutation($e: ID!) { stopShadow(input: {endpointId: $e, reason: \"seen enough\"}) { change shadow { version } } }";
    assert_eq!(
        code(&app.gql(&m.owner, stop, json!({"e": e})).await),
        "FORBIDDEN"
    );
    let v = app.ok(&sre, stop, json!({"e": e})).await;
    assert_eq!(v["stopShadow"]["change"], "SHADOW_STOPPED");
    assert!(v["stopShadow"]["shadow"].is_null());
    assert!(app.ok(&sre, compare, json!({"e": e})).await["shadowComparison"].is_null());
    let again = app.gql(&sre, stop, json!({"e": e})).await;
    assert_eq!(code(&again), "FAILED_PRECONDITION", "{again}");
}

#[tokio::test]
async fn a_seldon_experiment_follows_the_canary_the_shadow_and_the_rollback() {
    let app = TestApp::new().await;
    let f = fixture(&app, "acme", "LOW", 3).await;
    let seldon = Receiver::start(Contract::Seldon {
        namespace: "fraud".into(),
        name: "scorer".into(),
        token: Some("k8s".into()),
    })
    .await
    .unwrap();
    app.ok(
        &f.officer,
        "mutation($i: PutDeliveryTargetInput!) { putDeliveryTarget(input: $i) { name } }",
        json!({"i": {"name": "seldon", "kind": "SELDON", "url": seldon.url(), "secret": "k8s"}}),
    )
    .await;
    let e = endpoint(&app, &f, 1, Some("seldon")).await;
    let deliver = || async { app.service.run_relay_pass().await.unwrap() };
    deliver().await;
    assert_eq!(seldon.traffic(), vec![("scorer-v1".to_string(), 100)]);
    // A canary at 25%, and version 3 as a shadow mirroring 10%.
    let plan = json!({"steps": [step(25, "ABORT", "PAUSE")]});
    let r = request(&app, &f.owner, &e, &f.versions[1], plan).await;
    assert_eq!(r["data"]["requestPromotion"]["status"], "ROLLING", "{r}");
    deliver().await;
    assert_eq!(
        seldon.traffic(),
        vec![("scorer-v1".to_string(), 75), ("scorer-v2".to_string(), 25)]
    );
    let r = app
        .gql(&f.owner, REQUEST_PROMOTION, json!({"i": {"endpointId": e, "candidateVersionId": f.versions[2],
            "artifactDigest": digest(), "mode": "SHADOW", "plan": {"mirrorPercent": 10}, "reason": "shadow"}}))
        .await;
    assert_eq!(r["data"]["requestPromotion"]["status"], "PROMOTED", "{r}");
    deliver().await;
    assert_eq!(
        seldon.traffic(),
        vec![
            ("scorer-v1".to_string(), 75),
            ("scorer-v2".to_string(), 25),
            ("mirror:scorer-v3".to_string(), 10)
        ]
    );
    // The rollback: version 1 alone takes the traffic, the shadow keeps mirroring.
    app.ok(
        &f.sre,
        ROLLBACK,
        json!({"i": {"endpointId": e, "reason": "canary errors"}}),
    )
    .await;
    deliver().await;
    assert_eq!(
        seldon.traffic(),
        vec![
            ("scorer-v1".to_string(), 100),
            ("mirror:scorer-v3".to_string(), 10)
        ]
    );
    assert!(
        seldon
            .received()
            .iter()
            .all(|r| r.problem.is_none() || r.status == 404)
    );
    // Each attempt says what it applied.
    let v = app
        .ok(
            &f.sre,
            "{ pendingActions(status: DELIVERED) { kind deliveries { detail } } }",
            json!({}),
        )
        .await;
    let details: Vec<&str> = v["pendingActions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "deploy")
        .map(|a| a["deliveries"][0]["detail"].as_str().unwrap())
        .collect();
    assert!(details[0].contains("scorer-v1 100"), "{details:?}");
    // The shadow is promoted through an ordinary request: champion, and no longer a shadow.
    let r = request(&app, &f.owner, &e, &f.versions[2], Value::Null).await;
    assert_eq!(r["data"]["requestPromotion"]["status"], "PROMOTED", "{r}");
    deliver().await;
    assert_eq!(seldon.traffic(), vec![("scorer-v3".to_string(), 100)]);
}

#[tokio::test]
async fn an_endpoints_champion_alias_follows_promotions_and_rollbacks_and_nobody_moves_it_by_hand()
{
    let app = TestApp::new().await;
    let f = fixture(&app, "acme", "LOW", 3).await;
    let v = app
        .ok(
            &f.sre,
            CREATE_ENDPOINT,
            json!({"i": {"modelId": f.model, "name": "scorer-prod", "environment": "prod",
            "championVersionId": f.versions[0], "championAlias": "champion", "reason": "first"}}),
        )
        .await;
    let e = str_at(&v, &["createEndpoint", "id"]);
    let aliases = |history: bool| {
        let (app, token, model) = (&app, f.owner.clone(), f.model.clone());
        async move {
            app.ok(&token, "query($m: ID!, $h: Boolean) { modelAliases(modelId: $m, history: $h) { alias version setBy removedAt } }",
                json!({"m": model, "h": history})).await["modelAliases"].clone()
        }
    };
    assert_eq!(aliases(false).await[0]["version"], 1);
    request(&app, &f.owner, &e, &f.versions[2], Value::Null).await;
    assert_eq!(
        aliases(false).await[0]["version"],
        3,
        "promoted: the alias follows"
    );
    app.ok(
        &f.sre,
        ROLLBACK,
        json!({"i": {"endpointId": e, "reason": "bad"}}),
    )
    .await;
    let now = aliases(false).await;
    assert_eq!(
        (now[0]["version"].as_i64(), now[0]["setBy"].as_str()),
        (Some(1), Some("sam"))
    );
    assert_eq!(
        aliases(true).await.as_array().unwrap().len(),
        3,
        "every placement kept"
    );
    // By hand: refused, for everyone, with the reason; other aliases move freely.
    let set = "mutation($i: SetModelAliasInput!) { setModelAlias(input: $i) { alias version } }";
    let v = app
        .gql(
            &f.owner,
            set,
            json!({"i": {"modelId": f.model, "alias": "champion", "version": 2}}),
        )
        .await;
    assert_eq!(code(&v), "FORBIDDEN", "{v}");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("promotion request"),
        "{v}"
    );
    let v = app
        .ok(
            &f.owner,
            set,
            json!({"i": {"modelId": f.model, "alias": "challenger", "version": 2}}),
        )
        .await;
    assert_eq!(v["setModelAlias"]["version"], 2);
    let v = app
        .gql(
            &f.owner,
            set,
            json!({"i": {"modelId": f.model, "alias": "latest", "version": 2}}),
        )
        .await;
    assert_eq!(code(&v), "INVALID", "{v}");
    // Tags of the model and of a version.
    let tag =
        "mutation($i: SetRegistryTagInput!) { setRegistryTag(input: $i) { version key value } }";
    app.ok(
        &f.owner,
        tag,
        json!({"i": {"modelId": f.model, "key": "team", "value": "risk"}}),
    )
    .await;
    app.ok(
        &f.owner,
        tag,
        json!({"i": {"modelId": f.model, "version": 2, "key": "stage", "value": "qa"}}),
    )
    .await;
    let v = app
        .gql(
            &f.owner,
            tag,
            json!({"i": {"modelId": f.model, "version": 9, "key": "stage", "value": "qa"}}),
        )
        .await;
    assert_eq!(code(&v), "NOT_FOUND", "{v}");
    let tags = app
        .ok(
            &f.owner,
            "query($m: ID!) { registryTags(modelId: $m) { version key value } }",
            json!({"m": f.model}),
        )
        .await;
    assert_eq!(
        tags["registryTags"],
        json!([{"version": 0, "key": "team", "value": "risk"}, {"version": 2, "key": "stage", "value": "qa"}])
    );
}
