//! `POST /api/0/organizations/{org}/artifactbundle/assemble/`: sentry-cli
//! names a bundle (the SHA-1 of the whole zip) and its chunks in order,
//! first to learn which chunks are missing, then, after uploading them, to
//! poll until the bundle is assembled.
//!
//! Per project and checksum, a row of `artifact_bundles` holds the state:
//! absent (answer `not_found` with the missing chunks, or start when none
//! is missing), `assembling` (answer that; a claim older than
//! [`STALE_ASSEMBLY_SECS`] belonged to a process that died and is taken
//! over), `ok` (answer that, so the same bytes are never uploaded twice),
//! `error` (answer it with its detail for [`ERROR_KEPT_SECS`], then allow a
//! new try). The assembly runs in a task of its own, so a client that hangs
//! up does not stop it; the request waits a few seconds for it, which is
//! enough for the usual bundle to answer `ok` at once.

use std::collections::HashMap;
use std::io::{self, Read, Seek, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::{Extension, Json};
use sentori_blobs::{BlobStore, StagedBlob};
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};
use tokio::runtime::Handle;
use uuid::Uuid;

use super::bundle::{self, BundleError, Limits};
use super::chunks::{CHUNK_SIZE, forget_files};
use super::{CliError, CliProject, Uploads, is_sha1};
use crate::AppState;
use crate::artifacts::{ArtifactKind, ArtifactUpsert, lock_blobs, remove_if_unreferenced, upsert_artifact};

/// An `assembling` claim older than this is taken over.
pub const STALE_ASSEMBLY_SECS: f64 = 600.0;
/// How long a failed assembly keeps answering its error.
pub const ERROR_KEPT_SECS: f64 = 60.0;
/// How long a request waits for the assembly it started.
const ANSWER_WAIT: Duration = Duration::from_secs(10);
/// Same as an event's release (protocol.md).
const RELEASE_MAX_CHARS: usize = 200;
const DIST_MAX_CHARS: usize = 64;
/// Files per bundle.
const MAX_FILES: usize = 20_000;

#[derive(Debug, Deserialize)]
pub struct AssembleRequest {
    checksum: String,
    chunks: Vec<String>,
    #[serde(default)]
    projects: Vec<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    dist: Option<String>,
}

/// sentry-cli's `AssembleArtifactsResponse`.
#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AssembleAnswer {
    state: &'static str,
    missing_chunks: Vec<String>,
    detail: Option<String>,
}

impl AssembleAnswer {
    fn of(state: &'static str, detail: Option<String>) -> Self {
        Self { state, missing_chunks: Vec::new(), detail }
    }
}

/// What the database holds about one bundle checksum.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    Assembling { age_secs: f64 },
    Ok,
    Error { detail: String, age_secs: f64 },
}

/// What a request does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Answer(AssembleAnswer),
    Start,
}

/// The state machine: what an assemble request answers, given the stored
/// state and the chunks the server lacks.
pub fn next_step(stored: Option<&Stored>, missing: Vec<String>) -> Step {
    match stored {
        Some(Stored::Ok) => return Step::Answer(AssembleAnswer::of("ok", None)),
        Some(Stored::Assembling { age_secs }) if *age_secs < STALE_ASSEMBLY_SECS => {
            return Step::Answer(AssembleAnswer::of("assembling", None));
        }
        Some(Stored::Error { detail, age_secs }) if *age_secs < ERROR_KEPT_SECS => {
            return Step::Answer(AssembleAnswer::of("error", Some(detail.clone())));
        }
        _ => {}
    }
    if missing.is_empty() {
        Step::Start
    } else {
        Step::Answer(AssembleAnswer { state: "not_found", missing_chunks: missing, detail: None })
    }
}

/// The request, checked.
#[derive(Debug)]
struct Job {
    checksum: String,
    chunks: Vec<String>,
    release: Option<String>,
    dist: Option<String>,
}

pub async fn assemble(
    State(state): State<AppState>,
    Extension(uploads): Extension<Uploads>,
    project: CliProject,
    body: Result<Json<AssembleRequest>, JsonRejection>,
) -> Result<Json<AssembleAnswer>, CliError> {
    let Json(request) = body.map_err(|rejection| CliError::Invalid(rejection.body_text()))?;
    let job = check(&project, request, uploads.artifacts.max_bytes)?;
    let row: Option<(String, Option<String>, f64)> = sqlx::query!(
        r#"SELECT state, detail, extract(epoch FROM now() - updated_at)::float8 AS "age!"
             FROM artifact_bundles WHERE project_id = $1 AND checksum = $2"#,
        project.project_id,
        &job.checksum,
    )
    .map(|row| (row.state, row.detail, row.age))
    .fetch_optional(&state.pool)
    .await?;
    let stored = row.map(|(state, detail, age_secs)| match state.as_str() {
        "ok" => Stored::Ok,
        "assembling" => Stored::Assembling { age_secs },
        _ => Stored::Error { detail: detail.unwrap_or_default(), age_secs },
    });
    let missing = if stored == Some(Stored::Ok) { Vec::new() } else { missing_chunks(&state, project.project_id, &job.chunks).await? };
    match next_step(stored.as_ref(), missing) {
        Step::Answer(answer) => Ok(Json(answer)),
        Step::Start => Ok(Json(start(state, uploads, project.project_id, job).await?)),
    }
}

fn check(project: &CliProject, request: AssembleRequest, max_bytes: u64) -> Result<Job, CliError> {
    for named in &request.projects {
        project.require_named(named)?;
    }
    let checksum = request.checksum.trim().to_ascii_lowercase();
    if !is_sha1(&checksum) {
        return Err(CliError::Invalid("checksum must be a SHA-1 (40 hex digits)".into()));
    }
    let chunks: Vec<String> = request.chunks.iter().map(|c| c.trim().to_ascii_lowercase()).collect();
    if chunks.is_empty() || chunks.iter().any(|c| !is_sha1(c)) {
        return Err(CliError::Invalid("chunks must be a non-empty list of SHA-1s".into()));
    }
    let max_chunks = max_bytes.div_ceil(CHUNK_SIZE as u64).max(1);
    if chunks.len() as u64 > max_chunks {
        return Err(CliError::TooLarge(format!("A bundle is at most {max_bytes} bytes (SENTORI_ARTIFACT_MAX_BYTES)")));
    }
    let text = |value: Option<String>, field: &str, max: usize| -> Result<Option<String>, CliError> {
        let value = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        if value.as_ref().is_some_and(|v| v.chars().count() > max) {
            return Err(CliError::Invalid(format!("{field} is at most {max} characters")));
        }
        Ok(value)
    };
    Ok(Job {
        checksum,
        chunks,
        release: text(request.version, "version (the release)", RELEASE_MAX_CHARS)?,
        dist: text(request.dist, "dist", DIST_MAX_CHARS)?,
    })
}

/// The chunks the project lacks, in request order; the ones it has get
/// their clock reset, so they cannot expire between this answer and the
/// assembly.
async fn missing_chunks(state: &AppState, project_id: Uuid, chunks: &[String]) -> Result<Vec<String>, CliError> {
    let present: Vec<String> =
        sqlx::query_scalar!(
            "UPDATE upload_chunks SET created_at = now() WHERE project_id = $1 AND sha1 = ANY($2) RETURNING sha1",
            project_id,
            chunks,
        )
        .fetch_all(&state.pool)
        .await?;
    let mut missing: Vec<String> = chunks.iter().filter(|c| !present.contains(c)).cloned().collect();
    missing.dedup();
    Ok(missing)
}

/// Claims the assembly (unless another request just did) and runs it.
async fn start(state: AppState, uploads: Uploads, project_id: Uuid, job: Job) -> Result<AssembleAnswer, CliError> {
    let claimed: Option<Uuid> = sqlx::query_scalar!(
        "INSERT INTO artifact_bundles (project_id, id, checksum, state, release, dist) VALUES ($1, $2, $3, 'assembling', $4, $5)
         ON CONFLICT (project_id, checksum) DO UPDATE
            SET state = 'assembling', detail = NULL, release = EXCLUDED.release, dist = EXCLUDED.dist, updated_at = now()
          WHERE (artifact_bundles.state = 'error' AND artifact_bundles.updated_at < now() - make_interval(secs => $6))
             OR (artifact_bundles.state = 'assembling' AND artifact_bundles.updated_at < now() - make_interval(secs => $7))
         RETURNING id",
        project_id,
        Uuid::now_v7(),
        &job.checksum,
        &job.release as _,
        &job.dist as _,
        ERROR_KEPT_SECS,
        STALE_ASSEMBLY_SECS,
    )
    .fetch_optional(&state.pool)
    .await?;
    let Some(bundle_id) = claimed else {
        return Ok(AssembleAnswer::of("assembling", None));
    };
    let task = tokio::spawn(run(state, uploads, project_id, bundle_id, job));
    Ok(match tokio::time::timeout(ANSWER_WAIT, task).await {
        Ok(Ok(Ok(()))) => AssembleAnswer::of("ok", None),
        Ok(Ok(Err(detail))) => AssembleAnswer::of("error", Some(detail)),
        Ok(Err(join)) => {
            tracing::error!(error = %join, "a bundle assembly panicked");
            AssembleAnswer::of("error", Some("the assembly failed; upload again".into()))
        }
        // Still running: sentry-cli polls.
        Err(_) => AssembleAnswer::of("assembling", None),
    })
}

/// Why an assembly failed, as the `detail` sentry-cli prints.
#[derive(Debug, thiserror::Error)]
enum AssemblyError {
    #[error("chunk {0} is no longer on the server; upload again")]
    ChunkGone(String),
    #[error("the chunks hash to {actual}, not to the bundle checksum {expected}")]
    ChecksumMismatch { expected: String, actual: String },
    #[error("the bundle is larger than {0} bytes (SENTORI_ARTIFACT_MAX_BYTES)")]
    TooLarge(u64),
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error("storage: {0}")]
    Io(#[from] io::Error),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Cleanup(#[from] CliError),
}

impl AssemblyError {
    /// What the client is told: its own mistakes in full, the server's
    /// troubles without internals.
    fn detail(&self) -> String {
        match self {
            AssemblyError::Io(_) | AssemblyError::Database(_) | AssemblyError::Cleanup(_) => {
                "the server could not store the bundle; retry later".into()
            }
            other => other.to_string(),
        }
    }
}

/// Assembles the bundle and records the outcome on its row; the `Err` is
/// the detail answered to the client.
async fn run(state: AppState, uploads: Uploads, project_id: Uuid, bundle_id: Uuid, job: Job) -> Result<(), String> {
    let outcome = build(&state, &uploads, project_id, bundle_id, &job).await;
    let Err(err) = outcome else {
        tracing::info!(%project_id, checksum = job.checksum, release = job.release, "artifact bundle assembled");
        return Ok(());
    };
    let detail = err.detail();
    tracing::warn!(%project_id, checksum = job.checksum, error = %err, "an artifact bundle assembly failed");
    let marked = sqlx::query!(
        "UPDATE artifact_bundles SET state = 'error', detail = $3, updated_at = now() WHERE project_id = $1 AND id = $2",
        project_id,
        bundle_id,
        &detail,
    )
    .execute(&state.pool)
    .await;
    if let Err(err) = marked {
        // The claim goes stale and the next request tries again.
        tracing::error!(error = %err, "recording a failed assembly failed");
    }
    Err(detail)
}

/// One stored file of a bundle, waiting to be recorded.
type StoredFile = bundle::BundleFile<Box<dyn StagedBlob>>;

/// What is recorded of a bundle file.
struct FileRow {
    name: String,
    url: String,
    kind: String,
    debug_id: Option<Uuid>,
    sha256: String,
    size: u64,
}

async fn build(state: &AppState, uploads: &Uploads, project_id: Uuid, bundle_id: Uuid, job: &Job) -> Result<(), AssemblyError> {
    let rows: Vec<(String, String)> =
        sqlx::query!(
            "SELECT sha1, content_sha256 FROM upload_chunks WHERE project_id = $1 AND sha1 = ANY($2)",
            project_id,
            &job.chunks,
        )
        .map(|row| (row.sha1, row.content_sha256))
        .fetch_all(&state.pool)
        .await?;
    let by_sha1: HashMap<String, String> = rows.into_iter().collect();
    let mut paths = Vec::with_capacity(job.chunks.len());
    for sha1 in &job.chunks {
        let sha256 = by_sha1.get(sha1).ok_or_else(|| AssemblyError::ChunkGone(sha1.clone()))?;
        paths.push(uploads.chunks.path_of(sha256)?);
    }
    let max_bytes = uploads.artifacts.max_bytes;
    let limits = Limits { max_total_bytes: max_bytes, max_files: MAX_FILES };
    let store = uploads.artifacts.store.clone();
    let tmp_dir = uploads.chunks.root().join("tmp");
    let checksum = job.checksum.clone();
    let handle = Handle::current();
    let unpacked = tokio::task::spawn_blocking(move || -> Result<_, AssemblyError> {
        let archive = concatenate(&paths, &tmp_dir, max_bytes, &checksum)?;
        Ok(bundle::unpack(archive, limits, |_, reader| store_blocking(&handle, &store, reader))?)
    })
    .await
    .map_err(|join| io::Error::other(join.to_string()))??;
    let replaced = record(state, project_id, bundle_id, job, unpacked.bundle_id.as_deref(), unpacked.files).await?;
    for sha in replaced {
        remove_if_unreferenced(state, &uploads.artifacts, &sha).await.map_err(CliError::from)?;
    }
    // The bundle is known by its checksum from now on: its chunks are done.
    let used: Vec<String> =
        sqlx::query_scalar!(
            "DELETE FROM upload_chunks WHERE project_id = $1 AND sha1 = ANY($2) RETURNING content_sha256",
            project_id,
            &job.chunks,
        )
        .fetch_all(&state.pool)
        .await?;
    forget_files(state, uploads, used).await?;
    Ok(())
}

/// The chunks, in order, as one anonymous temporary file (unlinked at once,
/// so nothing is left behind), checked against the bundle's SHA-1.
fn concatenate(paths: &[PathBuf], tmp_dir: &std::path::Path, max_bytes: u64, checksum: &str) -> Result<std::fs::File, AssemblyError> {
    std::fs::create_dir_all(tmp_dir)?;
    let path = tmp_dir.join(format!("bundle-{}", Uuid::new_v4().simple()));
    let mut file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
    std::fs::remove_file(&path)?;
    let mut hasher = Sha1::new();
    let mut total = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    for path in paths {
        let mut chunk = std::fs::File::open(path)?;
        loop {
            let n = chunk.read(&mut buf)?;
            if n == 0 {
                break;
            }
            total += n as u64;
            if total > max_bytes {
                return Err(AssemblyError::TooLarge(max_bytes));
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n])?;
        }
    }
    let actual = hex::encode(hasher.finalize());
    if actual != checksum {
        return Err(AssemblyError::ChecksumMismatch { expected: checksum.to_owned(), actual });
    }
    file.rewind()?;
    Ok(file)
}

/// Streams one bundle file into the artifact store from the blocking pool.
fn store_blocking(handle: &Handle, store: &Arc<dyn BlobStore>, reader: &mut dyn Read) -> io::Result<Box<dyn StagedBlob>> {
    let mut writer = handle.block_on(store.writer())?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        handle.block_on(writer.write(&buf[..n]))?;
    }
    handle.block_on(writer.finish())
}

/// Records the files, the release's artifacts when a release was given,
/// and the `ok` state, publishing the blobs under their locks. Returns the
/// hashes that replaced release artifacts pointed at.
async fn record(
    state: &AppState,
    project_id: Uuid,
    bundle_id: Uuid,
    job: &Job,
    manifest_id: Option<&str>,
    files: Vec<StoredFile>,
) -> Result<Vec<String>, AssemblyError> {
    // The staged blobs are moved aside: only their hashes are needed until
    // they are published, and a reference to one may not cross an await.
    let (files, staged): (Vec<FileRow>, Vec<Box<dyn StagedBlob>>) = files
        .into_iter()
        .map(|f| {
            let row = FileRow { sha256: f.stored.sha256().to_owned(), name: f.name, url: f.url, kind: f.kind, debug_id: f.debug_id, size: f.size };
            (row, f.stored)
        })
        .unzip();
    let mut tx = state.pool.begin().await?;
    lock_blobs(&mut tx, files.iter().map(|f| f.sha256.clone()).collect()).await?;
    let mut replaced = Vec::new();
    if let Some(release) = &job.release {
        // With a release, the maps also serve the per-release matching
        // (frames whose event carries no debug id).
        let release_id = sentori_protocol::release_id(project_id, release);
        sentori_store::releases::ensure(&mut tx, project_id, release, time::OffsetDateTime::now_utc()).await?;
        for file in &files {
            let kind = match file.kind.as_str() {
                "source_map" => ArtifactKind::SourceMap,
                "minified_source" => ArtifactKind::Minified,
                _ => continue,
            };
            let debug_id = file.debug_id.map(|id| id.to_string());
            let row = ArtifactUpsert {
                name: &file.url,
                kind,
                sha256: &file.sha256,
                size: file.size,
                map_file: None,
                debug_id: debug_id.as_deref(),
            };
            replaced.extend(upsert_artifact(&mut tx, project_id, release_id, &row).await?);
        }
    }
    // A bundle taken over from a dead claim may have rows of its own.
    sqlx::query!("DELETE FROM artifact_bundle_files WHERE project_id = $1 AND bundle_id = $2", project_id, bundle_id)
        .execute(&mut *tx)
        .await?;
    for file in &files {
        sqlx::query!(
            "INSERT INTO artifact_bundle_files (project_id, bundle_id, name, url, kind, debug_id, content_sha256, size_bytes)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            project_id,
            bundle_id,
            &file.name,
            &file.url,
            &file.kind,
            file.debug_id,
            &file.sha256,
            i64::try_from(file.size).unwrap_or(i64::MAX),
        )
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query!(
        "UPDATE artifact_bundles SET state = 'ok', detail = NULL, bundle_id = $3, file_count = $4, updated_at = now()
          WHERE project_id = $1 AND id = $2",
        project_id,
        bundle_id,
        manifest_id,
        i32::try_from(files.len()).unwrap_or(i32::MAX),
    )
    .execute(&mut *tx)
    .await?;
    for blob in staged {
        blob.persist().await?;
    }
    tx.commit().await?;
    Ok(replaced)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(c: char) -> String {
        c.to_string().repeat(40)
    }

    fn answer(step: Step) -> AssembleAnswer {
        match step {
            Step::Answer(answer) => answer,
            Step::Start => panic!("expected an answer, got Start"),
        }
    }

    #[test]
    fn an_unknown_bundle_asks_for_its_missing_chunks_then_starts() {
        let first = answer(next_step(None, vec![sha('a'), sha('b')]));
        assert_eq!(first.state, "not_found");
        assert_eq!(first.missing_chunks, vec![sha('a'), sha('b')]);
        assert_eq!(next_step(None, Vec::new()), Step::Start);
    }

    #[test]
    fn an_assembled_bundle_answers_ok_without_asking_for_chunks() {
        // Its chunks were removed after the assembly: still nothing to upload.
        assert_eq!(answer(next_step(Some(&Stored::Ok), Vec::new())), AssembleAnswer::of("ok", None));
    }

    #[test]
    fn a_running_assembly_answers_assembling_until_it_goes_stale() {
        let running = Stored::Assembling { age_secs: 2.0 };
        assert_eq!(answer(next_step(Some(&running), Vec::new())).state, "assembling");
        let dead = Stored::Assembling { age_secs: STALE_ASSEMBLY_SECS + 1.0 };
        assert_eq!(next_step(Some(&dead), Vec::new()), Step::Start);
        assert_eq!(answer(next_step(Some(&dead), vec![sha('c')])).missing_chunks, vec![sha('c')]);
    }

    #[test]
    fn an_error_is_answered_with_its_detail_for_a_while_then_retried() {
        let failed = Stored::Error { detail: "the bundle is not a readable zip archive".into(), age_secs: 1.0 };
        let answered = answer(next_step(Some(&failed), Vec::new()));
        assert_eq!((answered.state, answered.detail.as_deref()), ("error", Some("the bundle is not a readable zip archive")));
        let old = Stored::Error { detail: "x".into(), age_secs: ERROR_KEPT_SECS + 1.0 };
        assert_eq!(next_step(Some(&old), Vec::new()), Step::Start);
    }

    #[test]
    fn the_request_is_checked_against_the_token_project() {
        let project = CliProject { project_id: Uuid::now_v7(), number: 3 };
        let request = |projects: &[&str], checksum: &str, chunks: Vec<String>| AssembleRequest {
            checksum: checksum.into(),
            chunks,
            projects: projects.iter().map(|p| (*p).to_owned()).collect(),
            version: Some(" myapp@1.0 ".into()),
            dist: None,
        };
        let job = check(&project, request(&["3"], &sha('A'), vec![sha('a')]), 1 << 30).unwrap();
        assert_eq!((job.checksum, job.release.as_deref()), (sha('a'), Some("myapp@1.0")));
        let other = check(&project, request(&["7"], &sha('a'), vec![sha('a')]), 1 << 30).unwrap_err();
        assert!(matches!(&other, CliError::OtherProject(m) if m.contains("--project 3")), "{other}");
        let by_id = project.project_id.to_string();
        assert!(check(&project, request(&[&by_id], &sha('a'), vec![sha('a')]), 1 << 30).is_ok());
        assert!(matches!(check(&project, request(&[], "abc", vec![sha('a')]), 1 << 30), Err(CliError::Invalid(_))));
        assert!(matches!(check(&project, request(&[], &sha('a'), Vec::new()), 1 << 30), Err(CliError::Invalid(_))));
        let too_many = (0..3).map(|_| sha('b')).collect();
        assert!(matches!(check(&project, request(&[], &sha('a'), too_many), CHUNK_SIZE as u64), Err(CliError::TooLarge(_))));
    }
}
