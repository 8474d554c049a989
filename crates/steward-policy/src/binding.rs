//! Which policy applies to a model: binding resolution, a pure function.
//!
//! A policy is bound to one model, to the models a selector matches (tags, risk tier, name
//! pattern) within a tenant, or as the tenant's default. The most specific binding wins:
//! a model binding beats any selector, a selector with more criteria beats one with fewer,
//! any selector beats the default. Ties are broken by binding id so the answer is stable,
//! and reported, so the service can record which binding applied and warn about the tie.
//! The caller passes only the bindings of the model's tenant.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::context::RiskTier;

/// What a selector matches; all criteria given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    /// The model carries every one of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub risk_tier: Option<RiskTier>,
    /// A glob over the model name: `*` any run of characters, `?` one character.
    #[serde(default)]
    pub name_pattern: Option<String>,
}

impl Selector {
    /// How many kinds of criteria are given (0..=3); more is more specific.
    pub fn criteria(&self) -> u8 {
        u8::from(!self.tags.is_empty())
            + u8::from(self.risk_tier.is_some())
            + u8::from(self.name_pattern.is_some())
    }

    pub fn matches(&self, model: &ModelFacts) -> bool {
        self.tags.iter().all(|t| model.tags.contains(t))
            && self.risk_tier.is_none_or(|r| r == model.risk_tier)
            && self
                .name_pattern
                .as_deref()
                .is_none_or(|p| glob(p, &model.name))
    }
}

/// What a binding attaches a policy to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BindingTarget {
    Model { model_id: String },
    Selector(Selector),
    TenantDefault,
}

/// One binding of a policy within a tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub id: String,
    pub policy: String,
    pub target: BindingTarget,
}

/// What resolution needs to know about a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelFacts {
    pub id: String,
    pub name: String,
    pub tags: Vec<String>,
    pub risk_tier: RiskTier,
}

/// How specific a binding is; the derived order is "less specific first".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "criteria", rename_all = "snake_case")]
pub enum Specificity {
    TenantDefault,
    Selector(u8),
    Model,
}

impl fmt::Display for Specificity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TenantDefault => f.write_str("tenant default"),
            Self::Selector(n) => write!(f, "selector with {n} criteria"),
            Self::Model => f.write_str("model binding"),
        }
    }
}

/// The binding that applies, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution<'a> {
    pub binding: &'a Binding,
    pub specificity: Specificity,
    /// Other bindings that matched just as specifically and lost the tie on id.
    pub tied_with: Vec<&'a Binding>,
}

impl Resolution<'_> {
    /// A sentence for the decision record, e.g. `binding b-7 (selector with 2 criteria)`.
    pub fn explain(&self) -> String {
        let mut s = format!("binding {} ({})", self.binding.id, self.specificity);
        if !self.tied_with.is_empty() {
            let ids: Vec<&str> = self.tied_with.iter().map(|b| b.id.as_str()).collect();
            s.push_str(&format!(", tied with {} and chosen by id", ids.join(", ")));
        }
        s
    }
}

/// A binding that can never be right.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BindingError {
    #[error(
        "binding {0}: a selector needs at least one criterion (use the tenant default instead)"
    )]
    EmptySelector(String),
    #[error("binding {0}: empty name pattern or model id")]
    Empty(String),
}

/// Validates a binding before it is stored.
pub fn validate(binding: &Binding) -> Result<(), BindingError> {
    match &binding.target {
        BindingTarget::Selector(s) if s.criteria() == 0 => {
            Err(BindingError::EmptySelector(binding.id.clone()))
        }
        BindingTarget::Selector(Selector {
            name_pattern: Some(p),
            ..
        }) if p.is_empty() => Err(BindingError::Empty(binding.id.clone())),
        BindingTarget::Model { model_id } if model_id.is_empty() => {
            Err(BindingError::Empty(binding.id.clone()))
        }
        _ => Ok(()),
    }
}

fn specificity(binding: &Binding, model: &ModelFacts) -> Option<Specificity> {
    match &binding.target {
        BindingTarget::Model { model_id } => (model_id == &model.id).then_some(Specificity::Model),
        BindingTarget::Selector(s) => {
            (s.criteria() > 0 && s.matches(model)).then(|| Specificity::Selector(s.criteria()))
        }
        BindingTarget::TenantDefault => Some(Specificity::TenantDefault),
    }
}

/// The binding that applies to `model`, or `None` when nothing (not even a default) does.
pub fn resolve<'a>(model: &ModelFacts, bindings: &'a [Binding]) -> Option<Resolution<'a>> {
    let mut matching: Vec<(Specificity, &Binding)> = bindings
        .iter()
        .filter_map(|b| specificity(b, model).map(|s| (s, b)))
        .collect();
    // Most specific first; among equals, smallest id first.
    matching.sort_by(|(sa, a), (sb, b)| match sb.cmp(sa) {
        Ordering::Equal => a.id.cmp(&b.id),
        other => other,
    });
    let (specificity, binding) = *matching.first()?;
    let tied_with = matching
        .iter()
        .skip(1)
        .take_while(|(s, _)| *s == specificity)
        .map(|(_, b)| *b)
        .collect();
    Some(Resolution {
        binding,
        specificity,
        tied_with,
    })
}

/// Glob matching with `*` and `?`, iterative with backtracking to the last `*`.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_like_a_shell() {
        for (p, t, ok) in [
            ("fraud-*", "fraud-eu", true),
            ("*-eu", "fraud-eu", true),
            ("f?aud*", "fraud", true),
            ("fraud", "fraud-eu", false),
            ("*a*b", "xaxxb", true),
            ("*a*b", "xaxxc", false),
        ] {
            assert_eq!(glob(p, t), ok, "{p} vs {t}");
        }
    }
}
