//! How trace context crosses process boundaries: W3C `traceparent` (and `tracestate`) read from
//! incoming requests and written on every outgoing delivery, orchestrator and serving call.
//!
//! The service and the API only create `tracing` spans; whether they become OpenTelemetry spans
//! and how context is encoded is the binary's business (`steward-server`'s telemetry installs a
//! [`Propagation`] when OTLP export is configured). Without one, nothing is read or written.

use std::sync::OnceLock;

/// The binary's bridge between `tracing` spans and the wire format of trace context.
pub trait Propagation: Send + Sync + 'static {
    /// Makes `span` a child of the remote context found through `get` (a header lookup).
    fn adopt(&self, span: &tracing::Span, get: &dyn Fn(&str) -> Option<String>);
    /// The headers that carry `span`'s context to the next process.
    fn headers(&self, span: &tracing::Span) -> Vec<(String, String)>;
}

static INSTALLED: OnceLock<Box<dyn Propagation>> = OnceLock::new();

/// Installs the process's propagation; the first call wins (tests may start several servers).
pub fn install(p: impl Propagation) {
    let _ = INSTALLED.set(Box::new(p));
}

/// Parents `span` on the caller's trace context, when propagation is installed.
pub fn adopt(span: &tracing::Span, get: &dyn Fn(&str) -> Option<String>) {
    if let Some(p) = INSTALLED.get() {
        p.adopt(span, get);
    }
}

/// The headers that carry the current span's context (none without propagation).
pub fn current_headers() -> Vec<(String, String)> {
    INSTALLED
        .get()
        .map(|p| p.headers(&tracing::Span::current()))
        .unwrap_or_default()
}
