//! The permission matrix, cell by cell: the documented table equals the code, and each cell
//! behaves so through the GraphQL API (allowed cells are never FORBIDDEN, denied cells always are,
//! and a denied mutation writes nothing).

use serde_json::{Value, json};
use steward_domain::auth::allows;
use steward_domain::{Operation, Role, SystemActor, system_allows};

use crate::app::*;

/// The table of `section` in docs/permissions.md: its column names (after `operation` and
/// `what`) and, per operation row in order, the `yes`/`no` cells.
fn documented(section: &str) -> (Vec<String>, Vec<(Operation, Vec<bool>)>) {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/permissions.md"
    ))
    .unwrap();
    let start = doc
        .find(section)
        .unwrap_or_else(|| panic!("docs/permissions.md has no `{section}`"));
    let text = &doc[start..];
    let table: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("| operation |"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    let cells = |l: &str| -> Vec<String> {
        l.split('|')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect()
    };
    let columns = cells(table[0]).into_iter().skip(2).collect();
    let rows = table
        .iter()
        .filter(|l| l.starts_with("| `"))
        .map(|row| {
            let c = cells(row);
            let name = c[0].trim_matches('`');
            let op = *Operation::ALL
                .iter()
                .find(|o| o.as_str() == name)
                .unwrap_or_else(|| panic!("unknown operation {name}"));
            (op, c[2..].iter().map(|v| v == "yes").collect())
        })
        .collect();
    (columns, rows)
}

#[test]
fn documented_matrix_equals_the_code() {
    let (columns, rows) = documented("# Permissions");
    let roles: Vec<Role> = columns.iter().map(|r| r.parse().unwrap()).collect();
    assert_eq!(
        roles,
        Role::ALL.to_vec(),
        "docs/permissions.md must list every role"
    );
    for (op, cells) in &rows {
        for (role, yes) in roles.iter().zip(cells) {
            assert_eq!(
                allows(*role, *op),
                *yes,
                "docs/permissions.md: {role} x {op}"
            );
        }
    }
    let ops: Vec<Operation> = rows.iter().map(|r| r.0).collect();
    assert_eq!(
        ops,
        Operation::ALL.to_vec(),
        "docs/permissions.md must list every operation, in order"
    );
}

#[test]
fn documented_system_actors_equal_the_code() {
    let (columns, rows) = documented("## System actors");
    let names: Vec<&str> = SystemActor::ALL.iter().map(|a| a.as_str()).collect();
    assert_eq!(
        columns, names,
        "docs/permissions.md must list every system actor"
    );
    for (op, cells) in &rows {
        for (actor, yes) in SystemActor::ALL.iter().zip(cells) {
            assert_eq!(
                system_allows(*actor, *op),
                *yes,
                "docs/permissions.md: {} x {op}",
                actor.as_str()
            );
        }
    }
    let ops: Vec<Operation> = rows.iter().map(|r| r.0).collect();
    assert_eq!(ops, Operation::ALL.to_vec(), "every operation, in order");
}

/// One call per operation, written so that it succeeds when allowed (an approval: of the
/// request SREs approve, or model owners for odd `n`, so that two calls in a row by one
/// principal holding both roles answer two requests).
pub fn call(op: Operation, s: &Seeded, n: usize) -> (String, Value) {
    let role = if n.is_multiple_of(2) {
        Role::Sre
    } else {
        Role::ModelOwner
    };
    call_as(op, s, n, role)
}

/// One call per operation, written so that it succeeds when allowed for `role` (an approval
/// answers the request that role may approve).
pub fn call_as(op: Operation, s: &Seeded, n: usize, role: Role) -> (String, Value) {
    let (q, i): (&str, Value) = match op {
        Operation::ReadRegistry => ("query($i: ID!) { model(id: $i) { id } }", json!(s.model)),
        Operation::RegisterModel => (
            REGISTER_MODEL,
            json!({"name": format!("m{n}"), "ownerTeam": "t", "riskTier": "LOW"}),
        ),
        Operation::UpdateModel => (
            "mutation($i: UpdateModelInput!) { updateModel(input: $i) { id } }",
            json!({"id": s.model, "description": format!("d{n}")}),
        ),
        Operation::RegisterModelVersion => (
            REGISTER_VERSION,
            json!({"modelId": s.model, "artifactUri": "s3://x", "artifactDigest": digest(), "framework": "f"}),
        ),
        Operation::RegisterDataset => (REGISTER_DATASET, json!({"name": format!("d{n}")})),
        Operation::RegisterDatasetVersion => (
            REGISTER_DATASET_VERSION,
            json!({"datasetId": s.dataset, "uri": "s3://x", "contentHash": digest(), "rowCount": 1}),
        ),
        Operation::RecordTrainingRun => (
            "mutation($i: TrainingRunInput!) { recordTrainingRun(input: $i) { id } }",
            json!({"codeCommit": "c"}),
        ),
        Operation::CreateTenant => (
            "mutation($i: CreateTenantInput!) { createTenant(input: $i) { id } }",
            json!({"slug": format!("t{n}"), "name": "t"}),
        ),
        Operation::ReadAudit => (
            "query($i: Int) { auditCheckpoint { treeSize } auditEvents(first: $i) { nodes { seq } } }",
            json!(5),
        ),
        Operation::ReadPlatformAudit => (
            "query($i: Int) { auditEvents(first: $i) { nodes { seq action } } }",
            json!(5),
        ),
        Operation::ReadPolicies => (
            "query($i: ID!) { policy(id: $i) { activeRevision { number } bindings { id } } decisionRecords(policyId: $i) { nodes { id input } } }",
            json!(s.policy),
        ),
        Operation::CreatePolicy => (CREATE_POLICY, json!({"name": format!("p{n}")})),
        Operation::ProposePolicyRevision => (
            PROPOSE,
            json!({"policyId": s.policy, "source": format!("{TENANT_DEFAULT_POLICY}\n// {n}\n")}),
        ),
        // Publishing the active revision again is allowed and changes nothing.
        Operation::PublishPolicy => (PUBLISH, json!({"policyId": s.policy, "number": 1})),
        Operation::BindPolicy => (
            BIND,
            json!({"policyId": s.policy, "selector": {"tags": [format!("t{n}")]}}),
        ),
        // Removing a removed binding is allowed and changes nothing.
        Operation::UnbindPolicy => (
            "mutation($i: UnbindPolicyInput!) { unbindPolicy(input: $i) { id removedAt } }",
            json!({"bindingId": s.selector_binding}),
        ),
        Operation::EvaluatePolicy => (
            EVALUATE,
            json!({"modelVersionId": s.version, "hook": "ON_WINDOW", "context": window_context(0.5)}),
        ),
        Operation::ReadMonitoring => (
            "query($i: ID!) { monitorConfig(modelId: $i) { sliceColumns } incidents(modelId: $i) { id timeline { kind } actions { kind } } pendingActions(modelId: $i) { kind } }",
            json!(s.model),
        ),
        // Activating the active baseline again is allowed and changes nothing.
        Operation::WriteBaseline => (
            "mutation($i: ID!) { activateBaseline(baselineId: $i) { id active } }",
            json!(s.baseline),
        ),
        Operation::ConfigureMonitoring => (
            "mutation($i: ConfigureMonitoringInput!) { configureMonitoring(input: $i) { latenessSeconds } }",
            json!({"modelId": s.model, "latenessSeconds": n % 100}),
        ),
        Operation::IngestObservations => {
            let path = format!("POST /v1/model-versions/{}/observations", s.version);
            let body = predictions(40, 0.5, None);
            return (
                path,
                json!({"i": {"contentType": "application/x-ndjson", "body": body}}),
            );
        }
        Operation::EvaluateWindows => (
            "mutation($i: ID!) { evaluateNow(modelVersionId: $i) { windowId } }",
            json!(s.version),
        ),
        // Acknowledging an acknowledged incident is allowed and changes nothing.
        Operation::ManageIncident => (
            "mutation($i: IncidentNoteInput!) { acknowledgeIncident(input: $i) { status } }",
            json!({"incidentId": s.incident, "note": format!("on it {n}")}),
        ),
        // Putting the same target again replaces it.
        Operation::ManageDeliveryTargets => (
            "mutation($i: PutDeliveryTargetInput!) { putDeliveryTarget(input: $i) { name hasSecret } }",
            json!({"name": "oncall", "kind": "WEBHOOK", "url": "http://127.0.0.1:9/hook",
                "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "description": format!("call {n}")}),
        ),
        // Nothing is due, so a pass claims nothing.
        Operation::DeliverActions => ("mutation { deliverNow { claimed } }", Value::Null),
        // Placing a hold again replaces the one in force.
        Operation::HoldModel => (
            "mutation($i: PlaceHoldInput!) { placeHold(input: $i) { active } }",
            json!({"modelId": s.model, "reason": format!("contaminated data {n}")}),
        ),
        Operation::ManageEndpoints => (
            CREATE_ENDPOINT,
            json!({"modelId": s.model, "name": format!("e{n}"), "environment": "prod",
                "championVersionId": s.version, "reason": "a new endpoint"}),
        ),
        // A shadow of the champion: the policy answers (here: awaiting an approval).
        Operation::RequestPromotion => (
            REQUEST_PROMOTION,
            json!({"endpointId": s.endpoint, "candidateVersionId": s.version,
                "artifactDigest": digest(), "mode": "SHADOW", "plan": {"mirrorPercent": 10},
                "reason": format!("shadow {n}")}),
        ),
        // One of nine approvals the request needs: it stays awaiting.
        Operation::ApprovePromotion => {
            let i = match role {
                Role::GovernanceOfficer => 0,
                Role::ModelOwner => 2,
                _ => 1,
            };
            (
                "mutation($i: RequestReasonInput!) { approvePromotion(input: $i) { status } }",
                json!({"requestId": s.approval_requests[i], "reason": format!("looks right {n}")}),
            )
        }
        Operation::TagModel => (
            "mutation($i: SetRegistryTagInput!) { setRegistryTag(input: $i) { key } }",
            json!({"modelId": s.model, "key": format!("k{n}"), "value": "v"}),
        ),
        Operation::SetAlias => (
            "mutation($i: SetModelAliasInput!) { setModelAlias(input: $i) { alias } }",
            json!({"modelId": s.model, "alias": format!("a{n}"), "version": 1}),
        ),
        Operation::DocumentModel => (
            "mutation($i: DocumentModelInput!) { documentModel(input: $i) { revision } }",
            json!({"modelId": s.model, "intendedUse": format!("use {n}"), "limitations": "", "humanOversight": ""}),
        ),
        Operation::ReadCompliance => (
            "query($i: ID!) { complianceReport(modelId: $i) }",
            json!(s.model),
        ),
        // Deleting a deleted version is allowed and changes nothing.
        Operation::DeleteModel => (
            "mutation($i: ID!) { deleteModelVersion(versionId: $i) { deletedAt } }",
            json!(s.doomed_version),
        ),
        // Rolling back to the first revision again is allowed: a new revision each time.
        Operation::OperateDeployment => (
            "mutation($i: RollbackInputGql!) { rollback(input: $i) { number change } }",
            json!({"endpointId": s.rollback_endpoint, "reason": format!("drill {n}"), "toRevision": 1}),
        ),
    };
    (q.to_string(), json!({"i": i}))
}

#[tokio::test]
async fn every_cell_through_the_api() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    let owner = app.token("acme", &[Role::ModelOwner]);
    let s = seed(&app, &owner).await;
    let mut n = 0;
    for role in Role::ALL {
        let token = app.token("acme", &[role]);
        for op in Operation::ALL {
            n += 1;
            let (q, vars) = call_as(op, &s, n, role);
            let before = app.ok(&owner, "{ models { nodes { name latestVersion description } } datasets { nodes { name latestVersion } } }", json!({})).await;
            let got = app.probe(&token, &q, vars).await;
            // The platform view of the audit log is one field that the full view also serves.
            let allowed = allows(role, op)
                || (op == Operation::ReadPlatformAudit && allows(role, Operation::ReadAudit));
            if allowed {
                assert!(
                    got.get("errors").is_none(),
                    "{role} x {op} should be allowed: {got}"
                );
            } else {
                assert_eq!(
                    code(&got),
                    "FORBIDDEN",
                    "{role} x {op} should be forbidden: {got}"
                );
                let msg = got["errors"][0]["message"].as_str().unwrap();
                assert!(
                    msg.contains(op.as_str()),
                    "the message names the operation: {msg}"
                );
                let after = app.ok(&owner, "{ models { nodes { name latestVersion description } } datasets { nodes { name latestVersion } } }", json!({})).await;
                assert_eq!(
                    before, after,
                    "{role} x {op}: a denied call changed the registry"
                );
            }
        }
    }
}
