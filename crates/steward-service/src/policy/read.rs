//! Policy reads: policies, revisions, bindings, which policy governs a model, decision records
//! and the inputs they were evaluated on.

use serde_json::Value;
use steward_domain::{
    DecisionRecord, DecisionRecordFilter, DecisionRecordId, Model, ModelId, Operation, Page,
    PageRequest, Policy, PolicyBinding, PolicyBindingId, PolicyId, PolicyResolution,
    PolicyRevision, Principal, validate,
};

use crate::registry::check_page;
use crate::{Service, ServiceError, ServiceResult, scope_for};

impl Service {
    pub async fn policies(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> ServiceResult<Page<Policy>> {
        let scope = scope_for(principal, Operation::ReadPolicies)?;
        check_page(&page)?;
        Ok(self.store.list_policies(&scope, &page).await?)
    }

    pub async fn policy(&self, principal: &Principal, id: PolicyId) -> ServiceResult<Policy> {
        let scope = scope_for(principal, Operation::ReadPolicies)?;
        self.store
            .policy(&scope, id)
            .await?
            .ok_or(ServiceError::NotFound("policy"))
    }

    pub async fn policy_by_name(&self, principal: &Principal, name: &str) -> ServiceResult<Policy> {
        let scope = scope_for(principal, Operation::ReadPolicies)?;
        validate::text("name", name, validate::MAX_NAME_LEN)?;
        self.store
            .policy_by_name(&scope, name)
            .await?
            .ok_or(ServiceError::NotFound("policy"))
    }

    pub async fn policy_revisions(
        &self,
        principal: &Principal,
        policy: PolicyId,
        page: PageRequest,
    ) -> ServiceResult<Page<PolicyRevision>> {
        let scope = scope_for(principal, Operation::ReadPolicies)?;
        check_page(&page)?;
        Ok(self.store.policy_revisions(&scope, policy, &page).await?)
    }

    pub async fn policy_revision(
        &self,
        principal: &Principal,
        policy: PolicyId,
        number: i64,
    ) -> ServiceResult<PolicyRevision> {
        let scope = scope_for(principal, Operation::ReadPolicies)?;
        self.store
            .policy_revision(&scope, policy, number)
            .await?
            .ok_or(ServiceError::NotFound("policy revision"))
    }

    /// The live bindings of one policy, or of the whole tenant.
    pub async fn policy_bindings(
        &self,
        principal: &Principal,
        policy: Option<PolicyId>,
    ) -> ServiceResult<Vec<PolicyBinding>> {
        let scope = scope_for(principal, Operation::ReadPolicies)?;
        if let Some(p) = policy {
            self.store
                .policy(&scope, p)
                .await?
                .ok_or(ServiceError::NotFound("policy"))?;
        }
        Ok(self.store.live_policy_bindings(&scope, policy).await?)
    }

    pub async fn policy_binding(
        &self,
        principal: &Principal,
        id: PolicyBindingId,
    ) -> ServiceResult<PolicyBinding> {
        let scope = scope_for(principal, Operation::ReadPolicies)?;
        self.store
            .policy_binding(&scope, id)
            .await?
            .ok_or(ServiceError::NotFound("policy binding"))
    }

    /// Which policy governs `model` right now, and why; `None` when nothing is bound.
    pub async fn policy_resolution(
        &self,
        principal: &Principal,
        model: ModelId,
    ) -> ServiceResult<Option<PolicyResolution>> {
        let scope = scope_for(principal, Operation::ReadPolicies)?;
        let model = self
            .store
            .model(&scope, model)
            .await?
            .ok_or(ServiceError::NotFound("model"))?;
        self.resolve_binding(&scope, &model).await
    }

    /// For each of `models`, the policy that governs it and its published revision (`None`:
    /// no policy governs it): the tenant's bindings read once and resolved in memory, for pages
    /// listing many models.
    pub async fn policy_coverage(
        &self,
        principal: &Principal,
        models: &[Model],
    ) -> ServiceResult<Vec<Option<(Policy, PolicyResolution)>>> {
        let scope = scope_for(principal, Operation::ReadPolicies)?;
        let live = self.store.live_policy_bindings(&scope, None).await?;
        let engine_bindings: Vec<_> = live.iter().map(super::engine_binding).collect();
        let mut policies: std::collections::BTreeMap<PolicyId, Option<Policy>> =
            std::collections::BTreeMap::new();
        let mut out = Vec::with_capacity(models.len());
        for m in models {
            let Some(res) = super::resolve_among(&live, &engine_bindings, m) else {
                out.push(None);
                continue;
            };
            let id = res.binding.policy_id;
            if let std::collections::btree_map::Entry::Vacant(e) = policies.entry(id) {
                e.insert(self.store.policy(&scope, id).await?);
            }
            out.push(policies.get(&id).cloned().flatten().map(|p| (p, res)));
        }
        Ok(out)
    }

    /// Decision records, newest first. A filter naming another tenant's policy or model reads
    /// as NOT_FOUND, exactly like one naming nothing.
    pub async fn decision_records(
        &self,
        principal: &Principal,
        filter: DecisionRecordFilter,
        page: PageRequest,
    ) -> ServiceResult<Page<DecisionRecord>> {
        let scope = scope_for(principal, Operation::ReadPolicies)?;
        check_page(&page)?;
        if let Some(p) = filter.policy_id {
            self.store
                .policy(&scope, p)
                .await?
                .ok_or(ServiceError::NotFound("policy"))?;
        }
        if let Some(m) = filter.model_id {
            self.store
                .model(&scope, m)
                .await?
                .ok_or(ServiceError::NotFound("model"))?;
        }
        Ok(self.store.decision_records(&scope, &filter, &page).await?)
    }

    pub async fn decision_record(
        &self,
        principal: &Principal,
        id: DecisionRecordId,
    ) -> ServiceResult<DecisionRecord> {
        let scope = scope_for(principal, Operation::ReadPolicies)?;
        self.store
            .decision_record(&scope, id)
            .await?
            .ok_or(ServiceError::NotFound("decision record"))
    }

    /// The input context a decision record was evaluated on, as stored (canonical JSON).
    pub async fn decision_input(
        &self,
        principal: &Principal,
        record: &DecisionRecord,
    ) -> ServiceResult<Value> {
        let scope = scope_for(principal, Operation::ReadPolicies)?;
        let body = self
            .store
            .policy_input(&scope, &record.input_hash)
            .await?
            .ok_or(ServiceError::NotFound("decision input"))?;
        serde_json::from_str(&body)
            .map_err(|e| ServiceError::Internal(format!("stored policy input unreadable: {e}")))
    }
}
