//! System actors: Steward's own callers act under their own row of the matrix and are audited
//! as `system:<name>`; no token can pass for one.

use std::time::Duration;

use serde_json::json;
use steward_domain::{NewTenant, Principal, Role, SystemActor};
use steward_service::auth::mint_hs256;
use steward_service::tenancy::{Tenancy, within};

use crate::app::*;

#[tokio::test]
async fn a_token_cannot_pass_for_a_system_actor() {
    let app = TestApp::new().await;
    app.tenant("acme").await;
    for sub in ["system:scheduler", "system:demo_seeder", "system:"] {
        let token = mint_hs256(
            &app.auth,
            sub,
            "acme",
            &[Role::PlatformAdmin, Role::GovernanceOfficer],
            Duration::from_secs(60),
        )
        .unwrap();
        let (status, v) = app
            .raw(
                Some(&token),
                json!({"query": "{ models { nodes { id } } }"}).to_string(),
            )
            .await;
        assert_eq!(status.as_u16(), 401, "{sub}: {v}");
        assert_eq!(code(&v), "UNAUTHENTICATED", "{sub}: {v}");
    }
}

#[tokio::test]
async fn system_actors_are_audited_as_such_and_held_to_their_row() {
    let app = TestApp::new().await;
    let seeder = Principal::system(SystemActor::DemoSeeder, "acme", None);
    let acme = app
        .service
        .create_tenant(
            &seeder,
            NewTenant {
                slug: "acme".into(),
                name: "Acme".into(),
            },
        )
        .await
        .unwrap();
    // The scheduler may not register anything; the denial is audited under its name.
    // (Its passes run within the tenant they work for, as here.)
    let scheduler = Principal::system(SystemActor::Scheduler, "acme", Some(acme.id));
    let attempt = app.service.register_model(
        &scheduler,
        steward_domain::NewModel {
            name: "m".into(),
            description: String::new(),
            owner_team: "t".into(),
            risk_tier: steward_domain::RiskTier::Low,
            tags: vec![],
        },
    );
    let denied = within(Tenancy::Tenant(acme.id), attempt).await;
    assert!(denied.is_err());
    let officer = app.token("acme", &[Role::GovernanceOfficer]);
    let v = app
        .ok(
            &officer,
            "{ auditEvents(first: 10) { nodes { action outcome actor { sub roles } } } }",
            json!({}),
        )
        .await;
    let events = v["auditEvents"]["nodes"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{v}");
    assert_eq!(events[0]["actor"]["sub"], "system:demo_seeder", "{v}");
    assert_eq!(events[0]["action"], "tenant.create");
    assert_eq!(events[1]["actor"]["sub"], "system:scheduler", "{v}");
    assert_eq!(events[1]["actor"]["roles"], json!([]), "{v}");
    assert_eq!(events[1]["action"], "model.register");
    assert_eq!(
        events[1]["outcome"]
            .as_str()
            .map(str::to_lowercase)
            .as_deref(),
        Some("denied")
    );
}
