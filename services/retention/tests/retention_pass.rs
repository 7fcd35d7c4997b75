//! The retention binary against a real PostgreSQL, with data spread over
//! several months of 2025 (fixed dates, so the test means the same whenever
//! it runs; the partitions the migrations create for the real "now" are
//! later and must survive).
//!
//! The "now" of every pass is 2025-07-10. An org's plan keeps events 60 days
//! (events cutoff 2025-05-11, so months before May 2025 go) and traces are
//! kept the default 14 days (spans cutoff 2025-06-26, months before June go).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use sentori_testkit::TestStack;
use sqlx::PgPool;
use uuid::Uuid;

const NOW: &str = "2025-07-10T00:00:00Z";
const PROJECT: Uuid = sentori_protocol::DEV_PROJECT_ID;

fn ts(s: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).expect("an RFC 3339 time")
}

async fn partitions(pool: &PgPool, parent: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass ORDER BY 1",
    )
    .bind(parent)
    .fetch_all(pool)
    .await
    .unwrap()
}

async fn insert_event(pool: &PgPool, received_at: &str) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO events (project_id, id, received_at, timestamp, issue_id, kind, platform, release, environment, payload)
         VALUES ($1, $2, $3, $3, $4, 'error', 'javascript', 'shop@1', 'prod', '{}')",
    )
    .bind(PROJECT)
    .bind(id)
    .bind(ts(received_at))
    .bind(Uuid::now_v7())
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO event_ids (project_id, id, received_at) VALUES ($1, $2, $3)")
        .bind(PROJECT)
        .bind(id)
        .bind(ts(received_at))
        .execute(pool)
        .await
        .unwrap();
    id
}

async fn insert_span(pool: &PgPool, received_at: &str) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO spans (project_id, id, received_at, trace_id, op, name, started_at, duration_ms, status, payload)
         VALUES ($1, $2, $3, $4, 'http', 'GET /', $3, 5, 'ok', '{}')",
    )
    .bind(PROJECT)
    .bind(id)
    .bind(ts(received_at))
    .bind(Uuid::now_v7())
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO span_ids (project_id, id, received_at) VALUES ($1, $2, $3)")
        .bind(PROJECT)
        .bind(id)
        .bind(ts(received_at))
        .execute(pool)
        .await
        .unwrap();
    id
}

async fn insert_trace(pool: &PgPool, ended_at: &str) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO traces (project_id, trace_id, started_at, ended_at, duration_ms, span_count, error_count, status)
         VALUES ($1, $2, $3, $3, 0, 1, 0, 'ok')",
    )
    .bind(PROJECT)
    .bind(id)
    .bind(ts(ended_at))
    .execute(pool)
    .await
    .unwrap();
    id
}

async fn insert_attachment(pool: &PgPool, dir: &Path, sha: &str, created_at: &str) -> Uuid {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO attachments (project_id, id, event_id, kind, media_type, size_bytes, sha256, created_at)
         VALUES ($1, $2, $3, 'screenshot', 'image/png', 4, $4, $5)",
    )
    .bind(PROJECT)
    .bind(id)
    .bind(Uuid::now_v7())
    .bind(sha)
    .bind(ts(created_at))
    .execute(pool)
    .await
    .unwrap();
    let path = blob(dir, sha);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"blob").unwrap();
    id
}

fn blob(dir: &Path, sha: &str) -> PathBuf {
    dir.join(&sha[..2]).join(sha)
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// What a test knows about the data it spread over the months.
struct Spread {
    attachment_dir: PathBuf,
    kept_events: Vec<Uuid>,
    moved_event: Uuid,
    kept_spans: Vec<Uuid>,
    kept_trace: Uuid,
    expired_blob: String,
    shared_blob: String,
    kept_blob: String,
}

async fn spread(pool: &PgPool) -> Spread {
    // The longest plan decides: 60 days, more than the 30-day minimum.
    sqlx::query("INSERT INTO orgs (id, name, event_retention_days) VALUES ($1, 'long plan', 60)")
        .bind(Uuid::now_v7())
        .execute(pool)
        .await
        .unwrap();
    for month in ["2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01", "2025-06-01"] {
        sqlx::query("SELECT sentori_ensure_month_partition('events', $1::date)").bind(month).execute(pool).await.unwrap();
    }
    for month in ["2025-04-01", "2025-05-01", "2025-06-01"] {
        sqlx::query("SELECT sentori_ensure_month_partition('spans', $1::date)").bind(month).execute(pool).await.unwrap();
    }
    for at in ["2025-02-10T00:00:00Z", "2025-03-31T23:59:59Z", "2025-04-30T12:00:00Z"] {
        insert_event(pool, at).await;
    }
    // An event in the default partition before any pass: too old, no partition.
    insert_event(pool, "2025-01-15T00:00:00Z").await;
    let kept_events = vec![insert_event(pool, "2025-05-02T00:00:00Z").await, insert_event(pool, "2025-06-20T00:00:00Z").await];
    // August 2025 has no partition yet: this row sits in the default partition
    // until the pass creates August's and moves it there.
    let moved_event = insert_event(pool, "2025-08-03T00:00:00Z").await;

    insert_span(pool, "2025-04-15T00:00:00Z").await;
    insert_span(pool, "2025-05-31T00:00:00Z").await;
    let kept_spans = vec![insert_span(pool, "2025-06-02T00:00:00Z").await, insert_span(pool, "2025-07-09T00:00:00Z").await];

    insert_trace(pool, "2025-06-20T00:00:00Z").await;
    let kept_trace = insert_trace(pool, "2025-06-30T00:00:00Z").await;

    let attachment_dir = std::env::temp_dir().join(format!("sentori-retention-{}", Uuid::new_v4().simple()));
    let expired_blob = "a1".repeat(32);
    let shared_blob = "b2".repeat(32);
    let kept_blob = "c3".repeat(32);
    insert_attachment(pool, &attachment_dir, &expired_blob, "2025-03-01T00:00:00Z").await;
    // The same bytes attached to an old and to a recent event: one blob, kept.
    insert_attachment(pool, &attachment_dir, &shared_blob, "2025-03-02T00:00:00Z").await;
    insert_attachment(pool, &attachment_dir, &shared_blob, "2025-06-01T00:00:00Z").await;
    insert_attachment(pool, &attachment_dir, &kept_blob, "2025-05-20T00:00:00Z").await;

    Spread { attachment_dir, kept_events, moved_event, kept_spans, kept_trace, expired_blob, shared_blob, kept_blob }
}

fn retention(stack: &TestStack, spread: &Spread) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_retention"));
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SENTORI_DATABASE_URL", &stack.database_url)
        .env("SENTORI_ATTACHMENT_DIR", &spread.attachment_dir)
        .env("RUST_LOG", "warn")
        .args(["--once", "--now", NOW])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn outcome(output: &Output) -> Value {
    assert!(output.status.success(), "retention --once failed: {}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim().lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("retention --once prints one JSON line ({e}): {stdout}"))
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().expect("an array").iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

const EXPECTED_DROPPED: [&str; 5] = ["events_p202502", "events_p202503", "events_p202504", "spans_p202504", "spans_p202505"];

async fn assert_expired(pool: &PgPool, spread: &Spread) {
    let events = partitions(pool, "events").await;
    let spans = partitions(pool, "spans").await;
    for gone in EXPECTED_DROPPED {
        assert!(!events.contains(&gone.to_owned()) && !spans.contains(&gone.to_owned()), "{gone} is dropped: {events:?} {spans:?}");
    }
    for kept in ["events_p202505", "events_p202506", "events_default"] {
        assert!(events.contains(&kept.to_owned()), "{kept} is kept: {events:?}");
    }
    for kept in ["spans_p202506", "spans_default"] {
        assert!(spans.contains(&kept.to_owned()), "{kept} is kept: {spans:?}");
    }
    // The current month of the pass's "now" and six ahead exist.
    for month in ["202507", "202508", "202509", "202510", "202511", "202512", "202601"] {
        assert!(events.contains(&format!("events_p{month}")), "events_p{month} was created: {events:?}");
        assert!(spans.contains(&format!("spans_p{month}")), "spans_p{month} was created: {spans:?}");
    }
    // The partitions of the real "now" (made by the migrations) are untouched.
    let real_month = time::OffsetDateTime::now_utc();
    let real = format!("events_p{:04}{:02}", real_month.year(), real_month.month() as u8);
    assert!(events.contains(&real), "{real} survives: {events:?}");

    let mut remaining: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM events ORDER BY id").fetch_all(pool).await.unwrap();
    let mut expected = spread.kept_events.clone();
    expected.push(spread.moved_event);
    expected.sort();
    remaining.sort();
    assert_eq!(remaining, expected, "only the events of kept months remain");
    let in_august: i64 = sqlx::query_scalar("SELECT count(*) FROM events_p202508 WHERE id = $1")
        .bind(spread.moved_event)
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(in_august, 1, "the row in the default partition moved into the new August partition");
    assert_eq!(count(pool, "SELECT count(*) FROM events_default").await, 0);
    let mut event_ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM event_ids").fetch_all(pool).await.unwrap();
    event_ids.sort();
    assert_eq!(event_ids, expected, "idempotency keys go with their events");

    let mut spans_left: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM spans").fetch_all(pool).await.unwrap();
    let mut spans_expected = spread.kept_spans.clone();
    spans_left.sort();
    spans_expected.sort();
    assert_eq!(spans_left, spans_expected);
    let mut span_ids: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM span_ids").fetch_all(pool).await.unwrap();
    span_ids.sort();
    assert_eq!(span_ids, spans_expected);

    let traces: Vec<Uuid> = sqlx::query_scalar("SELECT trace_id FROM traces").fetch_all(pool).await.unwrap();
    assert_eq!(traces, vec![spread.kept_trace], "the trace that ended before the span cutoff is deleted");

    let shas: Vec<String> = sqlx::query_scalar("SELECT sha256 FROM attachments ORDER BY created_at").fetch_all(pool).await.unwrap();
    assert_eq!(shas, vec![spread.kept_blob.clone(), spread.shared_blob.clone()], "attachments of expired events are deleted");
    assert!(!blob(&spread.attachment_dir, &spread.expired_blob).exists(), "the expired blob is deleted");
    assert!(blob(&spread.attachment_dir, &spread.shared_blob).exists(), "a blob a kept attachment still uses stays");
    assert!(blob(&spread.attachment_dir, &spread.kept_blob).exists(), "a recent blob stays");
}

#[tokio::test]
async fn a_pass_expires_whole_months_and_keeps_the_rest() {
    let stack = TestStack::new().await;
    let pool = stack.pool().await;
    let spread = spread(&pool).await;
    assert!(partitions(&pool, "events").await.contains(&"events_p202502".to_owned()), "the old months exist before the pass");

    let output = retention(&stack, &spread).output().unwrap();
    let printed = outcome(&output);
    assert_eq!(printed["skipped"], false, "{printed}");
    let mut dropped = strings(&printed["summary"]["partitionsDropped"]);
    dropped.sort();
    assert_eq!(dropped, EXPECTED_DROPPED);
    assert_expired(&pool, &spread).await;

    // The run is recorded with what it did.
    let runs: Vec<(time::OffsetDateTime, Option<time::OffsetDateTime>, Value)> =
        sqlx::query_as("SELECT as_of, finished_at, summary FROM retention_runs").fetch_all(&pool).await.unwrap();
    assert_eq!(runs.len(), 1);
    let (as_of, finished_at, summary) = &runs[0];
    assert_eq!(*as_of, ts(NOW));
    assert!(finished_at.is_some());
    assert_eq!(summary["tracesDeleted"], 1, "{summary}");
    assert_eq!(summary["attachmentsDeleted"], 2, "{summary}");
    assert_eq!(summary["blobsDeleted"], 1, "{summary}");
    assert_eq!(summary["eventRetentionDays"], 60, "{summary}");
    assert_eq!(summary["defaultPartitionRowsDeleted"]["events"], 1, "{summary}");

    // A second pass finds nothing more to do and changes nothing.
    let again = outcome(&retention(&stack, &spread).output().unwrap());
    assert_eq!(again["summary"]["partitionsDropped"], serde_json::json!([]), "{again}");
    assert_eq!(again["summary"]["tracesDeleted"], 0, "{again}");
    assert_expired(&pool, &spread).await;
    let _ = std::fs::remove_dir_all(&spread.attachment_dir);
}

#[tokio::test]
async fn one_pass_at_a_time_across_processes() {
    let stack = TestStack::new().await;
    let pool = stack.pool().await;
    let spread = spread(&pool).await;

    // Another replica is mid-pass (this test holds the lock): the pass is
    // skipped, says so, and neither touches nor records anything.
    let mut holder = pool.acquire().await.unwrap();
    let held: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(retention::LOCK_KEY).fetch_one(&mut *holder).await.unwrap();
    assert!(held);
    let skipped = outcome(&retention(&stack, &spread).output().unwrap());
    assert_eq!(skipped["skipped"], true, "{skipped}");
    assert_eq!(count(&pool, "SELECT count(*) FROM retention_runs").await, 0, "a skipped pass records no run");
    assert!(partitions(&pool, "events").await.contains(&"events_p202502".to_owned()), "a skipped pass drops nothing");
    let _: bool = sqlx::query_scalar("SELECT pg_advisory_unlock($1)").bind(retention::LOCK_KEY).fetch_one(&mut *holder).await.unwrap();
    drop(holder);

    // Two processes started together: whichever way they interleave, each
    // expired partition is dropped by exactly one of them, and every pass
    // that ran (and only those) is recorded.
    let first = retention(&stack, &spread).spawn().unwrap();
    let second = retention(&stack, &spread).spawn().unwrap();
    let outcomes = [outcome(&first.wait_with_output().unwrap()), outcome(&second.wait_with_output().unwrap())];
    let mut dropped: Vec<String> = Vec::new();
    let mut ran = 0;
    for printed in &outcomes {
        if printed["skipped"] == false {
            ran += 1;
            dropped.extend(strings(&printed["summary"]["partitionsDropped"]));
        }
    }
    dropped.sort();
    assert!(ran >= 1, "at least one pass ran: {outcomes:?}");
    assert_eq!(dropped, EXPECTED_DROPPED, "each partition dropped once: {outcomes:?}");
    assert_eq!(count(&pool, "SELECT count(*) FROM retention_runs WHERE finished_at IS NOT NULL").await, ran);
    assert_eq!(count(&pool, "SELECT count(*) FROM retention_runs").await, ran);
    assert_expired(&pool, &spread).await;
    let _ = std::fs::remove_dir_all(&spread.attachment_dir);
}

/// More expired attachments than fit in one transaction: every one goes with
/// its blob, and no transaction ever holds more advisory locks than its chunk.
#[tokio::test]
async fn attachments_expire_in_transactions_of_bounded_size() {
    const CHUNK: i64 = 5;
    let stack = TestStack::new().await;
    let pool = stack.pool().await;
    let dir = std::env::temp_dir().join(format!("sentori-retention-{}", Uuid::new_v4().simple()));
    let shas: Vec<String> = (1..=12u8).map(|i| format!("{i:02x}").repeat(32)).collect();
    for sha in &shas {
        insert_attachment(&pool, &dir, sha, "2025-03-01T00:00:00Z").await;
    }

    // Hold the lock of the hash sorted last: the pass waits for it while
    // holding every lock its transaction took before, which is what is counted.
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('attachment-blob:' || $1, 0))")
        .bind(shas.last().unwrap())
        .execute(&mut *holder)
        .await
        .unwrap();
    let options = retention::PassOptions {
        trace_retention_days: 14,
        attachment_dir: Some(dir.clone()),
        attachments_per_transaction: CHUNK,
    };
    let pass = tokio::spawn({
        let pool = pool.clone();
        async move { retention::run_pass(&pool, ts(NOW), &options).await }
    });
    let held_by_waiting_pass = loop {
        let held: Option<i64> = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM pg_locks g WHERE g.pid = w.pid AND g.locktype = 'advisory' AND g.granted)
               FROM pg_locks w
              WHERE w.locktype = 'advisory' AND NOT w.granted
                AND w.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .fetch_optional(&pool)
        .await
        .unwrap();
        if let Some(held) = held {
            break held;
        }
        assert!(!pass.is_finished(), "the pass ended without waiting for the held lock");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert!(held_by_waiting_pass < CHUNK, "a transaction held {held_by_waiting_pass} advisory locks, its chunk is {CHUNK}");
    holder.commit().await.unwrap();

    let retention::PassOutcome::Done(summary) = pass.await.unwrap().unwrap() else { panic!("the pass was skipped") };
    assert_eq!((summary.attachments_deleted, summary.blobs_deleted), (12, 12), "{summary:?}");
    assert_eq!(count(&pool, "SELECT count(*) FROM attachments").await, 0);
    for sha in &shas {
        assert!(!blob(&dir, sha).exists(), "blob {sha} is deleted");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
