//! Policies, their revisions and activation history, bindings, and decision records.
//!
//! A revision's content never changes (the table is append-only); which revision is active is the
//! policy row's `active_revision`, and every publication is an appended activation, so the status
//! of a revision (draft, active, superseded) and who published it are derived, never edited.

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use steward_domain::{
    BindingTarget, DecisionRecord, DecisionRecordFilter, DecisionRecordId, NewDecisionRecord,
    NewPolicy, NewPolicyBinding, NewPolicyRevision, Page, PageRequest, Policy, PolicyBinding,
    PolicyBindingId, PolicyId, PolicyRevision, RevisionStatus, TenantScope,
};
use uuid::Uuid;

use crate::datasets::version_cursor;
use crate::entities::{
    decision_records, models, policies, policy_activations, policy_bindings, policy_inputs,
    policy_revisions,
};
use crate::models::{decode_cursor, into_page};
use crate::{Store, StoreError, StoreResult, WriteTx, codec};

/// What a publication changed.
#[derive(Clone, Debug)]
pub struct Activation {
    /// The revision active before (None for the first publication).
    pub previous: Option<i64>,
    /// The revision now active, with its status and publisher.
    pub revision: PolicyRevision,
    /// False when the revision was already the active one (nothing was written).
    pub changed: bool,
}

/// Publication history of one policy: revision number -> its latest activation.
struct Publications {
    active: Option<i64>,
    latest: HashMap<i64, policy_activations::Model>,
}

impl Publications {
    fn revision(&self, row: policy_revisions::Model) -> PolicyRevision {
        let published = self.latest.get(&row.number);
        let status = if self.active == Some(row.number) {
            RevisionStatus::Active
        } else if published.is_some() {
            RevisionStatus::Superseded
        } else {
            RevisionStatus::Draft
        };
        PolicyRevision {
            policy_id: PolicyId::from_uuid(row.policy_id),
            number: row.number,
            hash: row.hash,
            source: row.source,
            note: row.note,
            status,
            created_by: row.created_by,
            created_at: row.created_at,
            published_by: published.map(|a| a.published_by.clone()),
            published_at: published.map(|a| a.published_at),
        }
    }
}

/// The policy row if it is the caller's tenant's.
async fn policy_row(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    id: PolicyId,
) -> StoreResult<Option<policies::Model>> {
    Ok(policies::Entity::find_by_id(id.as_uuid())
        .filter(policies::Column::TenantId.eq(scope.tenant_id().as_uuid()))
        .one(db)
        .await?)
}

fn policy(row: policies::Model) -> Policy {
    Policy {
        id: PolicyId::from_uuid(row.id),
        name: row.name,
        description: row.description,
        active_revision: row.active_revision,
        created_by: row.created_by,
        created_at: row.created_at,
    }
}

impl Store {
    pub async fn create_policy(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        actor: &str,
        input: &NewPolicy,
    ) -> StoreResult<Policy> {
        let now = Utc::now();
        let row = policies::ActiveModel {
            id: Set(PolicyId::generate().as_uuid()),
            tenant_id: Set(scope.tenant_id().as_uuid()),
            name: Set(input.name.clone()),
            description: Set(input.description.clone()),
            active_revision: Set(None),
            created_by: Set(actor.to_string()),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&tx.txn)
        .await
        .map_err(|e| {
            StoreError::unique(e, || {
                format!("a policy named `{}` already exists", input.name)
            })
        })?;
        Ok(policy(row))
    }

    pub async fn policy(&self, scope: &TenantScope, id: PolicyId) -> StoreResult<Option<Policy>> {
        Ok(policy_row(&self.db, scope, id).await?.map(policy))
    }

    pub async fn policy_by_name(
        &self,
        scope: &TenantScope,
        name: &str,
    ) -> StoreResult<Option<Policy>> {
        Ok(policies::Entity::find()
            .filter(policies::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(policies::Column::Name.eq(name))
            .one(&self.db)
            .await?
            .map(policy))
    }

    /// The tenant's policies by name.
    pub async fn list_policies(
        &self,
        scope: &TenantScope,
        page: &PageRequest,
    ) -> StoreResult<Page<Policy>> {
        let mut q = policies::Entity::find()
            .filter(policies::Column::TenantId.eq(scope.tenant_id().as_uuid()));
        if let Some(after) = &page.after {
            q = q.filter(policies::Column::Name.gt(decode_cursor(after)?));
        }
        let rows = q
            .order_by_asc(policies::Column::Name)
            .limit(u64::from(page.first) + 1)
            .all(&self.db)
            .await?;
        into_page(rows, page.first, |r| r.name.clone(), |r| Ok(policy(r)))
    }

    /// Locks the policy row for the rest of the transaction (PostgreSQL row lock; SQLite holds
    /// the database write lock already), so revision and activation numbers are handed out one at
    /// a time. NotFound when the policy is not the caller's.
    async fn lock_policy(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        id: PolicyId,
    ) -> StoreResult<policies::Model> {
        let locked = policies::Entity::update_many()
            .col_expr(policies::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(policies::Column::Id.eq(id.as_uuid()))
            .filter(policies::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .exec(&tx.txn)
            .await?;
        if locked.rows_affected == 0 {
            return Err(StoreError::NotFound("policy"));
        }
        policies::Entity::find_by_id(id.as_uuid())
            .one(&tx.txn)
            .await?
            .ok_or(StoreError::NotFound("policy"))
    }

    async fn publications(
        &self,
        db: &impl ConnectionTrait,
        policy: &policies::Model,
    ) -> StoreResult<Publications> {
        let rows = policy_activations::Entity::find()
            .filter(policy_activations::Column::PolicyId.eq(policy.id))
            .order_by_asc(policy_activations::Column::Seq)
            .all(db)
            .await?;
        let mut latest = HashMap::with_capacity(rows.len());
        for row in rows {
            latest.insert(row.revision_number, row);
        }
        Ok(Publications {
            active: policy.active_revision,
            latest,
        })
    }

    /// Stores a proposed revision as the policy's next number. Proposing a source the policy
    /// already has returns that revision instead (revisions are content-addressed), with `false`.
    pub async fn add_policy_revision(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        actor: &str,
        input: &NewPolicyRevision,
        hash: &str,
    ) -> StoreResult<(PolicyRevision, bool)> {
        let policy = self.lock_policy(tx, scope, input.policy_id).await?;
        let publications = self.publications(&tx.txn, &policy).await?;
        let existing = policy_revisions::Entity::find()
            .filter(policy_revisions::Column::PolicyId.eq(policy.id))
            .filter(policy_revisions::Column::Hash.eq(hash))
            .one(&tx.txn)
            .await?;
        if let Some(row) = existing {
            return Ok((publications.revision(row), false));
        }
        let last = policy_revisions::Entity::find()
            .filter(policy_revisions::Column::PolicyId.eq(policy.id))
            .order_by_desc(policy_revisions::Column::Number)
            .one(&tx.txn)
            .await?
            .map_or(0, |r| r.number);
        let row = policy_revisions::ActiveModel {
            tenant_id: Set(scope.tenant_id().as_uuid()),
            policy_id: Set(policy.id),
            number: Set(last + 1),
            hash: Set(hash.to_string()),
            source: Set(input.source.clone()),
            note: Set(input.note.clone()),
            created_by: Set(actor.to_string()),
            created_at: Set(Utc::now()),
        }
        .insert(&tx.txn)
        .await?;
        Ok((publications.revision(row), true))
    }

    /// One revision of one of the tenant's policies.
    pub async fn policy_revision(
        &self,
        scope: &TenantScope,
        policy: PolicyId,
        number: i64,
    ) -> StoreResult<Option<PolicyRevision>> {
        let Some(p) = policy_row(&self.db, scope, policy).await? else {
            return Ok(None);
        };
        let row = policy_revisions::Entity::find_by_id((p.id, number))
            .one(&self.db)
            .await?;
        match row {
            Some(row) => Ok(Some(self.publications(&self.db, &p).await?.revision(row))),
            None => Ok(None),
        }
    }

    /// A policy's revisions, newest first.
    pub async fn policy_revisions(
        &self,
        scope: &TenantScope,
        policy: PolicyId,
        page: &PageRequest,
    ) -> StoreResult<Page<PolicyRevision>> {
        let p = policy_row(&self.db, scope, policy)
            .await?
            .ok_or(StoreError::NotFound("policy"))?;
        let mut q =
            policy_revisions::Entity::find().filter(policy_revisions::Column::PolicyId.eq(p.id));
        if let Some(after) = &page.after {
            q = q.filter(policy_revisions::Column::Number.lt(version_cursor(after)?));
        }
        let rows = q
            .order_by_desc(policy_revisions::Column::Number)
            .limit(u64::from(page.first) + 1)
            .all(&self.db)
            .await?;
        let publications = self.publications(&self.db, &p).await?;
        into_page(
            rows,
            page.first,
            |r| r.number.to_string(),
            |r| Ok(publications.revision(r)),
        )
    }

    /// Makes revision `number` the active one and appends the activation. Publishing the
    /// revision that is already active changes nothing.
    pub async fn activate_policy_revision(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        actor: &str,
        policy: PolicyId,
        number: i64,
    ) -> StoreResult<Activation> {
        let p = self.lock_policy(tx, scope, policy).await?;
        let row = policy_revisions::Entity::find_by_id((p.id, number))
            .one(&tx.txn)
            .await?
            .ok_or(StoreError::NotFound("policy revision"))?;
        let previous = p.active_revision;
        if previous == Some(number) {
            let publications = self.publications(&tx.txn, &p).await?;
            return Ok(Activation {
                previous,
                revision: publications.revision(row),
                changed: false,
            });
        }
        let seq = policy_activations::Entity::find()
            .filter(policy_activations::Column::PolicyId.eq(p.id))
            .order_by_desc(policy_activations::Column::Seq)
            .one(&tx.txn)
            .await?
            .map_or(0, |a| a.seq + 1);
        policy_activations::ActiveModel {
            tenant_id: Set(scope.tenant_id().as_uuid()),
            policy_id: Set(p.id),
            seq: Set(seq),
            revision_number: Set(number),
            published_by: Set(actor.to_string()),
            published_at: Set(Utc::now()),
        }
        .insert(&tx.txn)
        .await?;
        let mut active: policies::ActiveModel = p.into();
        active.active_revision = Set(Some(number));
        let p = active.update(&tx.txn).await?;
        let publications = self.publications(&tx.txn, &p).await?;
        Ok(Activation {
            previous,
            revision: publications.revision(row),
            changed: true,
        })
    }

    pub async fn create_policy_binding(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        actor: &str,
        input: &NewPolicyBinding,
    ) -> StoreResult<PolicyBinding> {
        let tenant = scope.tenant_id().as_uuid();
        policy_row(&tx.txn, scope, input.policy_id)
            .await?
            .ok_or(StoreError::NotFound("policy"))?;
        let (model_id, tags, risk_tier, name_pattern) = match &input.target {
            BindingTarget::Model(m) => {
                models::Entity::find_by_id(m.as_uuid())
                    .filter(models::Column::TenantId.eq(tenant))
                    .one(&tx.txn)
                    .await?
                    .ok_or(StoreError::NotFound("model"))?;
                (Some(m.as_uuid()), Vec::new(), None, None)
            }
            BindingTarget::Selector {
                tags,
                risk_tier,
                name_pattern,
            } => (
                None,
                tags.clone(),
                risk_tier.map(|r| r.as_str().to_string()),
                name_pattern.clone(),
            ),
            BindingTarget::TenantDefault => (None, Vec::new(), None, None),
        };
        let row = policy_bindings::ActiveModel {
            id: Set(PolicyBindingId::generate().as_uuid()),
            tenant_id: Set(tenant),
            policy_id: Set(input.policy_id.as_uuid()),
            kind: Set(input.target.kind().to_string()),
            model_id: Set(model_id),
            tags: Set(codec::tags_to_json(&tags)),
            risk_tier: Set(risk_tier),
            name_pattern: Set(name_pattern),
            created_by: Set(actor.to_string()),
            created_at: Set(Utc::now()),
            removed_by: Set(None),
            removed_at: Set(None),
        }
        .insert(&tx.txn)
        .await
        .map_err(|e| {
            StoreError::unique(e, || match &input.target {
                BindingTarget::Model(m) => {
                    format!("model {m} already has a policy binding; unbind it first")
                }
                _ => "the tenant already has a default policy binding; unbind it first".into(),
            })
        })?;
        codec::policy_binding(row)
    }

    /// Marks a binding removed. Removing a removed binding changes nothing (`false`).
    pub async fn remove_policy_binding(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        actor: &str,
        id: PolicyBindingId,
    ) -> StoreResult<(PolicyBinding, bool)> {
        let row = policy_bindings::Entity::find_by_id(id.as_uuid())
            .filter(policy_bindings::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .one(&tx.txn)
            .await?
            .ok_or(StoreError::NotFound("policy binding"))?;
        if row.removed_at.is_some() {
            return Ok((codec::policy_binding(row)?, false));
        }
        let mut active: policy_bindings::ActiveModel = row.into();
        active.removed_by = Set(Some(actor.to_string()));
        active.removed_at = Set(Some(Utc::now()));
        Ok((codec::policy_binding(active.update(&tx.txn).await?)?, true))
    }

    pub async fn policy_binding(
        &self,
        scope: &TenantScope,
        id: PolicyBindingId,
    ) -> StoreResult<Option<PolicyBinding>> {
        policy_bindings::Entity::find_by_id(id.as_uuid())
            .filter(policy_bindings::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .one(&self.db)
            .await?
            .map(codec::policy_binding)
            .transpose()
    }

    /// The tenant's live bindings, optionally of one policy, oldest first. Bindings are few per
    /// tenant (one per model at most, plus selectors), so this is not paged.
    pub async fn live_policy_bindings(
        &self,
        scope: &TenantScope,
        policy: Option<PolicyId>,
    ) -> StoreResult<Vec<PolicyBinding>> {
        let mut q = policy_bindings::Entity::find()
            .filter(policy_bindings::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(policy_bindings::Column::RemovedAt.is_null());
        if let Some(p) = policy {
            q = q.filter(policy_bindings::Column::PolicyId.eq(p.as_uuid()));
        }
        q.order_by_asc(policy_bindings::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(codec::policy_binding)
            .collect()
    }

    /// Stores a decision record, and its input context under its hash unless already stored.
    pub async fn insert_decision_record(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        rec: &NewDecisionRecord,
    ) -> StoreResult<DecisionRecord> {
        let tenant = scope.tenant_id().as_uuid();
        policy_inputs::Entity::insert(policy_inputs::ActiveModel {
            tenant_id: Set(tenant),
            hash: Set(rec.input_hash.clone()),
            body: Set(rec.input.clone()),
        })
        .on_conflict_do_nothing()
        .exec_without_returning(&tx.txn)
        .await?;
        let row = decision_records::ActiveModel {
            id: Set(DecisionRecordId::generate().as_uuid()),
            tenant_id: Set(tenant),
            policy_id: Set(rec.policy_id.as_uuid()),
            revision_number: Set(rec.revision_number),
            revision_hash: Set(rec.revision_hash.clone()),
            binding_id: Set(rec.binding_id.as_uuid()),
            resolution: Set(rec.resolution.clone()),
            model_id: Set(rec.model_id.as_uuid()),
            model_version_id: Set(rec.model_version_id.as_uuid()),
            hook: Set(rec.hook.as_str().to_string()),
            input_hash: Set(rec.input_hash.clone()),
            outcome: Set(rec.outcome.to_string()),
            log: Set(serde_json::Value::from(rec.log.clone()).to_string()),
            duration_us: Set(rec.duration_us),
            limit_hit: Set(rec.limit_hit.clone()),
            evaluated_by: Set(rec.evaluated_by.clone()),
            created_at: Set(rec.created_at),
        }
        .insert(&tx.txn)
        .await?;
        codec::decision_record(row)
    }

    pub async fn decision_record(
        &self,
        scope: &TenantScope,
        id: DecisionRecordId,
    ) -> StoreResult<Option<DecisionRecord>> {
        decision_records::Entity::find_by_id(id.as_uuid())
            .filter(decision_records::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .one(&self.db)
            .await?
            .map(codec::decision_record)
            .transpose()
    }

    /// The stored input context with this hash (canonical JSON), if the tenant has it.
    pub async fn policy_input(
        &self,
        scope: &TenantScope,
        hash: &str,
    ) -> StoreResult<Option<String>> {
        Ok(
            policy_inputs::Entity::find_by_id((scope.tenant_id().as_uuid(), hash.to_string()))
                .one(&self.db)
                .await?
                .map(|r| r.body),
        )
    }

    /// Decision records, newest first.
    pub async fn decision_records(
        &self,
        scope: &TenantScope,
        filter: &DecisionRecordFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<DecisionRecord>> {
        let mut q = decision_records::Entity::find()
            .filter(decision_records::Column::TenantId.eq(scope.tenant_id().as_uuid()));
        if let Some(p) = filter.policy_id {
            q = q.filter(decision_records::Column::PolicyId.eq(p.as_uuid()));
        }
        if let Some(m) = filter.model_id {
            q = q.filter(decision_records::Column::ModelId.eq(m.as_uuid()));
        }
        if let Some(h) = filter.hook {
            q = q.filter(decision_records::Column::Hook.eq(h.as_str()));
        }
        if let Some(after) = &page.after {
            let id = Uuid::parse_str(&decode_cursor(after)?).map_err(|_| {
                StoreError::Invalid("after: not a cursor returned by this API".into())
            })?;
            q = q.filter(decision_records::Column::Id.lt(id));
        }
        let rows = q
            .order_by_desc(decision_records::Column::Id)
            .limit(u64::from(page.first) + 1)
            .all(&self.db)
            .await?;
        into_page(
            rows,
            page.first,
            |r| r.id.to_string(),
            codec::decision_record,
        )
    }
}
