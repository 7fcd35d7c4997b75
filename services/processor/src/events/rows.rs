//! The batch's rows besides issues: the events themselves, distinct users
//! per issue, and hourly counts (written by `sentori_store::issues`).

use std::collections::{BTreeMap, HashMap};

use sentori_store::copy::CopyText;
use sentori_store::issues;
use sqlx::{Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Event;
use super::issues::IssueIds;
use crate::error::ProcessError;
use crate::hour::counted_hour;
use crate::releases::{self, HourCounts};

/// Stores the events with one `COPY`: the cheapest way into PostgreSQL for
/// many wide rows (no array parameters to build and unpack; each payload is
/// written into the stream from its parsed fields and the text it kept).
pub async fn copy_events(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    events: &[&Event<'_>],
    issues: &IssueIds,
) -> Result<(), ProcessError> {
    let rows = event_rows(project_id, events, issues)?;
    let mut copy = tx.copy_in_raw(COPY_EVENTS).await?;
    copy.send(rows.into_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

/// The statement [`copy_events`] runs; [`event_rows`] writes its columns in this order.
pub const COPY_EVENTS: &str = "COPY events (project_id, id, received_at, timestamp, issue_id, kind, level, platform, release,
                          environment, user_key, trace_id, span_id, sdk, title, os, os_version, device_model, runtime,
                          tags, payload) FROM STDIN";

/// The `COPY` text of the events' rows, in the column order of [`COPY_EVENTS`].
pub fn event_rows(project_id: Uuid, events: &[&Event<'_>], issues: &IssueIds) -> Result<CopyText, ProcessError> {
    let mut rows = CopyText::with_capacity(events.len() * 4096);
    for event in events {
        rows.uuid(project_id);
        rows.uuid(event.id);
        rows.timestamp(event.received_at).map_err(|err| bad_time(event.received_at, err))?;
        rows.timestamp(event.timestamp).map_err(|err| bad_time(event.timestamp, err))?;
        rows.uuid(issues[&event.grouping.fingerprint].id);
        rows.text(&event.kind);
        rows.text(&event.level);
        rows.text(&event.platform);
        rows.text(&event.release);
        rows.text(&event.environment);
        rows.optional(event.user_key.as_deref(), CopyText::text);
        rows.optional(event.trace_id, CopyText::uuid);
        rows.optional(event.span_id, CopyText::uuid);
        rows.optional(event.envelope.sdk.as_deref(), CopyText::text);
        rows.text(&event.grouping.title);
        rows.optional(event.device.os.as_deref(), CopyText::text);
        rows.optional(event.device.os_version.as_deref(), CopyText::text);
        rows.optional(event.device.model.as_deref(), CopyText::text);
        rows.optional(event.device.runtime.as_deref(), CopyText::text);
        match event.tags() {
            Some(tags) => rows.json(tags).map_err(bad_json)?,
            None => rows.null(),
        }
        rows.json(&event.stored_payload()).map_err(bad_json)?;
        rows.end_row();
    }
    Ok(rows)
}

fn bad_time(value: OffsetDateTime, err: time::error::Format) -> ProcessError {
    ProcessError::Payload(format!("time {value}: {err}"))
}

fn bad_json(err: serde_json::Error) -> ProcessError {
    ProcessError::Payload(err.to_string())
}

/// Records which users each issue saw; returns, per issue, how many of them
/// it had never seen before (what its `user_count` grows by).
pub async fn record_users(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    events: &[&Event<'_>],
    issues: &IssueIds,
) -> Result<HashMap<Uuid, i64>, ProcessError> {
    let mut pairs: BTreeMap<(Uuid, &str), OffsetDateTime> = BTreeMap::new();
    for event in events {
        if let Some(user) = event.user_key.as_deref() {
            let first = pairs.entry((issues[&event.grouping.fingerprint].id, user)).or_insert(event.timestamp);
            *first = (*first).min(event.timestamp);
        }
    }
    if pairs.is_empty() {
        return Ok(HashMap::new());
    }
    let users: Vec<(Uuid, &str, OffsetDateTime)> = pairs.into_iter().map(|((issue, user), first)| (issue, user, first)).collect();
    let added = issues::add_users(tx, project_id, &users).await?;
    Ok(added.into_iter().collect())
}

/// Hourly counts per issue, by when the events happened: they feed the
/// issue list's 24-hour trend and the issue page's histogram without
/// scanning events.
pub async fn count_hours(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    events: &[&Event<'_>],
    issues: &IssueIds,
) -> Result<(), ProcessError> {
    let mut hours: BTreeMap<(Uuid, OffsetDateTime), i64> = BTreeMap::new();
    for event in events {
        *hours.entry((issues[&event.grouping.fingerprint].id, counted_hour(event.timestamp, event.received_at))).or_default() += 1;
    }
    let hours: Vec<(Uuid, OffsetDateTime, i64)> = hours.into_iter().map(|((issue, hour), count)| (issue, hour, count)).collect();
    issues::add_hours(tx, project_id, &hours).await?;
    Ok(())
}

/// Adds the batch's events to their releases' hourly counts, in the same
/// hours as [`count_hours`].
pub async fn count_release_hours(tx: &mut Transaction<'_, Postgres>, project_id: Uuid, events: &[&Event<'_>]) -> Result<(), ProcessError> {
    let mut hours: BTreeMap<(&str, OffsetDateTime), HourCounts> = BTreeMap::new();
    for event in events {
        hours.entry((event.release.as_str(), counted_hour(event.timestamp, event.received_at))).or_default().events += 1;
    }
    releases::add_hours(tx, project_id, &hours).await?;
    Ok(())
}
