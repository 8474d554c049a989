//! Binding resolution: the most specific binding wins and the choice is explained.

use steward_policy::binding::{
    Binding, BindingTarget, ModelFacts, Selector, Specificity, resolve, validate,
};
use steward_policy::context::RiskTier;

fn b(id: &str, target: BindingTarget) -> Binding {
    Binding {
        id: id.into(),
        policy: format!("policy-{id}"),
        target,
    }
}

fn sel(tags: &[&str], risk: Option<RiskTier>, pattern: Option<&str>) -> BindingTarget {
    BindingTarget::Selector(Selector {
        tags: tags.iter().map(|t| t.to_string()).collect(),
        risk_tier: risk,
        name_pattern: pattern.map(str::to_string),
    })
}

fn fraud() -> ModelFacts {
    ModelFacts {
        id: "m-1".into(),
        name: "fraud-eu".into(),
        tags: vec!["payments".into(), "eu".into()],
        risk_tier: RiskTier::High,
    }
}

#[test]
fn most_specific_binding_wins() {
    let all = [
        b("default", BindingTarget::TenantDefault),
        b("payments", sel(&["payments"], None, None)),
        b(
            "high-payments",
            sel(&["payments"], Some(RiskTier::High), None),
        ),
        b("pattern", sel(&[], None, Some("fraud-*"))),
        b(
            "other-model",
            BindingTarget::Model {
                model_id: "m-2".into(),
            },
        ),
        b(
            "this-model",
            BindingTarget::Model {
                model_id: "m-1".into(),
            },
        ),
        b("low-only", sel(&[], Some(RiskTier::Low), None)),
    ];
    // (bindings available, expected winner, expected specificity)
    let cases: [(&[&str], Option<&str>, Option<Specificity>); 6] = [
        (
            &[
                "default",
                "payments",
                "high-payments",
                "pattern",
                "this-model",
            ],
            Some("this-model"),
            Some(Specificity::Model),
        ),
        (
            &["default", "payments", "high-payments", "pattern"],
            Some("high-payments"),
            Some(Specificity::Selector(2)),
        ),
        (
            &["default", "payments"],
            Some("payments"),
            Some(Specificity::Selector(1)),
        ),
        (
            &["default", "low-only", "other-model"],
            Some("default"),
            Some(Specificity::TenantDefault),
        ),
        (&["low-only", "other-model"], None, None),
        (
            &["pattern", "payments"],
            Some("pattern"),
            Some(Specificity::Selector(1)),
        ),
    ];
    for (ids, winner, specificity) in cases {
        let bindings: Vec<Binding> = all
            .iter()
            .filter(|x| ids.contains(&x.id.as_str()))
            .cloned()
            .collect();
        let got = resolve(&fraud(), &bindings);
        assert_eq!(
            got.as_ref().map(|r| r.binding.id.as_str()),
            winner,
            "{ids:?}"
        );
        assert_eq!(got.as_ref().map(|r| r.specificity), specificity, "{ids:?}");
    }
    // Equal specificity: stable choice by id, and the tie is reported.
    let tie = vec![all[3].clone(), all[1].clone()];
    let r = resolve(&fraud(), &tie).unwrap();
    assert_eq!(r.binding.id, "pattern");
    assert_eq!(
        r.explain(),
        "binding pattern (selector with 1 criteria), tied with payments and chosen by id"
    );
}

#[test]
fn invalid_bindings_are_refused() {
    assert!(validate(&b("empty", sel(&[], None, None))).is_err());
    assert!(
        validate(&b(
            "blank",
            BindingTarget::Model {
                model_id: String::new()
            }
        ))
        .is_err()
    );
    assert!(validate(&b("ok", sel(&["x"], None, None))).is_ok());
}
