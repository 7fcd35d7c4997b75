//! A span: one unit of work in a trace.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::open_enum::open_enum;
use crate::{Extra, Tags};

open_enum! {
    SpanStatus {
        Ok = "ok",
        Error = "error",
        Cancelled = "cancelled",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Span {
    /// The idempotency key.
    pub id: Uuid,
    pub trace_id: Uuid,
    /// Always written: `null` marks a root span.
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<std::collections::HashMap<String, serde_json::Value>>))]
    pub data: Option<Extra>,
    /// The W3C `traceparent` header the span continued from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::HashMap<String, serde_json::Value>))]
    pub extra: Extra,
}
