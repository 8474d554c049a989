//! Monitoring settings per model and baselines per model version.
//!
//! Baselines are append-only; which one is active is the latest row of `baseline_activations`
//! for the version, so replacing a baseline is a new record plus an activation, and every earlier
//! choice stays readable.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde_json::{Value, json};
use steward_domain::*;

use crate::entities::{baseline_activations, baseline_slices, baselines, monitor_configs};
use crate::{Store, StoreError, StoreResult, WriteTx};

fn corrupt(what: &'static str, detail: impl ToString) -> StoreError {
    StoreError::Corrupt {
        what,
        detail: detail.to_string(),
    }
}

fn hysteresis_json(h: &HysteresisSettings) -> String {
    json!({"high": h.high, "low": h.low, "min_consecutive": h.min_consecutive,
           "cooldown_windows": h.cooldown_windows})
    .to_string()
}

fn hysteresis_from(text: &str) -> StoreResult<HysteresisSettings> {
    let v: Value = serde_json::from_str(text).map_err(|e| corrupt("hysteresis", e))?;
    let num = |k: &str| v.get(k).and_then(Value::as_f64);
    let int = |k: &str| {
        v.get(k)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    match (
        num("high"),
        num("low"),
        int("min_consecutive"),
        int("cooldown_windows"),
    ) {
        (Some(high), Some(low), Some(min_consecutive), Some(cooldown_windows)) => {
            Ok(HysteresisSettings {
                high,
                low,
                min_consecutive,
                cooldown_windows,
            })
        }
        _ => Err(corrupt("hysteresis", "missing field")),
    }
}

fn config(row: monitor_configs::Model) -> StoreResult<MonitorConfig> {
    Ok(MonitorConfig {
        model_id: ModelId::from_uuid(row.model_id),
        slice_columns: serde_json::from_str(&row.slice_columns)
            .map_err(|e| corrupt("slice columns", e))?,
        lateness_seconds: row.lateness_seconds,
        hysteresis: hysteresis_from(&row.hysteresis)?,
        auto_resolve: row.auto_resolve,
        updated_by: row.updated_by,
        updated_at: row.updated_at,
    })
}

fn baseline(row: baselines::Model, active: Option<uuid::Uuid>) -> StoreResult<Baseline> {
    Ok(Baseline {
        id: BaselineId::from_uuid(row.id),
        model_version_id: ModelVersionId::from_uuid(row.model_version_id),
        source: row
            .source
            .parse()
            .map_err(|e| corrupt("baseline source", e))?,
        rows: row.rows,
        features: row.features,
        fingerprint: row.fingerprint,
        extra: serde_json::from_str(&row.extra).map_err(|e| corrupt("baseline extra", e))?,
        note: row.note,
        active: active == Some(row.id),
        created_by: row.created_by,
        created_at: row.created_at,
    })
}

/// The columns of a baseline row without its (large) profile.
fn without_profile() -> sea_orm::Select<baselines::Entity> {
    use baselines::Column as C;
    baselines::Entity::find().select_only().columns([
        C::Id,
        C::TenantId,
        C::ModelVersionId,
        C::Source,
        C::Rows,
        C::Features,
        C::Fingerprint,
        C::Extra,
        C::Note,
        C::CreatedBy,
        C::CreatedAt,
    ])
}

#[derive(sea_orm::FromQueryResult)]
struct BaselineHead {
    id: uuid::Uuid,
    tenant_id: uuid::Uuid,
    model_version_id: uuid::Uuid,
    source: String,
    rows: i64,
    features: i64,
    fingerprint: String,
    extra: String,
    note: String,
    created_by: String,
    created_at: chrono::DateTime<Utc>,
}

impl From<BaselineHead> for baselines::Model {
    fn from(h: BaselineHead) -> Self {
        baselines::Model {
            id: h.id,
            tenant_id: h.tenant_id,
            model_version_id: h.model_version_id,
            source: h.source,
            rows: h.rows,
            features: h.features,
            fingerprint: h.fingerprint,
            profile: Vec::new(),
            extra: h.extra,
            note: h.note,
            created_by: h.created_by,
            created_at: h.created_at,
        }
    }
}

impl Store {
    /// The model's monitoring settings, or the defaults when nobody configured it.
    pub async fn monitor_config(
        &self,
        scope: &TenantScope,
        model: ModelId,
    ) -> StoreResult<MonitorConfig> {
        let row = monitor_configs::Entity::find_by_id(model.as_uuid())
            .filter(monitor_configs::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .one(&self.db)
            .await?;
        row.map_or_else(|| Ok(MonitorConfig::default_for(model)), config)
    }

    /// Stores the model's monitoring settings (the model must be the caller's tenant's).
    pub async fn put_monitor_config(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        cfg: &MonitorConfig,
    ) -> StoreResult<MonitorConfig> {
        let row = monitor_configs::ActiveModel {
            model_id: Set(cfg.model_id.as_uuid()),
            tenant_id: Set(scope.tenant_id().as_uuid()),
            slice_columns: Set(Value::from(cfg.slice_columns.clone()).to_string()),
            lateness_seconds: Set(cfg.lateness_seconds),
            hysteresis: Set(hysteresis_json(&cfg.hysteresis)),
            auto_resolve: Set(cfg.auto_resolve),
            updated_by: Set(cfg.updated_by.clone()),
            updated_at: Set(cfg.updated_at),
        };
        use monitor_configs::Column as C;
        monitor_configs::Entity::insert(row)
            .on_conflict(
                sea_orm::sea_query::OnConflict::column(C::ModelId)
                    .update_columns([
                        C::SliceColumns,
                        C::LatenessSeconds,
                        C::Hysteresis,
                        C::AutoResolve,
                        C::UpdatedBy,
                        C::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&tx.txn)
            .await?;
        Ok(cfg.clone())
    }

    async fn active_baseline_id(
        &self,
        db: &impl sea_orm::ConnectionTrait,
        scope: &TenantScope,
        version: ModelVersionId,
    ) -> StoreResult<Option<uuid::Uuid>> {
        use baseline_activations::Column as C;
        Ok(baseline_activations::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::ModelVersionId.eq(version.as_uuid()))
            .order_by_desc(C::Seq)
            .one(db)
            .await?
            .map(|a| a.baseline_id))
    }

    /// Stores a baseline (and makes it active when asked), in the caller's transaction. The
    /// version must exist in the caller's tenant (the service checks it first).
    pub async fn insert_baseline(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        mut new: NewBaseline,
        created_by: &str,
    ) -> StoreResult<Baseline> {
        let id = BaselineId::generate();
        let slices = std::mem::take(&mut new.slices);
        let row = baselines::ActiveModel {
            id: Set(id.as_uuid()),
            tenant_id: Set(scope.tenant_id().as_uuid()),
            model_version_id: Set(new.model_version_id.as_uuid()),
            source: Set(new.source.as_str().to_string()),
            rows: Set(new.rows),
            features: Set(new.features),
            fingerprint: Set(new.fingerprint),
            profile: Set(new.profile),
            extra: Set(new.extra.to_string()),
            note: Set(new.note),
            created_by: Set(created_by.to_string()),
            created_at: Set(Utc::now()),
        }
        .insert(&tx.txn)
        .await?;
        for (slice, rows, profile) in slices {
            baseline_slices::ActiveModel {
                tenant_id: Set(scope.tenant_id().as_uuid()),
                baseline_id: Set(id.as_uuid()),
                slice: Set(slice),
                rows: Set(rows),
                profile: Set(profile),
            }
            .insert(&tx.txn)
            .await?;
        }
        if new.activate {
            self.append_activation(tx, scope, new.model_version_id, id, created_by)
                .await?;
        }
        let active = self
            .active_baseline_id(&tx.txn, scope, new.model_version_id)
            .await?;
        baseline(row, active)
    }

    async fn append_activation(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        version: ModelVersionId,
        id: BaselineId,
        by: &str,
    ) -> StoreResult<()> {
        use baseline_activations::Column as C;
        let last = baseline_activations::Entity::find()
            .filter(C::ModelVersionId.eq(version.as_uuid()))
            .order_by_desc(C::Seq)
            .one(&tx.txn)
            .await?
            .map_or(0, |a| a.seq);
        baseline_activations::ActiveModel {
            tenant_id: Set(scope.tenant_id().as_uuid()),
            model_version_id: Set(version.as_uuid()),
            seq: Set(last + 1),
            baseline_id: Set(id.as_uuid()),
            activated_by: Set(by.to_string()),
            activated_at: Set(Utc::now()),
        }
        .insert(&tx.txn)
        .await?;
        Ok(())
    }

    /// Makes `id` its version's active baseline. Unknown and other-tenant ids are not found.
    pub async fn activate_baseline(
        &self,
        tx: &WriteTx,
        scope: &TenantScope,
        id: BaselineId,
        by: &str,
    ) -> StoreResult<Baseline> {
        let row = without_profile()
            .filter(baselines::Column::Id.eq(id.as_uuid()))
            .filter(baselines::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .into_model::<BaselineHead>()
            .one(&tx.txn)
            .await?
            .ok_or(StoreError::NotFound("baseline"))?;
        let version = ModelVersionId::from_uuid(row.model_version_id);
        if self.active_baseline_id(&tx.txn, scope, version).await? != Some(id.as_uuid()) {
            self.append_activation(tx, scope, version, id, by).await?;
        }
        baseline(row.into(), Some(id.as_uuid()))
    }

    /// The version's baselines, newest first, without their profiles.
    pub async fn baselines(
        &self,
        scope: &TenantScope,
        version: ModelVersionId,
    ) -> StoreResult<Vec<Baseline>> {
        let active = self.active_baseline_id(&self.db, scope, version).await?;
        let rows = without_profile()
            .filter(baselines::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(baselines::Column::ModelVersionId.eq(version.as_uuid()))
            .order_by_desc(baselines::Column::Id)
            .into_model::<BaselineHead>()
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|r| baseline(r.into(), active))
            .collect()
    }

    /// The baselines of several versions at once (each version's newest first), each marked
    /// active or not: two queries however many versions (a compliance report lists 50).
    pub async fn baselines_of(
        &self,
        scope: &TenantScope,
        versions: &[ModelVersionId],
    ) -> StoreResult<Vec<Baseline>> {
        if versions.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<uuid::Uuid> = versions.iter().map(|v| v.as_uuid()).collect();
        let tenant = scope.tenant_id().as_uuid();
        use baseline_activations::Column as A;
        let activations = baseline_activations::Entity::find()
            .filter(A::TenantId.eq(tenant))
            .filter(A::ModelVersionId.is_in(ids.clone()))
            .order_by_desc(A::Seq)
            .all(&self.db)
            .await?;
        let mut active: std::collections::HashMap<uuid::Uuid, uuid::Uuid> =
            std::collections::HashMap::new();
        for a in activations {
            active.entry(a.model_version_id).or_insert(a.baseline_id);
        }
        let rows = without_profile()
            .filter(baselines::Column::TenantId.eq(tenant))
            .filter(baselines::Column::ModelVersionId.is_in(ids))
            .order_by_desc(baselines::Column::Id)
            .into_model::<BaselineHead>()
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|r| {
                let version = r.model_version_id;
                baseline(r.into(), active.get(&version).copied())
            })
            .collect()
    }

    /// One baseline without its profile.
    pub async fn baseline(
        &self,
        scope: &TenantScope,
        id: BaselineId,
    ) -> StoreResult<Option<Baseline>> {
        let Some(row) = without_profile()
            .filter(baselines::Column::Id.eq(id.as_uuid()))
            .filter(baselines::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .into_model::<BaselineHead>()
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let version = ModelVersionId::from_uuid(row.model_version_id);
        let active = self.active_baseline_id(&self.db, scope, version).await?;
        baseline(row.into(), active).map(Some)
    }

    /// A baseline's slice profiles: (slice, encoded profile).
    pub async fn baseline_slices(
        &self,
        scope: &TenantScope,
        id: BaselineId,
    ) -> StoreResult<Vec<(String, Vec<u8>)>> {
        use baseline_slices::Column as C;
        Ok(baseline_slices::Entity::find()
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .filter(C::BaselineId.eq(id.as_uuid()))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| (r.slice, r.profile))
            .collect())
    }

    /// The version's active baseline, without its profile.
    pub async fn active_baseline(
        &self,
        scope: &TenantScope,
        version: ModelVersionId,
    ) -> StoreResult<Option<Baseline>> {
        let Some(active) = self.active_baseline_id(&self.db, scope, version).await? else {
            return Ok(None);
        };
        let Some(row) = without_profile()
            .filter(baselines::Column::Id.eq(active))
            .filter(baselines::Column::TenantId.eq(scope.tenant_id().as_uuid()))
            .into_model::<BaselineHead>()
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        baseline(row.into(), Some(active)).map(Some)
    }

    /// A baseline's encoded profile.
    pub async fn baseline_profile(
        &self,
        scope: &TenantScope,
        id: BaselineId,
    ) -> StoreResult<Option<Vec<u8>>> {
        use baselines::Column as C;
        Ok(baselines::Entity::find()
            .select_only()
            .column(C::Profile)
            .filter(C::Id.eq(id.as_uuid()))
            .filter(C::TenantId.eq(scope.tenant_id().as_uuid()))
            .into_tuple::<Vec<u8>>()
            .one(&self.db)
            .await?)
    }
}
