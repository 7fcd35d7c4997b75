//! A span: one unit of work in a trace.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::open_enum::open_enum;
use crate::Tags;

open_enum! {
    SpanStatus {
        Ok = "ok",
        Error = "error",
        Cancelled = "cancelled",
    }
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Span {
    /// The idempotency key.
    pub id: Uuid,
    pub trace_id: Uuid,
    /// Always written: `null` marks a root span.
    #[serialize_always]
    pub parent_span_id: Option<Uuid>,
    /// What kind of work: `http.client`, `db.query`, `react.navigation`…
    pub op: String,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: time::OffsetDateTime,
    pub duration_ms: i64,
    pub status: SpanStatus,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::HashMap<String, String>))]
    pub tags: Tags,
    pub data: Option<Map<String, Value>>,
    /// The W3C `traceparent` header the span continued from.
    pub traceparent: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What a trace's summary is built from, read from a stored span's JSON
/// tree without copying its strings ([`Span`] owns them). Lenient where a
/// span queued by an older ingest may lack a field: no op or name reads
/// empty, no duration 0, no status `ok`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpanSummary<'a> {
    pub id: Uuid,
    pub trace_id: Uuid,
    #[serde(default)]
    pub parent_span_id: Option<Uuid>,
    #[serde(default)]
    pub op: &'a str,
    #[serde(default)]
    pub name: &'a str,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: time::OffsetDateTime,
    #[serde(default)]
    pub duration_ms: i64,
    #[serde(default = "status_ok")]
    pub status: &'a str,
    #[serde(default, borrow)]
    pub tags: BTreeMap<&'a str, &'a str>,
}

fn status_ok() -> &'static str {
    "ok"
}

impl<'a> SpanSummary<'a> {
    /// Its `service.name` tag (OTLP spans carry one).
    pub fn service(&self) -> Option<&'a str> {
        self.tags.get("service.name").copied().filter(|s| !s.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_borrows_from_the_tree_and_fills_what_an_older_span_lacks() {
        let tree = serde_json::json!({
            "id": "0195a0a0-0000-7000-8000-000000000001", "traceId": "0195a0a0-0000-7000-8000-000000000002",
            "startedAt": "2026-12-07T10:00:00Z", "tags": {"service.name": "cart-api"}, "somethingNew": 1,
        });
        let summary = SpanSummary::deserialize(&tree).unwrap();
        assert_eq!((summary.op, summary.name, summary.duration_ms, summary.status), ("", "", 0, "ok"));
        assert_eq!((summary.parent_span_id, summary.service()), (None, Some("cart-api")));
        let span = Span::deserialize(&serde_json::json!({
            "id": summary.id, "traceId": summary.trace_id, "parentSpanId": summary.id, "op": "db.query", "name": "SELECT",
            "startedAt": "2026-12-07T10:00:00Z", "durationMs": 5, "status": "error",
        }))
        .unwrap();
        let tree = serde_json::to_value(&span).unwrap();
        let summary = SpanSummary::deserialize(&tree).unwrap();
        assert_eq!((summary.parent_span_id, summary.op, summary.status, summary.service()), (Some(span.id), "db.query", "error", None));
    }

    #[test]
    fn a_summary_without_ids_or_a_start_is_refused() {
        for missing in ["id", "traceId", "startedAt"] {
            let mut tree = serde_json::json!({
                "id": "0195a0a0-0000-7000-8000-000000000001", "traceId": "0195a0a0-0000-7000-8000-000000000002",
                "startedAt": "2026-12-07T10:00:00Z",
            });
            tree.as_object_mut().unwrap().remove(missing);
            let err = SpanSummary::deserialize(&tree).unwrap_err().to_string();
            assert!(err.contains(missing), "{err}");
        }
    }
}
