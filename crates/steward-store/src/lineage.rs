//! The lineage graph: nodes and edges written alongside each registry record, and the walk that
//! answers "what was this built from / what came of it" in one recursive query.

use std::collections::{BTreeSet, HashMap};

use sea_orm::{ConnectionTrait, EntityTrait, Set, Value};
use steward_domain::{
    EdgeRelation, LineageDirection, LineageEdge, LineageGraph, LineageNode, MAX_LINEAGE_STEPS,
    NodeKind, TenantScope,
};
use uuid::Uuid;

use crate::entities::{lineage_edges, lineage_nodes};
use crate::sql::stmt;
use crate::{Store, StoreError, StoreResult, WriteTx};

/// A node to write and the edges that lead into it.
pub(crate) struct NewNode<'a> {
    pub id: Uuid,
    pub kind: NodeKind,
    pub label: String,
    /// `(source node, relation)` of each edge into this node.
    pub from: &'a [(Uuid, EdgeRelation)],
}

impl WriteTx {
    /// Writes a registry record's lineage node and its incoming edges: two statements at most
    /// (the node, then all edges in one multi-row insert), neither read back.
    pub(crate) async fn add_lineage(
        &self,
        scope: &TenantScope,
        node: NewNode<'_>,
    ) -> StoreResult<()> {
        let tenant = scope.tenant_id().as_uuid();
        lineage_nodes::Entity::insert(lineage_nodes::ActiveModel {
            id: Set(node.id),
            tenant_id: Set(tenant),
            kind: Set(node.kind.as_str().to_string()),
            label: Set(node.label),
        })
        .exec_without_returning(&self.txn)
        .await?;
        if !node.from.is_empty() {
            lineage_edges::Entity::insert_many(node.from.iter().map(|(src, relation)| {
                lineage_edges::ActiveModel {
                    tenant_id: Set(tenant),
                    src_id: Set(*src),
                    dst_id: Set(node.id),
                    relation: Set(relation.as_str().to_string()),
                }
            }))
            .exec_without_returning(&self.txn)
            .await?;
        }
        Ok(())
    }
}

/// One recursive arm: walking upstream follows edges backwards (dst -> src).
fn arm(name: &str, upstream: bool) -> String {
    let (next, here) = if upstream {
        ("src_id", "dst_id")
    } else {
        ("dst_id", "src_id")
    };
    format!(
        "{name}(id, depth, e_src, e_dst, e_rel) AS (
            SELECT n.id, CAST(0 AS BIGINT), n.id, n.id, CAST('' AS TEXT) FROM lineage_nodes n WHERE n.id = $1 AND n.tenant_id = $2
            UNION
            SELECT e.{next}, w.depth + 1, e.src_id, e.dst_id, e.relation
            FROM lineage_edges e JOIN {name} w ON e.{here} = w.id
            WHERE e.tenant_id = $2 AND w.depth < $3
        )"
    )
}

impl Store {
    /// Walks the lineage graph from `start` up to `depth` steps. `None` when the start node is
    /// not in the caller's tenant.
    ///
    /// One statement does the whole walk: a recursive CTE per direction, each row carrying the
    /// edge it arrived by, joined to the node table for kinds and labels. The depth bound keeps
    /// the walk finite even if a cycle were ever written.
    ///
    /// `CROSS JOIN` is SQLite's way to fix the join order: with a plain join, SQLite 3.51 chose to
    /// scan the whole node table and probe the walk (11 ms at 100,000 nodes instead of 0.3 ms).
    /// PostgreSQL treats it as an ordinary join.
    pub async fn lineage(
        &self,
        scope: &TenantScope,
        start: Uuid,
        direction: LineageDirection,
        depth: u32,
    ) -> StoreResult<Option<LineageGraph>> {
        let (ctes, union) = match direction {
            LineageDirection::Upstream => (arm("up", true), "SELECT * FROM up".to_string()),
            LineageDirection::Downstream => (arm("down", false), "SELECT * FROM down".to_string()),
            LineageDirection::Both => (
                format!("{}, {}", arm("up", true), arm("down", false)),
                "SELECT * FROM up UNION ALL SELECT * FROM down".to_string(),
            ),
        };
        // The nearest steps first, one more than the cap to tell whether it was reached.
        let sql = format!(
            "WITH RECURSIVE {ctes}
             SELECT w.id, w.depth, w.e_src, w.e_dst, w.e_rel, n.kind, n.label
             FROM ({union}) w CROSS JOIN lineage_nodes n
             WHERE n.id = w.id AND n.tenant_id = $2
             ORDER BY w.depth LIMIT $4"
        );
        let rows = self
            .db
            .query_all_raw(stmt(
                self.db_backend(),
                &sql,
                vec![
                    Value::from(start),
                    Value::from(scope.tenant_id().as_uuid()),
                    Value::from(i64::from(depth)),
                    Value::from(MAX_LINEAGE_STEPS as i64 + 1),
                ],
            ))
            .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        let truncated = rows.len() > MAX_LINEAGE_STEPS;
        let rows = rows.into_iter().take(MAX_LINEAGE_STEPS);
        let mut nodes: HashMap<Uuid, LineageNode> = HashMap::new();
        let mut edges = BTreeSet::new();
        for row in rows {
            let id: Uuid = row.try_get("", "id")?;
            let depth: i64 = row.try_get("", "depth")?;
            let kind: String = row.try_get("", "kind")?;
            let label: String = row.try_get("", "label")?;
            let relation: String = row.try_get("", "e_rel")?;
            if !relation.is_empty() {
                edges.insert(LineageEdge {
                    from: row.try_get("", "e_src")?,
                    to: row.try_get("", "e_dst")?,
                    relation: relation.parse().map_err(|e| StoreError::Corrupt {
                        what: "lineage_edges.relation",
                        detail: format!("{e}"),
                    })?,
                });
            }
            let depth = u32::try_from(depth).unwrap_or(u32::MAX);
            let kind = kind.parse().map_err(|e| StoreError::Corrupt {
                what: "lineage_nodes.kind",
                detail: format!("{e}"),
            })?;
            nodes
                .entry(id)
                .and_modify(|n| n.depth = n.depth.min(depth))
                .or_insert(LineageNode {
                    id,
                    kind,
                    label,
                    depth,
                });
        }
        let mut nodes: Vec<LineageNode> = nodes.into_values().collect();
        nodes.sort_by(|a, b| a.depth.cmp(&b.depth).then(a.label.cmp(&b.label)));
        // A kept edge may lead to a node whose own row was cut: keep only edges between kept
        // nodes, so the graph stays consistent.
        let kept: std::collections::HashSet<Uuid> = nodes.iter().map(|n| n.id).collect();
        Ok(Some(LineageGraph {
            nodes,
            edges: edges
                .into_iter()
                .filter(|e| kept.contains(&e.from) && kept.contains(&e.to))
                .collect(),
            truncated,
        }))
    }

    /// Inserts lineage rows in bulk, bypassing the registry (benchmarks and imports of existing
    /// graphs). Each batch is one transaction.
    pub async fn import_lineage(
        &self,
        scope: &TenantScope,
        nodes: &[(Uuid, NodeKind, String)],
        edges: &[(Uuid, Uuid, EdgeRelation)],
    ) -> StoreResult<()> {
        let tx = self.begin_write().await?;
        let tenant = Value::from(scope.tenant_id().as_uuid());
        for chunk in nodes.chunks(200) {
            let mut sql =
                String::from("INSERT INTO lineage_nodes (id, tenant_id, kind, label) VALUES ");
            let mut values = Vec::with_capacity(chunk.len() * 4);
            for (i, (id, kind, label)) in chunk.iter().enumerate() {
                let b = i * 4;
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4));
                values.extend([
                    Value::from(*id),
                    tenant.clone(),
                    Value::from(kind.as_str()),
                    Value::from(label.as_str()),
                ]);
            }
            tx.txn
                .execute_raw(stmt(self.db_backend(), &sql, values))
                .await?;
        }
        for chunk in edges.chunks(200) {
            let mut sql = String::from(
                "INSERT INTO lineage_edges (tenant_id, src_id, dst_id, relation) VALUES ",
            );
            let mut values = Vec::with_capacity(chunk.len() * 4);
            for (i, (from, to, rel)) in chunk.iter().enumerate() {
                let b = i * 4;
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4));
                values.extend([
                    tenant.clone(),
                    Value::from(*from),
                    Value::from(*to),
                    Value::from(rel.as_str()),
                ]);
            }
            tx.txn
                .execute_raw(stmt(self.db_backend(), &sql, values))
                .await?;
        }
        tx.commit().await
    }
}
