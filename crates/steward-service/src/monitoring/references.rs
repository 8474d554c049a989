//! Decoded baselines, cached: every batch is profiled against its version's active baseline and
//! every window is compared with it, so reading and decoding the same immutable profile (about
//! 0.75 MB for 25 features) again for each would cost more than the rest of a small batch.
//!
//! A baseline never changes once written (a new one is a new id), so an entry can never be
//! stale. Keys carry the tenant, and an entry is only ever looked up after the tenant-scoped
//! read of the version's active baseline returned its id, so no tenant reaches another's
//! profile. The cache is bounded by the encoded size of what it holds; eviction is first in,
//! first out (a fleet evaluated hour after hour visits baselines in a cycle, where least
//! recently used would do no better).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use steward_domain::{BaselineId, TenantId, TenantScope};
use steward_drift::{Profile, WindowProfile};

use super::decode;
use crate::{Service, ServiceError, ServiceResult};

/// A baseline ready to compare with: its profile and, per slice the reference data had, the
/// slice's profile as a reference of its own.
pub(crate) struct References {
    pub whole: Profile,
    pub slices: BTreeMap<String, Profile>,
}

type Key = (TenantId, BaselineId);

#[derive(Default)]
struct Inner {
    map: HashMap<Key, (Arc<References>, usize)>,
    order: VecDeque<Key>,
    bytes: usize,
}

/// Decoded baselines, bounded by their encoded bytes.
pub(crate) struct ReferenceCache {
    inner: Mutex<Inner>,
    budget: usize,
}

impl ReferenceCache {
    /// A cache holding at most `budget` encoded bytes (0 turns it off).
    pub fn new(budget: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            budget,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A poisoned lock only means a panic mid-insert elsewhere; the map is still a map.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, key: &Key) -> Option<Arc<References>> {
        self.lock().map.get(key).map(|(r, _)| r.clone())
    }

    fn insert(&self, key: Key, refs: Arc<References>, bytes: usize) {
        if bytes > self.budget {
            return;
        }
        let mut inner = self.lock();
        if inner.map.contains_key(&key) {
            return;
        }
        while inner.bytes + bytes > self.budget {
            let Some(old) = inner.order.pop_front() else {
                break;
            };
            if let Some((_, b)) = inner.map.remove(&old) {
                inner.bytes -= b;
            }
        }
        inner.bytes += bytes;
        inner.order.push_back(key);
        inner.map.insert(key, (refs, bytes));
    }

    #[cfg(test)]
    fn held(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.map.len(), inner.bytes)
    }
}

impl Service {
    /// The decoded profiles of baseline `id` of the caller's tenant (which the caller read as
    /// a version's active baseline), from the cache or the store.
    pub(crate) async fn references(
        &self,
        scope: &TenantScope,
        id: BaselineId,
    ) -> ServiceResult<Arc<References>> {
        let key = (scope.tenant_id(), id);
        let cache = &self.monitoring.references;
        if let Some(r) = cache.get(&key) {
            return Ok(r);
        }
        let bytes = self
            .store
            .baseline_profile(scope, id)
            .await?
            .ok_or(ServiceError::NotFound("baseline"))?;
        let slices = self.store.baseline_slices(scope, id).await?;
        let size = bytes.len() + slices.iter().map(|(_, b)| b.len()).sum::<usize>();
        let refs = tokio::task::spawn_blocking(move || decode_references(&bytes, slices))
            .await
            .map_err(|e| ServiceError::Internal(format!("baseline decoding task failed: {e}")))??;
        let refs = Arc::new(refs);
        cache.insert(key, refs.clone(), size);
        Ok(refs)
    }
}

fn decode_references(bytes: &[u8], slices: Vec<(String, Vec<u8>)>) -> ServiceResult<References> {
    let whole: Profile = decode("baseline profile", bytes)?;
    let mut out = BTreeMap::new();
    for (name, bytes) in slices {
        let w: WindowProfile = decode("baseline slice", &bytes)?;
        let profile = w
            .as_reference(&whole)
            .map_err(|e| ServiceError::Internal(format!("baseline slice {name}: {e}")))?;
        out.insert(name, profile);
    }
    Ok(References { whole, slices: out })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refs() -> Arc<References> {
        let values: Vec<Option<f64>> = (0..10).map(|i| Some(f64::from(i))).collect();
        let whole =
            Profile::from_reference(&[steward_drift::Column::numeric("x", &values)]).unwrap();
        Arc::new(References {
            whole,
            slices: BTreeMap::new(),
        })
    }

    #[test]
    fn evicts_first_in_first_out_within_the_budget_and_skips_what_cannot_fit() {
        let cache = ReferenceCache::new(100);
        let t = TenantId::generate();
        let (a, b, c) = (
            BaselineId::generate(),
            BaselineId::generate(),
            BaselineId::generate(),
        );
        cache.insert((t, a), refs(), 60);
        cache.insert((t, b), refs(), 40);
        assert_eq!(cache.held(), (2, 100));
        cache.insert((t, c), refs(), 30);
        assert!(cache.get(&(t, a)).is_none(), "the oldest went first");
        assert!(cache.get(&(t, b)).is_some() && cache.get(&(t, c)).is_some());
        assert_eq!(cache.held(), (2, 70));
        cache.insert((t, a), refs(), 101);
        assert_eq!(
            cache.held(),
            (2, 70),
            "larger than the whole budget: not held"
        );
        // Another tenant's key is another entry.
        assert!(cache.get(&(TenantId::generate(), b)).is_none());
        let off = ReferenceCache::new(0);
        off.insert((t, a), refs(), 1);
        assert_eq!(off.held(), (0, 0));
    }
}
