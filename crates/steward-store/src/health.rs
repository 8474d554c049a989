//! Each model's latest health (m0017), written in its window evaluation's transaction, and the
//! fleet-wide read `/metrics` serves from: one query per kind of figure over every tenant, each
//! bounded by the number of models, endpoints, tenants or waiting actions, never by history.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, QueryResult, Value};
use steward_domain::*;
use uuid::Uuid;

use crate::sql::stmt;
use crate::windows::corrupt;
use crate::{Store, StoreResult, WriteTx};

/// What an evaluated window leaves as its model's health.
pub(crate) struct HealthRow<'a> {
    pub tenant: Uuid,
    pub model: Uuid,
    pub window: Uuid,
    pub window_end: DateTime<Utc>,
    pub outcome: &'a WindowOutcome,
}

/// Records `row` as its model's health unless a later window (by end) is recorded already: a
/// late window evaluated after its successor does not roll the health back.
pub(crate) async fn record_health(tx: &WriteTx, row: HealthRow<'_>) -> StoreResult<()> {
    let slices = row.outcome.slices.iter().map(|(s, _)| s);
    let composite = slices.clone().map(|s| s.composite).fold(0.0, f64::max);
    let drifted = slices.map(|s| s.drifted_features).max().unwrap_or(0);
    let performance = serde_json::to_string(&row.outcome.performance)
        .map_err(|e| corrupt("model_health.performance", e))?;
    tx.txn
        .execute_raw(stmt(
            tx.backend,
            "INSERT INTO model_health (model_id, tenant_id, window_id, window_end, evaluated_at, \
               composite, drifted_features, performance) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (model_id) DO UPDATE SET window_id = excluded.window_id, \
               window_end = excluded.window_end, evaluated_at = excluded.evaluated_at, \
               composite = excluded.composite, drifted_features = excluded.drifted_features, \
               performance = excluded.performance \
             WHERE model_health.window_end <= excluded.window_end",
            vec![
                Value::from(row.model),
                Value::from(row.tenant),
                Value::from(row.window),
                Value::from(row.window_end),
                Value::from(row.outcome.evaluated_at),
                Value::from(composite),
                Value::from(drifted),
                Value::from(performance),
            ],
        ))
        .await?;
    Ok(())
}

fn count(row: &QueryResult, col: &str) -> StoreResult<u64> {
    let n: i64 = row.try_get("", col)?;
    u64::try_from(n).map_err(|e| corrupt("a count", e))
}

impl Store {
    /// The fleet as `/metrics` shows it, across every tenant (a system read: only the
    /// platform's scrape calls it). `now` decides which windows are due.
    pub async fn fleet_snapshot(&self, now: DateTime<Utc>) -> StoreResult<FleetSnapshot> {
        Ok(FleetSnapshot {
            models: self.model_health(None).await?,
            outbox: self.outbox_backlog().await?,
            audit: self.audit_sizes().await?,
            endpoints: self.endpoint_states().await?,
            ..self.due_summary(now).await?
        })
    }

    /// The connection pool's state now.
    pub fn pool_state(&self) -> PoolState {
        let (open, idle, max) = match self.backend {
            crate::Backend::Sqlite => {
                let p = self.db.get_sqlite_connection_pool();
                (p.size(), p.num_idle(), p.options().get_max_connections())
            }
            crate::Backend::Postgres => {
                let p = self.db.get_postgres_connection_pool();
                (p.size(), p.num_idle(), p.options().get_max_connections())
            }
        };
        PoolState {
            open,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
            max,
        }
    }

    /// The health of the scope's tenant's live models (the web overview), by name.
    pub async fn tenant_model_health(&self, scope: &TenantScope) -> StoreResult<Vec<ModelHealth>> {
        self.model_health(Some(scope.tenant_id())).await
    }

    /// Every live model's health, or one tenant's.
    async fn model_health(&self, tenant: Option<TenantId>) -> StoreResult<Vec<ModelHealth>> {
        let (only, values) = match tenant {
            Some(t) => ("AND m.tenant_id = $1", vec![Value::from(t.as_uuid())]),
            None => ("", vec![]),
        };
        let rows = self
            .db
            .query_all_raw(stmt(
                self.db_backend(),
                &format!(
                    "SELECT t.slug, m.name, m.risk_tier, m.owner_team, h.window_end, h.evaluated_at, \
                       h.composite, h.drifted_features, h.performance, \
                       (SELECT COUNT(*) FROM incidents i WHERE i.tenant_id = m.tenant_id \
                          AND i.model_id = m.id AND i.open_key IS NOT NULL) AS open_incidents \
                     FROM models m JOIN tenants t ON t.id = m.tenant_id \
                     LEFT JOIN model_health h ON h.model_id = m.id \
                     WHERE m.deleted_at IS NULL {only} ORDER BY t.slug, m.name"
                ),
                values,
            ))
            .await?;
        rows.iter()
            .map(|r| {
                let end: Option<DateTime<Utc>> = r.try_get("", "window_end")?;
                let latest = match end {
                    None => None,
                    Some(window_end) => {
                        let performance: String = r.try_get("", "performance")?;
                        Some(LatestWindow {
                            window_end,
                            evaluated_at: r.try_get("", "evaluated_at")?,
                            composite: r.try_get("", "composite")?,
                            drifted_features: count(r, "drifted_features")?,
                            performance: serde_json::from_str(&performance)
                                .map_err(|e| corrupt("model_health.performance", e))?,
                        })
                    }
                };
                Ok(ModelHealth {
                    tenant: r.try_get("", "slug")?,
                    model: r.try_get("", "name")?,
                    risk_tier: r.try_get("", "risk_tier")?,
                    owner_team: r.try_get("", "owner_team")?,
                    open_incidents: count(r, "open_incidents")?,
                    latest,
                })
            })
            .collect()
    }

    async fn outbox_backlog(&self) -> StoreResult<Vec<OutboxBacklog>> {
        let rows = self
            .db
            .query_all_raw(stmt(
                self.db_backend(),
                "SELECT t.slug, o.status, COUNT(*) AS n, MIN(o.created_at) AS oldest \
                 FROM outbox_actions o JOIN tenants t ON t.id = o.tenant_id \
                 WHERE o.status IN ('pending', 'dead') GROUP BY t.slug, o.status \
                 ORDER BY t.slug, o.status",
                vec![],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxBacklog {
                    tenant: r.try_get("", "slug")?,
                    status: r.try_get("", "status")?,
                    actions: count(r, "n")?,
                    oldest: r.try_get("", "oldest")?,
                })
            })
            .collect()
    }

    async fn audit_sizes(&self) -> StoreResult<Vec<(String, u64)>> {
        let rows = self
            .db
            .query_all_raw(stmt(
                self.db_backend(),
                "SELECT t.slug, h.size FROM audit_heads h JOIN tenants t ON t.id = h.tenant_id \
                 ORDER BY t.slug",
                vec![],
            ))
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("", "slug")?, count(r, "size")?)))
            .collect()
    }

    async fn due_summary(&self, now: DateTime<Utc>) -> StoreResult<FleetSnapshot> {
        let row = self
            .db
            .query_one_raw(stmt(
                self.db_backend(),
                "SELECT COUNT(*) AS n, MIN(closes_at) AS oldest FROM monitor_windows \
                 WHERE status = 'open' AND closes_at <= $1",
                vec![Value::from(now)],
            ))
            .await?
            .ok_or_else(|| corrupt("monitor_windows", "no row from COUNT"))?;
        Ok(FleetSnapshot {
            due_windows: count(&row, "n")?,
            oldest_due: row.try_get("", "oldest")?,
            ..FleetSnapshot::default()
        })
    }

    async fn endpoint_states(&self) -> StoreResult<Vec<EndpointState>> {
        let rows = self
            .db
            .query_all_raw(stmt(
                self.db_backend(),
                "SELECT t.slug, e.name, m.name AS model, e.revision, \
                   (SELECT COUNT(*) FROM deployment_revisions r WHERE r.endpoint_id = e.id \
                      AND r.change = 'rolled_back') AS rollbacks \
                 FROM endpoints e JOIN tenants t ON t.id = e.tenant_id \
                 JOIN models m ON m.id = e.model_id ORDER BY t.slug, e.name",
                vec![],
            ))
            .await?;
        rows.iter()
            .map(|r| {
                Ok(EndpointState {
                    tenant: r.try_get("", "slug")?,
                    endpoint: r.try_get("", "name")?,
                    model: r.try_get("", "model")?,
                    revision: count(r, "revision")?,
                    rollbacks: count(r, "rollbacks")?,
                })
            })
            .collect()
    }
}
