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
        let decision = a.decision_record_id;
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
                decision_record_id: Some(DecisionRecordId::from_uuid(a.decision_record_id)),
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
