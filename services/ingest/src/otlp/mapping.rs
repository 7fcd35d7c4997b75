//! OTLP spans into Sentori's own Span and Event (protocol.md, "OTLP").
//!
//! The result is the typed model; the caller serialises it and sends it
//! through the same validation and trimming as `/v1/spans` and `/v1/events`,
//! so no limit is checked twice and none is checked only here. What this
//! module rejects is what the model cannot hold: ids of the wrong size and
//! times that are not times.

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{Span as OtlpSpan, span};
use sentori_model::{App, Device, Error, Event, EventKind, Framework, Meta, Span, SpanStatus, Tags, ids};
use sentori_protocol::Limits;
use serde::Serialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::attributes::{scalar_text, to_object};
use super::stack;

/// Attributes that become tags (strings the lists can filter by) instead of data.
pub const TAG_KEYS: [&str; 14] = [
    "service.name",
    "service.version",
    "service.namespace",
    "service.instance.id",
    "deployment.environment.name",
    "deployment.environment",
    "telemetry.sdk.language",
    "telemetry.sdk.version",
    "host.name",
    "http.request.method",
    "http.response.status_code",
    "http.route",
    "db.system",
    "rpc.system",
];

/// Defaults for an exception event's required fields that OpenTelemetry resources may not carry.
pub const DEFAULT_SERVICE: &str = "unknown_service";
pub const DEFAULT_VERSION: &str = "unknown";
pub const DEFAULT_ENVIRONMENT: &str = "production";
pub const DEFAULT_PLATFORM: &str = "other";

/// Longest string value kept whole in a span's `data` when it is over its size limit.
const SQUEEZED_STRING_CHARS: usize = 1024;

/// The attributes every span of one resource and scope shares, split once
/// into tags and data, so a span pays only for its own attributes.
pub struct Context {
    /// Resource attributes, then scope attributes over them.
    attributes: Map<String, Value>,
    /// Those of [`TAG_KEYS`] that are scalars, as tags.
    tags: Tags,
    /// The rest.
    data: Map<String, Value>,
    scope_name: Option<String>,
    scope_version: Option<String>,
}

impl Context {
    pub fn new(resource: Option<&Resource>, scope: Option<&InstrumentationScope>) -> Self {
        let mut attributes = resource.map(|r| to_object(&r.attributes)).unwrap_or_default();
        if let Some(scope) = scope {
            attributes.extend(to_object(&scope.attributes));
        }
        let mut data = attributes.clone();
        let tags = take_tags(&mut data);
        let text = |s: &str| Some(s.to_owned()).filter(|s| !s.is_empty());
        Self {
            attributes,
            tags,
            data,
            scope_name: scope.and_then(|s| text(&s.name)),
            scope_version: scope.and_then(|s| text(&s.version)),
        }
    }

    /// The span's attributes over the shared ones, as tags and data: what
    /// merging the two maps and then taking the tags out gives.
    fn split(&self, own: Map<String, Value>) -> (Tags, Map<String, Value>) {
        let (mut tags, mut data) = (self.tags.clone(), self.data.clone());
        for (key, value) in own {
            let tag_key = TAG_KEYS.contains(&key.as_str());
            match scalar_text(&value).filter(|_| tag_key) {
                Some(text) => {
                    data.remove(&key);
                    tags.insert(key, text);
                }
                None => {
                    if tag_key {
                        tags.remove(&key);
                    }
                    data.insert(key, value);
                }
            }
        }
        (tags, data)
    }

    /// An attribute of the span, else of its resource or scope.
    fn get<'a>(&'a self, own: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
        own.get(key).or_else(|| self.attributes.get(key))
    }
}

/// One OTLP span as Sentori sees it.
#[derive(Debug)]
pub struct Mapped {
    pub span: Span,
    /// Its `exception` events, as error events in the same trace.
    pub exceptions: Vec<Event>,
}

/// Why a span cannot be mapped at all; the answer's `partial_success` names it.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("traceId must be 16 bytes, not all zero (got {0} bytes)")]
    TraceId(usize),
    #[error("spanId must be 8 bytes, not all zero (got {0} bytes)")]
    SpanId(usize),
    #[error("parentSpanId must be empty or 8 bytes, not all zero (got {0} bytes)")]
    ParentSpanId(usize),
    #[error("startTimeUnixNano is missing or out of range")]
    StartTime,
    #[error("endTimeUnixNano is before startTimeUnixNano")]
    EndTime,
}

pub fn map_span(context: &Context, otlp: &OtlpSpan) -> Result<Mapped, Rejection> {
    let trace_id = trace_id(&otlp.trace_id).ok_or(Rejection::TraceId(otlp.trace_id.len()))?;
    let id = span_id(&otlp.span_id).ok_or(Rejection::SpanId(otlp.span_id.len()))?;
    let parent_span_id = match otlp.parent_span_id.len() {
        0 => None,
        n => Some(span_id(&otlp.parent_span_id).ok_or(Rejection::ParentSpanId(n))?),
    };
    let started_at = time_of(otlp.start_time_unix_nano).ok_or(Rejection::StartTime)?;
    let nanos = otlp.end_time_unix_nano.checked_sub(otlp.start_time_unix_nano).ok_or(Rejection::EndTime)?;
    // Rounded to the nearest millisecond; the validator bounds it.
    let duration_ms = i64::try_from(nanos.saturating_add(500_000) / 1_000_000).unwrap_or(i64::MAX);

    let own = to_object(&otlp.attributes);
    let kind = SpanKind::try_from(otlp.kind).unwrap_or(SpanKind::Unspecified);
    let op = op_of(kind, |key| context.get(&own, key));
    let (tags, mut data) = context.split(own);
    let status = otlp.status.as_ref();
    let failed = status.is_some_and(|s| s.code == StatusCode::Error as i32);

    data.insert("otel.kind".into(), kind_name(kind).into());
    if let Some(message) = status.map(|s| s.message.as_str()).filter(|m| !m.is_empty()) {
        data.insert("otel.status.message".into(), message.into());
    }
    if let Some(name) = &context.scope_name {
        data.insert("otel.scope.name".into(), name.clone().into());
    }
    if let Some(version) = &context.scope_version {
        data.insert("otel.scope.version".into(), version.clone().into());
    }
    if !otlp.trace_state.is_empty() {
        data.insert("otel.traceState".into(), otlp.trace_state.clone().into());
    }
    if !otlp.events.is_empty() {
        data.insert("otel.events".into(), otlp.events.iter().map(event_json).collect());
    }
    if !otlp.links.is_empty() {
        data.insert("otel.links".into(), otlp.links.iter().map(link_json).collect());
    }
    for (key, count) in [
        ("otel.dropped.attributes", otlp.dropped_attributes_count),
        ("otel.dropped.events", otlp.dropped_events_count),
        ("otel.dropped.links", otlp.dropped_links_count),
    ] {
        if count > 0 {
            data.insert(key.into(), count.into());
        }
    }
    fit(&mut data, Limits::SPAN_DATA_MAX_BYTES);

    let span = Span {
        id,
        trace_id,
        parent_span_id,
        op,
        name: name_of(&otlp.name),
        started_at,
        duration_ms,
        status: if failed { SpanStatus::Error } else { SpanStatus::Ok },
        tags,
        data: Some(data),
        traceparent: None,
        extra: Map::new(),
    };
    let exceptions = otlp
        .events
        .iter()
        .enumerate()
        .filter(|(_, event)| event.name == "exception")
        .map(|(index, event)| exception(context, &span, index, event))
        .collect();
    Ok(Mapped { span, exceptions })
}

fn trace_id(bytes: &[u8]) -> Option<Uuid> {
    let bytes: [u8; 16] = bytes.try_into().ok()?;
    (bytes != [0; 16]).then(|| ids::trace_id(bytes))
}

fn span_id(bytes: &[u8]) -> Option<Uuid> {
    let bytes: [u8; 8] = bytes.try_into().ok()?;
    (bytes != [0; 8]).then(|| ids::span_id(bytes))
}

/// A Unix time in nanoseconds; 0 means "not set".
fn time_of(nanos: u64) -> Option<OffsetDateTime> {
    (nanos > 0).then(|| OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)).ok()).flatten()
}

/// The span's name, or a stand-in for the empty name OTLP allows; cut to
/// the model's length rather than rejecting a span over a long name.
fn name_of(name: &str) -> String {
    if name.is_empty() {
        return "(unnamed)".to_owned();
    }
    name.chars().take(Limits::SPAN_NAME_MAX_CHARS).collect()
}

fn kind_name(kind: SpanKind) -> &'static str {
    match kind {
        SpanKind::Unspecified | SpanKind::Internal => "internal",
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
    }
}

/// The op, from the semantic conventions the span follows, else its kind.
fn op_of<'a>(kind: SpanKind, attribute: impl Fn(&str) -> Option<&'a Value>) -> String {
    let has = |key: &str| attribute(key).is_some_and(|v| !v.is_null());
    let side = match kind {
        SpanKind::Server | SpanKind::Consumer => "server",
        _ => "client",
    };
    if has("http.request.method") || has("http.method") {
        return format!("http.{side}");
    }
    if has("db.system") || has("db.system.name") {
        return "db.query".to_owned();
    }
    if has("rpc.system") {
        return format!("rpc.{side}");
    }
    if has("messaging.system") {
        return match kind {
            SpanKind::Consumer | SpanKind::Server => "queue.process",
            _ => "queue.publish",
        }
        .to_owned();
    }
    format!("otel.{}", kind_name(kind))
}

/// Moves the [`TAG_KEYS`] attributes that are scalars out of `attributes` into tags.
fn take_tags(attributes: &mut Map<String, Value>) -> Tags {
    let mut tags = Tags::new();
    for key in TAG_KEYS {
        if let Some(text) = attributes.get(key).and_then(scalar_text) {
            attributes.remove(key);
            tags.insert(key.to_owned(), text);
        }
    }
    tags
}

fn event_json(event: &span::Event) -> Value {
    let mut out = json!({"name": event.name, "attributes": to_object(&event.attributes)});
    if let Some(at) = time_of(event.time_unix_nano).and_then(|t| t.format(&Rfc3339).ok()) {
        out["time"] = at.into();
    }
    if event.dropped_attributes_count > 0 {
        out["droppedAttributesCount"] = event.dropped_attributes_count.into();
    }
    out
}

/// A link as the span's data keeps it (`otel.links`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LinkData {
    trace_id: String,
    span_id: String,
    attributes: Map<String, Value>,
    #[serde(skip_serializing_if = "String::is_empty")]
    trace_state: String,
}

/// A link names its span as Sentori ids when they are well formed, else as the hex it came as.
fn link_json(link: &span::Link) -> Value {
    let hex = |bytes: &[u8]| bytes.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let data = LinkData {
        trace_id: trace_id(&link.trace_id).map_or_else(|| hex(&link.trace_id), |id| id.to_string()),
        span_id: span_id(&link.span_id).map_or_else(|| hex(&link.span_id), |id| id.to_string()),
        attributes: to_object(&link.attributes),
        trace_state: link.trace_state.clone(),
    };
    // Strings and a JSON object: serialising cannot fail.
    serde_json::to_value(data).unwrap_or_default()
}

/// Keeps `data` within `limit` bytes encoded: long strings are cut first,
/// then the largest entries go, largest first, their keys listed under
/// `otel.truncated`. A span is worth more than its biggest attribute.
fn fit(data: &mut Map<String, Value>, limit: usize) {
    let size = |v: &Value| serde_json::to_vec(v).map_or(usize::MAX, |b| b.len());
    let encoded = |data: &Map<String, Value>| serde_json::to_vec(data).map_or(usize::MAX, |b| b.len());
    if encoded_len_bound(data) <= limit || encoded(data) <= limit {
        return;
    }
    for value in data.values_mut() {
        squeeze(value);
    }
    let mut dropped = Vec::new();
    // Room for the list of dropped keys itself.
    while encoded(data) + 64 * (dropped.len() + 1) > limit {
        let Some(largest) = data.iter().max_by_key(|(_, v)| size(v)).map(|(k, _)| k.clone()) else { break };
        data.remove(&largest);
        dropped.push(Value::String(largest.chars().take(60).collect()));
    }
    if !dropped.is_empty() {
        data.insert("otel.truncated".into(), Value::Array(dropped));
    }
}

/// At least the length of `data` encoded as JSON (every byte of a string
/// escaped as `\u00XX` at worst), for a check that needs no encoding.
fn encoded_len_bound(data: &Map<String, Value>) -> usize {
    fn value(v: &Value) -> usize {
        match v {
            Value::String(s) => 6 * s.len() + 2,
            Value::Array(items) => 2 + items.iter().map(|item| value(item) + 1).sum::<usize>(),
            Value::Object(map) => object(map),
            // Numbers (at most 24 characters), true, false, null.
            _ => 24,
        }
    }
    fn object(map: &Map<String, Value>) -> usize {
        2 + map.iter().map(|(k, v)| 6 * k.len() + 4 + value(v)).sum::<usize>()
    }
    object(data)
}

fn squeeze(value: &mut Value) {
    match value {
        Value::String(s) if s.chars().count() > SQUEEZED_STRING_CHARS => {
            *s = s.chars().take(SQUEEZED_STRING_CHARS).chain(std::iter::once('…')).collect();
        }
        Value::Array(items) => items.iter_mut().for_each(squeeze),
        Value::Object(map) => map.values_mut().for_each(squeeze),
        _ => {}
    }
}

/// An `exception` span event as an error event of the span's trace.
fn exception(context: &Context, span: &Span, index: usize, event: &span::Event) -> Event {
    let tags = &span.tags;
    let attributes = to_object(&event.attributes);
    let text = |map: &Map<String, Value>, key: &str| map.get(key).and_then(scalar_text).filter(|s| !s.is_empty());
    let resource = |key: &str| tags.get(key).cloned().or_else(|| text(&context.attributes, key));
    let error_type = text(&attributes, "exception.type");
    let message = text(&attributes, "exception.message");
    let stacktrace = text(&attributes, "exception.stacktrace");
    let frames = stacktrace.as_deref().map(stack::parse).unwrap_or_default();
    let mut error = Error {
        error_type: error_type.unwrap_or_else(|| "Error".to_owned()),
        message,
        stack: frames,
        ..Error::default()
    };
    if error.stack.is_empty() {
        if let Some(stacktrace) = stacktrace {
            error.extra.insert("stacktrace".into(), stacktrace.into());
        }
    }
    let service = resource("service.name").unwrap_or_else(|| DEFAULT_SERVICE.to_owned());
    let version = resource("service.version");
    let language = resource("telemetry.sdk.language");
    let platform = match language.as_deref() {
        Some("webjs") => "javascript".to_owned(),
        Some(language) => language.to_owned(),
        None => DEFAULT_PLATFORM.to_owned(),
    };
    let environment = resource("deployment.environment.name")
        .or_else(|| resource("deployment.environment"))
        .unwrap_or_else(|| DEFAULT_ENVIRONMENT.to_owned());
    let device = Device {
        os: text(&context.attributes, "os.type").unwrap_or_else(|| "other".to_owned()),
        os_version: text(&context.attributes, "os.version").unwrap_or_else(|| DEFAULT_VERSION.to_owned()),
        model: text(&context.attributes, "device.model.identifier"),
        install_id: resource("service.instance.id"),
        ..Device::default()
    };
    let app = App {
        version: version.clone().unwrap_or_else(|| DEFAULT_VERSION.to_owned()),
        framework: language.map(|_| Framework {
            name: text(&context.attributes, "telemetry.sdk.name"),
            version: resource("telemetry.sdk.version"),
            ..Framework::default()
        }),
        ..App::default()
    };
    let mut event_tags = tags.clone();
    event_tags.insert("otel.span.op".into(), span.op.clone());
    let mut extra = Map::new();
    let escaped = attributes.get("exception.escaped");
    if let Some(escaped) = escaped.filter(|v| !v.is_null()) {
        extra.insert("otelExceptionEscaped".into(), escaped.clone());
    }
    Event {
        // Derived, not random: a retried export stores the event once.
        id: Uuid::new_v5(&span.id, format!("otlp-exception-{index}").as_bytes()),
        timestamp: time_of(event.time_unix_nano).unwrap_or(span.started_at),
        kind: EventKind::Error,
        platform,
        release: format!("{service}@{}", version.as_deref().unwrap_or(DEFAULT_VERSION)),
        environment,
        device,
        app,
        user: None,
        level: None,
        message: None,
        error: Some(error),
        tags: event_tags,
        flags: Tags::new(),
        breadcrumbs: Vec::new(),
        fingerprint: Vec::new(),
        trace_id: Some(span.trace_id),
        span_id: Some(span.id),
        attachments: Vec::new(),
        meta: Meta::default(),
        symbolication: None,
        extra,
    }
}

#[cfg(test)]
mod tests;
