//! Decisions a policy returns, the promotion verdict, and their rhai constructors.
//!
//! A policy never acts: `alert(...)` builds a value describing an alert; the service records
//! it with the revision hash and carries it out through the outbox (architecture invariant 4).
//! Arguments are validated here so a bad severity or an empty key fails the evaluation with
//! the script position, instead of surfacing later in a notification worker.

use std::collections::BTreeMap;
use std::fmt;

use rhai::{Dynamic, EvalAltResult, ImmutableString, Map, Module, NativeCallContext};
use serde::{Deserialize, Serialize};

use crate::value::dynamic_to_json;

/// How urgent an alert is; the notification channel maps it to its own levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    const NAMES: [(&'static str, Severity); 4] = [
        ("info", Self::Info),
        ("warning", Self::Warning),
        ("error", Self::Error),
        ("critical", Self::Critical),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Critical => "critical",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::NAMES.iter().find(|(n, _)| *n == s).map(|(_, v)| *v)
    }
}

/// One thing a policy wants done after an `on_window` evaluation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Decision {
    /// Notify people through a channel (a configured notification channel name).
    Alert {
        severity: Severity,
        summary: String,
        channel: String,
    },
    /// Open an incident, idempotent per key while it is open.
    OpenIncident { key: String, summary: String },
    /// Resolve the open incident with this key, if any.
    ResolveIncident { key: String },
    /// Trigger a retraining job on an orchestrator, optionally on a data slice.
    Retrain {
        orchestrator: String,
        job: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        slice: BTreeMap<String, serde_json::Value>,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        params: BTreeMap<String, serde_json::Value>,
    },
    /// Roll the deployment back to the last good version.
    Rollback { reason: String },
    /// Attach a note to the model's timeline.
    Annotate { text: String },
}

impl Decision {
    /// The decision's name as written in scripts and test files (`alert`, `retrain`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Alert { .. } => "alert",
            Self::OpenIncident { .. } => "open_incident",
            Self::ResolveIncident { .. } => "resolve_incident",
            Self::Retrain { .. } => "retrain",
            Self::Rollback { .. } => "rollback",
            Self::Annotate { .. } => "annotate",
        }
    }

    /// The decision as JSON, the shape used in decision records and test files.
    pub fn to_json(&self) -> serde_json::Value {
        // Serializing this enum cannot fail: every field is a string, map or JSON value.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json().to_string())
    }
}

/// The answer of `on_promotion`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Verdict {
    /// The candidate may be promoted now.
    Allow,
    /// The candidate must not be promoted.
    Deny { reason: String },
    /// The candidate needs `count` distinct approvals by principals holding `role`
    /// (in total, counting the approvals already in the context). The service evaluates the
    /// policy again after each approval.
    RequireApproval { role: String, count: u32 },
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let json = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        f.write_str(&json.to_string())
    }
}

/// The roles a `require_approval` may name (the platform's role list).
pub const ROLES: [&str; 7] = [
    "viewer",
    "model_owner",
    "policy_author",
    "sre",
    "governance_officer",
    "service",
    "platform_admin",
];

/// Name and arity of every decision and verdict constructor, for the linter.
pub const CONSTRUCTORS: [(&str, usize); 9] = [
    ("alert", 3),
    ("open_incident", 2),
    ("resolve_incident", 1),
    ("retrain", 1),
    ("rollback", 1),
    ("annotate", 1),
    ("allow", 0),
    ("deny", 1),
    ("require_approval", 2),
];

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

fn fail<T>(ctx: &NativeCallContext, message: String) -> RhaiResult<T> {
    Err(Box::new(EvalAltResult::ErrorRuntime(
        message.into(),
        ctx.call_position(),
    )))
}

fn non_empty(ctx: &NativeCallContext, func: &str, arg: &str, value: &str) -> RhaiResult<String> {
    if value.trim().is_empty() {
        return fail(ctx, format!("{func}: `{arg}` must not be empty"));
    }
    Ok(value.to_string())
}

fn alert(
    ctx: NativeCallContext,
    severity: &str,
    summary: &str,
    channel: &str,
) -> RhaiResult<Decision> {
    let Some(severity) = Severity::parse(severity) else {
        let names: Vec<_> = Severity::NAMES.iter().map(|(n, _)| *n).collect();
        return fail(
            &ctx,
            format!(
                "alert: unknown severity {severity:?}, expected one of {}",
                names.join(", ")
            ),
        );
    };
    Ok(Decision::Alert {
        severity,
        summary: non_empty(&ctx, "alert", "summary", summary)?,
        channel: non_empty(&ctx, "alert", "channel", channel)?,
    })
}

fn open_incident(ctx: NativeCallContext, key: &str, summary: &str) -> RhaiResult<Decision> {
    Ok(Decision::OpenIncident {
        key: non_empty(&ctx, "open_incident", "key", key)?,
        summary: non_empty(&ctx, "open_incident", "summary", summary)?,
    })
}

fn resolve_incident(ctx: NativeCallContext, key: &str) -> RhaiResult<Decision> {
    Ok(Decision::ResolveIncident {
        key: non_empty(&ctx, "resolve_incident", "key", key)?,
    })
}

fn rollback(ctx: NativeCallContext, reason: &str) -> RhaiResult<Decision> {
    Ok(Decision::Rollback {
        reason: non_empty(&ctx, "rollback", "reason", reason)?,
    })
}

fn annotate(ctx: NativeCallContext, text: &str) -> RhaiResult<Decision> {
    Ok(Decision::Annotate {
        text: non_empty(&ctx, "annotate", "text", text)?,
    })
}

fn json_object(
    ctx: &NativeCallContext,
    field: &str,
    value: Option<&Dynamic>,
) -> RhaiResult<BTreeMap<String, serde_json::Value>> {
    let Some(value) = value.filter(|v| !v.is_unit()) else {
        return Ok(BTreeMap::new());
    };
    match dynamic_to_json(value) {
        Ok(serde_json::Value::Object(map)) => Ok(map.into_iter().collect()),
        Ok(_) => fail(
            ctx,
            format!(
                "retrain: `{field}` must be a map, got {}",
                value.type_name()
            ),
        ),
        Err(e) => fail(ctx, format!("retrain: `{field}`: {e}")),
    }
}

fn retrain(ctx: NativeCallContext, spec: Map) -> RhaiResult<Decision> {
    const KNOWN: [&str; 4] = ["orchestrator", "job", "slice", "params"];
    if let Some(unknown) = spec.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return fail(
            &ctx,
            format!(
                "retrain: unknown field `{unknown}`, expected {}",
                KNOWN.join(", ")
            ),
        );
    }
    let text = |field: &str| -> RhaiResult<String> {
        match spec
            .get(field)
            .and_then(|v| v.read_lock::<ImmutableString>().map(|s| s.to_string()))
        {
            Some(s) => non_empty(&ctx, "retrain", field, &s),
            None => fail(
                &ctx,
                format!("retrain: `{field}` is required and must be a string"),
            ),
        }
    };
    Ok(Decision::Retrain {
        orchestrator: text("orchestrator")?,
        job: text("job")?,
        slice: json_object(&ctx, "slice", spec.get("slice"))?,
        params: json_object(&ctx, "params", spec.get("params"))?,
    })
}

fn deny(ctx: NativeCallContext, reason: &str) -> RhaiResult<Verdict> {
    Ok(Verdict::Deny {
        reason: non_empty(&ctx, "deny", "reason", reason)?,
    })
}

fn require_approval(ctx: NativeCallContext, role: &str, count: i64) -> RhaiResult<Verdict> {
    if !ROLES.contains(&role) {
        return fail(
            &ctx,
            format!(
                "require_approval: unknown role {role:?}, expected one of {}",
                ROLES.join(", ")
            ),
        );
    }
    match u32::try_from(count) {
        Ok(count @ 1..=10) => Ok(Verdict::RequireApproval {
            role: role.to_string(),
            count,
        }),
        _ => fail(
            &ctx,
            format!("require_approval: count must be between 1 and 10, got {count}"),
        ),
    }
}

/// Registers the decision and verdict types and their constructors into `module`.
pub(crate) fn register(module: &mut Module) {
    module.set_native_fn(
        "alert",
        |ctx: NativeCallContext, s: &str, m: &str, c: &str| alert(ctx, s, m, c),
    );
    module.set_native_fn(
        "open_incident",
        |ctx: NativeCallContext, k: &str, s: &str| open_incident(ctx, k, s),
    );
    module.set_native_fn("resolve_incident", |ctx: NativeCallContext, k: &str| {
        resolve_incident(ctx, k)
    });
    module.set_native_fn("retrain", |ctx: NativeCallContext, spec: Map| {
        retrain(ctx, spec)
    });
    module.set_native_fn("rollback", |ctx: NativeCallContext, r: &str| {
        rollback(ctx, r)
    });
    module.set_native_fn("annotate", |ctx: NativeCallContext, t: &str| {
        annotate(ctx, t)
    });
    module.set_native_fn("allow", || Ok(Verdict::Allow));
    module.set_native_fn("deny", |ctx: NativeCallContext, r: &str| deny(ctx, r));
    module.set_native_fn(
        "require_approval",
        |ctx: NativeCallContext, role: &str, n: i64| require_approval(ctx, role, n),
    );
    // Printing a decision shows its JSON form; `kind` lets scripts inspect what they built.
    module.set_native_fn("to_string", |d: &mut Decision| Ok(d.to_string()));
    module.set_native_fn("to_debug", |d: &mut Decision| Ok(d.to_string()));
    module.set_native_fn("to_string", |v: &mut Verdict| Ok(v.to_string()));
    module.set_native_fn("to_debug", |v: &mut Verdict| Ok(v.to_string()));
    module.set_getter_fn("kind", |d: &mut Decision| Ok(d.kind().to_string()));
}
