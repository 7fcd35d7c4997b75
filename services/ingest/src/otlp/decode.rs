//! Reading an `ExportTraceServiceRequest` from protobuf or the OTLP JSON mapping.

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use serde_json::Value;

use crate::error::IngestError;

/// The two encodings OTLP/HTTP has; the answer uses the request's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Protobuf,
    Json,
}

impl Format {
    /// From `Content-Type`; OTLP's default (and a missing header) is protobuf.
    pub fn of(headers: &HeaderMap) -> Result<Self, IngestError> {
        let Some(value) = headers.get(CONTENT_TYPE) else { return Ok(Format::Protobuf) };
        let media = value.to_str().unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match media.as_str() {
            "application/x-protobuf" | "application/protobuf" => Ok(Format::Protobuf),
            "application/json" => Ok(Format::Json),
            _ => Err(IngestError::UnsupportedContentType(media)),
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Protobuf => "application/x-protobuf",
            Format::Json => "application/json",
        }
    }
}

/// A decoded request, and the spans that could not be read (JSON only:
/// protobuf either decodes whole or not at all).
#[derive(Debug, Default)]
pub struct Decoded {
    pub request: ExportTraceServiceRequest,
    /// Why each unreadable span was skipped.
    pub unreadable: Vec<String>,
}

pub fn decode(format: Format, bytes: &[u8]) -> Result<Decoded, IngestError> {
    match format {
        Format::Protobuf => ExportTraceServiceRequest::decode(bytes)
            .map(|request| Decoded { request, unreadable: Vec::new() })
            .map_err(|e| IngestError::InvalidProtobuf(e.to_string())),
        Format::Json => json(bytes),
    }
}

/// The OTLP JSON mapping, span by span: one span with a malformed id or
/// time costs that span, not the request. Only a body that is not JSON, or
/// whose envelope (`resourceSpans`, `scopeSpans`, `spans`) has the wrong
/// shape, is refused whole.
fn json(bytes: &[u8]) -> Result<Decoded, IngestError> {
    let root: Value = serde_json::from_slice(bytes).map_err(|e| IngestError::InvalidJson(e.to_string()))?;
    let shape = |what: &str| IngestError::InvalidJson(format!("{what} must be an array of objects"));
    let mut decoded = Decoded::default();
    for resource_spans in array(&root, "resourceSpans").ok_or_else(|| shape("resourceSpans"))? {
        let resource: Option<Resource> = part(resource_spans, "resource")?;
        let mut scopes = Vec::new();
        for scope_spans in array(resource_spans, "scopeSpans").ok_or_else(|| shape("scopeSpans"))? {
            let scope: Option<InstrumentationScope> = part(scope_spans, "scope")?;
            let mut spans = Vec::new();
            for span in array(scope_spans, "spans").ok_or_else(|| shape("spans"))? {
                match span_of(span) {
                    Ok(span) => spans.push(span),
                    Err(why) => decoded.unreadable.push(why),
                }
            }
            scopes.push(ScopeSpans { scope, spans, schema_url: string(scope_spans, "schemaUrl") });
        }
        decoded.request.resource_spans.push(ResourceSpans {
            resource,
            scope_spans: scopes,
            schema_url: string(resource_spans, "schemaUrl"),
        });
    }
    Ok(decoded)
}

/// The array at `key` of an object; absent or `null` is empty.
fn array<'v>(value: &'v Value, key: &str) -> Option<&'v [Value]> {
    let object = value.as_object()?;
    match object.get(key) {
        None | Some(Value::Null) => Some(&[]),
        Some(Value::Array(items)) => Some(items),
        Some(_) => None,
    }
}

fn string(value: &Value, key: &str) -> String {
    value.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn part<T: serde::de::DeserializeOwned>(value: &Value, key: &str) -> Result<Option<T>, IngestError> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(part) => serde_json::from_value(normalised(part.clone()))
            .map(Some)
            .map_err(|e| IngestError::InvalidJson(format!("{key}: {e}"))),
    }
}

fn span_of(value: &Value) -> Result<Span, String> {
    // Cut: the id is quoted back in the answer, whatever its length.
    let id: String = value.get("spanId").and_then(Value::as_str).unwrap_or("").chars().take(32).collect();
    serde_json::from_value(normalised(value.clone())).map_err(|e| format!("span {id:?}: {e}"))
}

/// What the OTLP JSON mapping allows but the generated types' serde does
/// not take: 64-bit times as JSON numbers (they read strings only) and
/// enums (`kind`, `status.code`) by name. Hex ids need nothing: their
/// decoder reads either case.
fn normalised(mut value: Value) -> Value {
    normalise(&mut value, 0);
    value
}

fn normalise(value: &mut Value, depth: usize) {
    // Deep enough for any span; deeper values are left for serde to refuse.
    if depth > 64 {
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                match (key.as_str(), &*item) {
                    ("startTimeUnixNano" | "endTimeUnixNano" | "timeUnixNano", Value::Number(n)) => {
                        *item = Value::String(n.to_string());
                    }
                    ("kind", Value::String(s)) => {
                        if let Some(kind) = opentelemetry_proto::tonic::trace::v1::span::SpanKind::from_str_name(s) {
                            *item = Value::from(kind as i32);
                        }
                    }
                    ("code", Value::String(s)) => {
                        if let Some(code) = opentelemetry_proto::tonic::trace::v1::status::StatusCode::from_str_name(s) {
                            *item = Value::from(code as i32);
                        }
                    }
                    _ => normalise(item, depth + 1),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| normalise(item, depth + 1)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRACE: &str = "5b8efff798038103d269b633813fc60c";

    fn body(spans: &str) -> String {
        format!(
            r#"{{"resourceSpans": [{{"resource": {{"attributes": [{{"key": "service.name", "value": {{"stringValue": "shop"}}}}]}},
                "scopeSpans": [{{"scope": {{"name": "lib", "version": "1"}}, "spans": [{spans}]}}]}}]}}"#
        )
    }

    #[test]
    fn json_reads_hex_ids_and_times_as_strings_or_numbers() {
        let upper = TRACE.to_ascii_uppercase();
        let spans = format!(
            r#"{{"traceId": "{upper}", "spanId": "EEE19B7EC3C1B174", "parentSpanId": "", "name": "a", "kind": 2,
                "startTimeUnixNano": "1544712660000000000", "endTimeUnixNano": 1544712661000000000,
                "attributes": [{{"key": "n", "value": {{"intValue": "42"}}}}, {{"key": "m", "value": {{"intValue": 7}}}}],
                "status": {{"code": "STATUS_CODE_ERROR"}}}}"#
        );
        let decoded = decode(Format::Json, body(&spans).as_bytes()).unwrap();
        assert!(decoded.unreadable.is_empty(), "{:?}", decoded.unreadable);
        let span = &decoded.request.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(span.trace_id, (0..16).map(|i| u8::from_str_radix(&TRACE[i * 2..i * 2 + 2], 16).unwrap()).collect::<Vec<_>>());
        assert_eq!(span.span_id, vec![0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74]);
        assert!(span.parent_span_id.is_empty());
        assert_eq!(span.end_time_unix_nano - span.start_time_unix_nano, 1_000_000_000);
        assert_eq!(span.status.as_ref().unwrap().code, 2);
        assert_eq!(span.kind, 2);
        assert_eq!(decoded.request.resource_spans[0].scope_spans[0].scope.as_ref().unwrap().name, "lib");
    }

    #[test]
    fn a_span_with_a_malformed_id_is_skipped_alone() {
        let good = format!(r#"{{"traceId": "{TRACE}", "spanId": "0102030405060708", "name": "ok", "startTimeUnixNano": "1"}}"#);
        let bad = format!(r#"{{"traceId": "{TRACE}", "spanId": "not-hex!", "name": "bad"}}"#);
        let decoded = decode(Format::Json, body(&format!("{good}, {bad}")).as_bytes()).unwrap();
        assert_eq!(decoded.request.resource_spans[0].scope_spans[0].spans.len(), 1);
        assert_eq!(decoded.unreadable.len(), 1);
        assert!(decoded.unreadable[0].contains("not-hex!"), "{}", decoded.unreadable[0]);
    }

    #[test]
    fn bodies_that_are_not_otlp_are_refused_whole() {
        for body in ["", "not json", r#"{"resourceSpans": 3}"#, r#"{"resourceSpans": [{"scopeSpans": [{"spans": {}}]}]}"#] {
            assert!(matches!(decode(Format::Json, body.as_bytes()), Err(IngestError::InvalidJson(_))), "{body}");
        }
        assert!(matches!(decode(Format::Protobuf, b"\xff\xff\xff"), Err(IngestError::InvalidProtobuf(_))));
        assert_eq!(decode(Format::Json, b"{}").unwrap().request.resource_spans.len(), 0);
    }

    #[test]
    fn the_content_type_picks_the_format() {
        let mut headers = HeaderMap::new();
        assert_eq!(Format::of(&headers).unwrap(), Format::Protobuf);
        headers.insert(CONTENT_TYPE, "application/json; charset=utf-8".parse().unwrap());
        assert_eq!(Format::of(&headers).unwrap(), Format::Json);
        headers.insert(CONTENT_TYPE, "text/xml".parse().unwrap());
        assert!(matches!(Format::of(&headers), Err(IngestError::UnsupportedContentType(_))));
    }
}
