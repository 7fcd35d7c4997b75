//! One retention pass.
//!
//! Data expires by whole months: `events` and `spans` are dropped a monthly
//! partition at a time, once the partition's whole range is before the
//! cutoff. The rows that guard or hang off those events (the `event_ids` /
//! `span_ids` idempotency keys, attachments) are deleted up to the same
//! boundary — the start of the cutoff's month — so an event that still
//! exists keeps its key and its attachments, and nothing refers to an event
//! that is gone. `traces` is not partitioned and is pruned by `ended_at`
//! against the exact span cutoff.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};
use time::{Duration, OffsetDateTime, Time};

use sentori_runtime::panic::catch_panic;
use sentori_store::attachments::{self, BlobRemoval};
use sentori_store::partitions::{PARTITIONED, ensure_ahead, month_start};
use sentori_store::retention_runs::{self, DefaultPartitionRows, RunSummary};

/// The advisory lock key of the pass (`pg_try_advisory_lock`): one replica
/// works, the others skip. The value is arbitrary but fixed ("SNTRRETN").
pub const LOCK_KEY: i64 = 0x534E_5452_5245_544E;

/// The minimum event retention, whatever the plans say (processing.md).
pub const MIN_EVENT_RETENTION_DAYS: i64 = 30;

/// Longer retentions are taken as this one (a hundred years): a plan's days
/// are an `i32`, which reaches back past what a date can hold.
const MAX_RETENTION_DAYS: i64 = 36_500;

/// Rows deleted per statement, so no delete holds locks for long.
const DELETE_CHUNK: i64 = 10_000;

/// Attachments expired per transaction, outside tests.
pub use sentori_store::attachments::PER_TRANSACTION as ATTACHMENTS_PER_TRANSACTION;

#[derive(Debug, Clone)]
pub struct PassOptions {
    pub trace_retention_days: u32,
    /// Where attachment blobs live (`<dir>/<sha256[0..2]>/<sha256>`); unset:
    /// attachments are off and only their (normally absent) rows are deleted.
    pub attachment_dir: Option<PathBuf>,
    /// At least 1; [`ATTACHMENTS_PER_TRANSACTION`] outside tests.
    pub attachments_per_transaction: i64,
}

#[derive(Debug)]
pub enum PassOutcome {
    /// The pass ran; the summary is what `retention_runs` recorded.
    Done(RunSummary),
    /// Another process holds the lock; nothing was done or recorded.
    Skipped,
}

impl PassOutcome {
    /// The line the binary prints for `--once`.
    pub fn to_json(&self) -> Value {
        match self {
            PassOutcome::Done(summary) => json!({ "skipped": false, "summary": summary }),
            PassOutcome::Skipped => json!({ "skipped": true, "reason": "another retention pass holds the lock" }),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the pass {0}")]
    Panicked(#[from] sentori_runtime::panic::Panicked),
}

/// Runs one pass as of `now`, unless another process is running one.
pub async fn run_pass(pool: &PgPool, now: OffsetDateTime, options: &PassOptions) -> Result<PassOutcome, PassError> {
    // A session lock lives on one connection: hold that connection for the
    // whole pass. If the process dies, the server ends the session and the
    // lock with it, so a crashed pass never blocks the next one.
    let mut lock_conn = pool.acquire().await?;
    let locked: bool = sqlx::query_scalar!(r#"SELECT pg_try_advisory_lock($1) AS "locked!""#, LOCK_KEY).fetch_one(&mut *lock_conn).await?;
    if !locked {
        return Ok(PassOutcome::Skipped);
    }
    // A panic must not skip the unlock below: the connection would go back
    // to the pool holding the lock, and no later pass could take it.
    let result = catch_panic(locked_pass(pool, &mut lock_conn, now, options)).await.unwrap_or_else(|panicked| Err(panicked.into()));
    let unlocked = sqlx::query!("SELECT pg_advisory_unlock($1)", LOCK_KEY).fetch_one(&mut *lock_conn).await;
    if let Err(err) = unlocked {
        // Dropping the connection would return it to the pool still holding
        // the lock; close it instead so the server releases it.
        tracing::warn!(error = %err, "releasing the retention lock failed; closing its connection");
        let _ = lock_conn.detach();
    }
    result.map(PassOutcome::Done)
}

async fn locked_pass(pool: &PgPool, conn: &mut PgConnection, now: OffsetDateTime, options: &PassOptions) -> Result<RunSummary, PassError> {
    let run_id = retention_runs::start(&mut *conn, now).await?;
    let outcome = steps(pool, now, options).await;
    let summary = match &outcome {
        Ok(summary) => summary.clone(),
        Err(err) => RunSummary { error: Some(err.to_string()), ..RunSummary::default() },
    };
    // The run is recorded even when a step failed, so the dashboard shows it.
    retention_runs::finish(&mut *conn, run_id, &summary).await?;
    outcome
}

/// What is older than `days` before `now` expires. A retention longer than
/// a date can reach back (a plan's `i32` days can be) keeps everything.
fn cutoff(now: OffsetDateTime, days: i64) -> OffsetDateTime {
    let earliest = time::Date::MIN.midnight().assume_utc();
    now.checked_sub(Duration::days(days.min(MAX_RETENTION_DAYS))).unwrap_or(earliest)
}

async fn steps(pool: &PgPool, now: OffsetDateTime, options: &PassOptions) -> Result<RunSummary, PassError> {
    // Partitions ahead first: the SQL function moves rows that landed in a
    // default partition into the new partition before attaching it.
    let created = ensure_ahead(pool, now).await?;

    let plan_days: Option<i32> = sqlx::query_scalar!("SELECT max(event_retention_days) FROM orgs").fetch_one(pool).await?;
    let event_days = MIN_EVENT_RETENTION_DAYS.max(plan_days.unwrap_or(0) as i64);
    let events_cutoff = cutoff(now, event_days);
    let spans_cutoff = cutoff(now, options.trace_retention_days as i64);
    let events_boundary = month_boundary(events_cutoff);
    let spans_boundary = month_boundary(spans_cutoff);

    let mut dropped = Vec::new();
    for table in PARTITIONED {
        let boundary = if table == "events" { events_boundary } else { spans_boundary };
        dropped.extend(drop_partitions_before(pool, table, boundary).await?);
    }
    // Rows in a default partition have no monthly partition to be dropped with.
    let events_default = delete_chunked(pool, "events_default", "received_at", events_boundary).await?;
    let spans_default = delete_chunked(pool, "spans_default", "received_at", spans_boundary).await?;
    let event_ids = delete_chunked(pool, "event_ids", "received_at", events_boundary).await?;
    let span_ids = delete_chunked(pool, "span_ids", "received_at", spans_boundary).await?;
    let traces = delete_chunked(pool, "traces", "ended_at", spans_cutoff).await?;
    let attachments =
        expire_attachments(pool, events_boundary, options.attachment_dir.as_deref(), options.attachments_per_transaction).await?;

    let summary = RunSummary {
        error: None,
        as_of: Some(now),
        event_retention_days: event_days,
        trace_retention_days: options.trace_retention_days,
        events_cutoff: Some(events_cutoff),
        events_deleted_before: Some(events_boundary),
        spans_cutoff: Some(spans_cutoff),
        spans_deleted_before: Some(spans_boundary),
        partitions_created: created,
        partitions_dropped: dropped,
        default_partition_rows_deleted: DefaultPartitionRows { events: events_default, spans: spans_default },
        event_ids_deleted: event_ids,
        span_ids_deleted: span_ids,
        traces_deleted: traces,
        attachments_deleted: attachments.rows,
        blobs_deleted: attachments.blobs.deleted,
        blobs_missing: attachments.blobs.missing,
        blob_errors: attachments.blobs.errors,
    };
    tracing::info!(summary = ?summary, "retention pass");
    Ok(summary)
}

/// The start of the month holding `cutoff`: everything before it is in
/// partitions whose whole range is past the cutoff.
fn month_boundary(cutoff: OffsetDateTime) -> OffsetDateTime {
    month_start(cutoff, 0).with_time(Time::MIDNIGHT).assume_utc()
}

/// Drops the monthly partitions `<table>_pYYYYMM` that end at or before `boundary`.
async fn drop_partitions_before(pool: &PgPool, table: &str, boundary: OffsetDateTime) -> Result<Vec<String>, PassError> {
    let names: Vec<String> = sqlx::query_scalar!(
        r#"SELECT c.relname::text AS "name!" FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = $1::text::regclass ORDER BY c.relname"#,
        table,
    )
    .fetch_all(pool)
    .await?;
    let prefix = format!("{table}_p");
    let mut dropped = Vec::new();
    for name in names {
        // Partitions not named by the monthly scheme (the default one, or an
        // operator's own) are not ours to drop.
        let Some(start) = name.strip_prefix(&prefix).and_then(parse_month) else { continue };
        let end = month_start(start, 1).with_time(Time::MIDNIGHT).assume_utc();
        if end <= boundary {
            // A name from pg_class that matched `<table>_pYYYYMM`: safe to quote.
            sqlx::query(&format!("DROP TABLE IF EXISTS \"{name}\"")).execute(pool).await?;
            tracing::info!(partition = %name, "dropped an expired partition");
            dropped.push(name);
        }
    }
    Ok(dropped)
}

/// `YYYYMM` → the first instant of that month.
fn parse_month(digits: &str) -> Option<OffsetDateTime> {
    if digits.len() != 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = digits[..4].parse().ok()?;
    let month = time::Month::try_from(digits[4..].parse::<u8>().ok()?).ok()?;
    Some(time::Date::from_calendar_date(year, month, 1).ok()?.with_time(Time::MIDNIGHT).assume_utc())
}

/// Deletes rows of `table` with `column < before`, a chunk per statement.
/// `table` and `column` are constants of this module, never input.
async fn delete_chunked(pool: &PgPool, table: &str, column: &str, before: OffsetDateTime) -> Result<u64, PassError> {
    let sql = format!("DELETE FROM {table} WHERE ctid IN (SELECT ctid FROM {table} WHERE {column} < $1 LIMIT $2)");
    let mut total = 0;
    loop {
        let deleted = sqlx::query(&sql).bind(before).bind(DELETE_CHUNK).execute(pool).await?.rows_affected();
        total += deleted;
        if deleted < DELETE_CHUNK as u64 {
            return Ok(total);
        }
    }
}

#[derive(Debug, Default)]
struct AttachmentExpiry {
    rows: u64,
    blobs: BlobRemoval,
}

/// Deletes attachment rows created before `before` and the blobs no
/// remaining row references (blobs are stored once per SHA-256, so two
/// attachments can share one), `chunk` rows per transaction (see
/// [`sentori_store::attachments::PER_TRANSACTION`]).
async fn expire_attachments(
    pool: &PgPool,
    before: OffsetDateTime,
    dir: Option<&Path>,
    chunk: i64,
) -> Result<AttachmentExpiry, PassError> {
    let chunk = chunk.max(1);
    let mut expiry = AttachmentExpiry::default();
    loop {
        let mut tx = pool.begin().await?;
        let (deleted, blobs) = attachments::delete_received_before(&mut tx, before, chunk, dir).await?;
        expiry.rows += deleted;
        expiry.blobs += blobs;
        tx.commit().await?;
        if deleted < chunk as u64 {
            return Ok(expiry);
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn boundary_is_the_start_of_the_cutoff_month() {
        assert_eq!(month_boundary(datetime!(2027-05-02 00:00 UTC)), datetime!(2027-05-01 00:00 UTC));
        assert_eq!(month_boundary(datetime!(2027-05-01 00:00 UTC)), datetime!(2027-05-01 00:00 UTC));
    }

    #[test]
    fn a_retention_longer_than_dates_reach_keeps_everything_instead_of_overflowing() {
        let now = datetime!(2026-12-02 00:00 UTC);
        assert_eq!(cutoff(now, 30), datetime!(2026-11-02 00:00 UTC));
        assert_eq!(cutoff(now, i32::MAX as i64), now - Duration::days(MAX_RETENTION_DAYS));
        let earliest = time::Date::MIN.midnight().assume_utc();
        assert_eq!(cutoff(earliest + Duration::days(10), 36_000), earliest);
    }

    #[test]
    fn month_names_parse_strictly() {
        assert_eq!(parse_month("202612"), Some(datetime!(2026-12-01 00:00 UTC)));
        assert_eq!(parse_month("202613"), None);
        assert_eq!(parse_month("default"), None);
        assert_eq!(parse_month("2026123"), None);
    }
}
