//! `retention_runs`: one row per retention pass, the only writer of the
//! table. The retention service starts and finishes a run here; the admin
//! API's `/status` reads the latest.

use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

/// What a pass did, stored as the run's `summary`. A run whose steps failed
/// records only `error`; every field reads as its default when absent, so
/// a summary an older version wrote still reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RunSummary {
    /// Why the pass stopped, when a step failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub as_of: Option<OffsetDateTime>,
    pub event_retention_days: i64,
    pub trace_retention_days: u32,
    /// Events older than this have expired…
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub events_cutoff: Option<OffsetDateTime>,
    /// …and are deleted up to the start of its month (whole partitions).
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub events_deleted_before: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub spans_cutoff: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub spans_deleted_before: Option<OffsetDateTime>,
    pub partitions_created: Vec<String>,
    pub partitions_dropped: Vec<String>,
    /// Rows that had landed in a default partition, deleted by date.
    pub default_partition_rows_deleted: DefaultPartitionRows,
    pub event_ids_deleted: u64,
    pub span_ids_deleted: u64,
    pub traces_deleted: u64,
    pub attachments_deleted: u64,
    pub blobs_deleted: u64,
    /// Blobs already gone from disk when their last row expired.
    pub blobs_missing: u64,
    pub blob_errors: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DefaultPartitionRows {
    pub events: u64,
    pub spans: u64,
}

/// A run as recorded; `finished_at` is absent while it runs (or if its
/// process died mid-pass).
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub started_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    pub summary: RunSummary,
}

/// Records the start of a pass computed as of `as_of`; returns the run's id.
pub async fn start(conn: &mut PgConnection, as_of: OffsetDateTime) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!("INSERT INTO retention_runs (started_at, as_of) VALUES (now(), $1) RETURNING id", as_of).fetch_one(conn).await
}

pub async fn finish(conn: &mut PgConnection, run_id: i64, summary: &RunSummary) -> Result<(), sqlx::Error> {
    sqlx::query!("UPDATE retention_runs SET finished_at = now(), summary = $2 WHERE id = $1", run_id, Json(summary) as _)
        .execute(conn)
        .await?;
    Ok(())
}

/// The most recent run, finished or not. A summary that does not read as
/// a [`RunSummary`] is shown as its error rather than failing the caller.
pub async fn latest(pool: &PgPool) -> Result<Option<Run>, sqlx::Error> {
    let row = sqlx::query!("SELECT started_at, finished_at, summary FROM retention_runs ORDER BY started_at DESC, id DESC LIMIT 1")
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|row| Run {
        started_at: row.started_at,
        finished_at: row.finished_at,
        summary: RunSummary::deserialize(row.summary)
            .unwrap_or_else(|err| RunSummary { error: Some(format!("unreadable summary: {err}")), ..RunSummary::default() }),
    }))
}
