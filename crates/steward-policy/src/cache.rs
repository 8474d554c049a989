//! The compiled-policy cache, keyed by the SHA-256 of the source.
//!
//! Compiling and linting a policy costs far more than evaluating it, and the service
//! evaluates the same few revisions over and over. Keys are content hashes, so a cached
//! entry can never be stale: a changed source is a different key. Eviction is first-in,
//! first-out once `capacity` is reached; revisions in use are re-inserted on their next call.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock};

use crate::engine::CompiledPolicy;
use crate::revision::ContentHash;

#[derive(Default)]
struct Inner {
    map: HashMap<ContentHash, Arc<CompiledPolicy>>,
    order: VecDeque<ContentHash>,
}

/// A bounded, thread-safe map from content hash to compiled policy.
pub(crate) struct PolicyCache {
    inner: RwLock<Inner>,
    capacity: usize,
}

impl PolicyCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: RwLock::new(Inner::default()),
            capacity: capacity.max(1),
        }
    }

    pub fn get(&self, hash: &ContentHash) -> Option<Arc<CompiledPolicy>> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still
        // a valid map, so keep serving from it.
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        inner.map.get(hash).cloned()
    }

    pub fn insert(&self, hash: ContentHash, policy: Arc<CompiledPolicy>) {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if inner.map.insert(hash, policy).is_some() {
            return;
        }
        inner.order.push_back(hash);
        while inner.order.len() > self.capacity {
            if let Some(old) = inner.order.pop_front() {
                inner.map.remove(&old);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .map
            .len()
    }
}
