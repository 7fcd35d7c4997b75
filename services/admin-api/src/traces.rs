//! Traces: summaries, and one trace with its spans and the errors inside it.

use axum::extract::State;
use axum::response::Response;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::cursor::{self, Cursor, Page, PageParams};
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::projects::scope;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// The root span's op, exactly.
    op: Option<String>,
    /// The root span's name, exactly (a row of the transaction summary).
    name: Option<String>,
    /// `ok`, `cancelled` or `error` (the worst span status).
    status: Option<String>,
    min_duration_ms: Option<i64>,
    /// Traces with a span of this service (its `service.name` tag, as OTLP spans carry it), exactly.
    service: Option<String>,
    /// 1 to 200, default 50.
    limit: Option<i64>,
    cursor: Option<String>,
}

// The list and the single trace select these columns, written out in each
// (a `query_as!` takes its text whole, and checks it against the fields).
// `traces.error_count` counts failed spans; the errors a trace's page lists
// are events, counted from `events` (by the `events_trace` index) so that
// every "errors" the dashboard shows for a trace is the same number.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TraceSummary {
    pub trace_id: Uuid,
    #[schema(required)]
    pub root_op: Option<String>,
    #[schema(required)]
    pub root_name: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub ended_at: OffsetDateTime,
    pub duration_ms: i64,
    pub span_count: i64,
    /// Error events stored with this trace's id: the ones its page lists.
    pub error_count: i64,
    /// Spans whose status is `error`; any makes the trace's `status` `error`.
    pub failed_span_count: i64,
    pub status: String,
    /// The `service.name` tags of its spans, sorted.
    pub services: Vec<String>,
}

/// Trace summaries, newest first.
#[utoipa::path(get, path = "/projects/{pid}/traces", operation_id = "list_traces", tag = "traces",
    params(("pid" = Uuid, Path), ListParams),
    responses((status = 200, body = [TraceSummary], headers(("x-next-cursor" = String)))))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<Uuid>,
    Query(params): Query<ListParams>,
) -> Result<Page<TraceSummary>, ApiError> {
    scope(&state, &caller, project_id).await?;
    let limit = cursor::limit(params.limit, 50, 200)?;
    let status = params.status.as_deref().filter(|s| !s.is_empty());
    if status.is_some_and(|s| !matches!(s, "ok" | "cancelled" | "error")) {
        return Err(ApiError::invalid("status", "must be one of ok, cancelled, error"));
    }
    if params.min_duration_ms.is_some_and(|d| d < 0) {
        return Err(ApiError::invalid("minDurationMs", "must not be negative"));
    }
    let after = Cursor::parse(params.cursor.as_deref())?;
    let (after_time, after_id) = match after {
        Some(c) => (Some(c.time()?), Some(c.id)),
        None => (None, None),
    };
    let rows = sqlx::query_as!(
        TraceSummary,
        r#"SELECT trace_id, root_op, root_name, started_at, ended_at, duration_ms, span_count,
                (SELECT count(*) FROM events e WHERE e.project_id = traces.project_id AND e.trace_id = traces.trace_id) AS "error_count!",
                error_count AS failed_span_count, status, services
           FROM traces
          WHERE project_id = $1
            AND ($2::text IS NULL OR root_op = $2)
            AND ($3::text IS NULL OR status = $3)
            AND ($4::bigint IS NULL OR duration_ms >= $4)
            AND ($5::timestamptz IS NULL OR started_at < $5 OR (started_at = $5 AND trace_id > $6))
            AND ($8::text IS NULL OR services @> ARRAY[$8::text])
            AND ($9::text IS NULL OR root_name = $9)
          ORDER BY started_at DESC, trace_id ASC LIMIT $7"#,
        project_id,
        params.op.as_deref().filter(|s| !s.is_empty()),
        status,
        params.min_duration_ms,
        after_time,
        after_id,
        limit + 1,
        params.service.as_deref().filter(|s| !s.is_empty()),
        params.name.as_deref().filter(|s| !s.is_empty()),
    )
    .fetch_all(&state.reads)
    .await?;
    Ok(Page::from_overfetch(rows, limit, |row| Cursor { key: cursor::micros(row.started_at), id: row.trace_id }))
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TraceEvent {
    pub id: Uuid,
    pub issue_id: Uuid,
    #[schema(required)]
    pub span_id: Option<Uuid>,
    #[schema(required)]
    pub title: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
}

/// Spans per page of a trace, the default and the most a client may ask
/// for: a trace can hold hundreds of thousands of spans, and one response
/// with all of them would be built whole in memory here and in the browser.
pub const SPANS_PER_PAGE: i64 = 1000;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TraceDetail {
    pub trace: TraceSummary,
    /// How many spans of this trace are stored: the sum of every page's `spans`.
    pub span_count: i64,
    /// One page of protocol spans, ordered by start time then id; the
    /// `X-Next-Cursor` header continues after it.
    #[schema(value_type = Vec<sentori_model::Span>)]
    pub spans: Vec<StoredSpan>,
    /// Every page carries all of them.
    pub events: Vec<TraceEvent>,
}

type SpanRow = (Uuid, Option<Uuid>, String, String, OffsetDateTime, i64, String, Value);

/// One trace: a page of its spans by start time, how many there are in
/// all, and the error events recorded in it.
#[utoipa::path(get, path = "/projects/{pid}/traces/{traceId}", operation_id = "trace_detail", tag = "traces",
    params(("pid" = Uuid, Path), ("traceId" = Uuid, Path), PageParams),
    responses(
        (status = 200, body = TraceDetail,
         headers(("x-next-cursor" = String, description = "pass as `cursor` for the next page of spans; absent on the last"))),
        (status = 404)))]
pub async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_id, trace_id)): Path<(Uuid, Uuid)>,
    Query(params): Query<PageParams>,
) -> Result<Response, ApiError> {
    scope(&state, &caller, project_id).await?;
    let (limit, after) = params.page(SPANS_PER_PAGE, SPANS_PER_PAGE)?;
    let (after_time, after_id) = match after {
        Some(c) => (Some(c.time()?), Some(c.id)),
        None => (None, None),
    };
    let mut trace = sqlx::query_as!(
        TraceSummary,
        r#"SELECT trace_id, root_op, root_name, started_at, ended_at, duration_ms, span_count,
                (SELECT count(*) FROM events e WHERE e.project_id = traces.project_id AND e.trace_id = traces.trace_id) AS "error_count!",
                error_count AS failed_span_count, status, services
           FROM traces WHERE project_id = $1 AND trace_id = $2"#,
        project_id,
        trace_id,
    )
    .fetch_optional(&state.reads)
    .await?
    .ok_or(ApiError::NotFound)?;
    // Counted, not `traces.span_count`: retention can drop some months of a
    // trace's spans before the trace, and the pages must add up to this.
    let span_count: i64 = sqlx::query_scalar!(
        r#"SELECT count(*) AS "count!" FROM spans WHERE project_id = $1 AND trace_id = $2"#,
        project_id,
        trace_id,
    )
    .fetch_one(&state.reads)
    .await?;
    // `started_at >= $3` is the part the (project_id, trace_id, started_at)
    // index serves; the id breaks ties between spans that started together.
    let rows: Vec<SpanRow> = sqlx::query!(
        "SELECT id, parent_span_id, op, name, started_at, duration_ms, status, payload
           FROM spans
          WHERE project_id = $1 AND trace_id = $2
            AND ($3::timestamptz IS NULL OR (started_at >= $3 AND (started_at > $3 OR id > $4)))
          ORDER BY started_at, id LIMIT $5",
        project_id,
        trace_id,
        after_time,
        after_id,
        limit + 1,
    )
    .map(|row| (row.id, row.parent_span_id, row.op, row.name, row.started_at, row.duration_ms, row.status, row.payload))
    .fetch_all(&state.reads)
    .await?;
    let page = Page::from_overfetch(rows, limit, |row| Cursor { key: cursor::micros(row.4), id: row.0 });
    let spans = page.rows.into_iter().map(|row| StoredSpan::from_row(trace_id, row)).collect();
    let events = sqlx::query_as!(
        TraceEvent,
        "SELECT id, issue_id, span_id, title, timestamp
           FROM events WHERE project_id = $1 AND trace_id = $2 ORDER BY timestamp, id",
        project_id,
        trace_id,
    )
    .fetch_all(&state.reads)
    .await?;
    // The list the page shows, counted: an event stored between the two
    // reads must not make the header and the list differ.
    trace.error_count = events.len() as i64;
    Ok(cursor::with_next(axum::Json(TraceDetail { trace, span_count, spans, events }), page.next))
}

/// A stored span as the protocol's span object: the columns, which are what
/// processing validated, and the rest of the stored payload as it came.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredSpan {
    id: Uuid,
    trace_id: Uuid,
    /// Always written: `null` marks a root span.
    parent_span_id: Option<Uuid>,
    op: String,
    name: String,
    #[serde(with = "time::serde::rfc3339")]
    started_at: OffsetDateTime,
    duration_ms: i64,
    status: String,
    #[serde(flatten)]
    payload: PayloadRest,
}

/// What a stored payload adds to the columns. The optional fields are
/// always present, as the Span schema allows them (no tags is `{}`); the
/// columns' own keys are read and dropped, so the columns win and no key
/// is written twice.
#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code, reason = "the column keys are read only to be dropped")]
struct PayloadRest {
    #[serde(default = "empty_object")]
    tags: Value,
    #[serde(default)]
    data: Value,
    #[serde(default)]
    traceparent: Value,
    #[serde(default, skip_serializing)]
    id: IgnoredAny,
    #[serde(default, skip_serializing)]
    trace_id: IgnoredAny,
    #[serde(default, skip_serializing)]
    parent_span_id: IgnoredAny,
    #[serde(default, skip_serializing)]
    op: IgnoredAny,
    #[serde(default, skip_serializing)]
    name: IgnoredAny,
    #[serde(default, skip_serializing)]
    started_at: IgnoredAny,
    #[serde(default, skip_serializing)]
    duration_ms: IgnoredAny,
    #[serde(default, skip_serializing)]
    status: IgnoredAny,
    #[serde(flatten)]
    extra: serde_json::Map<String, Value>,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

impl StoredSpan {
    fn from_row(trace_id: Uuid, (id, parent_span_id, op, name, started_at, duration_ms, status, payload): SpanRow) -> Self {
        // A payload that is not an object (none is stored so) adds nothing.
        let payload = if payload.is_object() { payload } else { empty_object() };
        // Every field takes any JSON value, so any object reads.
        let payload = serde_json::from_value(payload).expect("a JSON object reads as a span payload");
        Self { id, trace_id, parent_span_id, op, name, started_at, duration_ms, status, payload }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_stored_span_is_its_columns_over_its_payload_with_every_optional_field() {
        let (id, trace_id) = (Uuid::now_v7(), Uuid::now_v7());
        let started = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let payload = json!({"id": "stale", "op": "payload op", "status": "error", "data": {"rows": 3}, "sdkOnly": true});
        let row = (id, None, "db.query".to_owned(), "SELECT".to_owned(), started, 12, "ok".to_owned(), payload);
        let text = serde_json::to_string(&StoredSpan::from_row(trace_id, row)).unwrap();
        let span: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            span,
            json!({"id": id, "traceId": trace_id, "parentSpanId": null, "op": "db.query", "name": "SELECT",
                   "startedAt": "2023-11-14T22:13:20Z", "durationMs": 12, "status": "ok",
                   "tags": {}, "data": {"rows": 3}, "traceparent": null, "sdkOnly": true})
        );
        assert_eq!(text.matches("\"id\"").count(), 1, "the payload's own id is not written again: {text}");

        let bare = StoredSpan::from_row(trace_id, (id, Some(id), "op".into(), "n".into(), started, 0, "ok".into(), Value::Null));
        let span = serde_json::to_value(bare).unwrap();
        assert_eq!((span["tags"].clone(), span["data"].clone(), span["parentSpanId"].clone()), (json!({}), Value::Null, json!(id)));
    }
}
