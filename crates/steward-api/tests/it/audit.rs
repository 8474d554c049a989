//! The audit log through the API: every mutation leaves exactly one event (ok, denied or
//! failed), a failing audit write refuses the mutation and leaves no trace, the tables are
//! append-only, proofs verify against signed checkpoints, and exports verify offline.

use serde_json::{Value, json};
use steward_audit::{Hash, SignedCheckpoint, VerifyOptions, tree, verify_bundle};
use steward_domain::{Operation, Role};

use crate::app::*;
use crate::matrix::call;

/// The whole log, a page of 100 at a time.
async fn events(app: &TestApp, officer: &str) -> Vec<Value> {
    let q = "query($a: Int) { auditEvents(first: 100, afterSeq: $a) { nodes { seq action outcome target { kind id } payload requestId canonical } } }";
    let mut all: Vec<Value> = Vec::new();
    loop {
        let after = all.last().map(|e| e["seq"].clone()).unwrap_or(Value::Null);
        let v = app.ok(officer, q, json!({"a": after})).await;
        let page = v["auditEvents"]["nodes"].as_array().unwrap().clone();
        let done = page.len() < 100;
        all.extend(page);
        if done {
            return all;
        }
    }
}

/// The mutation fields of the schema and the operation each performs.
fn mutations() -> Vec<(&'static str, Operation)> {
    vec![
        ("createTenant", Operation::CreateTenant),
        ("registerModel", Operation::RegisterModel),
        ("updateModel", Operation::UpdateModel),
        ("registerModelVersion", Operation::RegisterModelVersion),
        ("registerDataset", Operation::RegisterDataset),
        ("registerDatasetVersion", Operation::RegisterDatasetVersion),
        ("recordTrainingRun", Operation::RecordTrainingRun),
        ("createPolicy", Operation::CreatePolicy),
        ("proposePolicyRevision", Operation::ProposePolicyRevision),
        ("publishPolicyRevision", Operation::PublishPolicy),
        ("bindPolicy", Operation::BindPolicy),
        ("unbindPolicy", Operation::UnbindPolicy),
        ("evaluatePolicy", Operation::EvaluatePolicy),
        ("configureMonitoring", Operation::ConfigureMonitoring),
        ("activateBaseline", Operation::WriteBaseline),
        ("evaluateNow", Operation::EvaluateWindows),
        ("acknowledgeIncident", Operation::ManageIncident),
        // Resolving is tested with its own timeline in monitoring.rs; here the same operation.
        ("resolveIncident", Operation::ManageIncident),
        ("putDeliveryTarget", Operation::ManageDeliveryTargets),
        // Disabling is tested in outbox.rs; here the same operation.
        ("disableDeliveryTarget", Operation::ManageDeliveryTargets),
        ("deliverNow", Operation::DeliverActions),
        // Replaying is tested in outbox.rs; here the same operation.
        ("replayAction", Operation::DeliverActions),
        ("placeHold", Operation::HoldModel),
        // Budgets are tested in holds.rs; here the same operation as configureMonitoring.
        ("setRetrainingBudget", Operation::ConfigureMonitoring),
        // Lifting is tested in holds.rs; here the same operation.
        ("liftHold", Operation::HoldModel),
        ("createEndpoint", Operation::ManageEndpoints),
        // Changing the target is tested in deployments.rs; here the same operation.
        ("setEndpointTarget", Operation::ManageEndpoints),
        ("requestPromotion", Operation::RequestPromotion),
        // Changing and withdrawing one's request are tested in deployments.rs.
        ("updatePromotionRequest", Operation::RequestPromotion),
        ("withdrawPromotionRequest", Operation::RequestPromotion),
        ("approvePromotion", Operation::ApprovePromotion),
        // Rejecting is tested in deployments.rs; here the same operation.
        ("rejectPromotion", Operation::ApprovePromotion),
        ("rollback", Operation::OperateDeployment),
        // The rollout operations are tested in deployments.rs; here the same operation.
        ("promoteRollout", Operation::OperateDeployment),
        ("pauseRollout", Operation::OperateDeployment),
        ("resumeRollout", Operation::OperateDeployment),
        ("abortRollout", Operation::OperateDeployment),
        // Stopping a shadow is tested in deployments.rs; here the same operation.
        ("stopShadow", Operation::OperateDeployment),
        ("setRegistryTag", Operation::TagModel),
        // Deleting tags and aliases is tested in registry.rs; here the same operations.
        ("deleteRegistryTag", Operation::TagModel),
        ("setModelAlias", Operation::SetAlias),
        ("deleteModelAlias", Operation::SetAlias),
        ("deleteModelVersion", Operation::DeleteModel),
        // Renaming, deleting a model, a version's description and its stage are tested in
        // lifecycle.rs; here the same operations.
        ("renameModel", Operation::UpdateModel),
        ("updateModelVersion", Operation::UpdateModel),
        ("deleteModel", Operation::DeleteModel),
        ("transitionModelVersionStage", Operation::SetAlias),
        // Binding OpenLineage jobs is tested in openlineage.rs; here the same operation.
        ("bindLineageJob", Operation::UpdateModel),
        ("unbindLineageJob", Operation::UpdateModel),
        ("documentModel", Operation::DocumentModel),
    ]
}

#[tokio::test]
async fn every_mutation_leaves_exactly_one_event() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token(
        "acme",
        &[
            Role::ModelOwner,
            Role::PlatformAdmin,
            Role::PolicyAuthor,
            Role::Sre,
        ],
    );
    let officer = app.token("acme", &[Role::GovernanceOfficer]);
    let viewer = app.token("acme", &[Role::Viewer]);
    let s = seed(&app, &owner).await;

    // The schema's mutations are exactly the ones listed, so a new one must be added here.
    let mut fields = schema_fields(&app, "MutationRoot");
    fields.sort();
    let mut listed: Vec<&str> = mutations().iter().map(|m| m.0).collect();
    listed.sort();
    assert_eq!(
        fields.iter().map(String::as_str).collect::<Vec<_>>(),
        listed,
        "every mutation of the schema is checked here"
    );

    for (n, (field, op)) in mutations().into_iter().enumerate() {
        // Allowed: one `ok` event (createTenant's goes to the new tenant's own log).
        let before = events(&app, &officer).await.len();
        let (q, vars) = call(op, &s, 1000 + n);
        let v = app.gql(&owner, &q, vars).await;
        assert!(v.get("errors").is_none(), "{field}: {v}");
        let after = events(&app, &officer).await;
        if op == Operation::CreateTenant {
            assert_eq!(after.len(), before, "{field}: nothing in the creator's log");
            let slug = format!("t{}", 1000 + n);
            let new_officer = app.token(&slug, &[Role::GovernanceOfficer]);
            let new_log = events(&app, &new_officer).await;
            assert_eq!(
                new_log.len(),
                1,
                "{field}: the new tenant's log opens with its creation"
            );
            assert_eq!(
                (
                    new_log[0]["action"].as_str(),
                    new_log[0]["outcome"].as_str()
                ),
                (Some("tenant.create"), Some("OK"))
            );
        } else {
            assert_eq!(after.len(), before + 1, "{field}: exactly one event");
            let e = &after[before];
            assert_eq!(
                (e["action"].as_str(), e["outcome"].as_str()),
                (Some(op.as_str()), Some("OK")),
                "{field}: {e}"
            );
            assert!(e["requestId"].as_str().is_some_and(|r| !r.is_empty()));
        }

        // Denied: one `denied` event in the caller's log.
        let before = after.len();
        let (q, vars) = call(op, &s, 2000 + n);
        let v = app.gql(&viewer, &q, vars).await;
        assert_eq!(code(&v), "FORBIDDEN", "{field}");
        let after = events(&app, &officer).await;
        assert_eq!(after.len(), before + 1, "{field}: exactly one denied event");
        assert_eq!(
            (
                after[before]["action"].as_str(),
                after[before]["outcome"].as_str()
            ),
            (Some(op.as_str()), Some("DENIED"))
        );
    }

    // Failed after authorization (a duplicate name): one `failed` event naming the error.
    let before = events(&app, &officer).await.len();
    let v = app
        .gql(
            &owner,
            REGISTER_MODEL,
            json!({"i": {"name": "fraud", "ownerTeam": "t", "riskTier": "LOW"}}),
        )
        .await;
    assert_eq!(code(&v), "CONFLICT");
    let after = events(&app, &officer).await;
    assert_eq!(after.len(), before + 1);
    assert_eq!(after[before]["outcome"], "FAILED");
    assert_eq!(after[before]["payload"]["error"]["code"], "CONFLICT");
    // Sequence numbers are gapless.
    for (i, e) in after.iter().enumerate() {
        assert_eq!(e["seq"], json!(i));
    }
}

#[tokio::test]
async fn a_failing_audit_write_refuses_the_mutation_and_leaves_no_trace() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token(
        "acme",
        &[
            Role::ModelOwner,
            Role::PolicyAuthor,
            Role::Sre,
            Role::PlatformAdmin,
        ],
    );
    let s = seed(&app, &owner).await;
    let snapshot = "{ models { nodes { name latestVersion description tags } } datasets { nodes { name latestVersion } }
        policies { nodes { name activeRevisionNumber revisions { nodes { number } } } } policyBindings { id removedAt }
        decisionRecords { nodes { id } } }";
    let before = app.ok(&owner, snapshot, json!({})).await;
    let sabotage = if app.db.is_postgres() {
        "CREATE FUNCTION fail_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql;
         CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION fail_audit()"
    } else {
        "CREATE TRIGGER fail_audit BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    };
    for stmt in sabotage.split(";\n") {
        app.db.execute(stmt).await.unwrap();
    }
    for (n, (field, op)) in mutations().into_iter().enumerate() {
        if op == Operation::CreateTenant {
            continue;
        }
        let (q, vars) = call(op, &s, 3000 + n);
        let v = app.gql(&owner, &q, vars).await;
        assert_eq!(code(&v), "UNAVAILABLE", "{field}: {v}");
    }
    let admin = app.token("acme", &[Role::PlatformAdmin]);
    let v = app
        .gql(
            &admin,
            "mutation { createTenant(input: {slug: \"never\", name: \"n\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&v), "UNAVAILABLE", "{v}");
    assert_eq!(
        app.ok(&owner, snapshot, json!({})).await,
        before,
        "no mutation left a trace"
    );
    let ghost = app.token("never", &[Role::Viewer]);
    let (status, _) = app
        .raw(
            Some(&ghost),
            json!({"query": "{ me { tenant } }"}).to_string(),
        )
        .await;
    assert_eq!(status, 401, "the tenant was not created");
}

#[tokio::test]
async fn audit_tables_refuse_update_and_delete() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    seed(&app, &app.token("acme", &[Role::ModelOwner])).await;
    for sql in [
        "UPDATE audit_events SET action = 'model.nothing'",
        "DELETE FROM audit_events",
        "UPDATE audit_nodes SET hash = '00'",
        "DELETE FROM audit_nodes",
    ] {
        let err = app.db.execute(sql).await.expect_err(sql);
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
}

#[tokio::test]
async fn proofs_verify_against_signed_checkpoints() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let officer = app.token("acme", &[Role::GovernanceOfficer]);
    seed(&app, &owner).await;
    let first = app
        .ok(
            &officer,
            "{ auditCheckpoint { treeSize rootHash signed publicKeyPem } }",
            json!({}),
        )
        .await["auditCheckpoint"]
        .clone();
    for i in 0..7 {
        app.ok(
            &owner,
            REGISTER_DATASET,
            json!({"i": {"name": format!("extra{i}")}}),
        )
        .await;
    }
    let cp = app
        .ok(
            &officer,
            "{ auditCheckpoint { treeSize rootHash signed publicKeyPem } }",
            json!({}),
        )
        .await["auditCheckpoint"]
        .clone();
    let signed = SignedCheckpoint::from_json(cp["signed"].as_str().unwrap()).unwrap();
    let key = steward_audit::PublicKey::from_text(cp["publicKeyPem"].as_str().unwrap()).unwrap();
    key.verify(&signed).unwrap();
    let size = cp["treeSize"].as_u64().unwrap();
    let root = Hash::from_hex(cp["rootHash"].as_str().unwrap()).unwrap();
    let log = events(&app, &officer).await;
    assert_eq!(log.len() as u64, size);
    for seq in 0..size {
        let p = app
            .ok(&officer, "query($s: Int!, $n: Int!) { auditInclusionProof(seq: $s, treeSize: $n) { leafHash proof rootHash } }", json!({"s": seq, "n": size}))
            .await["auditInclusionProof"]
            .clone();
        let leaf =
            steward_audit::leaf_hash(log[seq as usize]["canonical"].as_str().unwrap().as_bytes());
        assert_eq!(
            p["leafHash"],
            leaf.to_hex(),
            "the leaf is the hash of the event's canonical bytes"
        );
        let proof: Vec<Hash> = p["proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| Hash::from_hex(h.as_str().unwrap()).unwrap())
            .collect();
        tree::verify_inclusion(&leaf, seq, size, &proof, &root).unwrap();
    }
    let old = first["treeSize"].as_u64().unwrap();
    let c = app
        .ok(&officer, "query($a: Int!, $b: Int!) { auditConsistencyProof(fromSize: $a, toSize: $b) { proof fromRoot toRoot } }", json!({"a": old, "b": size}))
        .await["auditConsistencyProof"]
        .clone();
    assert_eq!(c["fromRoot"], first["rootHash"]);
    let proof: Vec<Hash> = c["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_hex(h.as_str().unwrap()).unwrap())
        .collect();
    let old_root = Hash::from_hex(first["rootHash"].as_str().unwrap()).unwrap();
    tree::verify_consistency(old, size, &proof, &old_root, &root).unwrap();
    for (q, vars) in [
        (
            "query($s: Int!, $n: Int!) { auditInclusionProof(seq: $s, treeSize: $n) { rootHash } }",
            json!({"s": size, "n": size}),
        ),
        (
            "query($s: Int!, $n: Int!) { auditInclusionProof(seq: $s, treeSize: $n) { rootHash } }",
            json!({"s": 0, "n": size + 1}),
        ),
        (
            "query($s: Int!, $n: Int!) { auditConsistencyProof(fromSize: $s, toSize: $n) { toRoot } }",
            json!({"s": size, "n": old}),
        ),
    ] {
        assert_eq!(code(&app.gql(&officer, q, vars).await), "INVALID");
    }
}

async fn export(app: &TestApp, token: &str, query: &str) -> (u16, Vec<u8>) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let req = axum::http::Request::get(format!("/v1/audit/export{query}"))
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = app.router.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    (
        status,
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
}

#[tokio::test]
async fn exports_verify_offline_and_secrets_stay_hidden() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let officer = app.token("acme", &[Role::GovernanceOfficer]);
    let s = seed(&app, &owner).await;
    app.ok(&owner, "mutation($i: TrainingRunInput!) { recordTrainingRun(input: $i) { id } }",
        json!({"i": {"codeCommit": "abc", "parameters": {"api_token": "s3cr3t-value", "eta": 0.1}}})).await;
    for i in 0..5 {
        app.ok(&owner, REGISTER_VERSION, json!({"i": {"modelId": s.model, "artifactUri": format!("s3://m/x{i}"), "artifactDigest": digest(), "framework": "f"}})).await;
    }
    let (status, bundle) = export(&app, &officer, "").await;
    assert_eq!(status, 200);
    let text = String::from_utf8(bundle.clone()).unwrap();
    assert!(
        !text.contains("s3cr3t-value"),
        "secrets never appear in clear"
    );
    assert!(text.contains("hmac-sha256"));
    // The auditor trusts the key they obtained earlier (here: from auditCheckpoint).
    let pem = app
        .ok(&officer, "{ auditCheckpoint { publicKeyPem } }", json!({}))
        .await["auditCheckpoint"]["publicKeyPem"]
        .as_str()
        .unwrap()
        .to_string();
    let trusted = VerifyOptions {
        trusted_key: Some(steward_audit::PublicKey::from_text(&pem).unwrap()),
        ..Default::default()
    };
    let summary = verify_bundle(&bundle, &trusted).unwrap();
    assert_eq!(summary.event_count, summary.tree_size);
    // A part of the log verifies too.
    let (_, part) = export(&app, &officer, "?from=2&to=6").await;
    let part_summary = verify_bundle(&part, &trusted).unwrap();
    assert_eq!((part_summary.first_seq, part_summary.event_count), (2, 4));
    // A flipped byte in an event is caught.
    let mut tampered = bundle.clone();
    let at = text.find("s3://m/x3").unwrap();
    tampered[at + 6] = b'y';
    let err = verify_bundle(&tampered, &trusted).unwrap_err();
    let line = text[..at].matches('\n').count() as u64; // line 0 is the header: seq = line - 1
    assert_eq!(
        err.to_string(),
        format!(
            "event seq {}: altered: its bytes do not hash to the leaf the signed tree commits to",
            line - 1
        )
    );
    // Only governance officers export; bad ranges are refused.
    assert_eq!(export(&app, &owner, "").await.0, 403);
    assert_eq!(export(&app, &officer, "?from=5&to=2").await.0, 400);
    assert_eq!(export(&app, &officer, "?from=-1").await.0, 400);
    assert_eq!(export(&app, "garbage", "").await.0, 401);
}
