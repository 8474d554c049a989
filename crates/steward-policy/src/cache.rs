//! The compiled-policy cache, keyed by the policy's name and the SHA-256 of its source.
//!
//! Compiling and linting a policy costs far more than evaluating it, and the service
//! evaluates the same few revisions over and over. Keys are content hashes, so a cached
//! entry can never be stale: a changed source is a different key. The name is part of the key
//! because a compiled policy carries it (in its diagnostics and runtime errors): one tenant's
//! policy name must never reach another tenant that happens to submit the same source.
//! Eviction is first-in, first-out once `capacity` is reached; revisions in use are re-inserted
//! on their next call.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock};

use crate::engine::CompiledPolicy;
use crate::revision::ContentHash;

/// A policy name and the hash of its source.
pub(crate) type Key = (String, ContentHash);

#[derive(Default)]
struct Inner {
    map: HashMap<Key, Arc<CompiledPolicy>>,
    order: VecDeque<Key>,
}

/// A bounded, thread-safe map from (name, content hash) to compiled policy.
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

    pub fn get(&self, name: &str, hash: &ContentHash) -> Option<Arc<CompiledPolicy>> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still
        // a valid map, so keep serving from it.
        let inner = self.inner.read().unwrap_or_else(|p| p.into_inner());
        inner.map.get(&(name.to_string(), *hash)).cloned()
    }

    pub fn insert(&self, key: Key, policy: Arc<CompiledPolicy>) {
        let mut inner = self.inner.write().unwrap_or_else(|p| p.into_inner());
        if inner.map.insert(key.clone(), policy).is_some() {
            return;
        }
        inner.order.push_back(key);
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
