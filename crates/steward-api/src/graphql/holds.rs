//! What keeps automatic retraining in bounds, through GraphQL: holds (`holds(modelId)`,
//! `placeHold`, `liftHold`; SREs and governance officers) and retraining budgets
//! (`retrainingBudget(modelId)`, `setRetrainingBudget`; model owners and SREs). A retrain held or
//! over budget is recorded as SUPPRESSED with the reason.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use steward_domain as d;

use super::monitoring::id_of;
use super::{ctx, model_id};
use crate::error::gql;

type R<T> = async_graphql::Result<T>;

#[derive(SimpleObject)]
pub struct Hold {
    pub id: ID,
    pub model_id: ID,
    pub reason: String,
    pub placed_by: String,
    pub placed_at: DateTime<Utc>,
    /// When it ends by itself; null: until lifted.
    pub until: Option<DateTime<Utc>>,
    pub lifted_by: Option<String>,
    pub lifted_at: Option<DateTime<Utc>>,
    pub lift_reason: Option<String>,
    /// In force now.
    pub active: bool,
}

fn hold(h: d::Hold, now: DateTime<Utc>) -> Hold {
    Hold {
        active: h.active_at(now),
        id: id_of(h.id),
        model_id: id_of(h.model_id),
        reason: h.reason,
        placed_by: h.placed_by,
        placed_at: h.placed_at,
        until: h.until,
        lifted_by: h.lifted_by,
        lifted_at: h.lifted_at,
        lift_reason: h.lift_reason,
    }
}

/// A model's retraining budget.
#[derive(SimpleObject)]
pub struct RetrainingBudget {
    pub model_id: ID,
    /// Most runs per period; null: no limit.
    pub max_runs: Option<i64>,
    pub period_hours: i64,
    /// Hours after a run before the next; null: none.
    pub cooldown_hours: Option<i64>,
    /// Most reported cost per period, in `costCurrency`; null: no limit.
    pub max_cost: Option<f64>,
    pub cost_currency: Option<String>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

impl From<d::RetrainingBudget> for RetrainingBudget {
    fn from(b: d::RetrainingBudget) -> Self {
        RetrainingBudget {
            model_id: id_of(b.model_id),
            max_runs: b.max_runs,
            period_hours: b.period_hours,
            cooldown_hours: b.cooldown_hours,
            max_cost: b.max_cost,
            cost_currency: b.cost_currency,
            updated_by: b.updated_by,
            updated_at: b.updated_at,
        }
    }
}

#[derive(InputObject)]
pub struct SetRetrainingBudgetInput {
    pub model_id: ID,
    pub max_runs: Option<i64>,
    #[graphql(default = 24)]
    pub period_hours: i64,
    pub cooldown_hours: Option<i64>,
    pub max_cost: Option<f64>,
    pub cost_currency: Option<String>,
}

#[derive(Default)]
pub struct HoldsQuery;

#[Object]
impl HoldsQuery {
    /// The model's holds, newest first, lifted and expired ones too.
    async fn holds(&self, c: &Context<'_>, model_id: ID) -> R<Vec<Hold>> {
        let (svc, p) = ctx(c)?;
        let now = svc.now();
        let list = svc
            .holds(p, super::model_id(&model_id)?)
            .await
            .map_err(gql)?;
        Ok(list.into_iter().map(|h| hold(h, now)).collect())
    }

    /// The model's retraining budget; null when none is set.
    async fn retraining_budget(
        &self,
        c: &Context<'_>,
        model_id: ID,
    ) -> R<Option<RetrainingBudget>> {
        let (svc, p) = ctx(c)?;
        let b = svc
            .retraining_budget(p, super::model_id(&model_id)?)
            .await
            .map_err(gql)?;
        Ok(b.map(Into::into))
    }
}

#[derive(InputObject)]
pub struct PlaceHoldInput {
    pub model_id: ID,
    /// Why: the decision records of suppressed retraining repeat it.
    pub reason: String,
    /// When the hold ends by itself; leave it out for a hold until lifted.
    pub until: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
pub struct LiftHoldInput {
    pub model_id: ID,
    pub reason: String,
}

#[derive(Default)]
pub struct HoldsMutation;

#[Object]
impl HoldsMutation {
    /// Puts a model's automatic retraining and rollback on hold (sre, governance_officer);
    /// alerts still go out.
    async fn place_hold(&self, c: &Context<'_>, input: PlaceHoldInput) -> R<Hold> {
        let (svc, p) = ctx(c)?;
        let new = d::NewHold {
            model_id: model_id(&input.model_id)?,
            reason: input.reason,
            until: input.until,
        };
        let h = svc.place_hold(p, new).await.map_err(gql)?;
        Ok(hold(h, svc.now()))
    }

    /// Sets the model's retraining budget (model_owner, sre): retrain decisions beyond it are
    /// recorded as SUPPRESSED with the reason.
    async fn set_retraining_budget(
        &self,
        c: &Context<'_>,
        input: SetRetrainingBudgetInput,
    ) -> R<RetrainingBudget> {
        let (svc, p) = ctx(c)?;
        let b = steward_service::BudgetInput {
            model_id: model_id(&input.model_id)?,
            max_runs: input.max_runs,
            period_hours: input.period_hours,
            cooldown_hours: input.cooldown_hours,
            max_cost: input.max_cost,
            cost_currency: input.cost_currency,
        };
        svc.set_retraining_budget(p, b)
            .await
            .map(Into::into)
            .map_err(gql)
    }

    /// Lifts the model's hold (sre, governance_officer).
    async fn lift_hold(&self, c: &Context<'_>, input: LiftHoldInput) -> R<Hold> {
        let (svc, p) = ctx(c)?;
        let h = svc
            .lift_hold(p, model_id(&input.model_id)?, input.reason)
            .await
            .map_err(gql)?;
        Ok(hold(h, svc.now()))
    }
}
