//! Self-tracing (operations.md): with `SENTORI_SELF_TRACE_PROJECT_ID` set, a
//! service records its own work as spans of that project (`http.server` per
//! request, `queue.process` per processed batch) with OpenTelemetry, and
//! exports them straight onto the span stream, not over HTTP.
//!
//! The exporter only hands finished spans to a channel; a task appends them
//! to Valkey. That append is not itself traced (it is neither a request nor
//! a batch), and a batch made only of the self-trace project's own spans is
//! not traced either, so tracing never feeds on itself.

use std::sync::OnceLock;
use std::time::SystemTime;

pub use opentelemetry::trace::SpanKind;
use opentelemetry::trace::{Span as _, SpanId, Status, Tracer as _, TracerProvider as _};
use opentelemetry::{KeyValue, Value as OtelValue};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, SpanData, SpanExporter};
use sentori_queue::{Envelope, ItemKind, PartitionKey, Producer, Stream};
use sentori_store::sqlx::{self, PgPool};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc;
use uuid::Uuid;

/// The attribute that carries the protocol's `op`.
const OP: &str = "sentori.op";

struct Installed {
    tracer: SdkTracer,
    project_id: Uuid,
    // Dropping the provider would shut the exporter down.
    _provider: SdkTracerProvider,
}

static INSTALLED: OnceLock<Installed> = OnceLock::new();

/// Starts exporting this process's spans into `project_id`, when configured.
/// The project must exist: its org is looked up for the envelopes.
pub async fn install_if_configured(
    service: &'static str,
    project_id: Option<Uuid>,
    pool: &PgPool,
    producer: Producer,
) -> Result<(), sqlx::Error> {
    let Some(project_id) = project_id else { return Ok(()) };
    let Some(org_id) = sentori_store::projects::org_of(pool, project_id).await? else {
        tracing::error!(%project_id, "SENTORI_SELF_TRACE_PROJECT_ID names no project; self-tracing is off");
        return Ok(());
    };
    let (tx, mut rx) = mpsc::channel::<Vec<Value>>(64);
    tokio::spawn(async move {
        while let Some(spans) = rx.recv().await {
            let envelopes: Vec<Envelope> = spans
                .into_iter()
                .map(|span| Envelope::new(ItemKind::Span, project_id, org_id, OffsetDateTime::now_utc()).with_payload(span))
                .collect();
            if let Err(err) = producer.append(Stream::Spans, PartitionKey::any(), &envelopes).await {
                tracing::debug!(error = %err, "exporting self-trace spans failed; they are dropped");
            }
        }
    });
    let provider = SdkTracerProvider::builder().with_batch_exporter(StreamExporter { tx, service }).build();
    let tracer = provider.tracer(service);
    if INSTALLED.set(Installed { tracer, project_id, _provider: provider }).is_ok() {
        tracing::info!(%project_id, "self-tracing into the project's span stream");
    }
    Ok(())
}

/// The self-trace project, when self-tracing is on.
pub fn project_id() -> Option<Uuid> {
    INSTALLED.get().map(|i| i.project_id)
}

/// A span of this service's own work; ended (and exported) when dropped.
pub struct WorkSpan(Option<opentelemetry_sdk::trace::Span>);

impl WorkSpan {
    /// Starts a span with the protocol's `op` and `name`; a no-op when self-tracing is off.
    pub fn start(op: &'static str, name: String, kind: SpanKind) -> Self {
        WorkSpan(INSTALLED.get().map(|installed| {
            installed.tracer.span_builder(name).with_kind(kind).with_attributes([KeyValue::new(OP, op)]).start(&installed.tracer)
        }))
    }

    /// A span that records nothing.
    pub fn start_disabled() -> Self {
        WorkSpan(None)
    }

    pub fn set_tag(&mut self, key: &'static str, value: impl Into<OtelValue>) {
        if let Some(span) = &mut self.0 {
            span.set_attribute(KeyValue::new(key, value.into()));
        }
    }

    pub fn fail(&mut self, reason: impl Into<String>) {
        if let Some(span) = &mut self.0 {
            span.set_status(Status::error(reason.into()));
        }
    }
}

impl Drop for WorkSpan {
    fn drop(&mut self) {
        if let Some(span) = &mut self.0 {
            span.end();
        }
    }
}

#[derive(Debug)]
struct StreamExporter {
    tx: mpsc::Sender<Vec<Value>>,
    service: &'static str,
}

impl SpanExporter for StreamExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let spans = batch.iter().map(|span| to_protocol(span, self.service)).collect();
        // Never wait here: the SDK calls this from its own thread.
        let result = self.tx.try_send(spans).map_err(|e| OTelSdkError::InternalFailure(format!("self-trace queue: {e}")));
        std::future::ready(result)
    }
}

/// An OpenTelemetry span as a protocol Span. OpenTelemetry span ids have 8
/// bytes and the protocol's have 16: the trace id's first 8 bytes are
/// prefixed, which keeps ids unique within a trace and parents resolvable.
fn to_protocol(span: &SpanData, service: &str) -> Value {
    let trace = span.span_context.trace_id().to_bytes();
    let span_uuid = |id: SpanId| {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&trace[..8]);
        bytes[8..].copy_from_slice(&id.to_bytes());
        Uuid::from_bytes(bytes)
    };
    let mut op = "internal".to_owned();
    let mut tags = Map::new();
    tags.insert("service".into(), json!(service));
    for attribute in &span.attributes {
        if attribute.key.as_str() == OP {
            op = attribute.value.to_string();
        } else {
            tags.insert(attribute.key.to_string(), json!(attribute.value.to_string()));
        }
    }
    let started = OffsetDateTime::from(span.start_time);
    let duration_ms = span.end_time.duration_since(span.start_time).unwrap_or_default().as_millis() as u64;
    json!({
        "id": span_uuid(span.span_context.span_id()),
        "traceId": Uuid::from_bytes(trace),
        "parentSpanId": (span.parent_span_id != SpanId::INVALID).then(|| span_uuid(span.parent_span_id)),
        "op": op,
        "name": span.name,
        "startedAt": started.format(&Rfc3339).unwrap_or_else(|_| OffsetDateTime::from(SystemTime::now()).to_string()),
        "durationMs": duration_ms,
        "status": if matches!(span.status, Status::Error { .. }) { "error" } else { "ok" },
        "tags": tags,
    })
}

/// `http.server` spans per request, named by method and route template.
pub async fn trace_http(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    if INSTALLED.get().is_none() {
        return next.run(request).await;
    }
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let mut span = WorkSpan::start("http.server", format!("{} {route}", request.method()), SpanKind::Server);
    let response = next.run(request).await;
    span.set_tag("http.status_code", i64::from(response.status().as_u16()));
    if response.status().is_server_error() {
        span.fail(response.status().to_string());
    }
    response
}
