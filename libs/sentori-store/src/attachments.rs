//! The `attachments` table, written only here, and the blobs on disk its
//! rows name, once per SHA-256 (`<dir>/<sha256[0..2]>/<sha256>`): ingest
//! adds a row once its blob is stored, retention expires old ones and
//! admin-api deletes an issue's; a blob goes when no row names it any more.

use std::path::{Path, PathBuf};

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

/// Attachments deleted per transaction. Each distinct blob hash costs one
/// advisory lock held to the end of its transaction, and every lock takes a
/// slot of the server's shared lock table (`max_locks_per_transaction` ×
/// connections, a few thousand by default), which all sessions share: a
/// transaction holding thousands would fail with "out of shared memory" and
/// make other sessions' lock requests fail too. 500 keeps a transaction's
/// share small while a chunk still amortises its round trips.
pub const PER_TRANSACTION: i64 = 500;

/// `<dir>/<sha256[0..2]>/<sha256>`, for a well-formed lowercase hex digest only
/// (a digest is never allowed to become a path outside the directory).
pub fn blob_path(dir: &Path, sha: &str) -> Option<PathBuf> {
    let well_formed = sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    well_formed.then(|| dir.join(&sha[..2]).join(sha))
}

/// What [`remove_unreferenced_blobs`] did to the files.
#[derive(Debug, Default, Clone, Copy)]
pub struct BlobRemoval {
    pub deleted: u64,
    pub missing: u64,
    pub errors: u64,
}

impl std::ops::AddAssign for BlobRemoval {
    fn add_assign(&mut self, other: Self) {
        self.deleted += other.deleted;
        self.missing += other.missing;
        self.errors += other.errors;
    }
}

/// A stored blob's row.
pub struct NewAttachment<'a> {
    pub project_id: Uuid,
    /// The id the event's attachment reference names.
    pub id: Uuid,
    pub event_id: Uuid,
    pub kind: &'a str,
    pub media_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a str,
    pub source: Option<&'a str>,
    pub captured_at: Option<OffsetDateTime>,
}

/// Takes, until `tx` ends, the lock under which a blob is published and
/// deleted: held from storing a blob to committing its row, it keeps a
/// concurrent expiry from deleting the bytes just stored.
pub async fn lock_blob(tx: &mut PgConnection, sha256: &str) -> Result<(), sqlx::Error> {
    sqlx::query!("SELECT pg_advisory_xact_lock(hashtextextended('attachment-blob:' || $1, 0))", sha256)
        .fetch_one(&mut *tx)
        .await?;
    Ok(())
}

/// Writes the row of a blob published under [`lock_blob`]; a reference id
/// stored before is kept as it is (an upload retried).
pub async fn insert(tx: &mut PgConnection, row: &NewAttachment<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO attachments (project_id, id, event_id, kind, media_type, size_bytes, sha256, source, captured_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT DO NOTHING",
        row.project_id,
        row.id,
        row.event_id,
        row.kind,
        row.media_type,
        row.size_bytes,
        row.sha256,
        row.source,
        row.captured_at,
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Deletes the attachments of a project's `events` (at most
/// [`PER_TRANSACTION`] events' worth) and the blobs no row names any more.
pub async fn delete_of_events(
    tx: &mut PgConnection,
    project_id: Uuid,
    events: &[Uuid],
    dir: Option<&Path>,
) -> Result<BlobRemoval, sqlx::Error> {
    let shas = sqlx::query_scalar!("DELETE FROM attachments WHERE project_id = $1 AND event_id = ANY($2) RETURNING sha256", project_id, events)
        .fetch_all(&mut *tx)
        .await?;
    remove_unreferenced_blobs(tx, &shas, dir).await
}

/// Deletes up to `limit` attachments received before `before`, and the
/// blobs no row names any more; returns how many rows went.
pub async fn delete_received_before(
    tx: &mut PgConnection,
    before: OffsetDateTime,
    limit: i64,
    dir: Option<&Path>,
) -> Result<(u64, BlobRemoval), sqlx::Error> {
    let shas = sqlx::query_scalar!(
        "DELETE FROM attachments WHERE ctid IN (SELECT ctid FROM attachments WHERE created_at < $1 LIMIT $2)
         RETURNING sha256",
        before,
        limit,
    )
    .fetch_all(&mut *tx)
    .await?;
    Ok((shas.len() as u64, remove_unreferenced_blobs(tx, &shas, dir).await?))
}

/// Removes the blobs of `shas` that no `attachments` row names any more,
/// inside the transaction `tx` that deleted those rows, before it commits:
/// a crash in between leaves rows whose blobs are gone (a missing blob is
/// no error the next time), never a blob that nothing refers to. `dir`
/// unset: attachments are off, there are no files.
///
/// Holds the per-hash lock a writer of a new attachment row takes while it
/// publishes the blob (ingest), so a blob is never deleted under a row
/// committed meanwhile. Callers delete at most [`PER_TRANSACTION`] rows a
/// transaction.
async fn remove_unreferenced_blobs(tx: &mut PgConnection, shas: &[String], dir: Option<&Path>) -> Result<BlobRemoval, sqlx::Error> {
    // Sorted, so two deleters cannot deadlock.
    let mut distinct = shas.to_vec();
    distinct.sort();
    distinct.dedup();
    for sha in &distinct {
        lock_blob(tx, sha).await?;
    }
    let orphans = sqlx::query_scalar!(
        r#"SELECT DISTINCT s AS "sha256!" FROM unnest($1::text[]) AS s WHERE NOT EXISTS (SELECT 1 FROM attachments a WHERE a.sha256 = s)"#,
        &distinct,
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut removal = BlobRemoval::default();
    let Some(dir) = dir else { return Ok(removal) };
    for sha in orphans {
        let Some(path) = blob_path(dir, &sha) else {
            tracing::warn!(%sha, "an attachment row has a malformed sha256; no blob to delete");
            removal.errors += 1;
            continue;
        };
        match tokio::fs::remove_file(&path).await {
            Ok(()) => removal.deleted += 1,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => removal.missing += 1,
            Err(err) => {
                // Not fatal: the rows go, the blob stays for an operator (logged with its path).
                tracing::warn!(path = %path.display(), error = %err, "deleting an attachment blob failed");
                removal.errors += 1;
            }
        }
    }
    Ok(removal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_paths_never_leave_the_directory() {
        let sha = "ab".repeat(32);
        assert_eq!(blob_path(Path::new("/d"), &sha), Some(PathBuf::from(format!("/d/ab/{sha}"))));
        assert_eq!(blob_path(Path::new("/d"), "../../etc/passwd"), None);
        assert_eq!(blob_path(Path::new("/d"), &"AB".repeat(32)), None);
    }
}
