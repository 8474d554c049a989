//! Reads of monitoring results: baselines, windows with their slices, a drift timeline per
//! feature and slice, incidents with their timeline, pending actions.

use serde_json::Value;
use steward_domain::*;

use crate::{Service, ServiceError, ServiceResult, scope_for};

/// Most windows, incidents or actions one list returns.
pub const MAX_MONITORING_LIST: u64 = 500;

/// A window with its evaluated slices.
#[derive(Clone, Debug)]
pub struct WindowDetail {
    pub window: Window,
    pub slices: Vec<WindowSlice>,
}

/// One point of a drift timeline: a window's result for one feature of one slice.
#[derive(Clone, Debug)]
pub struct DriftPoint {
    pub window: Window,
    pub rows: i64,
    pub composite: f64,
    /// The feature's result in the window's drift report (`None` when the feature was not in
    /// it); the JSON of steward-drift's `FeatureDrift`.
    pub feature: Option<Value>,
}

/// An incident with its timeline.
#[derive(Clone, Debug)]
pub struct IncidentDetail {
    pub incident: Incident,
    pub events: Vec<IncidentEvent>,
    pub actions: Vec<PendingAction>,
}

fn limit(first: Option<u64>) -> u64 {
    first.unwrap_or(100).clamp(1, MAX_MONITORING_LIST)
}

impl Service {
    /// Fails with "not found" unless the version is the caller's tenant's, so a list under
    /// another tenant's id answers like a list under a missing one, not with an empty list.
    async fn version_exists(&self, scope: &TenantScope, id: ModelVersionId) -> ServiceResult<()> {
        self.store
            .model_version(scope, id)
            .await?
            .map(|_| ())
            .ok_or(ServiceError::NotFound("model version"))
    }

    async fn model_exists(&self, scope: &TenantScope, id: ModelId) -> ServiceResult<()> {
        self.store
            .model(scope, id)
            .await?
            .map(|_| ())
            .ok_or(ServiceError::NotFound("model"))
    }

    pub async fn baselines(
        &self,
        principal: &Principal,
        version: ModelVersionId,
    ) -> ServiceResult<Vec<Baseline>> {
        let scope = scope_for(principal, Operation::ReadMonitoring)?;
        self.version_exists(&scope, version).await?;
        Ok(self.store.baselines(&scope, version).await?)
    }

    pub async fn baseline(&self, principal: &Principal, id: BaselineId) -> ServiceResult<Baseline> {
        let scope = scope_for(principal, Operation::ReadMonitoring)?;
        self.store
            .baseline(&scope, id)
            .await?
            .ok_or(ServiceError::NotFound("baseline"))
    }

    /// The version's windows, newest first.
    /// The version's active baseline with its profile per feature (what the model page draws),
    /// or `None` when it has none.
    pub async fn baseline_features(
        &self,
        principal: &Principal,
        version: ModelVersionId,
    ) -> ServiceResult<Option<(Baseline, Vec<BaselineFeature>)>> {
        let scope = scope_for(principal, Operation::ReadMonitoring)?;
        self.version_exists(&scope, version).await?;
        let Some(active) = self.store.active_baseline(&scope, version).await? else {
            return Ok(None);
        };
        let refs = self.references(&scope, active.id).await?;
        let features = refs
            .whole
            .features
            .iter()
            .map(|f| {
                let mut categories: Vec<(String, u64)> = f
                    .categorical
                    .as_ref()
                    .map(|c| c.counts.iter().map(|(k, v)| (k.clone(), *v)).collect())
                    .unwrap_or_default();
                categories.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                BaselineFeature {
                    name: f.name.clone(),
                    role: format!("{:?}", f.role).to_lowercase(),
                    kind: format!("{:?}", f.kind).to_lowercase(),
                    count: f.count,
                    missing: f.missing,
                    numeric: f.numeric.as_ref().map(|n| NumericSummary {
                        edges: n.edges.clone(),
                        counts: n.counts.clone(),
                        mean: n.moments.mean,
                        std: n.moments.std(),
                        min: n.moments.min,
                        max: n.moments.max,
                    }),
                    categories,
                }
            })
            .collect();
        Ok(Some((active, features)))
    }

    /// The active baselines of versions `a` and `b` feature by feature (in `a`'s column order,
    /// then `b`'s new features); `None` when either has no active baseline.
    pub async fn compare_baselines(
        &self,
        principal: &Principal,
        a: ModelVersionId,
        b: ModelVersionId,
    ) -> ServiceResult<Option<Vec<BaselinePair>>> {
        let scope = scope_for(principal, Operation::ReadMonitoring)?;
        let (Some((_, fa)), Some((bb, fb))) = (
            self.baseline_features(principal, a).await?,
            self.baseline_features(principal, b).await?,
        ) else {
            return Ok(None);
        };
        let refs_b = self.references(&scope, bb.id).await?;
        let mut out: Vec<BaselinePair> = fa
            .iter()
            .map(|x| {
                let other = fb.iter().find(|y| y.name == x.name).cloned();
                let rebinned = match (&x.numeric, other.as_ref().and_then(|o| o.numeric.as_ref())) {
                    (Some(na), Some(_)) => refs_b
                        .whole
                        .features
                        .iter()
                        .find(|f| f.name == x.name)
                        .and_then(|f| f.numeric.as_ref())
                        .map(|nb| {
                            let mut counts = vec![0u64; na.edges.len() + 1];
                            for v in nb.sample.values() {
                                counts[na.edges.partition_point(|e| *e <= v)] += 1;
                            }
                            counts
                        }),
                    _ => None,
                };
                BaselinePair {
                    name: x.name.clone(),
                    a: Some(x.clone()),
                    b: other,
                    b_on_a_bins: rebinned,
                }
            })
            .collect();
        for y in fb.iter().filter(|y| !fa.iter().any(|x| x.name == y.name)) {
            out.push(BaselinePair {
                name: y.name.clone(),
                a: None,
                b: Some(y.clone()),
                b_on_a_bins: None,
            });
        }
        Ok(Some(out))
    }

    pub async fn windows(
        &self,
        principal: &Principal,
        version: ModelVersionId,
        first: Option<u64>,
    ) -> ServiceResult<Vec<Window>> {
        let scope = scope_for(principal, Operation::ReadMonitoring)?;
        self.version_exists(&scope, version).await?;
        Ok(self.store.windows(&scope, version, limit(first)).await?)
    }

    pub async fn window(&self, principal: &Principal, id: WindowId) -> ServiceResult<WindowDetail> {
        let scope = scope_for(principal, Operation::ReadMonitoring)?;
        let window = self
            .store
            .window(&scope, id)
            .await?
            .ok_or(ServiceError::NotFound("window"))?;
        let slices = self.store.window_slices(&scope, id).await?;
        Ok(WindowDetail { window, slices })
    }

    /// The evaluated slices of a window.
    pub async fn window_slices(
        &self,
        principal: &Principal,
        id: WindowId,
    ) -> ServiceResult<Vec<WindowSlice>> {
        let scope = scope_for(principal, Operation::ReadMonitoring)?;
        Ok(self.store.window_slices(&scope, id).await?)
    }

    /// One feature's drift in one slice over the version's evaluated windows, oldest first.
    pub async fn drift_timeline(
        &self,
        principal: &Principal,
        version: ModelVersionId,
        feature: &str,
        slice: &str,
        first: Option<u64>,
    ) -> ServiceResult<Vec<DriftPoint>> {
        let scope = scope_for(principal, Operation::ReadMonitoring)?;
        self.version_exists(&scope, version).await?;
        let points = self
            .store
            .slice_timeline(&scope, version, slice, limit(first))
            .await?;
        Ok(points
            .into_iter()
            .map(|(window, s)| {
                let feature = s
                    .report
                    .get("features")
                    .and_then(Value::as_array)
                    .and_then(|fs| {
                        fs.iter()
                            .find(|f| f.get("feature").and_then(Value::as_str) == Some(feature))
                    })
                    .cloned();
                DriftPoint {
                    window,
                    rows: s.rows,
                    composite: s.composite,
                    feature,
                }
            })
            .collect())
    }

    /// The health of the caller's tenant's models: open incidents and the latest evaluated
    /// window's worst-slice drift and performance (one row per model; the web overview).
    pub async fn model_health(
        &self,
        principal: &Principal,
    ) -> ServiceResult<Vec<steward_domain::ModelHealth>> {
        let scope = scope_for(principal, Operation::ReadMonitoring)?;
        Ok(self.store.tenant_model_health(&scope).await?)
    }

    pub async fn incidents(
        &self,
        principal: &Principal,
        filter: IncidentFilter,
        first: Option<u64>,
    ) -> ServiceResult<Vec<Incident>> {
        let scope = scope_for(principal, Operation::ReadMonitoring)?;
        if let Some(m) = filter.model_id {
            self.model_exists(&scope, m).await?;
        }
        Ok(self.store.incidents(&scope, &filter, limit(first)).await?)
    }

    pub async fn incident(
        &self,
        principal: &Principal,
        id: IncidentId,
    ) -> ServiceResult<IncidentDetail> {
        let scope = scope_for(principal, Operation::ReadMonitoring)?;
        let incident = self
            .store
            .incident(&scope, id)
            .await?
            .ok_or(ServiceError::NotFound("incident"))?;
        let events = self.store.incident_events(&scope, id).await?;
        let actions = self
            .store
            .pending_actions(&scope, Some(incident.model_id), None, MAX_MONITORING_LIST)
            .await?
            .into_iter()
            .filter(|a| a.incident_id == Some(id))
            .collect();
        Ok(IncidentDetail {
            incident,
            events,
            actions,
        })
    }

    /// Actions in the outbox, newest first.
    pub async fn pending_actions(
        &self,
        principal: &Principal,
        model: Option<ModelId>,
        status: Option<ActionStatus>,
        first: Option<u64>,
    ) -> ServiceResult<Vec<PendingAction>> {
        let scope = scope_for(principal, Operation::ReadMonitoring)?;
        if let Some(m) = model {
            self.model_exists(&scope, m).await?;
        }
        Ok(self
            .store
            .pending_actions(&scope, model, status, limit(first))
            .await?)
    }
}
