//! A cache of GraphQL read responses, so that pages polled by dashboards (a model with its
//! versions, say) are served without executing the query again.
//!
//! Correctness rests on the key: the tenant, the tenant's data version *as the database holds
//! it* (the audit log's size, moved inside every write transaction; read before the query runs),
//! the caller's subject and roles, and the exact request body, each part length-prefixed so no
//! two different requests share a key. An entry can therefore only be served to the same
//! principal asking the same question of the same data, and a committed write, by this process
//! or another replica, moves the version before any later request reads it. Mutations,
//! documents that touch the audit log (checkpoints are signed "now") and responses with errors
//! are never cached.
//!
//! Memory is bounded in bytes as well as entries: responses larger than
//! [`MAX_ENTRY_BYTES`] are not kept, and the whole cache holds at most [`MAX_TOTAL_BYTES`].

use std::collections::HashMap;
use std::sync::Mutex;

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};
use axum::body::Bytes;
use sha2::{Digest, Sha256};
use steward_domain::Principal;
use steward_service::Service;

/// Largest response kept: a page of 100 models with their versions is far below this.
pub const MAX_ENTRY_BYTES: usize = 256 * 1024;
/// The most the cache holds, all entries together.
pub const MAX_TOTAL_BYTES: usize = 32 * 1024 * 1024;

pub struct ResponseCache {
    capacity: usize,
    inner: Mutex<Entries>,
}

#[derive(Default)]
struct Entries {
    map: HashMap<[u8; 32], Bytes>,
    bytes: usize,
}

/// Appends one key part with its length, so `("ab", "c")` and `("a", "bc")` differ.
fn part(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

impl ResponseCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Entries::default()),
        }
    }

    /// The key for this request, or `None` when it must not be cached (`document` is the parsed
    /// query, `None` when it did not parse). Reads the tenant's data version from the database;
    /// if that fails, the request is simply not cached.
    pub async fn key(
        &self,
        service: &Service,
        principal: &Principal,
        (query, document): (&str, Option<&ExecutableDocument>),
        body: &[u8],
    ) -> Option<[u8; 32]> {
        let read_only = document.is_some_and(is_read_only);
        if self.capacity == 0 || query.contains("audit") || !read_only {
            return None;
        }
        let tenant = principal.tenant_id()?;
        let version = match service.data_version(tenant).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "read cache bypassed: data version unreadable");
                return None;
            }
        };
        let mut h = Sha256::new();
        part(&mut h, tenant.as_uuid().as_bytes());
        part(&mut h, &version.to_le_bytes());
        part(&mut h, principal.subject().as_bytes());
        h.update((principal.roles().len() as u64).to_le_bytes());
        for r in principal.roles() {
            part(&mut h, r.as_str().as_bytes());
        }
        part(&mut h, body);
        Some(h.finalize().into())
    }

    /// Bytes of responses held now.
    pub fn bytes(&self) -> usize {
        self.inner.lock().map(|e| e.bytes).unwrap_or(0)
    }

    pub fn get(&self, key: &[u8; 32]) -> Option<Bytes> {
        self.inner.lock().ok()?.map.get(key).cloned()
    }

    pub fn put(&self, key: [u8; 32], value: Bytes) {
        if value.len() > MAX_ENTRY_BYTES {
            return;
        }
        if let Ok(mut e) = self.inner.lock() {
            // Entries of old versions are never read again; dropping everything when full is
            // the simplest bound and costs one recomputation per live page.
            if e.map.len() >= self.capacity || e.bytes + value.len() > MAX_TOTAL_BYTES {
                e.map.clear();
                e.bytes = 0;
            }
            let added = value.len();
            if let Some(old) = e.map.insert(key, value) {
                e.bytes -= old.len();
            }
            e.bytes += added;
        }
    }
}

/// True when every operation of the document is a query.
fn is_read_only(doc: &ExecutableDocument) -> bool {
    match &doc.operations {
        DocumentOperations::Single(op) => op.node.ty == OperationType::Query,
        DocumentOperations::Multiple(ops) => {
            ops.values().all(|op| op.node.ty == OperationType::Query)
        }
    }
}

/// Parsed query documents by query text, so that the queries clients send again and again (a
/// dashboard's page, a CI job's registration) are parsed once, not on every request. Parsing
/// is about a tenth of a small request's CPU. Bounded in entries and in query length; cleared
/// when full, like the response cache.
pub struct DocumentCache {
    inner: Mutex<HashMap<String, ExecutableDocument>>,
}

/// Most documents kept, and the longest query text kept.
const MAX_DOCUMENTS: usize = 512;
const MAX_DOCUMENT_TEXT: usize = 16 * 1024;

impl DocumentCache {
    pub fn new() -> Self {
        Self {
            inner: Mutex::new(HashMap::new()),
        }
    }

    /// The parsed document of `query`, or `None` when it does not parse (execution then reports
    /// the syntax error).
    pub fn parse(&self, query: &str) -> Option<ExecutableDocument> {
        if let Some(doc) = self.inner.lock().ok()?.get(query) {
            return Some(doc.clone());
        }
        let doc = async_graphql::parser::parse_query(query).ok()?;
        if query.len() <= MAX_DOCUMENT_TEXT
            && let Ok(mut map) = self.inner.lock()
        {
            if map.len() >= MAX_DOCUMENTS {
                map.clear();
            }
            map.insert(query.to_string(), doc.clone());
        }
        Some(doc)
    }
}

impl Default for DocumentCache {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_parsed_once_and_bounded() {
        let docs = DocumentCache::new();
        let q = "query($id: ID!) { model(id: $id) { name } }";
        let first = docs.parse(q).expect("parses");
        assert!(is_read_only(&first));
        assert!(docs.inner.lock().unwrap().contains_key(q));
        assert!(is_read_only(&docs.parse(q).expect("cached")));
        let m = docs
            .parse("mutation { registerModel(input: {name: \"m\"}) { id } }")
            .expect("parses");
        assert!(!is_read_only(&m));
        assert!(
            docs.parse("{ unclosed").is_none(),
            "syntax errors are left to execution"
        );
        for i in 0..(MAX_DOCUMENTS + 10) {
            docs.parse(&format!("{{ m{i}: models {{ nodes {{ name }} }} }}"));
        }
        assert!(docs.inner.lock().unwrap().len() <= MAX_DOCUMENTS);
        let long = format!(
            "{{ models {{ nodes {{ name }} }} }}{}",
            " ".repeat(MAX_DOCUMENT_TEXT)
        );
        assert!(docs.parse(&long).is_some());
        assert!(
            !docs.inner.lock().unwrap().contains_key(&long),
            "long texts are not kept"
        );
    }
}
