//! The batch's rows besides issues: the events themselves, distinct users
//! per issue, and hourly counts.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use sqlx::{Postgres, Transaction};
use time::format_description::well_known::Rfc3339;
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
    let mut copy = tx
        .copy_in_raw(
            "COPY events (project_id, id, received_at, timestamp, issue_id, kind, level, platform, release,
                          environment, user_key, trace_id, span_id, sdk, title, os, os_version, device_model, runtime,
                          tags, payload) FROM STDIN",
        )
        .await?;
    copy.send(rows.into_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

/// The `COPY` text of the events' rows, in the column order of [`copy_events`].
pub fn event_rows(project_id: Uuid, events: &[&Event<'_>], issues: &IssueIds) -> Result<CopyText, ProcessError> {
    let mut rows = CopyText::with_capacity(events.len() * 4096);
    for event in events {
        rows.uuid(project_id);
        rows.uuid(event.id);
        rows.timestamp(event.received_at)?;
        rows.timestamp(event.timestamp)?;
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
            Some(tags) => rows.json(tags)?,
            None => rows.null(),
        }
        rows.json(&event.stored_payload())?;
        rows.end_row();
    }
    Ok(rows)
}

/// Rows in the text format of `COPY … FROM STDIN`: tab between columns,
/// newline after a row, `\N` for NULL, and backslash escapes inside values.
pub struct CopyText {
    buf: Vec<u8>,
    row_started: bool,
    /// One JSON value at a time, escaped into `buf` in one pass.
    scratch: Vec<u8>,
}

impl CopyText {
    pub fn with_capacity(bytes: usize) -> Self {
        Self { buf: Vec::with_capacity(bytes), row_started: false, scratch: Vec::new() }
    }

    fn separate(&mut self) {
        if self.row_started {
            self.buf.push(b'\t');
        }
        self.row_started = true;
    }

    pub fn text(&mut self, value: &str) {
        self.separate();
        Escaped(&mut self.buf).write_all(value.as_bytes()).expect("writing to a Vec cannot fail");
    }

    pub fn uuid(&mut self, value: Uuid) {
        self.separate();
        self.buf.extend_from_slice(value.hyphenated().encode_lower(&mut Uuid::encode_buffer()).as_bytes());
    }

    /// Cut to microseconds, as sqlx does when it binds a time: PostgreSQL
    /// would round the text form instead, and an event stored up to a
    /// microsecond after its issue's last-seen time (bound from the same
    /// value) fell outside the issue's time span.
    pub fn timestamp(&mut self, value: OffsetDateTime) -> Result<(), ProcessError> {
        self.separate();
        let value = value.replace_nanosecond(value.nanosecond() / 1_000 * 1_000).expect("fewer nanoseconds are valid");
        value.format_into(&mut self.buf, &Rfc3339).map(drop).map_err(|err| ProcessError::Payload(format!("time {value}: {err}")))
    }

    pub fn json(&mut self, value: &impl serde::Serialize) -> Result<(), ProcessError> {
        self.separate();
        self.scratch.clear();
        serde_json::to_writer(&mut self.scratch, value).map_err(|err| ProcessError::Payload(err.to_string()))?;
        escape_json(&self.scratch, &mut self.buf);
        Ok(())
    }

    pub fn optional<T>(&mut self, value: Option<T>, write: impl FnOnce(&mut Self, T)) {
        match value {
            Some(value) => write(self, value),
            None => self.null(),
        }
    }

    pub fn null(&mut self) {
        self.separate();
        self.buf.extend_from_slice(b"\\N");
    }

    pub fn end_row(&mut self) {
        self.buf.push(b'\n');
        self.row_started = false;
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
}

/// Writes bytes with the characters `COPY`'s text format gives a meaning
/// (backslash, tab, newline, carriage return) escaped.
struct Escaped<'a>(&'a mut Vec<u8>);

impl Write for Escaped<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut rest = bytes;
        while let Some(at) = rest.iter().position(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r')) {
            self.0.extend_from_slice(&rest[..at]);
            self.0.extend_from_slice(match rest[at] {
                b'\\' => b"\\\\",
                b'\t' => b"\\t",
                b'\n' => b"\\n",
                _ => b"\\r",
            });
            rest = &rest[at + 1..];
        }
        self.0.extend_from_slice(rest);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What [`Escaped`] does, for serde_json's compact output, the bulk of every
/// row: it never holds a raw tab, newline or carriage return (JSON escapes
/// them in strings and compact output has no whitespace), so only
/// backslashes need doubling, and `memchr` finds them a word at a time.
fn escape_json(json: &[u8], out: &mut Vec<u8>) {
    let mut rest = json;
    while let Some(at) = memchr::memchr(b'\\', rest) {
        out.extend_from_slice(&rest[..=at]);
        out.push(b'\\');
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
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
    let issue_ids: Vec<Uuid> = pairs.keys().map(|(issue, _)| *issue).collect();
    let users: Vec<&str> = pairs.keys().map(|(_, user)| *user).collect();
    let firsts: Vec<OffsetDateTime> = pairs.values().copied().collect();
    let added: Vec<(Uuid, i64)> = sqlx::query_as(
        "WITH new_users AS (
             INSERT INTO issue_users (project_id, issue_id, user_key, first_seen)
             SELECT $1, u.* FROM UNNEST($2::uuid[], $3::text[], $4::timestamptz[]) AS u
             ON CONFLICT DO NOTHING
             RETURNING issue_id)
         SELECT issue_id, count(*) FROM new_users GROUP BY issue_id",
    )
    .bind(project_id)
    .bind(&issue_ids)
    .bind(&users)
    .bind(&firsts)
    .fetch_all(&mut **tx)
    .await?;
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
    let issue_ids: Vec<Uuid> = hours.keys().map(|(issue, _)| *issue).collect();
    let starts: Vec<OffsetDateTime> = hours.keys().map(|(_, hour)| *hour).collect();
    let counts: Vec<i64> = hours.values().copied().collect();
    sqlx::query(
        "INSERT INTO issue_hourly (project_id, issue_id, hour, count)
         SELECT $1, u.* FROM UNNEST($2::uuid[], $3::timestamptz[], $4::bigint[]) AS u
         ON CONFLICT (project_id, issue_id, hour) DO UPDATE SET count = issue_hourly.count + EXCLUDED.count",
    )
    .bind(project_id)
    .bind(&issue_ids)
    .bind(&starts)
    .bind(&counts)
    .execute(&mut **tx)
    .await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_the_format_gives_a_meaning() {
        let mut rows = CopyText::with_capacity(64);
        rows.text("a\tb\nc\\d\re");
        rows.optional(None::<&str>, CopyText::text);
        rows.json(&serde_json::json!({"m": "line\nbreak \\ \"q\""})).unwrap();
        rows.end_row();
        rows.uuid(Uuid::nil());
        rows.end_row();
        let text = String::from_utf8(rows.into_bytes()).unwrap();
        assert_eq!(
            text,
            "a\\tb\\nc\\\\d\\re\t\\N\t{\"m\":\"line\\\\nbreak \\\\\\\\ \\\\\"q\\\\\"\"}\n00000000-0000-0000-0000-000000000000\n"
        );
    }

    #[test]
    fn times_are_cut_to_microseconds_never_rounded_up() {
        let mut rows = CopyText::with_capacity(64);
        rows.timestamp(time::macros::datetime!(2026-12-02 18:52:10.123456789 UTC)).unwrap();
        assert_eq!(String::from_utf8(rows.into_bytes()).unwrap(), "2026-12-02T18:52:10.123456Z");
    }
}
