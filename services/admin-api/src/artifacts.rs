//! Release artifacts (admin-api.md, "Releases and artifacts"): source maps
//! and bundles uploaded per project and release, used by the processor's
//! symbolication.
//!
//! Uploads stream: every multipart part goes chunk by chunk through a hashing
//! blob writer into a temporary file, so a map of hundreds of megabytes never
//! sits in memory. Blobs are stored once per SHA-256; a blob is removed when
//! the last artifact row naming it is gone. Publishing a blob and deleting one
//! both hold a transaction-scoped advisory lock on its hash, so a delete can
//! never remove a blob that a concurrent upload has just recorded.

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::multipart::MultipartError;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use sentori_blobs::{BlobStore, LocalDir, StagedBlob};
use sentori_config::Env;
use sentori_protocol::{ErrorBody, FieldError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Caller, OkBody};
use crate::error::ApiError;

/// Default upload limit: a large React Native bundle and its map fit easily.
const DEFAULT_MAX_BYTES: u64 = 256 * 1024 * 1024;
/// Room for multipart boundaries and part headers on top of the file bytes.
const MULTIPART_OVERHEAD: u64 = 1024 * 1024;
/// Same as an event's release (protocol.md).
const RELEASE_MAX_CHARS: usize = 200;
const NAME_MAX_CHARS: usize = 1024;

#[derive(Debug, Clone)]
pub struct ArtifactConfig {
    /// `SENTORI_DATA_DIR`; blobs go under its `artifacts/`.
    pub data_dir: PathBuf,
    /// `SENTORI_ARTIFACT_MAX_BYTES`: the most one upload request may carry.
    pub max_bytes: u64,
}

impl ArtifactConfig {
    pub fn read(env: &mut Env) -> Self {
        let data_dir = PathBuf::from(env.optional("SENTORI_DATA_DIR").unwrap_or_else(|| "/data".into()));
        let max_bytes = env.parsed_or("SENTORI_ARTIFACT_MAX_BYTES", DEFAULT_MAX_BYTES);
        if max_bytes == 0 {
            env.invalid("SENTORI_ARTIFACT_MAX_BYTES", "must be at least 1");
        }
        Self { data_dir, max_bytes }
    }
}

/// What the artifact handlers share besides the app state (the `/api/0/`
/// bundle uploads store into the same blobs).
#[derive(Clone)]
pub(crate) struct Artifacts {
    pub store: Arc<dyn BlobStore>,
    pub max_bytes: u64,
}

impl Artifacts {
    pub fn new(config: &ArtifactConfig) -> Self {
        Self { store: Arc::new(LocalDir::new(config.data_dir.join("artifacts"))), max_bytes: config.max_bytes }
    }
}

/// The artifact routes, to be merged into the `/admin/api` router.
pub(crate) fn routes(artifacts: Artifacts) -> Router<AppState> {
    // Axum's default 2 MB body limit would refuse any real source map; the
    // upload routes get the configured limit instead (still enforced while
    // streaming, so a lying Content-Length gains nothing).
    let body_limit = usize::try_from(artifacts.max_bytes.saturating_add(MULTIPART_OVERHEAD)).unwrap_or(usize::MAX);
    Router::new()
        .route("/projects/{pid}/releases/{release}/artifacts", post(upload_to_project).get(list))
        .route("/releases/{release}/sourcemaps", post(upload_from_cli))
        .layer(DefaultBodyLimit::max(body_limit))
        .route("/projects/{pid}/releases/{release}/artifacts/{aid}", delete(remove))
        .route("/projects/{pid}/artifact-bundles", get(list_bundles))
        .layer(Extension(artifacts))
}

#[derive(Debug, thiserror::Error)]
enum ArtifactError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("the upload exceeds {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("malformed multipart body: {0}")]
    Multipart(String),
    #[error("blob storage: {0}")]
    Storage(#[from] std::io::Error),
}

impl From<sqlx::Error> for ArtifactError {
    fn from(err: sqlx::Error) -> Self {
        ArtifactError::Api(ApiError::Database(err))
    }
}

impl From<MultipartError> for ArtifactError {
    fn from(err: MultipartError) -> Self {
        // The body limit surfaces as a multipart read error carrying 413.
        if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ArtifactError::TooLarge { limit: 0 };
        }
        ArtifactError::Multipart(err.body_text())
    }
}

impl IntoResponse for ArtifactError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ArtifactError::Api(err) => return err.into_response(),
            ArtifactError::TooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorBody::new("tooLarge", "The upload exceeds the artifact size limit")
                    .with_hint("the server's SENTORI_ARTIFACT_MAX_BYTES sets the limit"),
            ),
            ArtifactError::Multipart(reason) => (
                StatusCode::BAD_REQUEST,
                ErrorBody::validation_failed(vec![FieldError::new("$", format!("not a readable multipart/form-data body: {reason}"))]),
            ),
            ArtifactError::Storage(err) => {
                tracing::error!(error = %err, "artifact storage failed");
                (StatusCode::SERVICE_UNAVAILABLE, ErrorBody::new("unavailable", "Artifact storage is unavailable; retry later"))
            }
        };
        (status, Json(body)).into_response()
    }
}

/// What an upload answers.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UploadAnswer {
    release_id: Uuid,
    /// How many files were stored (a name sent twice counts once: the later part wins).
    uploaded: usize,
    artifacts: Vec<UploadedArtifact>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UploadedArtifact {
    name: String,
    /// `sourcemap`, `minified` or `other`, by the file name.
    kind: &'static str,
    /// SHA-256 of the file, hex.
    content_hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ArtifactRow {
    id: Uuid,
    name: String,
    /// `sourcemap`, `minified` or `other`, by the file name.
    kind: String,
    size_bytes: i64,
    /// SHA-256 of the file, hex.
    content_hash: String,
    /// For a source map: the `file` it describes.
    #[schema(required)]
    file: Option<String>,
    /// For a source map: its `debugId` (or `debug_id`).
    #[schema(required)]
    debug_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

/// Upload build artifacts (multipart, one part per file) to a release of the project.
#[utoipa::path(post, path = "/projects/{pid}/releases/{release}/artifacts", tag = "artifacts",
    params(("pid" = Uuid, Path), ("release" = String, Path, description = "The release name, percent-encoded")),
    request_body(content_type = "multipart/form-data",
                 description = "one part per file; its filename (or field name) names the artifact"),
    responses((status = 200, body = UploadAnswer), (status = 400),
              (status = 413, description = "over SENTORI_ARTIFACT_MAX_BYTES")))]
async fn upload_to_project(
    State(state): State<AppState>,
    Extension(artifacts): Extension<Artifacts>,
    caller: Caller,
    Path((project_id, release)): Path<(Uuid, String)>,
    multipart: Multipart,
) -> Result<Json<UploadAnswer>, ArtifactError> {
    caller.require_project(project_id)?;
    upload(&state, &artifacts, project_id, &release, multipart).await
}

/// The upload CLI's route: the project is the bearer token's.
#[utoipa::path(post, path = "/releases/{release}/sourcemaps", tag = "artifacts",
    params(("release" = String, Path, description = "The release name, percent-encoded")),
    request_body(content_type = "multipart/form-data",
                 description = "one part per file; its filename (or field name) names the artifact"),
    responses((status = 200, body = UploadAnswer), (status = 400, description = "also: the caller is not a project's token"),
              (status = 413, description = "over SENTORI_ARTIFACT_MAX_BYTES")))]
async fn upload_from_cli(
    State(state): State<AppState>,
    Extension(artifacts): Extension<Artifacts>,
    caller: Caller,
    Path(release): Path<String>,
    multipart: Multipart,
) -> Result<Json<UploadAnswer>, ArtifactError> {
    // The operator's session names no project: it uses the project route.
    let project_id = caller.project_id().ok_or_else(|| {
        ApiError::invalid("release", "this route takes the project from a project token; use /projects/{pid}/releases/{release}/artifacts")
    })?;
    upload(&state, &artifacts, project_id, &release, multipart).await
}

/// A release's artifacts, by name.
#[utoipa::path(get, path = "/projects/{pid}/releases/{release}/artifacts", operation_id = "list_artifacts", tag = "artifacts",
    params(("pid" = Uuid, Path), ("release" = String, Path, description = "The release name, percent-encoded")),
    responses((status = 200, body = [ArtifactRow])))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_id, release)): Path<(Uuid, String)>,
) -> Result<Json<Vec<ArtifactRow>>, ArtifactError> {
    caller.require_project(project_id)?;
    let rows = sqlx::query_as!(
        ArtifactRow,
        "SELECT id, name, kind, size_bytes, content_sha256 AS content_hash, map_file AS file, debug_id, created_at
           FROM artifacts WHERE project_id = $1 AND release_id = $2 ORDER BY name",
        project_id,
        sentori_protocol::release_id(project_id, &release),
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(rows))
}

/// Delete one artifact; its blob goes with its last reference.
#[utoipa::path(delete, path = "/projects/{pid}/releases/{release}/artifacts/{aid}", tag = "artifacts",
    params(("pid" = Uuid, Path), ("release" = String, Path, description = "The release name, percent-encoded"),
           ("aid" = Uuid, Path)),
    responses((status = 200, body = OkBody), (status = 404)))]
async fn remove(
    State(state): State<AppState>,
    Extension(artifacts): Extension<Artifacts>,
    caller: Caller,
    Path((project_id, release, artifact_id)): Path<(Uuid, String, String)>,
) -> Result<Json<OkBody>, ArtifactError> {
    caller.require_project(project_id)?;
    let artifact_id = Uuid::parse_str(&artifact_id).map_err(|_| ApiError::NotFound)?;
    let sha: Option<String> = sqlx::query_scalar!(
        "DELETE FROM artifacts WHERE project_id = $1 AND release_id = $2 AND id = $3 RETURNING content_sha256",
        project_id,
        sentori_protocol::release_id(project_id, &release),
        artifact_id,
    )
    .fetch_optional(&state.pool)
    .await?;
    let sha = sha.ok_or(ApiError::NotFound)?;
    remove_if_unreferenced(&state, &artifacts, &sha).await?;
    Ok(Json(OkBody::yes()))
}

/// Bundles listed at most, newest first.
const BUNDLES_LISTED: i64 = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct BundleQuery {
    /// Only the bundles uploaded with this release, exactly.
    release: Option<String>,
}

/// An assembled artifact bundle (uploaded by sentry-cli through `/api/0/`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct BundleRow {
    id: Uuid,
    checksum: String,
    /// The manifest's own id (sentry-cli's "Bundle ID").
    #[schema(required)]
    bundle_id: Option<String>,
    #[schema(required)]
    release: Option<String>,
    #[schema(required)]
    dist: Option<String>,
    file_count: i32,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    files: Vec<BundleFileRow>,
}

/// A file of a bundle.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct BundleFileRow {
    name: String,
    /// As the bundle names it (`~/app.js`).
    url: String,
    /// The manifest's type: `minified_source`, `source_map`, `source`, ...
    kind: String,
    debug_id: Option<Uuid>,
    size_bytes: i64,
    /// SHA-256 of the file, hex.
    content_hash: String,
}

/// The project's sentry-cli bundles with their files' debug ids, newest
/// first (at most 100).
#[utoipa::path(get, path = "/projects/{pid}/artifact-bundles", tag = "artifacts",
    params(("pid" = Uuid, Path), BundleQuery), responses((status = 200, body = [BundleRow])))]
async fn list_bundles(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<Uuid>,
    Query(query): Query<BundleQuery>,
) -> Result<Json<Vec<BundleRow>>, ArtifactError> {
    caller.require_project(project_id)?;
    let rows = sqlx::query!(
        r#"SELECT b.id, b.checksum, b.bundle_id, b.release, b.dist, b.file_count, b.created_at,
                coalesce((SELECT json_agg(json_build_object('name', f.name, 'url', f.url, 'kind', f.kind, 'debugId', f.debug_id,
                                                            'sizeBytes', f.size_bytes, 'contentHash', f.content_sha256)
                                          ORDER BY f.url)
                            FROM artifact_bundle_files f WHERE f.project_id = b.project_id AND f.bundle_id = b.id), '[]')
                  AS "files!: sqlx::types::Json<Vec<BundleFileRow>>"
           FROM artifact_bundles b
          WHERE b.project_id = $1 AND b.state = 'ok' AND ($2::text IS NULL OR b.release = $2)
          ORDER BY b.updated_at DESC
          LIMIT $3"#,
        project_id,
        query.release.as_deref(),
        BUNDLES_LISTED,
    )
    .map(|row| BundleRow {
        id: row.id,
        checksum: row.checksum,
        bundle_id: row.bundle_id,
        release: row.release,
        dist: row.dist,
        file_count: row.file_count,
        created_at: row.created_at,
        files: row.files.0,
    })
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(rows))
}

/// One received file, hashed and waiting to be published.
struct Received {
    name: String,
    kind: ArtifactKind,
    sha256: String,
    size: u64,
    /// Taken when published.
    blob: Option<Box<dyn StagedBlob>>,
    map_file: Option<String>,
    debug_id: Option<String>,
}

async fn upload(
    state: &AppState,
    artifacts: &Artifacts,
    project_id: Uuid,
    release: &str,
    mut multipart: Multipart,
) -> Result<Json<UploadAnswer>, ArtifactError> {
    // The path extractor has already percent-decoded the segment
    // (`myapp%401.2.3%2B456` is `myapp@1.2.3+456`).
    let release = release.trim();
    if release.is_empty() || release.chars().count() > RELEASE_MAX_CHARS {
        return Err(ApiError::invalid("release", format!("must be 1 to {RELEASE_MAX_CHARS} characters")).into());
    }
    let mut received: Vec<Received> = Vec::new();
    let mut total: u64 = 0;
    while let Some(mut field) = multipart.next_field().await? {
        let name = field
            .file_name()
            .filter(|n| !n.trim().is_empty())
            .or_else(|| field.name().filter(|n| !n.trim().is_empty()))
            .map(|n| n.trim().to_owned())
            .ok_or_else(|| ApiError::invalid("$", "a part has neither a filename nor a field name"))?;
        if name.chars().count() > NAME_MAX_CHARS {
            return Err(ApiError::invalid(&name, format!("an artifact name is at most {NAME_MAX_CHARS} characters")).into());
        }
        let kind = ArtifactKind::of(&name);
        let mut sniffer = (kind == ArtifactKind::SourceMap).then(MapSniffer::default);
        let mut writer = artifacts.store.writer().await?;
        while let Some(chunk) = field.chunk().await? {
            total += chunk.len() as u64;
            if total > artifacts.max_bytes {
                while let Ok(Some(_)) = field.chunk().await {}
                drop(field);
                drain(&mut multipart).await;
                return Err(ArtifactError::TooLarge { limit: artifacts.max_bytes });
            }
            if let Some(sniffer) = sniffer.as_mut() {
                sniffer.feed(&chunk);
            }
            writer.write(&chunk).await?;
        }
        let blob = writer.finish().await?;
        let (map_file, debug_id) = sniffer.map(MapSniffer::into_found).unwrap_or_default();
        received.push(Received {
            name,
            kind,
            sha256: blob.sha256().to_owned(),
            size: blob.size(),
            blob: Some(blob),
            map_file,
            debug_id,
        });
    }
    if received.is_empty() {
        return Err(ApiError::invalid("$", "the upload has no file parts").into());
    }
    // A later part of the same name wins, as a later upload would.
    let mut seen = std::collections::HashSet::new();
    let mut received: Vec<Received> = received.into_iter().rev().filter(|r| seen.insert(r.name.clone())).collect();
    received.reverse();
    let release_id = sentori_protocol::release_id(project_id, release);
    let replaced = record(state, project_id, release_id, release, &mut received).await?;
    for sha in replaced {
        remove_if_unreferenced(state, artifacts, &sha).await?;
    }
    let answer = UploadAnswer {
        release_id,
        uploaded: received.len(),
        artifacts: received
            .iter()
            .map(|r| UploadedArtifact { name: r.name.clone(), kind: r.kind.as_str(), content_hash: r.sha256.clone() })
            .collect(),
    };
    tracing::info!(%project_id, release, uploaded = answer.uploaded, "artifacts uploaded");
    Ok(Json(answer))
}

/// Reads and discards the rest of a refused upload (bounded by the body
/// limit), so the client, still sending, gets the 413 rather than a reset
/// connection.
async fn drain(multipart: &mut Multipart) {
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(_)) = field.chunk().await {}
    }
}

/// Records the release (if new) and the artifact rows, publishing each blob
/// under its hash's lock. Returns the hashes that rows of the same names
/// pointed at before, which may now be unreferenced.
async fn record(
    state: &AppState,
    project_id: Uuid,
    release_id: Uuid,
    release: &str,
    received: &mut [Received],
) -> Result<Vec<String>, ArtifactError> {
    let mut tx = state.pool.begin().await?;
    sentori_store::releases::ensure(&mut tx, project_id, release, OffsetDateTime::now_utc()).await?;
    lock_blobs(&mut tx, received.iter().map(|r| r.sha256.clone()).collect()).await?;
    let mut replaced = Vec::new();
    for part in received.iter_mut() {
        let row = ArtifactUpsert {
            name: &part.name,
            kind: part.kind,
            sha256: &part.sha256,
            size: part.size,
            map_file: part.map_file.as_deref(),
            debug_id: part.debug_id.as_deref(),
        };
        replaced.extend(upsert_artifact(&mut tx, project_id, release_id, &row).await?);
    }
    // Published while the locks are held: a concurrent delete of the same
    // hash waits, then sees these rows.
    for part in received.iter_mut() {
        if let Some(staged) = part.blob.take() {
            staged.persist().await?;
        }
    }
    tx.commit().await?;
    Ok(replaced)
}

/// One artifact row to write (by release and name).
pub(crate) struct ArtifactUpsert<'a> {
    pub name: &'a str,
    pub kind: ArtifactKind,
    pub sha256: &'a str,
    pub size: u64,
    pub map_file: Option<&'a str>,
    pub debug_id: Option<&'a str>,
}

/// Writes the row, replacing one of the same name; returns the hash the
/// replaced row pointed at when it differs (that blob may now be
/// unreferenced). The caller holds the locks of the hashes.
pub(crate) async fn upsert_artifact(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    project_id: Uuid,
    release_id: Uuid,
    row: &ArtifactUpsert<'_>,
) -> Result<Option<String>, sqlx::Error> {
    let previous: Option<String> = sqlx::query_scalar!(
        "SELECT content_sha256 FROM artifacts WHERE project_id = $1 AND release_id = $2 AND name = $3 FOR UPDATE",
        project_id,
        release_id,
        row.name,
    )
    .fetch_optional(&mut **tx)
    .await?;
    sqlx::query!(
        "INSERT INTO artifacts (project_id, id, release_id, name, kind, content_sha256, size_bytes, map_file, debug_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (project_id, release_id, name) DO UPDATE SET
             kind = EXCLUDED.kind, content_sha256 = EXCLUDED.content_sha256, size_bytes = EXCLUDED.size_bytes,
             map_file = EXCLUDED.map_file, debug_id = EXCLUDED.debug_id, created_at = now()",
        project_id,
        Uuid::now_v7(),
        release_id,
        row.name,
        row.kind.as_str(),
        row.sha256,
        i64::try_from(row.size).unwrap_or(i64::MAX),
        row.map_file,
        row.debug_id,
    )
    .execute(&mut **tx)
    .await?;
    Ok(previous.filter(|p| p != row.sha256))
}

/// Removes the artifact blob unless an artifact row or a bundle file still
/// names it, under its lock.
pub(crate) async fn remove_if_unreferenced(state: &AppState, artifacts: &Artifacts, sha: &str) -> Result<(), ApiError> {
    remove_blob_unless_used(&state.pool, &*artifacts.store, BlobKind::Artifact, sha).await
}

/// The advisory-lock namespace of artifact blobs.
pub(crate) const BLOB_LOCK: &str = "artifact-blob:";

/// The two kinds of blob admin-api stores, each with its own lock namespace
/// and its own rows that can name a blob.
#[derive(Debug, Clone, Copy)]
pub(crate) enum BlobKind {
    /// Named by artifacts and by the files of assembled bundles.
    Artifact,
    /// Named by the chunks of uploads not assembled yet.
    Chunk,
}

impl BlobKind {
    fn lock_namespace(self) -> &'static str {
        match self {
            BlobKind::Artifact => BLOB_LOCK,
            BlobKind::Chunk => crate::sentry_api::chunks::CHUNK_LOCK,
        }
    }

    async fn is_named(self, tx: &mut sqlx::PgConnection, sha: &str) -> Result<bool, sqlx::Error> {
        match self {
            BlobKind::Artifact => {
                sqlx::query_scalar!(
                    r#"SELECT EXISTS (SELECT 1 FROM artifacts WHERE content_sha256 = $1)
                           OR EXISTS (SELECT 1 FROM artifact_bundle_files WHERE content_sha256 = $1) AS "named!""#,
                    sha,
                )
                .fetch_one(tx)
                .await
            }
            BlobKind::Chunk => {
                sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM upload_chunks WHERE content_sha256 = $1) AS "named!""#, sha)
                    .fetch_one(tx)
                    .await
            }
        }
    }
}

/// Deletes a blob when no row of its kind names it, holding the hash's lock
/// so a concurrent upload that records it waits or is waited for.
pub(crate) async fn remove_blob_unless_used(pool: &sqlx::PgPool, store: &dyn BlobStore, kind: BlobKind, sha: &str) -> Result<(), ApiError> {
    let mut tx = pool.begin().await?;
    lock_blob(&mut tx, kind.lock_namespace(), sha).await?;
    if !kind.is_named(&mut tx, sha).await? {
        store.delete(sha).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Locks every hash, in hash order, so two uploads sharing blobs cannot deadlock.
pub(crate) async fn lock_blobs(tx: &mut sqlx::Transaction<'_, sqlx::Postgres>, mut hashes: Vec<String>) -> Result<(), sqlx::Error> {
    hashes.sort();
    hashes.dedup();
    for sha in &hashes {
        lock_blob(tx, BLOB_LOCK, sha).await?;
    }
    Ok(())
}

pub(crate) async fn lock_blob(tx: &mut sqlx::Transaction<'_, sqlx::Postgres>, namespace: &str, sha: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended($1 || $2, 0))", namespace, sha).execute(&mut **tx).await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArtifactKind {
    SourceMap,
    Minified,
    Other,
}

impl ArtifactKind {
    /// `sourcemap` for any `*.map`, `minified` for `*.js`, `*.bundle`,
    /// `*.jsbundle`, `*.hbc`, else `other` (admin-api.md).
    fn of(name: &str) -> Self {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".map") {
            ArtifactKind::SourceMap
        } else if [".js", ".mjs", ".cjs", ".bundle", ".jsbundle", ".hbc"].iter().any(|ext| lower.ends_with(ext)) {
            ArtifactKind::Minified
        } else {
            ArtifactKind::Other
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::SourceMap => "sourcemap",
            ArtifactKind::Minified => "minified",
            ArtifactKind::Other => "other",
        }
    }
}

/// Finds a source map's top-level `file` and `debugId` (or `debug_id`) while
/// the bytes stream past, so recording them never needs the whole map in
/// memory. A tiny JSON scanner: it tracks nesting and strings, and keeps only
/// the top-level keys and the two values it wants (bounded in length).
#[derive(Default)]
pub(crate) struct MapSniffer {
    depth: u32,
    in_string: bool,
    escape: bool,
    expect_key: bool,
    key: Vec<u8>,
    capture: Option<Vec<u8>>,
    capturing_key: bool,
    file: Option<String>,
    debug_id: Option<String>,
}

impl MapSniffer {
    const VALUE_MAX: usize = 2048;

    fn wanted(key: &[u8]) -> bool {
        matches!(key, b"file" | b"debugId" | b"debug_id")
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.in_string {
                if self.escape {
                    self.escape = false;
                    match b {
                        b'"' | b'\\' | b'/' => self.push(b),
                        other => {
                            self.push(b'\\');
                            self.push(other);
                        }
                    }
                } else if b == b'\\' {
                    self.escape = true;
                } else if b == b'"' {
                    self.in_string = false;
                    self.end_string();
                } else {
                    self.push(b);
                }
                continue;
            }
            match b {
                b'"' => {
                    self.in_string = true;
                    let top = self.depth == 1;
                    self.capturing_key = top && self.expect_key;
                    self.capture = (top && (self.expect_key || Self::wanted(&self.key))).then(Vec::new);
                }
                b'{' | b'[' => {
                    self.depth += 1;
                    if self.depth == 1 {
                        self.expect_key = b == b'{';
                    }
                }
                b'}' | b']' => self.depth = self.depth.saturating_sub(1),
                b':' if self.depth == 1 => self.expect_key = false,
                b',' if self.depth == 1 => {
                    self.expect_key = true;
                    self.key.clear();
                }
                _ => {}
            }
        }
    }

    fn push(&mut self, b: u8) {
        if let Some(capture) = self.capture.as_mut().filter(|c| c.len() < Self::VALUE_MAX) {
            capture.push(b);
        }
    }

    fn end_string(&mut self) {
        let Some(text) = self.capture.take() else { return };
        if self.capturing_key {
            self.key = text;
            return;
        }
        let value = String::from_utf8_lossy(&text).into_owned();
        match self.key.as_slice() {
            b"file" => self.file = Some(value),
            _ => self.debug_id = Some(value),
        }
    }

    pub fn into_found(self) -> (Option<String>, Option<String>) {
        (self.file.filter(|f| !f.is_empty()), self.debug_id.filter(|d| !d.is_empty()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniff(chunks: &[&str]) -> (Option<String>, Option<String>) {
        let mut sniffer = MapSniffer::default();
        for chunk in chunks {
            sniffer.feed(chunk.as_bytes());
        }
        sniffer.into_found()
    }

    #[test]
    fn kinds_follow_the_name() {
        assert_eq!(ArtifactKind::of("main.js.map").as_str(), "sourcemap");
        assert_eq!(ArtifactKind::of("index.android.bundle.map").as_str(), "sourcemap");
        assert_eq!(ArtifactKind::of("app.min.js").as_str(), "minified");
        assert_eq!(ArtifactKind::of("index.android.bundle").as_str(), "minified");
        assert_eq!(ArtifactKind::of("main.jsbundle").as_str(), "minified");
        assert_eq!(ArtifactKind::of("index.hbc").as_str(), "minified");
        assert_eq!(ArtifactKind::of("README.txt").as_str(), "other");
    }

    #[test]
    fn the_sniffer_finds_top_level_file_and_debug_id_across_chunks() {
        let (file, debug_id) = sniff(&[
            r#"{"version":3,"fi"#,
            r#"le":"out/app.js","sources":["a.js"],"sourcesContent":["const file = \"nested\"; {\"file\":\"no\"}"],"#,
            r#""names":[],"mappings":"AAAA","x_nested":{"file":"inner.js","debugId":"inner"},"debugId":"85314830-023f-4cf1-a267-535f4e37bb17"}"#,
        ]);
        assert_eq!(file.as_deref(), Some("out/app.js"));
        assert_eq!(debug_id.as_deref(), Some("85314830-023f-4cf1-a267-535f4e37bb17"));
    }

    #[test]
    fn the_sniffer_handles_escapes_and_absent_keys() {
        assert_eq!(sniff(&[r#"{"file":"dir\/a\"b.js"}"#]).0.as_deref(), Some("dir/a\"b.js"));
        assert_eq!(sniff(&[r#"{"version":3,"sections":[{"map":{"file":"x"}}]}"#]), (None, None));
        assert_eq!(sniff(&[r#"{"debug_id":"abc"}"#]).1.as_deref(), Some("abc"));
        assert_eq!(sniff(&["not json"]), (None, None));
    }
}
