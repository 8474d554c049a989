//! Every example policy in policies/ passes its own tests (what `steward policy test policies/`
//! runs in CI), and every example checks clean.

use std::path::PathBuf;

use steward_policy::{PolicyEngine, fs};

fn policies_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

#[test]
fn example_policies_pass_their_tests() {
    let engine = PolicyEngine::default();
    let report = fs::run_test_dir(&engine, &policies_dir()).expect("policies/ is readable");
    println!("{report}");
    assert!(report.suites.len() >= 5, "at least five example policies");
    assert!(report.success(), "{report}");
}

#[test]
fn example_policies_check_without_diagnostics() {
    let engine = PolicyEngine::default();
    for suite in fs::load_suites(&policies_dir()).unwrap() {
        let diagnostics = engine.check(&suite.policy_name, &suite.policy_source);
        assert!(
            diagnostics.is_empty(),
            "{}: {diagnostics:?}",
            suite.policy_name
        );
    }
}
