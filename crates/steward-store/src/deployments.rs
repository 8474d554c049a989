//! Endpoints and their append-only deployment revisions (promotion requests and approvals
//! are in `promotions.rs`).
//!
//! An endpoint's `revision` column is the optimistic precondition of every change: a change
//! names the revision it was decided against, and [`Store::append_revision`] moves the column
//! forward only from that value (one conditional UPDATE, which PostgreSQL serialises on the
//! row and SQLite on its write lock), so two changes decided against the same state never both
//! land. The unique (endpoint, number) index backs it up.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use steward_domain::*;
use uuid::Uuid;

use crate::codec::corrupt;
use crate::entities::{deployment_revisions, endpoints, outbox_actions};
use crate::{Store, StoreError, StoreResult, WriteTx};

fn endpoint(row: endpoints::Model) -> Endpoint {
    Endpoint {
        id: EndpointId::from_uuid(row.id),
        model_id: ModelId::from_uuid(row.model_id),
        name: row.name,
        environment: row.environment,
        target: row.target,
        description: row.description,
        champion_alias: row.champion_alias,
        revision: row.revision,
        created_by: row.created_by,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn percent(v: i64) -> StoreResult<u8> {
    u8::try_from(v).map_err(|e| corrupt("traffic percent", e))
}

fn served(id: Option<Uuid>, version: Option<i64>, pct: i64) -> StoreResult<Option<Served>> {
    Ok(match (id, version) {
        (Some(id), Some(version)) => Some(Served {
            version_id: ModelVersionId::from_uuid(id),
            version,
            percent: percent(pct)?,
        }),
        _ => None,
    })
}

fn revision(row: deployment_revisions::Model) -> StoreResult<DeploymentRevision> {
    Ok(DeploymentRevision {
        id: DeploymentRevisionId::from_uuid(row.id),
        endpoint_id: EndpointId::from_uuid(row.endpoint_id),
        number: row.number,
        state: DesiredState {
            champion: Served {
                version_id: ModelVersionId::from_uuid(row.champion_version_id),
                version: row.champion_version,
                percent: 100,
            },
            canary: served(
                row.canary_version_id,
                row.canary_version,
                row.canary_percent,
            )?,
            shadow: served(
                row.shadow_version_id,
                row.shadow_version,
                row.shadow_percent,
            )?,
        },
        change: row
            .change
            .parse()
            .map_err(|e| corrupt("deployment change", e))?,
        actor: row.actor,
        reason: row.reason,
        request_id: row.request_id.map(PromotionRequestId::from_uuid),
        policy_revision: row.policy_revision,
        incident_id: row.incident_id.map(IncidentId::from_uuid),
        decision_record_id: row.decision_record_id.map(DecisionRecordId::from_uuid),
        idempotency_key: row.idempotency_key,
        at: row.at,
    })
}

/// A change to write as an endpoint's next revision.
#[derive(Clone, Debug)]
pub struct NewRevision<'a> {
    pub state: DesiredState,
    pub change: RevisionChange,
    pub actor: &'a str,
    pub reason: &'a str,
    pub request: Option<PromotionRequestId>,
    pub policy_revision: Option<&'a str>,
    pub incident: Option<IncidentId>,
    pub decision: Option<DecisionRecordId>,
    pub idempotency_key: Option<&'a str>,
    pub at: DateTime<Utc>,
}

async fn endpoint_row<C: ConnectionTrait>(
    db: &C,
    scope: &TenantScope,
    id: EndpointId,
) -> StoreResult<Option<Endpoint>> {
    Ok(endpoints::Entity::find_by_id(id.as_uuid())
        .filter(endpoints::Column::TenantId.eq(scope.tenant_id().as_uuid()))
        .one(db)
        .await?
        .map(endpoint))
}

async fn revision_number<C: ConnectionTrait>(
    db: &C,
    scope: &TenantScope,
    endpoint: EndpointId,
    number: i64,
) -> StoreResult<Option<DeploymentRevision>> {
    use deployment_revisions::Column as C;
    deployment_revisions::Entity::find()
        .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
        .filter(C::EndpointId.eq(endpoint.as_uuid()))
        .filter(C::Number.eq(number))
        .one(db)
        .await?
        .map(revision)
        .transpose()
}

impl Store {
    /// Creates an endpoint and its first revision (`created`, the champion alone).
    pub async fn create_endpoint(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        new: &NewEndpoint,
        state: DesiredState,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<(Endpoint, DeploymentRevision)> {
        let id = EndpointId::generate();
        let row = endpoints::ActiveModel {
            id: Set(id.as_uuid()),
            tenant_id: Set(scope.tenant_id().as_uuid()),
            model_id: Set(new.model_id.as_uuid()),
            name: Set(new.name.clone()),
            environment: Set(new.environment.clone()),
            target: Set(new.target.clone()),
            description: Set(new.description.clone()),
            revision: Set(0),
            champion_alias: Set(new.champion_alias.clone()),
            created_by: Set(actor.to_string()),
            created_at: Set(at),
            updated_at: Set(at),
        }
        .insert(&tx.txn)
        .await
        .map_err(|e| {
            StoreError::unique(e, || format!("an endpoint named `{}` exists", new.name))
        })?;
        let first = NewRevision {
            state,
            change: RevisionChange::Created,
            actor,
            reason: &new.reason,
            request: None,
            policy_revision: None,
            incident: None,
            decision: None,
            idempotency_key: None,
            at,
        };
        let rev = self.append_revision(tx, scope, id, 0, first).await?;
        let mut e = endpoint(row);
        e.revision = rev.number;
        Ok((e, rev))
    }

    /// Writes the endpoint's next revision if the endpoint is still at `expected`; a `Conflict`
    /// naming the current revision otherwise.
    pub async fn append_revision(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        id: EndpointId,
        expected: i64,
        new: NewRevision<'_>,
    ) -> StoreResult<DeploymentRevision> {
        use endpoints::Column as E;
        let moved = endpoints::Entity::update_many()
            .col_expr(E::Revision, Expr::value(expected + 1))
            .col_expr(E::UpdatedAt, Expr::value(new.at))
            .filter(E::Id.eq(id.as_uuid()))
            .filter(E::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(E::Revision.eq(expected))
            .exec(&tx.txn)
            .await?;
        if moved.rows_affected != 1 {
            let now = endpoint_row(&tx.txn, scope, id)
                .await?
                .ok_or(StoreError::NotFound("endpoint"))?;
            return Err(StoreError::Conflict(format!(
                "the endpoint is at revision {}, not {expected}: read it again and decide on its current state",
                now.revision
            )));
        }
        let s = new.state;
        let row = deployment_revisions::ActiveModel {
            id: Set(DeploymentRevisionId::generate().as_uuid()),
            tenant_id: Set(scope.tenant_id().as_uuid()),
            endpoint_id: Set(id.as_uuid()),
            number: Set(expected + 1),
            champion_version_id: Set(s.champion.version_id.as_uuid()),
            champion_version: Set(s.champion.version),
            canary_version_id: Set(s.canary.map(|c| c.version_id.as_uuid())),
            canary_version: Set(s.canary.map(|c| c.version)),
            canary_percent: Set(s.canary.map_or(0, |c| i64::from(c.percent))),
            shadow_version_id: Set(s.shadow.map(|c| c.version_id.as_uuid())),
            shadow_version: Set(s.shadow.map(|c| c.version)),
            shadow_percent: Set(s.shadow.map_or(0, |c| i64::from(c.percent))),
            change: Set(new.change.as_str().to_string()),
            actor: Set(new.actor.to_string()),
            reason: Set(new.reason.to_string()),
            request_id: Set(new.request.map(|r| r.as_uuid())),
            policy_revision: Set(new.policy_revision.map(str::to_owned)),
            incident_id: Set(new.incident.map(|i| i.as_uuid())),
            decision_record_id: Set(new.decision.map(|d| d.as_uuid())),
            idempotency_key: Set(new.idempotency_key.map(str::to_owned)),
            at: Set(new.at),
        }
        .insert(&tx.txn)
        .await
        .map_err(|e| {
            StoreError::unique(e, || {
                format!(
                    "revision {} of the endpoint was written concurrently",
                    expected + 1
                )
            })
        })?;
        revision(row)
    }

    /// Points the endpoint's changes at another delivery target (or none).
    pub async fn set_endpoint_target(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        id: EndpointId,
        target: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<Endpoint> {
        use endpoints::Column as E;
        let done = endpoints::Entity::update_many()
            .col_expr(E::Target, Expr::value(target.map(str::to_owned)))
            .col_expr(E::UpdatedAt, Expr::value(at))
            .filter(E::Id.eq(id.as_uuid()))
            .filter(E::TenantId.eq(scope.tenant_id().as_uuid()))
            .exec(&tx.txn)
            .await?;
        if done.rows_affected != 1 {
            return Err(StoreError::NotFound("endpoint"));
        }
        endpoint_row(&tx.txn, scope, id)
            .await?
            .ok_or(StoreError::NotFound("endpoint"))
    }

    pub async fn endpoint(
        &self,
        scope: &TenantScope,
        id: EndpointId,
    ) -> StoreResult<Option<Endpoint>> {
        endpoint_row(&self.db, scope, id).await
    }

    /// The endpoint read in the caller's transaction (what a change decides on).
    pub async fn endpoint_in(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        id: EndpointId,
    ) -> StoreResult<Option<Endpoint>> {
        endpoint_row(&tx.txn, scope, id).await
    }

    pub async fn endpoint_by_name(
        &self,
        scope: &TenantScope,
        name: &str,
    ) -> StoreResult<Option<Endpoint>> {
        Ok(endpoints::Entity::find()
            .filter(endpoints::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(endpoints::Column::Name.eq(name))
            .one(&self.db)
            .await?
            .map(endpoint))
    }

    /// The tenant's endpoints (of one model, when given), by name.
    pub async fn endpoints(
        &self,
        scope: &TenantScope,
        model: Option<ModelId>,
    ) -> StoreResult<Vec<Endpoint>> {
        use endpoints::Column as E;
        let mut q = endpoints::Entity::find().filter(E::TenantId.eq(scope.tenant_id().as_uuid()));
        if let Some(m) = model {
            q = q.filter(E::ModelId.eq(m.as_uuid()));
        }
        Ok(q.order_by_asc(E::Name)
            .all(&self.db)
            .await?
            .into_iter()
            .map(endpoint)
            .collect())
    }

    /// The endpoints of `model` with their latest revision, read in the caller's transaction.
    pub async fn endpoints_of_model_in(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        model: ModelId,
    ) -> StoreResult<Vec<(Endpoint, DeploymentRevision)>> {
        use endpoints::Column as E;
        let rows = endpoints::Entity::find()
            .filter(E::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(E::ModelId.eq(model.as_uuid()))
            .order_by_asc(E::Name)
            .all(&tx.txn)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let e = endpoint(row);
            let rev = revision_number(&tx.txn, scope, e.id, e.revision)
                .await?
                .ok_or(StoreError::NotFound("deployment revision"))?;
            out.push((e, rev));
        }
        Ok(out)
    }

    /// Revision `number` of the endpoint (in the caller's transaction when given).
    pub async fn deployment_revision(
        &self,
        tx: Option<&WriteTx>,
        scope: &TenantScope,
        endpoint: EndpointId,
        number: i64,
    ) -> StoreResult<Option<DeploymentRevision>> {
        match tx {
            Some(tx) => revision_number(&tx.txn, scope, endpoint, number).await,
            None => revision_number(&self.db, scope, endpoint, number).await,
        }
    }

    /// The endpoint's revisions, newest first, before revision `before` when given, at most
    /// `limit`.
    pub async fn deployment_revisions(
        &self,
        scope: &TenantScope,
        endpoint: EndpointId,
        before: Option<i64>,
        limit: u64,
    ) -> StoreResult<Vec<DeploymentRevision>> {
        use deployment_revisions::Column as C;
        let mut q = deployment_revisions::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::EndpointId.eq(endpoint.as_uuid()));
        if let Some(b) = before {
            q = q.filter(C::Number.lt(b));
        }
        q.order_by_desc(C::Number)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(revision)
            .collect()
    }

    /// The revision in force at `at`: the last one written at or before it (`None` before the
    /// endpoint existed). One indexed lookup on (endpoint, at).
    pub async fn served_at(
        &self,
        scope: &TenantScope,
        endpoint: EndpointId,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<DeploymentRevision>> {
        use deployment_revisions::Column as C;
        deployment_revisions::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::EndpointId.eq(endpoint.as_uuid()))
            .filter(C::At.lte(at))
            .order_by_desc(C::At)
            .order_by_desc(C::Number)
            .one(&self.db)
            .await?
            .map(revision)
            .transpose()
    }

    /// The revision a change with this idempotency key wrote on the endpoint, if any.
    pub async fn revision_by_key(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        endpoint: EndpointId,
        key: &str,
    ) -> StoreResult<Option<DeploymentRevision>> {
        use deployment_revisions::Column as C;
        deployment_revisions::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::EndpointId.eq(endpoint.as_uuid()))
            .filter(C::IdempotencyKey.eq(key))
            .one(&tx.txn)
            .await?
            .map(revision)
            .transpose()
    }

    /// The endpoint's rollbacks, newest first, each with the state it replaced and when its
    /// target confirmed it.
    pub async fn rollbacks(
        &self,
        scope: &TenantScope,
        endpoint: EndpointId,
        limit: u64,
    ) -> StoreResult<Vec<RollbackRecord>> {
        use deployment_revisions::Column as C;
        let rows = deployment_revisions::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::EndpointId.eq(endpoint.as_uuid()))
            .filter(C::Change.eq(RevisionChange::RolledBack.as_str()))
            .order_by_desc(C::Number)
            .limit(limit)
            .all(&self.db)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let rev = revision(row)?;
            let from = revision_number(&self.db, scope, endpoint, rev.number - 1)
                .await?
                .ok_or(StoreError::NotFound("deployment revision"))?;
            use outbox_actions::Column as A;
            let delivered = outbox_actions::Entity::find()
                .filter(A::TenantId.eq(scope.tenant_id().as_uuid()))
                .filter(A::RevisionId.eq(rev.id.as_uuid()))
                .filter(A::Status.eq(ActionStatus::Delivered.as_str()))
                .one(&self.db)
                .await?;
            out.push(RollbackRecord {
                from: from.state,
                effective_at: delivered.and_then(|a| a.finished_at),
                revision: rev,
            });
        }
        Ok(out)
    }
}
