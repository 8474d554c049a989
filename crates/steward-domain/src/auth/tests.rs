//! The permission matrix's tests.

use super::*;

#[test]
fn role_names_round_trip() {
    for role in Role::ALL {
        assert_eq!(role.as_str().parse::<Role>(), Ok(role));
    }
    assert!("admin".parse::<Role>().is_err());
    assert!("Viewer".parse::<Role>().is_err());
}

#[test]
fn principal_without_tenant_has_no_scope() {
    let p = Principal::system(SystemActor::DemoSeeder, "new", None);
    assert!(p.scope().is_none());
    assert!(p.may(Operation::CreateTenant));
    assert_eq!(p.subject(), "system:demo_seeder");
}

#[test]
fn system_actors_may_only_their_row() {
    let s = Principal::system(SystemActor::Scheduler, "t", Some(TenantId::generate()));
    assert!(s.may(Operation::EvaluatePolicy));
    assert!(!s.may(Operation::RegisterModel));
    assert!(!s.may(Operation::ReadAudit));
    assert!(s.may(Operation::EvaluateWindows));
    assert!(
        !s.may(Operation::ManageIncident),
        "people acknowledge incidents"
    );
    let r = Principal::system(SystemActor::OutboxRelay, "t", None);
    assert!(Operation::ALL.iter().all(|op| r.may(*op)
        == matches!(
            op,
            Operation::ReadRegistry
                | Operation::ReadPolicies
                | Operation::ReadMonitoring
                | Operation::DeliverActions
        )));
}
