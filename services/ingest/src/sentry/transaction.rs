//! A Sentry transaction as Sentori spans: `contexts.trace` is the
//! transaction's own span, `spans[]` its descendants (each names its
//! parent). A standalone `span` item is one span in the same shape.

use serde_json::{Map, Value, json};
use sentori_model::{Span, SpanStatus, Tags, ids};
use sentori_protocol::Limits;
use time::OffsetDateTime;

use super::event::{environment, release, tags};
use super::values::{duration_ms, text_at, timestamp, truncate};

/// Why a transaction could not become spans at all.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransactionError {
    #[error("contexts.trace.trace_id is missing or not 32 hex digits")]
    NoTraceId,
}

pub fn map_transaction(root: &Value, received_at: OffsetDateTime) -> Result<Vec<Span>, TransactionError> {
    let trace = &root["contexts"]["trace"];
    let trace_id = text_at(trace, "trace_id").and_then(|t| ids::parse_trace_id(&t)).ok_or(TransactionError::NoTraceId)?;
    let end = root.get("timestamp").and_then(timestamp).unwrap_or(received_at);
    let start = root.get("start_timestamp").and_then(timestamp).unwrap_or(end);
    let mut root_tags = root.get("tags").map(tags).unwrap_or_default();
    // Release health and the trace view filter spans by these.
    root_tags.entry("release".into()).or_insert_with(|| release(root));
    root_tags.entry("environment".into()).or_insert_with(|| environment(root));
    let mut spans = Vec::new();
    let mut data = trace.get("data").and_then(Value::as_object).cloned().unwrap_or_default();
    for key in ["transaction_info", "measurements", "sdk", "platform"] {
        if let Some(v) = root.get(key).filter(|v| !v.is_null()) {
            data.insert(format!("sentry.{key}"), v.clone());
        }
    }
    let root_span = span(SpanParts {
        trace_id,
        fields: trace,
        name: text_at(root, "transaction"),
        start,
        end,
        tags: root_tags,
        data,
    });
    let root_span_id = root_span.as_ref().map(|s| s.id);
    spans.extend(root_span);
    if let Some(Value::Array(children)) = root.get("spans") {
        for child in children.iter().filter(|c| c.is_object()) {
            let child_trace = text_at(child, "trace_id").and_then(|t| ids::parse_trace_id(&t)).unwrap_or(trace_id);
            let child_end = child.get("timestamp").and_then(timestamp).unwrap_or(end);
            let mut mapped = span(SpanParts {
                trace_id: child_trace,
                fields: child,
                name: text_at(child, "description"),
                start: child.get("start_timestamp").and_then(timestamp).unwrap_or(child_end),
                end: child_end,
                tags: child.get("tags").map(tags).unwrap_or_default(),
                data: child.get("data").and_then(Value::as_object).cloned().unwrap_or_default(),
            });
            if let Some(span) = &mut mapped
                && span.parent_span_id.is_none()
            {
                // A child that names no parent hangs off the transaction.
                span.parent_span_id = root_span_id;
            }
            spans.extend(mapped);
        }
    }
    Ok(spans)
}

/// The spans of a `span` item: one span (the shape of a transaction's
/// child), or the span-streaming container `{"version": 2, "items": [...]}`
/// whose spans carry `name`, `end_timestamp` and typed `attributes`.
pub fn map_span_item(value: &Value, received_at: OffsetDateTime) -> Vec<Option<Span>> {
    match value.get("items") {
        Some(Value::Array(items)) => items.iter().map(|item| map_span(item, received_at)).collect(),
        _ => vec![map_span(value, received_at)],
    }
}

/// A streamed span's attributes as plain values: `{"k": {"value": v, "type": t}}` → `{"k": v}`.
fn attributes(value: &Value) -> Map<String, Value> {
    let Some(Value::Object(attributes)) = value.get("attributes") else { return Map::new() };
    attributes
        .iter()
        .map(|(key, attribute)| (key.clone(), attribute.get("value").cloned().unwrap_or_else(|| attribute.clone())))
        .collect()
}

/// One standalone span.
pub fn map_span(value: &Value, received_at: OffsetDateTime) -> Option<Span> {
    let trace_id = text_at(value, "trace_id").and_then(|t| ids::parse_trace_id(&t))?;
    let end = value.get("timestamp").and_then(timestamp).or_else(|| value.get("end_timestamp").and_then(timestamp));
    let end = end.unwrap_or(received_at);
    let mut data = value.get("data").and_then(Value::as_object).cloned().unwrap_or_default();
    let attributes = attributes(value);
    let mut tags = value.get("tags").map(tags).unwrap_or_default();
    let mut fields = value.clone();
    if let Some(op) = attributes.get("sentry.op").and_then(Value::as_str)
        && fields.get("op").is_none()
    {
        fields["op"] = json!(op);
    }
    // The segment (the transaction's own span) carries release and environment, as a transaction's root does.
    if value["is_segment"] == Value::Bool(true) {
        for (attribute, tag) in [("sentry.release", "release"), ("sentry.environment", "environment")] {
            if let Some(text) = attributes.get(attribute).and_then(super::values::text) {
                tags.entry(tag.into()).or_insert(text);
            }
        }
    }
    data.extend(attributes);
    span(SpanParts {
        trace_id,
        fields: &fields,
        name: text_at(value, "description").or_else(|| text_at(value, "name")),
        start: value.get("start_timestamp").and_then(timestamp).unwrap_or(end),
        end,
        tags,
        data,
    })
}

struct SpanParts<'a> {
    trace_id: uuid::Uuid,
    /// The object holding `span_id`, `parent_span_id`, `op`, `status`.
    fields: &'a Value,
    name: Option<String>,
    start: OffsetDateTime,
    end: OffsetDateTime,
    tags: Tags,
    data: Map<String, Value>,
}

fn span(parts: SpanParts) -> Option<Span> {
    let fields = parts.fields;
    let id = text_at(fields, "span_id").and_then(|s| ids::parse_span_id(&s))?;
    let op = text_at(fields, "op").unwrap_or_else(|| "default".into());
    let name = parts.name.unwrap_or_else(|| op.clone());
    let sentry_status = text_at(fields, "status");
    let status = match sentry_status.as_deref() {
        None | Some("ok") => SpanStatus::Ok,
        Some("cancelled") => SpanStatus::Cancelled,
        Some(_) => SpanStatus::Error,
    };
    let mut extra = Map::new();
    if let Some(original) = sentry_status.filter(|s| s != "ok" && s != "cancelled") {
        extra.insert("sentryStatus".into(), json!(original));
    }
    for key in ["origin", "exclusive_time", "segment_id", "is_segment"] {
        if let Some(v) = fields.get(key).filter(|v| !v.is_null()) {
            extra.insert(key.into(), v.clone());
        }
    }
    // Span data past its limit would reject the span; the span matters more.
    let data = (!parts.data.is_empty()).then_some(parts.data).filter(|data| {
        let fits = serde_json::to_vec(data).map_or(false, |bytes| bytes.len() <= Limits::SPAN_DATA_MAX_BYTES);
        if !fits {
            extra.insert("dataDropped".into(), json!("over 16 KiB"));
        }
        fits
    });
    Some(Span {
        id,
        trace_id: parts.trace_id,
        parent_span_id: text_at(fields, "parent_span_id").and_then(|p| ids::parse_span_id(&p)),
        op: truncate(op, Limits::SPAN_OP_MAX_CHARS),
        name: truncate(name, Limits::SPAN_NAME_MAX_CHARS),
        started_at: parts.start,
        duration_ms: duration_ms(parts.start, parts.end).min(Limits::SPAN_MAX_DURATION_MS),
        status,
        tags: parts.tags,
        data,
        traceparent: None,
        extra,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-12-02 10:00 UTC);
    const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

    fn validates(span: &Span) {
        let text = serde_json::to_string(span).unwrap();
        let tree = sentori_protocol::json::parse(text.as_bytes()).unwrap();
        if let Err(errors) = sentori_protocol::validate_span(tree, AT) {
            panic!("{errors:?}\n{text}");
        }
    }

    #[test]
    fn the_trace_context_is_the_root_span_and_spans_are_its_children() {
        let transaction = json!({
            "type": "transaction", "transaction": "GET /checkout", "release": "shop@1.0",
            "start_timestamp": "2026-12-02T09:59:59.000000Z", "timestamp": 1796205600.0,
            "contexts": {"trace": {"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331",
                                   "op": "http.server", "status": "ok"}},
            "tags": {"route": "checkout"},
            "spans": [
                {"span_id": "1111111111111111", "parent_span_id": "b7ad6b7169203331", "op": "db.query",
                 "description": "SELECT 1", "start_timestamp": 1796205599.25, "timestamp": 1796205599.5,
                 "status": "internal_error", "data": {"db.system": "postgresql"}},
                {"span_id": "2222222222222222", "op": "http.client", "start_timestamp": 1796205599.5, "timestamp": 1796205599.75},
                {"op": "no id: dropped"}
            ]
        });
        let spans = map_transaction(&transaction, AT).unwrap();
        assert_eq!(spans.len(), 3);
        let root = &spans[0];
        assert_eq!(root.trace_id.simple().to_string(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(root.parent_span_id, None);
        assert_eq!((root.op.as_str(), root.name.as_str(), root.duration_ms), ("http.server", "GET /checkout", 1000));
        assert_eq!(root.tags["route"], "checkout");
        assert_eq!(root.tags["release"], "shop@1.0");
        let db = &spans[1];
        assert_eq!(db.parent_span_id, Some(root.id));
        assert_eq!((db.name.as_str(), db.duration_ms, db.status.clone()), ("SELECT 1", 250, SpanStatus::Error));
        assert_eq!(db.extra["sentryStatus"], "internal_error");
        assert_eq!(db.data.as_ref().unwrap()["db.system"], "postgresql");
        assert_eq!(spans[2].parent_span_id, Some(root.id), "no parent named: the transaction's child");
        assert_eq!(spans[2].name, "http.client");
        spans.iter().for_each(validates);
    }

    #[test]
    fn a_transaction_without_a_trace_id_is_refused_and_a_continued_one_keeps_its_parent() {
        assert_eq!(map_transaction(&json!({"contexts": {}}), AT).unwrap_err(), TransactionError::NoTraceId);
        let continued = json!({"contexts": {"trace": {"trace_id": "0af7651916cd43dd8448eb211c80319c",
            "span_id": "b7ad6b7169203331", "parent_span_id": "00f067aa0ba902b7"}}});
        let spans = map_transaction(&continued, AT).unwrap();
        assert_eq!(spans[0].parent_span_id, ids::parse_span_id("00f067aa0ba902b7"));
        assert_eq!(spans[0].op, "default");
        validates(&spans[0]);
    }

    #[test]
    fn a_standalone_span_and_oversized_data() {
        let span = map_span(&json!({"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331",
            "op": "ui.load", "start_timestamp": 1796205599.0, "timestamp": 1796205600.0,
            "data": {"big": "x".repeat(20_000)}}), AT).unwrap();
        assert_eq!(span.duration_ms, 1000);
        assert!(span.data.is_none());
        assert_eq!(span.extra["dataDropped"], "over 16 KiB");
        validates(&span);
        assert!(map_span(&json!({"span_id": "b7ad6b7169203331"}), AT).is_none());
    }

    #[test]
    fn streamed_spans_come_in_a_container_with_typed_attributes() {
        let item = json!({"version": 2, "items": [
            {"name": "nightly-report", "span_id": "97f072224846f005", "trace_id": TRACE, "is_segment": true,
             "start_timestamp": 1796205599.0, "end_timestamp": 1796205600.0, "status": "ok",
             "attributes": {"sentry.op": {"value": "task", "type": "string"},
                            "sentry.release": {"value": "shop@1.0", "type": "string"},
                            "user.id": {"value": 4242, "type": "integer"}}},
            {"name": "SELECT 1", "span_id": "bd9d4eceba923a53", "trace_id": TRACE, "parent_span_id": "97f072224846f005",
             "start_timestamp": 1796205599.25, "end_timestamp": 1796205599.5, "status": "error",
             "attributes": {"sentry.op": {"value": "db.query", "type": "string"}}},
            {"name": "no trace id"}
        ]});
        let spans = map_span_item(&item, AT);
        assert!(spans[2].is_none());
        let (segment, child) = (spans[0].as_ref().unwrap(), spans[1].as_ref().unwrap());
        assert_eq!((segment.op.as_str(), segment.name.as_str(), segment.duration_ms), ("task", "nightly-report", 1000));
        assert_eq!(segment.parent_span_id, None);
        assert_eq!(segment.tags["release"], "shop@1.0");
        assert_eq!(segment.data.as_ref().unwrap()["user.id"], 4242);
        assert_eq!((child.op.as_str(), child.duration_ms, child.status.clone()), ("db.query", 250, SpanStatus::Error));
        assert_eq!(child.parent_span_id, Some(segment.id));
        validates(segment);
        validates(child);
    }
}
