//! Tenant isolation through the API: a token of tenant B gets exactly the answer for a missing
//! object, for every id of tenant A, in every query and mutation of the schema.

use serde_json::{Value, json};
use steward_domain::Role;

use crate::app::*;

/// Each query and mutation of the schema, as (field, operation using `$id` where it takes one).
fn probes(s: &Seeded, id: &str) -> Vec<(&'static str, String, Value)> {
    let _ = s;
    vec![
        ("model", "query($id: ID!) { model(id: $id) { id } }".into(), json!({"id": id})),
        ("modelVersion", "query($id: ID!) { modelVersion(id: $id) { id } }".into(), json!({"id": id})),
        ("dataset", "query($id: ID!) { dataset(id: $id) { id } }".into(), json!({"id": id})),
        ("datasetVersion", "query($id: ID!) { datasetVersion(id: $id) { id } }".into(), json!({"id": id})),
        ("trainingRun", "query($id: ID!) { trainingRun(id: $id) { id } }".into(), json!({"id": id})),
        ("lineage", "query($id: ID!) { lineage(nodeId: $id) { nodes { id } } }".into(), json!({"id": id})),
        ("updateModel", "mutation($id: ID!) { updateModel(input: {id: $id, description: \"x\"}) { id } }".into(), json!({"id": id})),
        ("registerModelVersion", "mutation($id: ID!) { registerModelVersion(input: {modelId: $id, artifactUri: \"s3://x\", artifactDigest: \"sha256:abababababababababababababababababababababababababababababababab\", framework: \"f\"}) { id } }".into(), json!({"id": id})),
        ("registerDatasetVersion", "mutation($id: ID!) { registerDatasetVersion(input: {datasetId: $id, uri: \"s3://x\", contentHash: \"abababababababababababababababababababababababababababababababab\", rowCount: 1}) { id } }".into(), json!({"id": id})),
        ("recordTrainingRun", "mutation($id: ID!) { recordTrainingRun(input: {codeCommit: \"c\", inputDatasetVersionIds: [$id]}) { id } }".into(), json!({"id": id})),
        ("policy", "query($id: ID!) { policy(id: $id) { id } }".into(), json!({"id": id})),
        ("policyBinding", "query($id: ID!) { policyBinding(id: $id) { id } }".into(), json!({"id": id})),
        ("policyResolution", "query($id: ID!) { policyResolution(modelId: $id) { explanation } }".into(), json!({"id": id})),
        ("decisionRecord", "query($id: ID!) { decisionRecord(id: $id) { id input } }".into(), json!({"id": id})),
        ("decisionRecords", "query($id: ID!) { decisionRecords(policyId: $id) { nodes { id } } }".into(), json!({"id": id})),
        ("decisionRecords", "query($id: ID!) { decisionRecords(modelId: $id) { nodes { id } } }".into(), json!({"id": id})),
        ("proposePolicyRevision", "mutation($id: ID!) { proposePolicyRevision(input: {policyId: $id, source: \"fn on_window(ctx) { [] }\"}) { created } }".into(), json!({"id": id})),
        ("publishPolicyRevision", "mutation($id: ID!) { publishPolicyRevision(input: {policyId: $id, number: 1}) { number } }".into(), json!({"id": id})),
        ("bindPolicy", "mutation($id: ID!) { bindPolicy(input: {policyId: $id, tenantDefault: true}) { id } }".into(), json!({"id": id})),
        ("unbindPolicy", "mutation($id: ID!) { unbindPolicy(input: {bindingId: $id}) { id } }".into(), json!({"id": id})),
        ("evaluatePolicy", "mutation($id: ID!) { evaluatePolicy(input: {modelVersionId: $id, hook: ON_WINDOW, context: {}}) { id } }".into(), json!({"id": id})),
        ("monitorConfig", "query($id: ID!) { monitorConfig(modelId: $id) { sliceColumns } }".into(), json!({"id": id})),
        ("baselines", "query($id: ID!) { baselines(modelVersionId: $id) { id } }".into(), json!({"id": id})),
        ("baseline", "query($id: ID!) { baseline(id: $id) { id } }".into(), json!({"id": id})),
        ("windows", "query($id: ID!) { windows(modelVersionId: $id) { id } }".into(), json!({"id": id})),
        ("window", "query($id: ID!) { window(id: $id) { id slices { slice } performance { slice } kpis { name } } }".into(), json!({"id": id})),
        ("driftTimeline", "query($id: ID!) { driftTimeline(modelVersionId: $id, feature: \"prediction\") { rows } }".into(), json!({"id": id})),
        ("incidents", "query($id: ID!) { incidents(modelId: $id) { id } }".into(), json!({"id": id})),
        ("modelDocumentation", "query($id: ID!) { modelDocumentation(modelId: $id) { revision } }".into(), json!({"id": id})),
        ("complianceReport", "query($id: ID!) { complianceReport(modelId: $id) }".into(), json!({"id": id})),
        ("documentModel", "mutation($id: ID!) { documentModel(input: {modelId: $id, intendedUse: \"x\", limitations: \"\", humanOversight: \"\"}) { revision } }".into(), json!({"id": id})),
        ("incident", "query($id: ID!) { incident(id: $id) { id timeline { kind } } }".into(), json!({"id": id})),
        ("pendingActions", "query($id: ID!) { pendingActions(modelId: $id) { id } }".into(), json!({"id": id})),
        ("configureMonitoring", "mutation($id: ID!) { configureMonitoring(input: {modelId: $id, latenessSeconds: 1}) { latenessSeconds } }".into(), json!({"id": id})),
        ("activateBaseline", "mutation($id: ID!) { activateBaseline(baselineId: $id) { id } }".into(), json!({"id": id})),
        ("evaluateNow", "mutation($id: ID!) { evaluateNow(modelVersionId: $id) { windowId } }".into(), json!({"id": id})),
        ("acknowledgeIncident", "mutation($id: ID!) { acknowledgeIncident(input: {incidentId: $id}) { status } }".into(), json!({"id": id})),
        ("resolveIncident", "mutation($id: ID!) { resolveIncident(input: {incidentId: $id, note: \"x\"}) { status } }".into(), json!({"id": id})),
        ("replayAction", "mutation($id: ID!) { replayAction(actionId: $id) { status } }".into(), json!({"id": id})),
        ("holds", "query($id: ID!) { holds(modelId: $id) { id } }".into(), json!({"id": id})),
        ("retrainingBudget", "query($id: ID!) { retrainingBudget(modelId: $id) { maxRuns } }".into(), json!({"id": id})),
        ("setRetrainingBudget", "mutation($id: ID!) { setRetrainingBudget(input: {modelId: $id, maxRuns: 1}) { maxRuns } }".into(), json!({"id": id})),
        ("placeHold", "mutation($id: ID!) { placeHold(input: {modelId: $id, reason: \"x\"}) { id } }".into(), json!({"id": id})),
        ("liftHold", "mutation($id: ID!) { liftHold(input: {modelId: $id, reason: \"x\"}) { id } }".into(), json!({"id": id})),
        ("endpoints", "query($id: ID!) { endpoints(modelId: $id) { id } }".into(), json!({"id": id})),
        ("endpoint", "query($id: ID!) { endpoint(id: $id) { id current { number } } }".into(), json!({"id": id})),
        ("deploymentRevisions", "query($id: ID!) { deploymentRevisions(endpointId: $id) { number } }".into(), json!({"id": id})),
        ("servedAt", "query($id: ID!) { servedAt(endpointId: $id, at: \"2026-03-01T12:00:00Z\") { number } }".into(), json!({"id": id})),
        ("rollbacks", "query($id: ID!) { rollbacks(endpointId: $id) { effectiveAt } }".into(), json!({"id": id})),
        ("promotionRequests", "query($id: ID!) { promotionRequests(endpointId: $id) { id } }".into(), json!({"id": id})),
        ("promotionRequest", "query($id: ID!) { promotionRequest(id: $id) { id approvals { approver } } }".into(), json!({"id": id})),
        ("createEndpoint", "mutation($id: ID!) { createEndpoint(input: {modelId: $id, name: \"e\", environment: \"prod\", championVersionId: $id, reason: \"x\"}) { id } }".into(), json!({"id": id})),
        ("setEndpointTarget", "mutation($id: ID!) { setEndpointTarget(input: {endpointId: $id}) { id } }".into(), json!({"id": id})),
        ("requestPromotion", "mutation($id: ID!) { requestPromotion(input: {endpointId: $id, candidateVersionId: $id, artifactDigest: \"sha256:abababababababababababababababababababababababababababababababab\", reason: \"x\"}) { id } }".into(), json!({"id": id})),
        ("updatePromotionRequest", "mutation($id: ID!) { updatePromotionRequest(input: {requestId: $id, plan: {steps: []}}) { id } }".into(), json!({"id": id})),
        ("withdrawPromotionRequest", "mutation($id: ID!) { withdrawPromotionRequest(input: {requestId: $id, reason: \"x\"}) { id } }".into(), json!({"id": id})),
        ("approvePromotion", "mutation($id: ID!) { approvePromotion(input: {requestId: $id, reason: \"x\"}) { id } }".into(), json!({"id": id})),
        ("rejectPromotion", "mutation($id: ID!) { rejectPromotion(input: {requestId: $id, reason: \"x\"}) { id } }".into(), json!({"id": id})),
        ("promoteRollout", "mutation($id: ID!) { promoteRollout(input: {requestId: $id, reason: \"x\"}) { id } }".into(), json!({"id": id})),
        ("pauseRollout", "mutation($id: ID!) { pauseRollout(input: {requestId: $id, reason: \"x\"}) { id } }".into(), json!({"id": id})),
        ("resumeRollout", "mutation($id: ID!) { resumeRollout(input: {requestId: $id, reason: \"x\"}) { id } }".into(), json!({"id": id})),
        ("abortRollout", "mutation($id: ID!) { abortRollout(input: {requestId: $id, reason: \"x\"}) { id } }".into(), json!({"id": id})),
        ("rollback", "mutation($id: ID!) { rollback(input: {endpointId: $id, reason: \"x\"}) { number } }".into(), json!({"id": id})),
        ("registryTags", "query($id: ID!) { registryTags(modelId: $id) { key } }".into(), json!({"id": id})),
        ("modelAliases", "query($id: ID!) { modelAliases(modelId: $id, history: true) { alias } }".into(), json!({"id": id})),
        ("setRegistryTag", "mutation($id: ID!) { setRegistryTag(input: {modelId: $id, key: \"k\", value: \"v\"}) { key } }".into(), json!({"id": id})),
        ("deleteRegistryTag", "mutation($id: ID!) { deleteRegistryTag(input: {modelId: $id, key: \"k\"}) }".into(), json!({"id": id})),
        ("setModelAlias", "mutation($id: ID!) { setModelAlias(input: {modelId: $id, alias: \"champion\", version: 1}) { alias } }".into(), json!({"id": id})),
        ("deleteModelAlias", "mutation($id: ID!) { deleteModelAlias(input: {modelId: $id, alias: \"champion\"}) { alias } }".into(), json!({"id": id})),
        ("bindLineageJob", "mutation($id: ID!) { bindLineageJob(input: {namespace: \"airflow\", name: \"train\", modelId: $id}) { id } }".into(), json!({"id": id})),
        ("renameModel", "mutation($id: ID!) { renameModel(input: {modelId: $id, name: \"stolen\"}) { id } }".into(), json!({"id": id})),
        ("deleteModel", "mutation($id: ID!) { deleteModel(modelId: $id) { id } }".into(), json!({"id": id})),
        ("deleteModelVersion", "mutation($id: ID!) { deleteModelVersion(versionId: $id) { id } }".into(), json!({"id": id})),
        ("updateModelVersion", "mutation($id: ID!) { updateModelVersion(input: {versionId: $id, description: \"x\"}) { id } }".into(), json!({"id": id})),
        ("transitionModelVersionStage", "mutation($id: ID!) { transitionModelVersionStage(input: {versionId: $id, stage: \"Staging\"}) { id } }".into(), json!({"id": id})),
        ("shadowComparison", "query($id: ID!) { shadowComparison(endpointId: $id) { pairs } }".into(), json!({"id": id})),
        ("stopShadow", "mutation($id: ID!) { stopShadow(input: {endpointId: $id, reason: \"x\"}) { number } }".into(), json!({"id": id})),
        ("POST /v1/model-versions/{id}/observations", format!("POST /v1/model-versions/{id}/observations"),
         json!({"i": {"contentType": "application/x-ndjson", "body": "{\"prediction\": 0.5}\n"}})),
        ("POST /v1/model-versions/{id}/kpis", format!("POST /v1/model-versions/{id}/kpis"),
         json!({"i": {"contentType": "text/csv", "body": "kpi,value\nlosses,1\n"}})),
        ("POST /v1/model-versions/{id}/labels", format!("POST /v1/model-versions/{id}/labels"),
         json!({"i": {"contentType": "text/csv", "body": "prediction_id,label\np1,1\n"}})),
        ("POST /v1/retraining-runs/{id}/status", format!("POST /v1/retraining-runs/{id}/status"),
         json!({"i": {"contentType": "application/json", "body": "{\"status\": \"running\"}"}})),
        ("POST /v1/model-versions/{id}/baselines", format!("POST /v1/model-versions/{id}/baselines"),
         json!({"i": {"contentType": "text/csv", "body": "prediction\n0.5\n"}})),
    ]
}

#[tokio::test]
async fn tenant_b_sees_tenant_a_ids_as_missing_everywhere() {
    let app = TestApp::new().await;
    app.tenant("a").await;
    app.tenant("b").await;
    let a = app.token("a", &[Role::ModelOwner]);
    let s = seed(&app, &a).await;
    // B holds every tenant-level role, so only the tenant boundary can stop it.
    let b = app.token(
        "b",
        &[
            Role::ModelOwner,
            Role::GovernanceOfficer,
            Role::Service,
            Role::Viewer,
            Role::Sre,
            Role::PolicyAuthor,
        ],
    );
    let missing = uuid::Uuid::now_v7().to_string();
    let mut covered = Vec::new();
    for id in [
        &s.model,
        &s.version,
        &s.dataset,
        &s.dataset_version,
        &s.run,
        &s.policy,
        &s.binding,
        &s.selector_binding,
        &s.record,
        &s.baseline,
        &s.window,
        &s.incident,
        &s.action,
        &s.endpoint,
        &s.rollback_endpoint,
        &s.approval_requests[0],
    ] {
        for ((field, query, vars), (_, _, missing_vars)) in
            probes(&s, id).into_iter().zip(probes(&s, &missing))
        {
            let missing_query = query.replace(id.as_str(), &missing);
            let got = app.probe(&b, &query, vars).await;
            let want = app.probe(&b, &missing_query, missing_vars).await;
            assert_eq!(code(&got), "NOT_FOUND", "{field} with A's id {id}: {got}");
            assert_eq!(
                got, want,
                "{field}: A's id must answer exactly like a missing id"
            );
            covered.push(field);
        }
    }
    // Ids of A nested inside otherwise valid input of B.
    let own_model = app
        .ok(
            &b,
            REGISTER_MODEL,
            json!({"i": {"name": "fraud", "ownerTeam": "t", "riskTier": "LOW"}}),
        )
        .await["registerModel"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let nested = [
        json!({"modelId": own_model, "artifactUri": "s3://x", "artifactDigest": digest(), "framework": "f", "trainingRunId": s.run}),
        json!({"modelId": own_model, "artifactUri": "s3://x", "artifactDigest": digest(), "framework": "f",
               "trainingRun": {"codeCommit": "c", "inputDatasetVersionIds": [s.dataset_version]}}),
        json!({"modelId": own_model, "artifactUri": "s3://x", "artifactDigest": digest(), "framework": "f",
               "trainingRun": {"codeCommit": "c", "parentModelVersionId": s.version}}),
    ];
    for input in nested {
        let got = app.gql(&b, REGISTER_VERSION, json!({"i": input})).await;
        assert_eq!(code(&got), "NOT_FOUND", "{got}");
    }
    let got = app
        .gql(&b, "mutation($p: ID!) { recordTrainingRun(input: {codeCommit: \"c\", parentModelVersionId: $p}) { id } }", json!({"p": s.version}))
        .await;
    assert_eq!(code(&got), "NOT_FOUND", "{got}");
    // B's failed attempts registered nothing on its own model either.
    let m = app
        .ok(
            &b,
            "query($id: ID!) { model(id: $id) { latestVersion } }",
            json!({"id": own_model}),
        )
        .await;
    assert_eq!(m["model"]["latestVersion"], 0);

    // Lists and name lookups show nothing of A.
    let lists = app
        .ok(
            &b,
            "{ models { nodes { name } } datasets { nodes { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(lists["models"]["nodes"], json!([{"name": "fraud"}]));
    assert_eq!(lists["datasets"]["nodes"], json!([]));
    let by_name = app
        .gql(&a, "{ modelByName(name: \"fraud\") { id } }", json!({}))
        .await;
    assert_eq!(
        by_name["data"]["modelByName"]["id"],
        json!(s.model),
        "A sees its own model"
    );
    let by_name = app
        .gql(&b, "{ modelByName(name: \"fraud\") { id } }", json!({}))
        .await;
    assert_eq!(
        by_name["data"]["modelByName"]["id"],
        json!(own_model),
        "B sees only its own"
    );
    // B's own policy cannot be bound to A's model.
    let own_policy = str_at(
        &app.ok(&b, CREATE_POLICY, json!({"i": {"name": "default"}}))
            .await,
        &["createPolicy", "id"],
    );
    let got = app
        .gql(
            &b,
            BIND,
            json!({"i": {"policyId": own_policy, "modelId": s.model}}),
        )
        .await;
    assert_eq!(code(&got), "NOT_FOUND", "{got}");
    // B sees none of A's policies, bindings or records, and A's policy name is free in B.
    let lists = app
        .ok(
            &b,
            "{ policies { nodes { id } } policyBindings { id } decisionRecords { nodes { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(lists["policies"]["nodes"], json!([{"id": own_policy}]));
    assert_eq!(lists["policyBindings"], json!([]));
    assert_eq!(lists["decisionRecords"]["nodes"], json!([]));
    let by_name = app
        .ok(&b, "{ policyByName(name: \"default\") { id } }", json!({}))
        .await;
    assert_eq!(by_name["policyByName"]["id"], json!(own_policy));
    // Delivery targets: B sees none of A's, cannot disable A's, putting one under A's name
    // makes B's own, and B's relay pass does not touch A's outbox.
    let targets = app.ok(&b, "{ deliveryTargets { name } }", json!({})).await;
    assert_eq!(targets["deliveryTargets"], json!([]));
    let got = app
        .gql(
            &b,
            "mutation { disableDeliveryTarget(name: \"ml-monitoring\") { name } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&got), "NOT_FOUND", "{got}");
    app.ok(
        &b,
        "mutation($i: PutDeliveryTargetInput!) { putDeliveryTarget(input: $i) { name } }",
        json!({"i": {"name": "ml-monitoring", "kind": "SLACK", "url": "http://127.0.0.1:9/b"}}),
    )
    .await;
    let pass = app
        .ok(&b, "mutation { deliverNow { claimed } }", json!({}))
        .await;
    assert_eq!(pass["deliverNow"]["claimed"], 0, "{pass}");
    let a_view = app
        .ok(
            &a,
            "{ deliveryTargets { name kind disabledAt } pendingActions { attempts } }",
            json!({}),
        )
        .await;
    assert_eq!(
        a_view,
        json!({"deliveryTargets": [{"name": "ml-monitoring", "kind": "WEBHOOK", "disabledAt": null}],
               "pendingActions": [{"attempts": 0}]})
    );
    covered.extend([
        "deliveryTargets",
        "disableDeliveryTarget",
        "putDeliveryTarget",
        "deliverNow",
        "policies",
        "policyBindings",
        "policyByName",
        "createPolicy",
        "models",
        "datasets",
        "modelByName",
        "me",
        "createTenant",
        "registerModel",
        "registerDataset",
    ]);

    // The audit log: B's officer sees B's log only, and A's sizes are out of B's range.
    let a_officer = app.token("a", &[Role::GovernanceOfficer]);
    let a_size = app
        .ok(&a_officer, "{ auditCheckpoint { treeSize } }", json!({}))
        .await["auditCheckpoint"]["treeSize"]
        .as_u64()
        .unwrap();
    let b_audit = app
        .ok(&b, "{ auditCheckpoint { treeSize origin } auditEvents(first: 100) { nodes { canonical } } }", json!({}))
        .await;
    let b_size = b_audit["auditCheckpoint"]["treeSize"].as_u64().unwrap();
    assert_eq!(b_audit["auditCheckpoint"]["origin"], "steward/b");
    assert!(a_size > 0 && b_size > 0);
    for e in b_audit["auditEvents"]["nodes"].as_array().unwrap() {
        let canonical = e["canonical"].as_str().unwrap();
        assert!(canonical.contains("\"slug\":\"b\""), "{canonical}");
        // B's failed attempts name the ids B sent, but nothing of A's content reaches B's log.
        for a_data in ["s3://m/1", "s3://d/1", "transactions", "xgboost"] {
            assert!(
                !canonical.contains(a_data),
                "A's data in B's log: {canonical}"
            );
        }
    }
    let v = app
        .gql(
            &b,
            "query($n: Int!) { auditInclusionProof(seq: 0, treeSize: $n) { rootHash } }",
            json!({"n": b_size + 1}),
        )
        .await;
    assert_eq!(code(&v), "INVALID", "{v}");
    let v = app
        .gql(
            &b,
            "query($n: Int!) { auditConsistencyProof(fromSize: 1, toSize: $n) { toRoot } }",
            json!({"n": b_size + 1}),
        )
        .await;
    assert_eq!(code(&v), "INVALID", "{v}");
    // OpenLineage jobs are the tenant's own: A's binding is invisible to B, and B's unbinding
    // of the same name makes B's own job (tested further in openlineage.rs).
    app.ok(
        &a,
        "mutation($m: ID!) { bindLineageJob(input: {namespace: \"airflow\", name: \"train\", modelId: $m}) { id } }",
        json!({"m": s.model}),
    )
    .await;
    let b_jobs = app.ok(&b, "{ lineageJobs { name } }", json!({})).await;
    assert_eq!(b_jobs["lineageJobs"], json!([]));
    app.ok(
        &b,
        "mutation { unbindLineageJob(input: {namespace: \"airflow\", name: \"train\"}) { modelId } }",
        json!({}),
    )
    .await;
    let a_jobs = app
        .ok(&a, "{ lineageJobs { name modelId } }", json!({}))
        .await;
    assert_eq!(
        a_jobs["lineageJobs"],
        json!([{"name": "train", "modelId": s.model}])
    );
    covered.extend(["lineageJobs", "unbindLineageJob"]);
    covered.extend([
        "auditEvents",
        "auditCheckpoint",
        "auditInclusionProof",
        "auditConsistencyProof",
    ]);

    // Every field of the schema is covered, so a new query or mutation must be added here.
    for root in ["QueryRoot", "MutationRoot"] {
        for field in schema_fields(&app, root) {
            assert!(
                covered.contains(&field.as_str()),
                "schema field `{field}` has no isolation probe"
            );
        }
    }
}

#[tokio::test]
async fn a_token_cannot_pick_another_tenant() {
    let app = TestApp::new().await;
    app.tenant("a").await;
    let a = app.token("a", &[Role::ModelOwner]);
    seed(&app, &a).await;
    // A token naming a tenant that does not exist is refused outright (unless platform admin).
    let ghost = app.token("ghost", &[Role::ModelOwner]);
    let (status, v) = app
        .raw(
            Some(&ghost),
            json!({"query": "{ models { nodes { id } } }"}).to_string(),
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(code(&v), "UNAUTHENTICATED");
    // A platform admin of a tenant that does not exist yet can create tenants but reads nothing.
    let admin = app.token("ghost", &[Role::PlatformAdmin]);
    let v = app
        .gql(&admin, "{ models { nodes { id } } }", json!({}))
        .await;
    assert_eq!(code(&v), "NOT_FOUND");
}
