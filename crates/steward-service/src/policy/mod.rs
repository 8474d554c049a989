//! Policy use cases: policies and their revisions, bindings to models, and evaluations that
//! leave a decision record.
//!
//! Evaluation is CPU-bound and synchronous (`steward-policy`), so it never runs on the async
//! runtime: [`PolicyRuntime`] takes a permit from a semaphore (at most
//! [`PolicySettings::max_concurrent`] evaluations at once, plus a smaller lane for revisions
//! that ran away last time) and runs the work on tokio's blocking pool. A runaway script is
//! stopped by its own limits (wall clock, operations ...); meanwhile it holds one permit and one
//! blocking thread, never a runtime worker, and never a write lock: the decision record is
//! written in a short transaction after the evaluation.

mod read;
mod replay;
mod runtime;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use steward_domain::{
    BindingTarget, DecisionRecord, Model, ModelVersionId, NewDecisionRecord, NewPolicy,
    NewPolicyBinding, NewPolicyRevision, Operation, Policy, PolicyBinding, PolicyBindingId,
    PolicyHook, PolicyId, PolicyResolution, PolicyRevision, Principal, RiskTier, TenantScope,
};
use steward_policy as sp;
use tracing::Instrument;

use crate::audit::Record;
use crate::{Service, ServiceError, ServiceResult, Writes};

pub use replay::{MAX_REPLAY_WINDOWS, PolicyReplay, ReplayedWindow};
pub(crate) use runtime::PolicyRuntime;
pub use runtime::PolicySettings;

/// What governs a model: the binding that chose the policy, the policy and its published
/// revision.
pub(crate) struct Governing {
    pub resolution: PolicyResolution,
    pub policy: Policy,
    pub revision: PolicyRevision,
}

/// A proposed revision as stored, with what the linter had to say.
#[derive(Clone, Debug)]
pub struct ProposedRevision {
    pub revision: PolicyRevision,
    /// Linter warnings (`policy:line:col: warning[code]: message`); errors refuse the proposal.
    pub warnings: Vec<String>,
    /// False when the policy already had a revision with this exact source (it is returned).
    pub created: bool,
}

/// An evaluation request: the model version being monitored or promoted, the hook, and the
/// context the hook receives, without `model` (Steward fills that in from the registry so a
/// caller cannot claim another risk tier or name).
#[derive(Clone, Debug)]
pub struct EvaluatePolicy {
    pub model_version_id: ModelVersionId,
    pub hook: PolicyHook,
    pub context: Value,
}

fn tier(t: RiskTier) -> sp::context::RiskTier {
    match t {
        RiskTier::High => sp::context::RiskTier::High,
        RiskTier::Medium => sp::context::RiskTier::Medium,
        RiskTier::Low => sp::context::RiskTier::Low,
    }
}

fn engine_binding(b: &PolicyBinding) -> sp::binding::Binding {
    use sp::binding::{BindingTarget as T, Selector};
    sp::binding::Binding {
        id: b.id.to_string(),
        policy: b.policy_id.to_string(),
        target: match &b.target {
            BindingTarget::Model(m) => T::Model {
                model_id: m.to_string(),
            },
            BindingTarget::Selector {
                tags,
                risk_tier,
                name_pattern,
            } => T::Selector(Selector {
                tags: tags.clone(),
                risk_tier: risk_tier.map(tier),
                name_pattern: name_pattern.clone(),
            }),
            BindingTarget::TenantDefault => T::TenantDefault,
        },
    }
}

/// Parses the caller's context into the hook's typed context, with `model` filled in from the
/// registry. Errors name the path inside `input.context`.
fn parse_context<T: DeserializeOwned>(context: Value, model: Value) -> ServiceResult<T> {
    let Value::Object(mut map) = context else {
        return Err(ServiceError::Invalid(
            "input.context: must be a JSON object".into(),
        ));
    };
    if map.contains_key("model") {
        return Err(ServiceError::Invalid(
            "input.context.model: Steward fills this in from modelVersionId; remove it".into(),
        ));
    }
    map.insert("model".into(), model);
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        let path = e.path().to_string();
        let at = if path == "." {
            "input.context".to_string()
        } else {
            format!("input.context.{path}")
        };
        ServiceError::Invalid(format!("{at}: {}", e.inner()))
    })
}

fn compile_error(e: &sp::CompileError) -> String {
    e.diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

fn revision_payload(r: &PolicyRevision) -> Value {
    json!({"policyId": r.policy_id.to_string(), "number": r.number, "hash": r.hash, "note": r.note,
           "status": r.status.as_str(), "sourceBytes": r.source.len()})
}

fn binding_payload(b: &PolicyBinding) -> Value {
    let target = match &b.target {
        BindingTarget::Model(m) => json!({"kind": "model", "modelId": m.to_string()}),
        BindingTarget::Selector {
            tags,
            risk_tier,
            name_pattern,
        } => json!({"kind": "selector", "tags": tags, "riskTier": risk_tier.map(RiskTier::as_str),
                    "namePattern": name_pattern}),
        BindingTarget::TenantDefault => json!({"kind": "tenant_default"}),
    };
    json!({"id": b.id.to_string(), "policyId": b.policy_id.to_string(), "target": target,
           "removed": b.removed_at.is_some()})
}

impl Service {
    pub async fn create_policy(
        &self,
        principal: &Principal,
        input: NewPolicy,
    ) -> ServiceResult<Policy> {
        let target = ("policy", input.name.clone());
        self.mutate(principal, Operation::CreatePolicy, target, async |m: Writes| {
            input.validate()?;
            let p = self
                .store
                .create_policy(&m.tx, &m.scope, principal.subject(), &input)
                .await?;
            let after = json!({"after": {"id": p.id.to_string(), "name": p.name, "description": p.description}});
            let record = Record::new("policy", p.id, after);
            Ok((p, record))
        })
        .await
    }

    /// Compiles and lints the source (off the runtime), then stores it as a draft revision.
    pub async fn propose_policy_revision(
        &self,
        principal: &Principal,
        input: NewPolicyRevision,
    ) -> ServiceResult<ProposedRevision> {
        let target = ("policy", input.policy_id.to_string());
        let a = self
            .attempt(principal, Operation::ProposePolicyRevision, target)
            .await?;
        let checked = async {
            input.validate()?;
            let policy = self
                .store
                .policy(&a.scope, input.policy_id)
                .await?
                .ok_or(ServiceError::NotFound("policy"))?;
            let (name, source) = (policy.name.clone(), input.source.clone());
            let compiled = self
                .policy
                .compile(move |engine| {
                    let compiled = engine.compile(&name, &source)?;
                    Ok::<_, sp::CompileError>((
                        compiled.hash(),
                        compiled
                            .warnings()
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>(),
                        engine.schedule(&compiled),
                    ))
                })
                .await?;
            let (hash, warnings, schedule) = compiled.map_err(|e| {
                ServiceError::Invalid(format!(
                    "input.source: does not compile:\n{}",
                    compile_error(&e)
                ))
            })?;
            if let Err(e) = schedule {
                return Err(ServiceError::Invalid(format!(
                    "input.source: schedule() fails: {e}"
                )));
            }
            Ok::<_, ServiceError>((hash.to_string(), warnings))
        }
        .await;
        let (hash, warnings) = match checked {
            Ok(c) => c,
            Err(e) => return self.reject(a, e).await,
        };
        self.complete(a, async |m: Writes| {
            let (revision, created) = self
                .store
                .add_policy_revision(&m.tx, &m.scope, principal.subject(), &input, &hash)
                .await?;
            let mut p = revision_payload(&revision);
            p["created"] = json!(created);
            p["warnings"] = json!(warnings.len());
            let record = Record::new("policy", revision.policy_id, p);
            let proposed = ProposedRevision {
                revision,
                warnings,
                created,
            };
            Ok((proposed, record))
        })
        .await
    }

    /// Makes revision `number` the active one. Publishing an earlier revision is how a policy is
    /// rolled back; publishing the active one changes nothing (and is still audited).
    pub async fn publish_policy_revision(
        &self,
        principal: &Principal,
        policy: PolicyId,
        number: i64,
    ) -> ServiceResult<PolicyRevision> {
        let target = ("policy", policy.to_string());
        self.mutate(
            principal,
            Operation::PublishPolicy,
            target,
            async |m: Writes| {
                let a = self
                    .store
                    .activate_policy_revision(&m.tx, &m.scope, principal.subject(), policy, number)
                    .await?;
                let mut p = revision_payload(&a.revision);
                p["previous"] = json!(a.previous);
                p["changed"] = json!(a.changed);
                Ok((a.revision, Record::new("policy", policy, p)))
            },
        )
        .await
    }

    pub async fn bind_policy(
        &self,
        principal: &Principal,
        input: NewPolicyBinding,
    ) -> ServiceResult<PolicyBinding> {
        let target = ("policy", input.policy_id.to_string());
        self.mutate(
            principal,
            Operation::BindPolicy,
            target,
            async |m: Writes| {
                let input = input.validate()?;
                let b = self
                    .store
                    .create_policy_binding(&m.tx, &m.scope, principal.subject(), &input)
                    .await?;
                let record = Record::new(
                    "policy_binding",
                    b.id,
                    json!({"after": binding_payload(&b)}),
                );
                Ok((b, record))
            },
        )
        .await
    }

    /// Removes a binding (kept, marked removed). Removing it again changes nothing.
    pub async fn unbind_policy(
        &self,
        principal: &Principal,
        id: PolicyBindingId,
    ) -> ServiceResult<PolicyBinding> {
        let target = ("policy_binding", id.to_string());
        self.mutate(
            principal,
            Operation::UnbindPolicy,
            target,
            async |m: Writes| {
                let (b, changed) = self
                    .store
                    .remove_policy_binding(&m.tx, &m.scope, principal.subject(), id)
                    .await?;
                let p = json!({"after": binding_payload(&b), "changed": changed});
                Ok((b, Record::new("policy_binding", id, p)))
            },
        )
        .await
    }

    /// Evaluates the policy that governs the version's model and stores the decision record.
    /// A script that fails or hits a limit still yields a record (outcome `failed`, with the
    /// limit); only a request that cannot be evaluated at all (no binding, no published
    /// revision, a malformed context) is refused.
    pub async fn evaluate_policy(
        &self,
        principal: &Principal,
        input: EvaluatePolicy,
    ) -> ServiceResult<DecisionRecord> {
        let target = ("model_version", input.model_version_id.to_string());
        let a = self
            .attempt(principal, Operation::EvaluatePolicy, target)
            .await?;
        let record = match self.evaluate_in(&a.scope, principal, input).await {
            Ok(r) => r,
            Err(e) => return self.reject(a, e).await,
        };
        self.complete(a, async |m: Writes| {
            let rec = self
                .store
                .insert_decision_record(&m.tx, &m.scope, &record)
                .await?;
            let p = json!({"policyId": rec.policy_id.to_string(), "revision": rec.revision_number,
                "revisionHash": rec.revision_hash, "bindingId": rec.binding_id.to_string(),
                "hook": rec.hook.as_str(), "modelVersionId": rec.model_version_id.to_string(),
                "inputHash": rec.input_hash, "outcome": rec.outcome["outcome"], "limitHit": rec.limit_hit});
            let audit = Record::new("decision_record", rec.id, p);
            Ok((rec, audit))
        })
        .await
    }

    /// Everything an evaluation reads and computes, before anything is written.
    pub(crate) async fn evaluate_in(
        &self,
        scope: &TenantScope,
        principal: &Principal,
        input: EvaluatePolicy,
    ) -> ServiceResult<NewDecisionRecord> {
        let size = input.context.to_string().len();
        if size > steward_domain::MAX_POLICY_CONTEXT_BYTES {
            return Err(ServiceError::Invalid(format!(
                "input.context: is {size} bytes; at most {} are accepted",
                steward_domain::MAX_POLICY_CONTEXT_BYTES
            )));
        }
        let version = self
            .store
            .model_version(scope, input.model_version_id)
            .await?
            .ok_or(ServiceError::NotFound("model version"))?;
        let model = self
            .store
            .model(scope, version.model_id)
            .await?
            .ok_or(ServiceError::NotFound("model"))?;
        let Governing {
            resolution,
            policy,
            revision,
        } = self.governing(scope, &model).await?;
        let number = revision.number;
        let model_info = json!({"id": model.id.to_string(), "name": model.name,
            "version": version.version.to_string(), "tags": model.tags,
            "risk_tier": model.risk_tier.as_str()});
        // The engine compiles (and caches) by this same hash, so the record names what ran.
        let hash = sp::ContentHash::of(&revision.source);
        if hash.to_string() != revision.hash {
            return Err(ServiceError::Internal(format!(
                "policy {} revision {number}: stored hash does not match its source",
                policy.id
            )));
        }
        let (name, source, expected) = (policy.name.clone(), revision.source, revision.hash);
        let span = tracing::info_span!(
            "policy.evaluate",
            steward.tenant = %principal.tenant_slug(),
            steward.model = %model.name,
            steward.model_version = %version.version,
            policy.name = %policy.name,
            policy.revision = number,
            policy.hook = input.hook.as_str(),
            decision.outcome = tracing::field::Empty,
            decision.limit_hit = tracing::field::Empty,
        );
        let record = match input.hook {
            PolicyHook::OnWindow => {
                let ctx: sp::WindowContext = parse_context(input.context, model_info)?;
                self.policy
                    .evaluate(hash, move |engine| {
                        let compiled = engine.compile(&name, &source)?;
                        let eval = engine.evaluate_on_window(&compiled, &ctx);
                        Ok(sp::DecisionRecord::for_window(compiled.hash(), &ctx, &eval))
                    })
                    .instrument(span.clone())
                    .await?
            }
            PolicyHook::OnPromotion => {
                let ctx: sp::PromotionContext = parse_context(input.context, model_info)?;
                self.policy
                    .evaluate(hash, move |engine| {
                        let compiled = engine.compile(&name, &source)?;
                        let eval = engine.evaluate_on_promotion(&compiled, &ctx);
                        Ok(sp::DecisionRecord::for_promotion(
                            compiled.hash(),
                            &ctx,
                            &eval,
                        ))
                    })
                    .instrument(span.clone())
                    .await?
            }
        };
        self.count_evaluation(input.hook, &record);
        if let Ok(r) = &record {
            use sp::revision::RecordOutcome as O;
            let word = match &r.outcome {
                O::Decisions { decisions } if decisions.is_empty() => "no_decision",
                O::Decisions { .. } => "decisions",
                O::Verdict { .. } => "verdict",
                O::Failed { .. } => "failed",
            };
            span.record("decision.outcome", word);
            span.record("decision.limit_hit", r.limit_hit.map(|l| l.as_str()));
        }
        let record = record.map_err(|e: sp::CompileError| {
            ServiceError::Precondition(format!(
                "revision {number} of policy `{}` does not compile on this server: {}",
                policy.name,
                compile_error(&e)
            ))
        })?;
        Ok(NewDecisionRecord {
            policy_id: policy.id,
            revision_number: number,
            revision_hash: expected,
            binding_id: resolution.binding.id,
            resolution: resolution.explanation,
            model_id: model.id,
            model_version_id: version.id,
            hook: input.hook,
            input_hash: record.input_hash.to_string(),
            input: sp::value::canonical_json(&record.input),
            outcome: serde_json::to_value(&record.outcome)
                .map_err(|e| ServiceError::Internal(format!("decision outcome: {e}")))?,
            log: record.log,
            duration_us: i64::try_from(record.duration_us).unwrap_or(i64::MAX),
            limit_hit: record.limit_hit.map(|l| l.as_str().to_string()),
            evaluated_by: principal.subject().to_string(),
            created_at: self.now(),
        })
    }

    /// Counts one evaluation in the metrics: its outcome, duration and any limit it hit.
    fn count_evaluation(
        &self,
        hook: PolicyHook,
        record: &Result<sp::DecisionRecord, sp::CompileError>,
    ) {
        let hook = hook.as_str();
        match record {
            Ok(r) => {
                let outcome = match (&r.outcome, r.limit_hit) {
                    (_, Some(_)) => "limit",
                    (sp::revision::RecordOutcome::Failed { .. }, None) => "failed",
                    _ => "ok",
                };
                let limit = r.limit_hit.map(|l| l.as_str());
                let seconds = r.duration_us as f64 / 1e6;
                self.metrics
                    .policy_evaluation(hook, outcome, limit, seconds);
            }
            Err(_) => self
                .metrics
                .policy_evaluation(hook, "compile_error", None, 0.0),
        }
    }

    /// The binding, policy and published revision that govern `model`; a `Precondition` error
    /// says what is missing (no binding, no published revision).
    pub(crate) async fn governing(
        &self,
        scope: &TenantScope,
        model: &Model,
    ) -> ServiceResult<Governing> {
        let resolution = self.resolve_binding(scope, model).await?.ok_or_else(|| {
            ServiceError::Precondition(format!(
                "no policy governs model `{}`: bind one to it, to a selector matching it, or as the tenant default",
                model.name
            ))
        })?;
        let policy = self
            .store
            .policy(scope, resolution.binding.policy_id)
            .await?
            .ok_or(ServiceError::NotFound("policy"))?;
        let number = policy.active_revision.ok_or_else(|| {
            ServiceError::Precondition(format!(
                "policy `{}` ({}) has no published revision; publish one first",
                policy.name, resolution.explanation
            ))
        })?;
        let revision = self
            .store
            .policy_revision(scope, policy.id, number)
            .await?
            .ok_or_else(|| ServiceError::Internal(format!("active revision {number} missing")))?;
        Ok(Governing {
            resolution,
            policy,
            revision,
        })
    }

    /// The live binding that governs `model`, most specific first, with the explanation.
    async fn resolve_binding(
        &self,
        scope: &TenantScope,
        model: &Model,
    ) -> ServiceResult<Option<PolicyResolution>> {
        let live = self.store.live_policy_bindings(scope, None).await?;
        let engine_bindings: Vec<_> = live.iter().map(engine_binding).collect();
        Ok(resolve_among(&live, &engine_bindings, model))
    }
}

/// Which of the `live` bindings (and the same bindings as the engine sees them) governs
/// `model`, with why: the engine's rules, in memory.
pub(crate) fn resolve_among(
    live: &[PolicyBinding],
    engine_bindings: &[sp::binding::Binding],
    model: &Model,
) -> Option<PolicyResolution> {
    let facts = sp::binding::ModelFacts {
        id: model.id.to_string(),
        name: model.name.clone(),
        tags: model.tags.clone(),
        risk_tier: tier(model.risk_tier),
    };
    let resolution = sp::binding::resolve(&facts, engine_bindings)?;
    let explanation = resolution.explain();
    let chosen = resolution.binding.id.clone();
    live.iter()
        .find(|b| b.id.to_string() == chosen)
        .map(|binding| PolicyResolution {
            binding: binding.clone(),
            explanation,
        })
}
