//! Closing the retraining loop: the lineage from an incident through the decision record to the
//! training run that carried its retraining out, and the reports on a retraining run (status,
//! candidate, cost), each also an entry on the incident's timeline.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use steward_domain::*;
use uuid::Uuid;

use crate::entities::{lineage_nodes, model_versions, outbox_actions, retraining_reports};
use crate::incidents::Cause;
use crate::lineage::NewNode;
use crate::{Store, StoreError, StoreResult, WriteTx};

fn report(row: retraining_reports::Model) -> StoreResult<RetrainingReport> {
    Ok(RetrainingReport {
        action_id: ActionId::from_uuid(row.action_id),
        status: row.status.parse().map_err(|e| StoreError::Corrupt {
            what: "retraining status",
            detail: format!("{e}"),
        })?,
        message: row.message,
        external_url: row.external_url,
        candidate: row.candidate_version_id.map(ModelVersionId::from_uuid),
        cost: row.cost,
        cost_currency: row.cost_currency,
        reported_by: row.reported_by,
        reported_at: row.reported_at,
    })
}

impl Store {
    /// The retrain action `id` of the tenant, read in the caller's transaction.
    async fn retrain_action(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        id: ActionId,
    ) -> StoreResult<outbox_actions::Model> {
        let row = outbox_actions::Entity::find_by_id(id.as_uuid())
            .filter(outbox_actions::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .one(&tx.txn)
            .await?
            .ok_or(StoreError::NotFound("retraining action"))?;
        if row.kind != "retrain" {
            return Err(StoreError::Invalid(format!(
                "action {id} is a {}, not a retraining",
                row.kind
            )));
        }
        Ok(row)
    }

    /// Writes the lineage of a retraining once: its decision record (and the incident whose
    /// evaluation decided it, with an edge to the record); returns the record's node, from which
    /// the training run's `triggered` edge starts.
    pub(crate) async fn retraining_lineage(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        action: ActionId,
    ) -> StoreResult<Uuid> {
        let a = self.retrain_action(tx, scope, action).await?;
        let exists = |id: Uuid| async move {
            Ok::<bool, StoreError>(
                lineage_nodes::Entity::find_by_id(id)
                    .one(&tx.txn)
                    .await?
                    .is_some(),
            )
        };
        // A retrain is always decided by a policy; only deployment actions have no decision.
        let decision = a
            .decision_record_id
            .ok_or_else(|| StoreError::Conflict("the action was not decided by a policy".into()))?;
        if !exists(decision).await? {
            let mut from = Vec::new();
            if let Some(incident) = a.incident_id {
                if !exists(incident).await? {
                    let key = crate::entities::incidents::Entity::find_by_id(incident)
                        .one(&tx.txn)
                        .await?
                        .map_or_else(|| "incident".to_string(), |i| format!("incident {}", i.key));
                    tx.add_lineage(
                        scope,
                        NewNode {
                            id: incident,
                            kind: NodeKind::Incident,
                            label: key,
                            from: &[],
                        },
                    )
                    .await?;
                }
                from.push((incident, EdgeRelation::Decided));
            }
            tx.add_lineage(
                scope,
                NewNode {
                    id: decision,
                    kind: NodeKind::DecisionRecord,
                    label: format!("decision {}", a.kind),
                    from: &from,
                },
            )
            .await?;
        }
        Ok(decision)
    }

    /// Records a report on retraining `action`, and an entry on its incident's timeline
    /// (`retraining_<status>`).
    pub async fn insert_retraining_report(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        action: ActionId,
        new: &NewRetrainingReport,
        actor: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<RetrainingReport> {
        let a = self.retrain_action(tx, scope, action).await?;
        if let Some(c) = new.candidate {
            let v = model_versions::Entity::find_by_id(c.as_uuid())
                .filter(model_versions::Column::TenantId.eq(scope.tenant_id().as_uuid()))
                .one(&tx.txn)
                .await?
                .ok_or(StoreError::NotFound("candidate model version"))?;
            if v.model_id != a.model_id {
                return Err(StoreError::Invalid(
                    "modelVersionId: the candidate is a version of another model".into(),
                ));
            }
        }
        let row = retraining_reports::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(scope.tenant_id().as_uuid()),
            action_id: Set(action.as_uuid()),
            status: Set(new.status.as_str().to_string()),
            message: Set(new.message.clone()),
            external_url: Set(new.external_url.clone()),
            candidate_version_id: Set(new.candidate.map(|c| c.as_uuid())),
            cost: Set(new.cost),
            cost_currency: Set(new.cost_currency.clone()),
            reported_by: Set(actor.to_string()),
            reported_at: Set(at),
        }
        .insert(&tx.txn)
        .await?;
        if let Some(incident) = a.incident_id {
            let cause = Cause {
                actor,
                at,
                window_id: None,
                decision_record_id: a.decision_record_id.map(DecisionRecordId::from_uuid),
            };
            let mut note = new.message.clone();
            if let Some(c) = new.candidate {
                note = format!("candidate version {c}. {note}");
            }
            let kind = format!("retraining_{}", new.status.as_str());
            self.add_event(
                tx,
                scope,
                IncidentId::from_uuid(incident),
                &kind,
                &cause,
                note.trim(),
            )
            .await?;
        }
        report(row)
    }

    /// The reports on a retraining action, oldest first.
    pub async fn retraining_reports(
        &self,
        scope: &TenantScope,
        action: ActionId,
    ) -> StoreResult<Vec<RetrainingReport>> {
        use retraining_reports::Column as C;
        retraining_reports::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::ActionId.eq(action.as_uuid()))
            .order_by_asc(C::ReportedAt)
            .order_by_asc(C::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(report)
            .collect()
    }
}

/// What a model's automatic retraining used of its budget.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Spent {
    /// Retraining runs asked for since the period began (delivered or on their way; suppressed
    /// and undeliverable ones do not count).
    pub runs: i64,
    /// When the last run was asked for, ever.
    pub last_at: Option<DateTime<Utc>>,
    /// The cost those runs reported, in the budget's currency (each run's latest figure).
    pub cost: f64,
}

fn budget(row: crate::entities::retraining_budgets::Model) -> RetrainingBudget {
    RetrainingBudget {
        model_id: ModelId::from_uuid(row.model_id),
        max_runs: row.max_runs,
        period_hours: row.period_hours,
        cooldown_hours: row.cooldown_hours,
        max_cost: row.max_cost,
        cost_currency: row.cost_currency,
        updated_by: row.updated_by,
        updated_at: row.updated_at,
    }
}

async fn budget_row<C: sea_orm::ConnectionTrait>(
    db: &C,
    scope: &TenantScope,
    model: ModelId,
) -> StoreResult<Option<RetrainingBudget>> {
    use crate::entities::retraining_budgets::{Column as C, Entity};
    Ok(Entity::find_by_id(model.as_uuid())
        .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
        .one(db)
        .await?
        .map(budget))
}

impl Store {
    /// Sets (or replaces) the model's retraining budget.
    pub async fn put_retraining_budget(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        b: &RetrainingBudget,
    ) -> StoreResult<RetrainingBudget> {
        use crate::entities::retraining_budgets::{ActiveModel, Column as C, Entity};
        let row = ActiveModel {
            model_id: Set(b.model_id.as_uuid()),
            tenant_id: Set(scope.tenant_id().as_uuid()),
            max_runs: Set(b.max_runs),
            period_hours: Set(b.period_hours),
            cooldown_hours: Set(b.cooldown_hours),
            max_cost: Set(b.max_cost),
            cost_currency: Set(b.cost_currency.clone()),
            updated_by: Set(b.updated_by.clone()),
            updated_at: Set(b.updated_at),
        };
        Entity::insert(row)
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(C::ModelId)
                    .update_columns([
                        C::MaxRuns,
                        C::PeriodHours,
                        C::CooldownHours,
                        C::MaxCost,
                        C::CostCurrency,
                        C::UpdatedBy,
                        C::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&tx.txn)
            .await?;
        Ok(b.clone())
    }

    /// The model's retraining budget, if one is set.
    pub async fn retraining_budget(
        &self,
        scope: &TenantScope,
        model: ModelId,
    ) -> StoreResult<Option<RetrainingBudget>> {
        budget_row(&self.db, scope, model).await
    }

    /// The model's budget, read in the caller's transaction (the evaluation's).
    pub async fn retraining_budget_in(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        model: ModelId,
    ) -> StoreResult<Option<RetrainingBudget>> {
        budget_row(&tx.txn, scope, model).await
    }

    /// What the model's retraining used since `since`, in `currency`.
    pub async fn retraining_spent(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        model: ModelId,
        since: DateTime<Utc>,
        currency: Option<&str>,
    ) -> StoreResult<Spent> {
        use outbox_actions::Column as C;
        let counted = [
            ActionStatus::Pending.as_str(),
            ActionStatus::Delivered.as_str(),
            ActionStatus::Dead.as_str(),
        ];
        let runs = outbox_actions::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::ModelId.eq(model.as_uuid()))
            .filter(C::Kind.eq("retrain"))
            .filter(C::Status.is_in(counted))
            .order_by_desc(C::CreatedAt)
            .all(&tx.txn)
            .await?;
        let last_at = runs.first().map(|r| r.created_at);
        let recent: Vec<Uuid> = runs
            .iter()
            .filter(|r| r.created_at >= since)
            .map(|r| r.id)
            .collect();
        let mut cost = 0.0;
        if let Some(cur) = currency
            && !recent.is_empty()
        {
            use retraining_reports::Column as R;
            let mut latest: std::collections::HashMap<Uuid, f64> = Default::default();
            for r in retraining_reports::Entity::find()
                .filter(R::TenantId.eq(scope.tenant_id().as_uuid()))
                .filter(R::ActionId.is_in(recent.clone()))
                .filter(R::CostCurrency.eq(cur))
                .order_by_asc(R::ReportedAt)
                .all(&tx.txn)
                .await?
            {
                if let Some(c) = r.cost {
                    latest.insert(r.action_id, c);
                }
            }
            cost = latest.values().sum();
        }
        Ok(Spent {
            runs: i64::try_from(recent.len()).unwrap_or(i64::MAX),
            last_at,
            cost,
        })
    }

    /// When the incident live under `key` for the model last asked for a retraining run that
    /// counts (pending, delivered or dead), if it is live and did.
    pub async fn incident_last_retrain(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        model: ModelId,
        key: &str,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        use outbox_actions::Column as C;
        let Some(incident) = crate::entities::incidents::Entity::find()
            .filter(crate::entities::incidents::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(crate::entities::incidents::Column::ModelId.eq(model.as_uuid()))
            .filter(crate::entities::incidents::Column::OpenKey.eq(key))
            .one(&tx.txn)
            .await?
        else {
            return Ok(None);
        };
        let counted = [
            ActionStatus::Pending.as_str(),
            ActionStatus::Delivered.as_str(),
            ActionStatus::Dead.as_str(),
        ];
        Ok(outbox_actions::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::IncidentId.eq(incident.id))
            .filter(C::Kind.eq("retrain"))
            .filter(C::Status.is_in(counted))
            .order_by_desc(C::CreatedAt)
            .one(&tx.txn)
            .await?
            .map(|a| a.created_at))
    }
}
