//! Logging and tracing set-up, in one place.
//!
//! Logs: `RUST_LOG`-style filtering (default `info`), text or JSON lines on standard output.
//!
//! Traces: when `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set,
//! the spans Steward opens (each HTTP request, GraphQL operation, window evaluation, policy
//! evaluation and outbox delivery) are exported over OTLP/HTTP in protobuf, batched on a thread
//! of their own. The standard variables apply: `OTEL_SERVICE_NAME` (default `steward`),
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT`,
//! `OTEL_TRACES_SAMPLER` / `_ARG`, and `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`
//! to turn export off. Only `http/protobuf` is spoken (port 4318 on a collector); asking for
//! gRPC is an error at start-up, not silence. Incoming `traceparent` headers are continued and
//! outgoing calls carry one (W3C Trace Context).

use anyhow::{Context as _, bail};
use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// What must outlive the server: the trace exporter, flushed on [`Telemetry::shutdown`].
#[derive(Debug, Default)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Exports what is still batched and stops the exporter.
    pub fn shutdown(self) {
        if let Some(p) = self.provider
            && let Err(e) = p.shutdown()
        {
            eprintln!("warning: flushing traces at shutdown failed: {e}");
        }
    }
}

/// Logs only (commands other than `serve`).
pub fn init(format: &str) {
    let _ = install(format, None);
}

/// Logs, and traces over OTLP when the environment asks for them. Must run inside the tokio
/// runtime (the exporter sends through it).
pub fn init_with_traces(format: &str) -> anyhow::Result<Telemetry> {
    let provider = otlp_provider()?;
    let tracer = provider.as_ref().map(|p| p.tracer("steward"));
    if install(format, tracer) {
        steward_service::propagation::install(W3c);
    }
    Ok(Telemetry { provider })
}

/// Installs the subscriber; false when one was installed already (tests start several servers).
fn install(format: &str, tracer: Option<opentelemetry_sdk::trace::SdkTracer>) -> bool {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let otel = tracer.map(|t| tracing_opentelemetry::layer().with_tracer(t));
    let registry = tracing_subscriber::registry().with(filter).with(otel);
    let fmt = tracing_subscriber::fmt::layer().with_target(false);
    if format == "json" {
        registry.with(fmt.json()).try_init().is_ok()
    } else {
        registry.with(fmt).try_init().is_ok()
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The tracer provider the OTEL_* variables describe, or `None` when they ask for no export.
pub fn otlp_provider() -> anyhow::Result<Option<SdkTracerProvider>> {
    let endpoint =
        env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| env("OTEL_EXPORTER_OTLP_ENDPOINT"));
    let disabled = env("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || env("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"));
    if endpoint.is_none() || disabled {
        return Ok(None);
    }
    let protocol =
        env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").or_else(|| env("OTEL_EXPORTER_OTLP_PROTOCOL"));
    if let Some(p) = protocol.filter(|p| p != "http/protobuf") {
        bail!(
            "OTEL_EXPORTER_OTLP_PROTOCOL={p}: Steward exports traces over http/protobuf only (a collector's port 4318)"
        );
    }
    let provider = provider(None)?;
    tracing::info!(
        endpoint = endpoint.as_deref().unwrap_or_default(),
        "exporting traces over OTLP/HTTP"
    );
    Ok(Some(provider))
}

/// A provider exporting to the collector at `base` (its `/v1/traces`), whatever the
/// environment says (benchmarks).
pub fn otlp_provider_for(base: &str) -> anyhow::Result<SdkTracerProvider> {
    provider(Some(format!("{}/v1/traces", base.trim_end_matches('/'))))
}

/// The batch exporter's provider; `traces_url` overrides the environment's endpoint.
fn provider(traces_url: Option<String>) -> anyhow::Result<SdkTracerProvider> {
    let client = Client {
        http: reqwest::Client::builder()
            .build()
            .context("building the OTLP HTTP client")?,
        runtime: tokio::runtime::Handle::try_current().context("traces need the async runtime")?,
    };
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_http_client(client);
    if let Some(url) = traces_url {
        builder = builder.with_endpoint(url);
    }
    let exporter = builder
        .build()
        .context("configuring the OTLP span exporter from OTEL_EXPORTER_OTLP_*")?;
    let mut resource = opentelemetry_sdk::Resource::builder();
    if env("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name("steward");
    }
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource.build())
        .build())
}

/// The exporter's HTTP client: the workspace's reqwest, driven on the server's runtime (the
/// batch exporter calls from a thread of its own).
#[derive(Debug)]
struct Client {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for Client {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (parts, body) = request.into_parts();
        let send = self
            .http
            .request(parts.method, parts.uri.to_string())
            .headers(parts.headers)
            .body(body)
            .send();
        let answer = self
            .runtime
            .spawn(async move {
                let resp = send.await?;
                let (status, headers) = (resp.status(), resp.headers().clone());
                Ok::<_, reqwest::Error>((status, headers, resp.bytes().await?))
            })
            .await??;
        let (status, headers, body) = answer;
        let mut response = Response::builder().status(status).body(body)?;
        *response.headers_mut() = headers;
        Ok(response)
    }
}

/// W3C Trace Context between `tracing` spans and HTTP headers.
struct W3c;

/// `traceparent` and `tracestate` as the caller sent them (empty when absent).
struct Get([String; 2]);

impl Extractor for Get {
    fn get(&self, key: &str) -> Option<&str> {
        let i = ["traceparent", "tracestate"]
            .iter()
            .position(|k| *k == key)?;
        Some(self.0[i].as_str()).filter(|v| !v.is_empty())
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent", "tracestate"]
    }
}

struct Put(Vec<(String, String)>);

impl Injector for Put {
    fn set(&mut self, key: &str, value: String) {
        self.0.push((key.to_string(), value));
    }
}

impl steward_service::propagation::Propagation for W3c {
    fn adopt(&self, span: &tracing::Span, get: &dyn Fn(&str) -> Option<String>) {
        let Some(parent) = get("traceparent") else {
            return;
        };
        let state = get("tracestate").unwrap_or_default();
        let cx = TraceContextPropagator::new().extract(&Get([parent, state]));
        let _ = span.set_parent(cx);
    }

    fn headers(&self, span: &tracing::Span) -> Vec<(String, String)> {
        let mut put = Put(Vec::new());
        TraceContextPropagator::new().inject_context(&span.context(), &mut put);
        put.0
    }
}
