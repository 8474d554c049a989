//! Bulk seeding for benchmarks: evaluated monitoring windows written straight into their tables,
//! bypassing ingestion and evaluation (nothing is audited). Never used by the server.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, Value};
use serde_json::json;
use steward_domain::{ModelId, ModelVersionId, TenantScope};
use uuid::Uuid;

use crate::sql::stmt;
use crate::{Store, StoreResult};

/// Rows per INSERT statement.
const CHUNK: usize = 100;

impl Store {
    /// Writes `hours` evaluated hourly windows of `version`, the first ending at `first_end`,
    /// each with a report per slice of `slices` over `features` (a slow sine for effect sizes,
    /// a verdict of drift above 0.1) and an ROC AUC estimate per slice with its interval.
    pub async fn import_windows(
        &self,
        scope: &TenantScope,
        (model, version): (ModelId, ModelVersionId),
        first_end: DateTime<Utc>,
        hours: usize,
        slices: &[&str],
        features: &[&str],
    ) -> StoreResult<()> {
        let tx = self.begin_write().await?;
        let tenant = Value::from(scope.tenant_id().as_uuid());
        let windows: Vec<(Uuid, DateTime<Utc>, f64)> = (0..hours)
            .map(|h| {
                let wave = ((h as f64) / 24.0).sin().abs() * 0.15;
                (Uuid::now_v7(), first_end + Duration::hours(h as i64), wave)
            })
            .collect();
        for chunk in windows.chunks(CHUNK) {
            let mut sql = String::from(
                "INSERT INTO monitor_windows (id, tenant_id, model_id, model_version_id, \
                 window_start, window_end, closes_at, status, late_rows, evaluated_at, \
                 evaluated_by, evaluation, created_at) VALUES ",
            );
            let mut values = Vec::with_capacity(chunk.len() * 13);
            for (i, (id, end, wave)) in chunk.iter().enumerate() {
                let b = i * 13;
                if i > 0 {
                    sql.push(',');
                }
                let ps: Vec<String> = (1..=13).map(|k| format!("${}", b + k)).collect();
                sql.push_str(&format!("({})", ps.join(", ")));
                let evaluation = json!({
                    "slices": slices.iter().map(|s| json!({"slice": s, "rows": 5000,
                        "composite": wave, "drifted": usize::from(*wave > 0.1),
                        "tested": features.len(), "state": "stable", "transition": "none"}))
                        .collect::<Vec<_>>(),
                    "performance": slices.iter().map(|s| json!({"slice": s, "labelledRows": 500,
                        "metrics": [{"metric": "auc", "value": 0.9 - wave / 3.0,
                            "lower": 0.87 - wave / 3.0, "upper": 0.93 - wave / 3.0, "n": 500,
                            "baseline": 0.9, "p_value": null, "degraded": false}]}))
                        .collect::<Vec<_>>(),
                });
                values.extend([
                    Value::from(*id),
                    tenant.clone(),
                    Value::from(model.as_uuid()),
                    Value::from(version.as_uuid()),
                    Value::from(*end - Duration::hours(1)),
                    Value::from(*end),
                    Value::from(*end),
                    Value::from("evaluated"),
                    Value::from(0i64),
                    Value::from(*end),
                    Value::from("bench"),
                    Value::from(evaluation.to_string()),
                    Value::from(*end),
                ]);
            }
            tx.txn
                .execute_raw(stmt(self.db_backend(), &sql, values))
                .await?;
        }
        let per_window = slices.len();
        for chunk in windows.chunks((CHUNK / per_window.max(1)).max(1)) {
            let mut sql = String::from(
                "INSERT INTO window_slices (tenant_id, window_id, slice, rows, composite, \
                 drifted_features, report) VALUES ",
            );
            let mut values = Vec::new();
            let mut n = 0;
            for (id, _, wave) in chunk {
                for s in slices {
                    let b = n * 7;
                    if n > 0 {
                        sql.push(',');
                    }
                    n += 1;
                    let ps: Vec<String> = (1..=7).map(|k| format!("${}", b + k)).collect();
                    sql.push_str(&format!("({})", ps.join(", ")));
                    let report = json!({
                        "features": features.iter().enumerate().map(|(k, f)| {
                            let effect = wave * (1.0 + k as f64 / 10.0);
                            json!({"feature": f, "kind": "numeric", "role": "input",
                                "effect_size": effect, "effect_measure": "wasserstein",
                                "p_value": 0.5 - effect, "adjusted_p_value": 0.5,
                                "verdict": if effect > 0.1 { "drift" } else { "no_drift" }})
                        }).collect::<Vec<_>>(),
                        "config": {"min_effect_numeric": 0.1, "min_effect_categorical": 0.1},
                        "composite_score": wave,
                    });
                    values.extend([
                        tenant.clone(),
                        Value::from(*id),
                        Value::from(*s),
                        Value::from(5000i64),
                        Value::from(*wave),
                        Value::from(i64::from(*wave > 0.1)),
                        Value::from(report.to_string()),
                    ]);
                }
            }
            tx.txn
                .execute_raw(stmt(self.db_backend(), &sql, values))
                .await?;
        }
        tx.commit().await
    }
}
