//! A cache of GraphQL read responses, so that pages polled by dashboards (a model with its
//! versions, say) are served without executing the query again.
//!
//! Correctness rests on the key: the tenant, the service's data generation for that tenant
//! (which moves after every committed write), the caller's subject and roles, and the exact
//! request body. An entry can therefore only be served to the same principal asking the same
//! question of the same data. Mutations, documents that touch the audit log (checkpoints are
//! signed "now") and responses with errors are never cached. The generation is per process, so
//! the binary turns the cache off on PostgreSQL, where several replicas may write.

use std::collections::HashMap;
use std::sync::Mutex;

use async_graphql::parser::types::{DocumentOperations, OperationType};
use axum::body::Bytes;
use sha2::{Digest, Sha256};
use steward_domain::Principal;
use steward_service::Service;

pub struct ResponseCache {
    capacity: usize,
    entries: Mutex<HashMap<[u8; 32], Bytes>>,
}

impl ResponseCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The key for this request, or `None` when it must not be cached.
    pub fn key(
        &self,
        service: &Service,
        principal: &Principal,
        query: &str,
        body: &[u8],
    ) -> Option<[u8; 32]> {
        if self.capacity == 0 || query.contains("audit") || !is_read_only(query) {
            return None;
        }
        let tenant = principal.tenant_id()?;
        let mut h = Sha256::new();
        h.update(tenant.as_uuid().as_bytes());
        h.update(service.data_generation(tenant).to_le_bytes());
        h.update(principal.subject().as_bytes());
        h.update([0]);
        for r in principal.roles() {
            h.update(r.as_str().as_bytes());
            h.update([0]);
        }
        h.update(body);
        Some(h.finalize().into())
    }

    pub fn get(&self, key: &[u8; 32]) -> Option<Bytes> {
        self.entries.lock().ok()?.get(key).cloned()
    }

    pub fn put(&self, key: [u8; 32], value: Bytes) {
        if let Ok(mut e) = self.entries.lock() {
            // Entries of old generations are never read again; dropping everything when full
            // is the simplest bound and costs one recomputation per live page.
            if e.len() >= self.capacity {
                e.clear();
            }
            e.insert(key, value);
        }
    }
}

/// True when every operation of the document is a query.
fn is_read_only(query: &str) -> bool {
    match async_graphql::parser::parse_query(query) {
        Ok(doc) => match doc.operations {
            DocumentOperations::Single(op) => op.node.ty == OperationType::Query,
            DocumentOperations::Multiple(ops) => {
                ops.values().all(|op| op.node.ty == OperationType::Query)
            }
        },
        Err(_) => false,
    }
}
