//! The audit log's storage: events appended inside the caller's transaction together with the
//! Merkle tree nodes they complete, and the reads that proofs, checkpoints and exports need.
//!
//! The tree algorithms live in `steward-audit`; this module only fetches the nodes its plans name,
//! each plan in one query, so a root, an inclusion proof or a consistency proof costs O(log n)
//! rows however long the log.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Value};
use steward_audit::{AuditEvent, Hash, NodeRef, tree};
use steward_domain::TenantId;
use uuid::Uuid;

use crate::sql::stmt;
use crate::{Store, StoreError, StoreResult, WriteTx};

/// Filters of an audit query; `None` matches everything.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Only actions starting with this prefix (platform admins see `tenant.`).
    pub action_prefix: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub outcome: Option<String>,
}

fn corrupt(what: &'static str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what,
        detail: detail.to_string(),
    }
}

/// Reads the hashes of `plan` for `tenant`, in plan order, in one statement.
async fn read_nodes<C: ConnectionTrait>(
    db: &C,
    backend: DbBackend,
    tenant: Uuid,
    plan: &[NodeRef],
) -> StoreResult<Vec<Hash>> {
    if plan.is_empty() {
        return Ok(Vec::new());
    }
    // One primary-key lookup per node, glued with UNION ALL: an OR of (level, idx) pairs made
    // SQLite scan the whole node table, which grows by two rows per event.
    let mut sql = String::new();
    let mut values = vec![Value::from(tenant)];
    for (i, node) in plan.iter().enumerate() {
        if i > 0 {
            sql.push_str(" UNION ALL ");
        }
        let b = values.len();
        sql.push_str(&format!(
            "SELECT level, idx, hash FROM audit_nodes WHERE tenant_id = $1 AND level = ${} AND idx = ${}",
            b + 1,
            b + 2
        ));
        values.push(Value::from(i32::from(node.level)));
        values.push(Value::from(i64::try_from(node.index).unwrap_or(i64::MAX)));
    }
    let rows = db.query_all_raw(stmt(backend, &sql, values)).await?;
    let mut found = std::collections::HashMap::with_capacity(rows.len());
    for row in rows {
        let level: i32 = row.try_get("", "level")?;
        let idx: i64 = row.try_get("", "idx")?;
        let hash: String = row.try_get("", "hash")?;
        found.insert(
            (level, idx),
            Hash::from_hex(&hash).map_err(|e| corrupt("audit_nodes.hash", e))?,
        );
    }
    plan.iter()
        .map(|n| {
            let key = (
                i32::from(n.level),
                i64::try_from(n.index).unwrap_or(i64::MAX),
            );
            found
                .get(&key)
                .copied()
                .ok_or_else(|| corrupt("audit_nodes", format!("node {n:?} is missing")))
        })
        .collect()
}

impl Store {
    /// Appends `event` to its tenant's log inside `tx`: assigns the next sequence number, stores
    /// the canonical bytes and every tree node the new leaf completes. Returns the event as
    /// stored (with its `seq`). If anything fails, the caller's whole transaction fails with it.
    pub async fn append_audit(
        &self,
        tx: &WriteTx,
        tenant: TenantId,
        mut event: AuditEvent,
    ) -> StoreResult<AuditEvent> {
        let t = tenant.as_uuid();
        let row = tx
            .txn
            .query_one_raw(stmt(
                tx.backend,
                "INSERT INTO audit_heads (tenant_id, size) VALUES ($1, 1)
                 ON CONFLICT (tenant_id) DO UPDATE SET size = audit_heads.size + 1
                 RETURNING size",
                vec![Value::from(t)],
            ))
            .await?
            .ok_or_else(|| corrupt("audit_heads", "no row returned"))?;
        let size: i64 = row.try_get("", "size")?;
        let seq = u64::try_from(size - 1).map_err(|e| corrupt("audit_heads.size", e))?;
        event.seq = seq;
        let bytes = event
            .canonical_bytes()
            .map_err(|e| StoreError::Invalid(format!("audit event: {e}")))?;
        let leaf = steward_audit::leaf_hash(&bytes);
        let frontier = read_nodes(&tx.txn, tx.backend, t, &tree::append_plan(seq)).await?;
        let appended =
            tree::append_from(seq, &frontier, &[leaf]).map_err(|e| corrupt("audit tree", e))?;

        let mut sql = String::from("INSERT INTO audit_nodes (tenant_id, level, idx, hash) VALUES ");
        let mut values = Vec::with_capacity(appended.nodes.len() * 4);
        for (i, (node, hash)) in appended.nodes.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            let b = i * 4;
            sql.push_str(&format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4));
            values.extend([
                Value::from(t),
                Value::from(i32::from(node.level)),
                Value::from(i64::try_from(node.index).unwrap_or(i64::MAX)),
                Value::from(hash.to_hex()),
            ]);
        }
        tx.txn.execute_raw(stmt(tx.backend, &sql, values)).await?;

        let time = event
            .time
            .to_datetime()
            .ok_or_else(|| StoreError::Invalid("audit event: unreadable time".into()))?;
        let canonical = String::from_utf8(bytes).map_err(|e| corrupt("audit event", e))?;
        tx.txn
            .execute_raw(stmt(
                tx.backend,
                "INSERT INTO audit_events (tenant_id, seq, time, actor_sub, action, target_kind, target_id, outcome, event, leaf_hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                vec![
                    Value::from(t),
                    Value::from(size - 1),
                    Value::from(time),
                    Value::from(event.actor.sub.as_str()),
                    Value::from(event.action.as_str()),
                    Value::from(event.target.kind.as_str()),
                    Value::from(event.target.id.as_str()),
                    Value::from(outcome_str(event.outcome)),
                    Value::from(canonical),
                    Value::from(leaf.to_hex()),
                ],
            ))
            .await?;
        Ok(event)
    }

    /// The number of events in the tenant's log (its tree size).
    pub async fn audit_size(&self, tenant: TenantId) -> StoreResult<u64> {
        let row = self
            .db
            .query_one_raw(stmt(
                self.db_backend(),
                "SELECT size FROM audit_heads WHERE tenant_id = $1",
                vec![Value::from(tenant.as_uuid())],
            ))
            .await?;
        match row {
            Some(r) => {
                let size: i64 = r.try_get("", "size")?;
                u64::try_from(size).map_err(|e| corrupt("audit_heads.size", e))
            }
            None => Ok(0),
        }
    }

    /// Hashes of the tree nodes a plan of `steward_audit::tree` names, in plan order.
    pub async fn audit_nodes(&self, tenant: TenantId, plan: &[NodeRef]) -> StoreResult<Vec<Hash>> {
        read_nodes(&self.db, self.db_backend(), tenant.as_uuid(), plan).await
    }

    /// Events matching `filter` in sequence order, after `after_seq`, at most `limit`.
    pub async fn audit_events(
        &self,
        tenant: TenantId,
        filter: &AuditFilter,
        after_seq: Option<u64>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>> {
        let mut q = Where {
            sql: String::from("SELECT event FROM audit_events WHERE tenant_id = $1"),
            values: vec![Value::from(tenant.as_uuid())],
        };
        if let Some(after) = after_seq {
            q.and(
                "seq >",
                Value::from(i64::try_from(after).unwrap_or(i64::MAX)),
            );
        }
        if let Some(from) = filter.from {
            q.and("time >=", Value::from(from));
        }
        if let Some(to) = filter.to {
            q.and("time <", Value::from(to));
        }
        if let Some(a) = &filter.actor {
            q.and("actor_sub =", Value::from(a.as_str()));
        }
        if let Some(a) = &filter.action {
            q.and("action =", Value::from(a.as_str()));
        }
        if let Some(p) = &filter.action_prefix {
            // substr() rather than LIKE, for the same reasons as model name prefixes.
            let n = i64::try_from(p.chars().count()).unwrap_or(i64::MAX);
            q.values.push(Value::from(n));
            let len_at = q.values.len();
            q.and(
                &format!("substr(action, 1, CAST(${len_at} AS INTEGER)) ="),
                Value::from(p.as_str()),
            );
        }
        if let Some(k) = &filter.target_kind {
            q.and("target_kind =", Value::from(k.as_str()));
        }
        if let Some(i) = &filter.target_id {
            q.and("target_id =", Value::from(i.as_str()));
        }
        if let Some(o) = &filter.outcome {
            q.and("outcome =", Value::from(o.as_str()));
        }
        let Where { mut sql, values } = q;
        sql.push_str(&format!(" ORDER BY seq LIMIT {limit}"));
        let rows = self
            .db
            .query_all_raw(stmt(self.db_backend(), &sql, values))
            .await?;
        rows.iter().map(parse_event).collect()
    }

    /// Canonical bytes of events `[from, to)`, for exports.
    pub async fn audit_event_bytes(
        &self,
        tenant: TenantId,
        from: u64,
        to: u64,
    ) -> StoreResult<Vec<String>> {
        let rows = self
            .db
            .query_all_raw(stmt(
                self.db_backend(),
                "SELECT event FROM audit_events WHERE tenant_id = $1 AND seq >= $2 AND seq < $3 ORDER BY seq",
                vec![
                    Value::from(tenant.as_uuid()),
                    Value::from(i64::try_from(from).unwrap_or(i64::MAX)),
                    Value::from(i64::try_from(to).unwrap_or(i64::MAX)),
                ],
            ))
            .await?;
        rows.iter()
            .map(|r| r.try_get::<String>("", "event").map_err(StoreError::from))
            .collect()
    }
}

/// A WHERE clause under construction: each condition binds the next placeholder.
struct Where {
    sql: String,
    values: Vec<Value>,
}

impl Where {
    fn and(&mut self, cond: &str, value: Value) {
        self.values.push(value);
        self.sql
            .push_str(&format!(" AND {cond} ${}", self.values.len()));
    }
}

fn parse_event(row: &QueryResult) -> StoreResult<AuditEvent> {
    let text: String = row.try_get("", "event")?;
    serde_json::from_str(&text).map_err(|e| corrupt("audit_events.event", e))
}

fn outcome_str(o: steward_audit::Outcome) -> &'static str {
    match o {
        steward_audit::Outcome::Ok => "ok",
        steward_audit::Outcome::Denied => "denied",
        steward_audit::Outcome::Failed => "failed",
    }
}
