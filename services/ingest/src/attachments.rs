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
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sentori_blobs::{BlobStore, StagedBlob};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::AppState;
use crate::auth::QueryToken;
use crate::error::IngestError;

/// The media types each kind accepts (protocol.md, "Attachment upload").
fn allowed_media_types(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "screenshot" => &["image/png", "image/jpeg", "image/webp"],
        "viewTree" | "stateSnapshot" | "sessionTrail" => &["application/json"],
        "logTail" => &["application/json", "text/plain"],
        "replay" => &["application/x-ndjson", "application/json"],
        _ => return None,
    })
}

const SOURCES: [&str; 3] = ["js", "ios", "android"];

/// Storage and limits, present when `SENTORI_ATTACHMENT_DIR` is set.
pub struct AttachmentStore {
    pub blobs: Arc<dyn BlobStore>,
    pub max_bytes: u64,
}

struct Upload {
    media_type: String,
    blob: Box<dyn StagedBlob>,
}

pub async fn post_attachment(
    State(state): State<AppState>,
    Path((event_id, kind)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, IngestError> {
    let caller = crate::routes::admit(&state, &headers, &uri, QueryToken::Refused).await?;
    let store = state.attachments.as_ref().ok_or(IngestError::AttachmentsDisabled)?;
    let event_id = Uuid::parse_str(&event_id).map_err(|_| crate::routes::invalid("eventId", "must be a UUID"))?;
    let allowed = allowed_media_types(&kind).ok_or_else(|| IngestError::InvalidKind(kind.clone()))?;
    let mut multipart = multipart.map_err(|e| crate::routes::invalid("body", &format!("must be multipart/form-data: {e}")))?;

    let (mut upload, mut source, mut captured_at) = (None, None, None);
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        match field.name().unwrap_or_default() {
            "file" => upload = Some(store_file(store, field, allowed).await?),
            "source" => {
                let value = field.text().await.map_err(multipart_error)?;
                if !SOURCES.contains(&value.as_str()) {
                    return Err(crate::routes::invalid("source", "must be one of js, ios, android"));
                }
                source = Some(value);
            }
            "capturedAt" => {
                let value = field.text().await.map_err(multipart_error)?;
                let parsed = OffsetDateTime::parse(value.trim(), &Rfc3339)
                    .map_err(|_| crate::routes::invalid("capturedAt", "must be an RFC 3339 timestamp"))?;
                captured_at = Some(parsed);
            }
            // Parts a newer SDK adds are ignored, as unknown JSON fields are kept.
            _ => {}
        }
    }
    let Upload { media_type, blob } = upload.ok_or_else(|| crate::routes::invalid("file", "required"))?;
    let (sha256, size) = (blob.sha256().to_owned(), blob.size());
    let project_id = caller.token.project_id;
    let ref_id = Uuid::new_v5(&project_id, format!("{event_id}:{kind}:{sha256}").as_bytes());
    // Retention deletes a blob once no row references it, under this same
    // per-hash lock: holding it from publishing the blob to committing the
    // row means a concurrent expiry can never delete the bytes just stored.
    let mut tx = state.pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('attachment-blob:' || $1, 0))")
        .bind(&sha256)
        .execute(&mut *tx)
        .await?;
    blob.persist().await.map_err(IngestError::Storage)?;
    sqlx::query(
        "INSERT INTO attachments (project_id, id, event_id, kind, media_type, size_bytes, sha256, source, captured_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT DO NOTHING",
    )
    .bind(project_id)
    .bind(ref_id)
    .bind(event_id)
    .bind(&kind)
    .bind(&media_type)
    .bind(size as i64)
    .bind(&sha256)
    .bind(source)
    .bind(captured_at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    let body = json!({"refId": ref_id, "sizeBytes": size, "mediaType": media_type, "kind": kind});
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// Streams the `file` part into blob storage, refusing it past the size limit.
async fn store_file(store: &AttachmentStore, mut field: Field<'_>, allowed: &'static [&'static str]) -> Result<Upload, IngestError> {
    let media_type = field
        .content_type()
        .map(|c| c.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .unwrap_or_default();
    if !allowed.contains(&media_type.as_str()) {
        return Err(IngestError::UnsupportedMediaType { got: media_type, allowed });
    }
    let mut writer = store.blobs.writer().await.map_err(IngestError::Storage)?;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        writer.write(&chunk).await.map_err(IngestError::Storage)?;
        if writer.size() > store.max_bytes {
            return Err(IngestError::PayloadTooLarge { limit: store.max_bytes as usize });
        }
    }
    let blob = writer.finish().await.map_err(IngestError::Storage)?;
    Ok(Upload { media_type, blob })
}

fn multipart_error(err: axum::extract::multipart::MultipartError) -> IngestError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return IngestError::PayloadTooLarge { limit: 0 };
    }
    crate::routes::invalid("body", &format!("the multipart body is malformed: {}", err.body_text()))
}
