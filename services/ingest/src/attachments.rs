//! `POST /v1/events/{eventId}/attachments/{kind}`: screenshots, view trees,
//! logs and replays, streamed to blob storage.
//!
//! The ref id is derived from the project, event, kind and content hash, so
//! identical bytes for the same event and kind return the same ref however
//! often an SDK retries. Upload is rare next to events, so the metadata row
//! is written here directly rather than through a stream.

use std::sync::Arc;

use axum::extract::multipart::{Field, MultipartRejection};
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sentori_blobs::{BlobStore, StagedBlob};
use sentori_store::attachments::{self, NewAttachment};
use serde_json::json;
use sqlx::{Postgres, Transaction};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Caller, QueryToken, Sender};
use crate::error::IngestError;
use crate::routes::invalid;

/// The media types each kind accepts (protocol.md, "Attachment upload").
pub(crate) fn allowed_media_types(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "screenshot" => &["image/png", "image/jpeg", "image/webp"],
        "viewTree" | "stateSnapshot" | "sessionTrail" => &["application/json"],
        "logTail" => &["application/json", "text/plain"],
        "replay" => &["application/x-ndjson", "application/json"],
        _ => return None,
    })
}

const SOURCES: [&str; 3] = ["js", "ios", "android"];

/// Every part but the file is a short word or timestamp.
const TEXT_PART_MAX_BYTES: usize = 256;
/// Room for the text parts and the multipart framing beside the file.
pub const MULTIPART_OVERHEAD: usize = 16 * 1024;
/// Distinct attachments one event may have.
pub const MAX_PER_EVENT: i64 = 20;
/// An event's attachments together hold at most this many files' worth.
const FILES_PER_EVENT_BYTES: u64 = 4;

/// Storage and limits, present when `SENTORI_ATTACHMENT_DIR` is set.
pub struct AttachmentStore {
    pub blobs: Arc<dyn BlobStore>,
    pub max_bytes: u64,
}

impl AttachmentStore {
    /// The whole request: one file and a little more.
    pub fn body_limit(&self) -> usize {
        usize::try_from(self.max_bytes).unwrap_or(usize::MAX).saturating_add(MULTIPART_OVERHEAD)
    }
}

struct Upload {
    media_type: String,
    blob: Box<dyn StagedBlob>,
}

/// The parts of an upload form.
struct Form {
    upload: Upload,
    source: Option<String>,
    captured_at: Option<OffsetDateTime>,
}

pub async fn post_attachment(
    State(state): State<AppState>,
    Path((event_id, kind)): Path<(String, String)>,
    sender: Sender,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, IngestError> {
    let caller = crate::routes::admit(&state, &sender, QueryToken::Refused).await?;
    let store = state.attachments.as_ref().ok_or(IngestError::AttachmentsDisabled)?;
    let event_id = Uuid::parse_str(&event_id).map_err(|_| invalid("eventId", "must be a UUID"))?;
    let allowed = allowed_media_types(&kind).ok_or_else(|| IngestError::InvalidKind(kind.clone()))?;
    let multipart = multipart.map_err(|e| invalid("body", &format!("must be multipart/form-data: {e}")))?;
    let Form { upload: Upload { media_type, blob }, source, captured_at } = read_form(store, multipart, allowed).await?;
    let size = blob.size();
    let attachment = Attachment { event_id, kind: &kind, media_type: &media_type, source, captured_at };
    let ref_id = store_attachment(&state, &caller, store, blob, attachment).await?;
    let body = json!({"refId": ref_id, "sizeBytes": size, "mediaType": media_type, "kind": kind});
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// What an attachment is, beside its bytes.
pub(crate) struct Attachment<'a> {
    pub event_id: Uuid,
    pub kind: &'a str,
    pub media_type: &'a str,
    pub source: Option<String>,
    pub captured_at: Option<OffsetDateTime>,
}

/// Stores a staged blob as an attachment of its event, within the per-event
/// caps and the daily bytes quota; the same bytes again are a no-op. Used
/// by the upload route and by Sentry envelopes' `attachment` items.
pub(crate) async fn store_attachment(
    state: &AppState,
    caller: &Caller,
    store: &AttachmentStore,
    blob: Box<dyn StagedBlob>,
    attachment: Attachment<'_>,
) -> Result<Uuid, IngestError> {
    let Attachment { event_id, kind, media_type, source, captured_at } = attachment;
    let (sha256, size) = (blob.sha256().to_owned(), blob.size());
    let project_id = caller.token.project_id;
    let ref_id = Uuid::new_v5(&project_id, format!("{event_id}:{kind}:{sha256}").as_bytes());

    let mut tx = state.pool.begin().await?;
    // One upload per event at a time, so parallel uploads cannot all pass
    // the per-event caps on the same count.
    advisory_lock(&mut tx, &format!("attachment-event:{project_id}:{event_id}")).await?;
    let held = sqlx::query!(
        r#"SELECT count(*) AS "count!", coalesce(sum(size_bytes), 0)::bigint AS "bytes!", coalesce(bool_or(id = $3), false) AS "stored!"
             FROM attachments WHERE project_id = $1 AND event_id = $2"#,
        project_id,
        event_id,
        ref_id,
    )
    .fetch_one(&mut *tx)
    .await?;
    let (count, bytes, stored) = (held.count, held.bytes, held.stored);
    // A retry of a stored attachment changes nothing, so it passes every cap.
    let grant = if stored {
        None
    } else {
        if count >= MAX_PER_EVENT {
            return Err(invalid("eventId", &format!("an event has at most {MAX_PER_EVENT} attachments")));
        }
        let event_max = FILES_PER_EVENT_BYTES * store.max_bytes;
        if bytes as u64 + size > event_max {
            return Err(invalid("eventId", &format!("an event's attachments hold at most {event_max} bytes together")));
        }
        Some(state.quotas.take_attachment_bytes(&caller.token, size).await?)
    };
    let row = Row { project_id, ref_id, event_id, kind, media_type, source, captured_at };
    let stored = store_row(tx, blob, row).await;
    if let (Err(_), Some(grant)) = (&stored, grant) {
        state.quotas.refund(grant).await;
    }
    stored?;
    Ok(ref_id)
}

/// Stages bytes already in memory, refusing more than the store's limit.
pub(crate) async fn stage(store: &AttachmentStore, bytes: &[u8]) -> Result<Box<dyn StagedBlob>, IngestError> {
    if bytes.len() as u64 > store.max_bytes {
        return Err(IngestError::PayloadTooLarge { limit: store.max_bytes as usize });
    }
    let mut writer = store.blobs.writer().await.map_err(IngestError::Storage)?;
    writer.write(bytes).await.map_err(IngestError::Storage)?;
    writer.finish().await.map_err(IngestError::Storage)
}

async fn advisory_lock(tx: &mut Transaction<'_, Postgres>, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", name)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// An `attachments` row but for what the blob itself says (hash, size).
struct Row<'a> {
    project_id: Uuid,
    ref_id: Uuid,
    event_id: Uuid,
    kind: &'a str,
    media_type: &'a str,
    source: Option<String>,
    captured_at: Option<OffsetDateTime>,
}

/// Publishes the blob and writes its row.
async fn store_row(mut tx: Transaction<'_, Postgres>, blob: Box<dyn StagedBlob>, row: Row<'_>) -> Result<(), IngestError> {
    let (sha256, size) = (blob.sha256().to_owned(), blob.size());
    attachments::lock_blob(&mut tx, &sha256).await?;
    blob.persist().await.map_err(IngestError::Storage)?;
    let new = NewAttachment {
        project_id: row.project_id,
        id: row.ref_id,
        event_id: row.event_id,
        kind: row.kind,
        media_type: row.media_type,
        size_bytes: size as i64,
        sha256: &sha256,
        source: row.source.as_deref(),
        captured_at: row.captured_at,
    };
    attachments::insert(&mut tx, &new).await?;
    tx.commit().await?;
    Ok(())
}

/// Reads every part: exactly one `file`, streamed to staging, and short text parts.
async fn read_form(
    store: &AttachmentStore,
    mut multipart: Multipart,
    allowed: &'static [&'static str],
) -> Result<Form, IngestError> {
    let (mut upload, mut source, mut captured_at) = (None, None, None);
    let body_limit = store.body_limit();
    while let Some(field) = multipart.next_field().await.map_err(|e| multipart_error(e, body_limit))? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if upload.is_some() {
                return Err(invalid("file", "only one file part is allowed"));
            }
            upload = Some(store_file(store, field, allowed).await?);
            continue;
        }
        let value = read_text_part(field, &name, body_limit).await?;
        match name.as_str() {
            "source" => {
                if !SOURCES.contains(&value.as_str()) {
                    return Err(invalid("source", "must be one of js, ios, android"));
                }
                source = Some(value);
            }
            "capturedAt" => {
                let parsed = OffsetDateTime::parse(value.trim(), &Rfc3339)
                    .map_err(|_| invalid("capturedAt", "must be an RFC 3339 timestamp"))?;
                captured_at = Some(parsed);
            }
            // Parts a newer SDK adds are ignored, as unknown JSON fields are kept.
            _ => {}
        }
    }
    let upload = upload.ok_or_else(|| invalid("file", "required"))?;
    Ok(Form { upload, source, captured_at })
}

/// A text part of at most [`TEXT_PART_MAX_BYTES`], refused by name past it.
async fn read_text_part(mut field: Field<'_>, name: &str, body_limit: usize) -> Result<String, IngestError> {
    let mut value = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, body_limit))? {
        if value.len() + chunk.len() > TEXT_PART_MAX_BYTES {
            // The name is the client's own text: echo only a bounded part of it.
            let shown: String = name.chars().take(64).collect();
            return Err(invalid(&shown, &format!("a text part holds at most {TEXT_PART_MAX_BYTES} bytes")));
        }
        value.extend_from_slice(&chunk);
    }
    String::from_utf8(value).map_err(|_| invalid(name, "must be UTF-8 text"))
}

/// Streams the `file` part into blob storage, refusing it past the size limit.
async fn store_file(
    store: &AttachmentStore,
    mut field: Field<'_>,
    allowed: &'static [&'static str],
) -> Result<Upload, IngestError> {
    let media_type = field
        .content_type()
        .map(|c| c.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .unwrap_or_default();
    if !allowed.contains(&media_type.as_str()) {
        return Err(IngestError::UnsupportedMediaType { got: media_type, allowed });
    }
    let mut writer = store.blobs.writer().await.map_err(IngestError::Storage)?;
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, store.body_limit()))? {
        writer.write(&chunk).await.map_err(IngestError::Storage)?;
        if writer.size() > store.max_bytes {
            return Err(IngestError::PayloadTooLarge { limit: store.max_bytes as usize });
        }
    }
    let blob = writer.finish().await.map_err(IngestError::Storage)?;
    Ok(Upload { media_type, blob })
}

fn multipart_error(err: axum::extract::multipart::MultipartError, body_limit: usize) -> IngestError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return IngestError::PayloadTooLarge { limit: body_limit };
    }
    invalid("body", &format!("the multipart body is malformed: {}", err.body_text()))
}
