//! Chunk uploads: sentry-cli cuts a bundle into chunks of the advertised
//! size, names each by the SHA-1 of its uncompressed bytes, and posts the
//! ones the server lacks as multipart parts (`file_gzip` when gzip is
//! accepted, else `file`). Each chunk is checked against its name before it
//! is stored once per project and hash; chunks never assembled are swept.

use std::io::Read;

use axum::extract::{Multipart, OriginalUri, State};
use axum::{Extension, Json};
use flate2::read::GzDecoder;
use serde::Serialize;
use serde_json::{Value, json};
use sha1::{Digest, Sha1};
use uuid::Uuid;

use super::{CliError, CliProject, Uploads, is_sha1};
use crate::AppState;
use crate::artifacts::{BlobKind, lock_blob, remove_blob_unless_used};

/// A power of two, as sentry-cli requires.
pub const CHUNK_SIZE: usize = 8 * 1024 * 1024;
pub const CHUNKS_PER_REQUEST: usize = 64;
pub const MAX_REQUEST_SIZE: usize = 32 * 1024 * 1024;
/// Room for multipart boundaries and part headers.
pub const REQUEST_BODY_LIMIT: usize = MAX_REQUEST_SIZE + 1024 * 1024;
/// A gzip stream of incompressible bytes is slightly larger than they are.
const COMPRESSED_CHUNK_MAX: usize = CHUNK_SIZE + 64 * 1024;
/// How long a chunk waits for the assembly that uses it.
pub const CHUNK_TTL_SECS: f64 = 6.0 * 3600.0;
/// Expired chunks removed per upload request, so a sweep stays short.
const SWEEP_BATCH: i64 = 200;
/// How long sentry-cli polls an assembly before giving up.
const MAX_WAIT_SECS: u64 = 300;
/// The chunk store's advisory-lock namespace (see artifacts.rs).
pub const CHUNK_LOCK: &str = "upload-chunk:";

/// What `GET .../chunk-upload/` answers (sentry-cli's `ChunkServerOptions`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkOptions {
    url: String,
    chunk_size: usize,
    chunks_per_request: usize,
    max_request_size: usize,
    max_file_size: u64,
    max_wait: u64,
    concurrency: u8,
    hash_algorithm: &'static str,
    compression: [&'static str; 1],
    /// Only bundles: sentry-cli 2 reads `artifact_bundles_v2` as "asks for
    /// missing chunks before uploading", which is how this server works.
    accept: [&'static str; 2],
}

/// `GET /api/0/organizations/{org}/chunk-upload/`.
pub async fn options(
    Extension(uploads): Extension<Uploads>,
    _project: CliProject,
    OriginalUri(uri): OriginalUri,
) -> Json<ChunkOptions> {
    Json(ChunkOptions {
        // Relative: sentry-cli joins it to its --url, so the answer holds
        // behind any proxy.
        url: uri.path().to_owned(),
        chunk_size: CHUNK_SIZE,
        chunks_per_request: CHUNKS_PER_REQUEST,
        max_request_size: MAX_REQUEST_SIZE,
        max_file_size: uploads.artifacts.max_bytes,
        max_wait: MAX_WAIT_SECS,
        concurrency: 2,
        hash_algorithm: "sha1",
        compression: ["gzip"],
        accept: ["artifact_bundles", "artifact_bundles_v2"],
    })
}

/// `POST /api/0/organizations/{org}/chunk-upload/`.
pub async fn upload(
    State(state): State<AppState>,
    Extension(uploads): Extension<Uploads>,
    project: CliProject,
    mut multipart: Multipart,
) -> Result<Json<Value>, CliError> {
    sweep_expired(&state, &uploads).await?;
    let mut count = 0;
    while let Some(mut field) = multipart.next_field().await? {
        count += 1;
        if count > CHUNKS_PER_REQUEST {
            return Err(CliError::Invalid(format!("At most {CHUNKS_PER_REQUEST} chunks per request")));
        }
        let gzip = match field.name() {
            Some("file_gzip") => true,
            Some("file") => false,
            other => return Err(CliError::Invalid(format!("Unexpected part {other:?}: chunks are parts named file or file_gzip"))),
        };
        let claimed = field.file_name().unwrap_or("").trim().to_ascii_lowercase();
        let mut body = Vec::new();
        while let Some(bytes) = field.chunk().await? {
            if body.len() + bytes.len() > COMPRESSED_CHUNK_MAX {
                return Err(CliError::TooLarge(format!("A chunk is at most {CHUNK_SIZE} bytes")));
            }
            body.extend_from_slice(&bytes);
        }
        let chunk = decode_chunk(gzip, &claimed, &body, CHUNK_SIZE)?;
        store_chunk(&state, &uploads, project.project_id, &claimed, &chunk).await?;
    }
    Ok(Json(json!({})))
}

/// Why a chunk is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("A chunk's filename must be the SHA-1 of its bytes (40 hex digits), not {0:?}")]
    BadName(String),
    #[error("The chunk named {0} is not a readable gzip stream")]
    NotGzip(String),
    #[error("The chunk named {0} is larger than the chunk size ({CHUNK_SIZE} bytes)")]
    TooLarge(String),
    #[error("The chunk named {claimed} has the SHA-1 {actual}: it was damaged or misnamed")]
    Mismatch { claimed: String, actual: String },
}

impl From<ChunkError> for CliError {
    fn from(err: ChunkError) -> Self {
        match err {
            ChunkError::TooLarge(_) => CliError::TooLarge(err.to_string()),
            other => CliError::Invalid(other.to_string()),
        }
    }
}

/// The chunk's uncompressed bytes, once they are at most `chunk_size` and
/// hash to the name they came under. Decompression stops one byte past the
/// limit, so a gzip bomb costs no more than a chunk.
pub fn decode_chunk(gzip: bool, claimed_sha1: &str, body: &[u8], chunk_size: usize) -> Result<Vec<u8>, ChunkError> {
    if !is_sha1(claimed_sha1) {
        return Err(ChunkError::BadName(claimed_sha1.to_owned()));
    }
    let bytes = if gzip {
        let mut out = Vec::new();
        GzDecoder::new(body)
            .take(chunk_size as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|_| ChunkError::NotGzip(claimed_sha1.to_owned()))?;
        out
    } else {
        body.to_vec()
    };
    if bytes.len() > chunk_size {
        return Err(ChunkError::TooLarge(claimed_sha1.to_owned()));
    }
    let actual = hex::encode(Sha1::digest(&bytes));
    if actual != claimed_sha1 {
        return Err(ChunkError::Mismatch { claimed: claimed_sha1.to_owned(), actual });
    }
    Ok(bytes)
}

/// Stores a verified chunk once per project and SHA-1; a chunk sent again
/// only has its clock reset.
async fn store_chunk(state: &AppState, uploads: &Uploads, project_id: Uuid, sha1: &str, bytes: &[u8]) -> Result<(), CliError> {
    let touched = sqlx::query!(
        "UPDATE upload_chunks SET created_at = now() WHERE project_id = $1 AND sha1 = $2",
        project_id,
        sha1,
    )
    .execute(&state.pool)
    .await?;
    if touched.rows_affected() > 0 {
        return Ok(());
    }
    let mut writer = sentori_blobs::BlobStore::writer(&*uploads.chunks).await?;
    writer.write(bytes).await?;
    let staged = writer.finish().await?;
    let mut tx = state.pool.begin().await?;
    lock_blob(&mut tx, CHUNK_LOCK, staged.sha256()).await?;
    sqlx::query!(
        "INSERT INTO upload_chunks (project_id, sha1, content_sha256, size_bytes) VALUES ($1, $2, $3, $4)
         ON CONFLICT (project_id, sha1) DO UPDATE SET created_at = now()",
        project_id,
        sha1,
        staged.sha256(),
        bytes.len() as i64,
    )
    .execute(&mut *tx)
    .await?;
    // Published under the lock: a sweep of the same bytes waits, then sees the row.
    staged.persist().await?;
    tx.commit().await?;
    Ok(())
}

/// Removes a batch of chunks that waited longer than [`CHUNK_TTL_SECS`].
async fn sweep_expired(state: &AppState, uploads: &Uploads) -> Result<(), CliError> {
    let gone: Vec<String> = sqlx::query_scalar!(
        "DELETE FROM upload_chunks WHERE (project_id, sha1) IN (
             SELECT project_id, sha1 FROM upload_chunks WHERE created_at < now() - make_interval(secs => $1) LIMIT $2)
         RETURNING content_sha256",
        CHUNK_TTL_SECS,
        SWEEP_BATCH,
    )
    .fetch_all(&state.pool)
    .await?;
    forget_files(state, uploads, gone).await
}

/// Deletes the chunks' files that no chunk row names any more.
pub async fn forget_files(state: &AppState, uploads: &Uploads, mut hashes: Vec<String>) -> Result<(), CliError> {
    hashes.sort();
    hashes.dedup();
    for sha in hashes {
        remove_blob_unless_used(&state.pool, &*uploads.chunks, BlobKind::Chunk, &sha).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn sha1_of(bytes: &[u8]) -> String {
        hex::encode(Sha1::digest(bytes))
    }

    #[test]
    fn a_chunk_is_taken_plain_or_gzipped_under_its_sha1() {
        let bytes = b"PK\x03\x04 some bundle bytes".to_vec();
        let name = sha1_of(&bytes);
        assert_eq!(decode_chunk(false, &name, &bytes, 1024).unwrap(), bytes);
        assert_eq!(decode_chunk(true, &name, &gzip(&bytes), 1024).unwrap(), bytes);
    }

    #[test]
    fn a_sha1_mismatch_is_refused_with_both_hashes() {
        let bytes = b"chunk".to_vec();
        let wrong = sha1_of(b"other");
        let err = decode_chunk(false, &wrong, &bytes, 1024).unwrap_err();
        assert_eq!(err, ChunkError::Mismatch { claimed: wrong.clone(), actual: sha1_of(&bytes) });
        assert!(err.to_string().contains(&sha1_of(&bytes)));
        assert!(matches!(decode_chunk(false, "not-a-sha1", &bytes, 1024), Err(ChunkError::BadName(_))));
        assert!(matches!(decode_chunk(false, &wrong.to_uppercase(), &bytes, 1024), Err(ChunkError::BadName(_))));
    }

    #[test]
    fn an_oversize_chunk_is_refused_even_when_it_compresses_well() {
        let big = vec![0u8; 4096];
        let name = sha1_of(&big);
        assert_eq!(decode_chunk(false, &name, &big, 1024), Err(ChunkError::TooLarge(name.clone())));
        let bomb = gzip(&vec![0u8; 64 << 20]);
        assert!(bomb.len() < 1 << 20);
        assert_eq!(decode_chunk(true, &name, &bomb, 1024), Err(ChunkError::TooLarge(name.clone())));
        assert_eq!(decode_chunk(true, &name, b"not gzip", 1024), Err(ChunkError::NotGzip(name)));
    }

    #[test]
    fn the_advertised_chunk_size_is_a_power_of_two() {
        assert!(CHUNK_SIZE.is_power_of_two());
        assert!(CHUNK_SIZE * 2 <= MAX_REQUEST_SIZE);
    }
}
