//! Events of an issue, one event, and its attachments.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::cursor::{self, Cursor, Page, PageParams};
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::issues::issue_exists;
use crate::projects::scope;

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventSummary {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    #[schema(required)]
    pub release: Option<String>,
    #[schema(required)]
    pub environment: Option<String>,
    #[schema(required)]
    pub title: Option<String>,
    #[schema(required)]
    pub user_id: Option<String>,
    #[schema(required)]
    pub os: Option<String>,
    #[schema(required)]
    pub os_version: Option<String>,
    #[schema(required)]
    pub device_model: Option<String>,
    #[schema(required)]
    pub trace_id: Option<Uuid>,
}

/// An issue's events, newest first.
#[utoipa::path(get, path = "/projects/{pid}/issues/{iid}/events", operation_id = "list_events", tag = "events",
    params(("pid" = Uuid, Path), ("iid" = Uuid, Path), PageParams),
    responses((status = 200, body = [EventSummary], headers(("x-next-cursor" = String)))))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_id, issue_id)): Path<(Uuid, Uuid)>,
    Query(params): Query<PageParams>,
) -> Result<Page<EventSummary>, ApiError> {
    scope(&state, &caller, project_id).await?;
    let (limit, after) = params.page(25, 100)?;
    let (after_time, after_id) = match after {
        Some(c) => (Some(c.time()?), Some(c.id)),
        None => (None, None),
    };
    if !issue_exists(&state.reads, project_id, issue_id).await? {
        return Err(ApiError::NotFound);
    }
    // Columns the processor filled from the payload: the payload itself is
    // `json` text, which every `->` would parse whole again. `user_key` is
    // `user:<id>` or `install:<id>`; the list shows the id.
    let rows = sqlx::query_as!(
        EventSummary,
        "SELECT id, timestamp, received_at, release, environment, title,
                substr(user_key, strpos(user_key, ':') + 1) AS user_id,
                os, os_version, device_model, trace_id
           FROM events
          WHERE project_id = $1 AND issue_id = $2
            AND ($3::timestamptz IS NULL OR (timestamp, id) < ($3, $4))
          ORDER BY timestamp DESC, id DESC LIMIT $5",
        project_id,
        issue_id,
        after_time,
        after_id,
        limit + 1,
    )
    .fetch_all(&state.reads)
    .await?;
    Ok(Page::from_overfetch(rows, limit, |row| Cursor { key: cursor::micros(row.timestamp), id: row.id }))
}

/// A stored event as the dashboard shows it: the event (symbolicated,
/// trimmed, unknown fields kept) and where it sits.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventDetail {
    #[serde(flatten)]
    pub event: sentori_model::Event,
    pub issue_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The `Sentori-Sdk` (or Sentry `sdk`) the event came with.
    #[schema(required)]
    pub sdk: Option<String>,
    /// The next older event of the same issue.
    #[schema(required)]
    pub previous_event_id: Option<Uuid>,
    /// The next newer event of the same issue.
    #[schema(required)]
    pub next_event_id: Option<Uuid>,
}

/// One stored event, with its neighbours within the issue.
#[utoipa::path(get, path = "/projects/{pid}/events/{eid}", operation_id = "event_detail", tag = "events",
    params(("pid" = Uuid, Path), ("eid" = Uuid, Path)), responses((status = 200, body = EventDetail), (status = 404)))]
pub async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_id, event_id)): Path<(Uuid, Uuid)>,
) -> Result<axum::Json<EventDetail>, ApiError> {
    scope(&state, &caller, project_id).await?;
    Ok(axum::Json(load_detail(&state, project_id, event_id).await?))
}

/// The newest event of an issue, as `/events/{eid}` answers it. The issue
/// page asks for it beside the issue instead of after it (404 when the
/// issue has no event stored, e.g. after retention).
#[utoipa::path(get, path = "/projects/{pid}/issues/{iid}/events/latest", operation_id = "latest_event", tag = "events",
    params(("pid" = Uuid, Path), ("iid" = Uuid, Path)), responses((status = 200, body = EventDetail), (status = 404)))]
pub async fn latest(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_id, issue_id)): Path<(Uuid, Uuid)>,
) -> Result<axum::Json<EventDetail>, ApiError> {
    scope(&state, &caller, project_id).await?;
    let latest: Option<Uuid> =
        sqlx::query_scalar!(
            "SELECT id FROM events WHERE project_id = $1 AND issue_id = $2 ORDER BY timestamp DESC, id DESC LIMIT 1",
            project_id,
            issue_id,
        )
        .fetch_optional(&state.pool)
        .await?;
    Ok(axum::Json(load_detail(&state, project_id, latest.ok_or(ApiError::NotFound)?).await?))
}

async fn load_detail(state: &AppState, project_id: Uuid, event_id: Uuid) -> Result<EventDetail, ApiError> {
    let stored = sqlx::query!(
        r#"SELECT payload AS "payload: sqlx::types::Json<sentori_model::Event>", issue_id AS "issue_id!", timestamp, received_at, sdk
             FROM events WHERE project_id = $1 AND id = $2 LIMIT 1"#,
        project_id,
        event_id,
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(ApiError::NotFound)?;
    let neighbours = sqlx::query!(
        r#"SELECT (SELECT id FROM events WHERE project_id = $1 AND issue_id = $2 AND (timestamp, id) < ($3, $4)
                    ORDER BY timestamp DESC, id DESC LIMIT 1) AS "previous?",
                  (SELECT id FROM events WHERE project_id = $1 AND issue_id = $2 AND (timestamp, id) > ($3, $4)
                    ORDER BY timestamp ASC, id ASC LIMIT 1) AS "next?""#,
        project_id,
        stored.issue_id,
        stored.timestamp,
        event_id,
    )
    .fetch_one(&state.pool)
    .await?;
    Ok(EventDetail {
        event: stored.payload.0,
        issue_id: stored.issue_id,
        received_at: stored.received_at,
        sdk: stored.sdk,
        previous_event_id: neighbours.previous,
        next_event_id: neighbours.next,
    })
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttachmentRow {
    /// The attachment's id, as the upload answered it (`refId`).
    #[serde(rename = "ref")]
    pub id: Uuid,
    pub kind: String,
    pub media_type: String,
    pub size_bytes: i64,
    #[schema(required)]
    pub source: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(required)]
    pub captured_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(skip)]
    pub sha256: String,
}

async fn event_exists(state: &AppState, project_id: Uuid, event_id: Uuid) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM event_ids WHERE project_id = $1 AND id = $2) AS "exists!""#,
        project_id,
        event_id,
    )
    .fetch_one(&state.pool)
    .await?)
}

/// An event's attachments. Listed by event id even when the event itself
/// has not been stored yet (SDKs upload attachments first).
#[utoipa::path(get, path = "/projects/{pid}/events/{eid}/attachments", tag = "events",
    params(("pid" = Uuid, Path), ("eid" = Uuid, Path)),
    responses((status = 200, body = [AttachmentRow]), (status = 503, description = "attachmentsDisabled")))]
pub async fn attachments(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_id, event_id)): Path<(Uuid, Uuid)>,
) -> Result<axum::Json<Vec<AttachmentRow>>, ApiError> {
    scope(&state, &caller, project_id).await?;
    if state.config.attachment_dir.is_none() {
        return Err(ApiError::AttachmentsDisabled);
    }
    let rows = sqlx::query_as!(
        AttachmentRow,
        "SELECT id, kind, media_type, size_bytes, source, captured_at, created_at, sha256
           FROM attachments WHERE project_id = $1 AND event_id = $2 ORDER BY created_at, id",
        project_id,
        event_id,
    )
    .fetch_all(&state.pool)
    .await?;
    if rows.is_empty() && !event_exists(&state, project_id, event_id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(axum::Json(rows))
}

/// Media types the dashboard shows inline; anything else is a download.
const INLINE: [&str; 6] = ["image/png", "image/jpeg", "image/webp", "application/json", "text/plain", "application/x-ndjson"];

/// An attachment's bytes.
#[utoipa::path(get, path = "/projects/{pid}/events/{eid}/attachments/{ref}", tag = "events",
    params(("pid" = Uuid, Path), ("eid" = Uuid, Path), ("ref" = Uuid, Path)),
    responses((status = 200, description = "the blob", content_type = "application/octet-stream"),
              (status = 404), (status = 503, description = "attachmentsDisabled")))]
pub async fn blob(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_id, event_id, attachment_id)): Path<(Uuid, Uuid, Uuid)>,
) -> Result<Response, ApiError> {
    scope(&state, &caller, project_id).await?;
    let Some(dir) = state.config.attachment_dir.clone() else { return Err(ApiError::AttachmentsDisabled) };
    let row = sqlx::query_as!(
        AttachmentRow,
        "SELECT id, kind, media_type, size_bytes, source, captured_at, created_at, sha256
           FROM attachments WHERE project_id = $1 AND event_id = $2 AND id = $3",
        project_id,
        event_id,
        attachment_id,
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(ApiError::NotFound)?;
    // The digest names the file; anything but lowercase hex would be a path trick.
    if row.sha256.len() < 3 || !row.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(ApiError::NotFound);
    }
    let path = dir.join(&row.sha256[..2]).join(&row.sha256);
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(ApiError::NotFound),
        Err(err) => return Err(err.into()),
    };
    let len = file.metadata().await?.len();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(file));
    let media_type = row.media_type.to_ascii_lowercase();
    let inline = INLINE.contains(&media_type.as_str());
    let extension = match media_type.as_str() {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/webp" => "webp",
        "application/json" => "json",
        "text/plain" => "txt",
        "application/x-ndjson" => "ndjson",
        _ => "bin",
    };
    let disposition = format!(
        "{}; filename=\"{}-{}.{extension}\"",
        if inline { "inline" } else { "attachment" },
        row.kind.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
        row.id.simple()
    );
    let mut response = body.into_response();
    let headers = response.headers_mut();
    let content_type = if inline { media_type.as_str() } else { "application/octet-stream" };
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream")));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // Opened on its own, a blob can never run script or reach the session.
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    Ok(response)
}
