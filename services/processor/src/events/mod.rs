//! Events: deduplicate, group, update issues (with regressions), store.
//!
//! One transaction per batch. Everything is aggregated in memory first, so
//! many events of one issue are one issue update; events go in with one
//! `COPY`, everything else with multi-row `UNNEST` statements.
//!
//! Several batches may be in flight at once (more consumers in this process
//! or other processors), so the transaction is ordered to hold contended row
//! locks for as short a time as possible: inserts of new keys come first, and
//! the rows every batch updates (issue counters, hourly counts, the month's
//! quota usage) last, each in a stable order so two batches cannot deadlock.

mod issues;
mod payload;
mod rows;

pub use rows::COPY_EVENTS;

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};

use sentori_model::{DeviceSummary, EventSummary};
use serde_json::Value;
use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::announce::{Announcement, Outbox, Reason};
use crate::quota::count_usage;
use sentori_store::quotas::Category;
use crate::dedupe::{IdTable, keep_new};
use crate::error::{ProcessError, read_tree};
use crate::grouping::{Grouping, group};
use sentori_store::releases;
use crate::silences;
use crate::symbolicate::Symbolicator;
use payload::{EventPayload, StoredPayload};
use crate::worker::BatchHandler;
use sentori_queue::Envelope;

pub struct EventHandler {
    pool: PgPool,
    outbox: Outbox,
    symbolicator: Symbolicator,
}

impl EventHandler {
    pub fn new(pool: PgPool, outbox: Outbox, symbolicator: Symbolicator) -> Self {
        Self { pool, outbox, symbolicator }
    }
}

/// One event, with what grouping and the payload tell about it.
struct Event<'a> {
    envelope: &'a Envelope,
    payload: EventPayload<'a>,
    id: Uuid,
    received_at: OffsetDateTime,
    timestamp: OffsetDateTime,
    kind: String,
    level: String,
    platform: String,
    release: String,
    environment: String,
    user_key: Option<String>,
    trace_id: Option<Uuid>,
    span_id: Option<Uuid>,
    device: DeviceColumns,
    grouping: Grouping,
    release_has_map: Option<bool>,
}

impl<'a> Event<'a> {
    /// When, in which release and environment it happened, as issue rows count it.
    fn sighting(&self) -> sentori_store::issues::Sighting<'_> {
        sentori_store::issues::Sighting { at: self.timestamp, release: &self.release, environment: &self.environment }
    }

    fn parse(envelope: &'a Envelope, payload: EventPayload<'a>, release_has_map: Option<bool>) -> Result<Self, ProcessError> {
        let p = payload.fields();
        let summary: EventSummary = read_tree(p)?;
        let grouping = group(p)?;
        Ok(Self {
            envelope,
            id: summary.id,
            received_at: envelope.received_at(),
            timestamp: summary.timestamp,
            kind: summary.kind.as_str().to_owned(),
            level: summary.level().as_str().to_owned(),
            platform: summary.platform.to_owned(),
            release: summary.release.to_owned(),
            environment: summary.environment.to_owned(),
            user_key: summary.user_key(),
            trace_id: summary.trace_id,
            span_id: summary.span_id,
            device: DeviceColumns::of(&summary),
            grouping,
            release_has_map,
            payload,
        })
    }

    /// The event's tags, for their column; none when empty.
    fn tags(&self) -> Option<&Value> {
        self.payload.fields().get("tags").filter(|tags| tags.as_object().is_some_and(|map| !map.is_empty()))
    }

    /// The payload as it is stored.
    fn stored_payload(&self) -> StoredPayload<'_, 'a> {
        self.payload.stored(self.release_has_map)
    }
}

/// What the dashboard shows of an event's device and runtime, stored in
/// columns of its own: the payload is `json` text, costly to look into.
struct DeviceColumns {
    os: Option<String>,
    os_version: Option<String>,
    model: Option<String>,
    /// The app's framework and version, else the browser or runtime tag.
    runtime: Option<String>,
}

impl DeviceColumns {
    fn of<'a>(summary: &EventSummary<'a>) -> Self {
        let device = summary.device.as_ref();
        let text = |field: fn(&DeviceSummary<'a>) -> Option<&'a str>| device.and_then(field).map(str::to_owned);
        Self {
            os: text(|d| d.os),
            os_version: text(|d| d.os_version),
            model: text(|d| d.model),
            runtime: summary.runtime(),
        }
    }
}

/// The batch's contribution to one issue.
#[derive(Clone, Copy)]
struct IssueDelta<'a> {
    grouping: &'a Grouping,
    kind: &'a str,
    level: &'a str,
    count: i64,
    first: &'a Event<'a>,
    last: &'a Event<'a>,
    /// The latest first-seen time among the releases of the batch's events:
    /// decides whether a resolved issue regressed.
    newest_release_seen: Option<OffsetDateTime>,
    /// The release that time belongs to: the one a regression happened in.
    newest_release: Option<&'a str>,
}

impl<'a> IssueDelta<'a> {
    /// One event's contribution; `release_seen` is when its release was first seen.
    fn of(event: &'a Event<'a>, release_seen: Option<OffsetDateTime>) -> Self {
        Self {
            grouping: &event.grouping,
            kind: &event.kind,
            level: &event.level,
            count: 1,
            first: event,
            last: event,
            newest_release_seen: release_seen,
            newest_release: release_seen.map(|_| event.release.as_str()),
        }
    }

    /// Adds `other`: counts add up, the earliest event stays first, the latest
    /// (with its kind and level) last.
    fn add(&mut self, other: &IssueDelta<'a>) {
        self.count += other.count;
        if other.first.timestamp < self.first.timestamp {
            self.first = other.first;
        }
        if other.last.timestamp >= self.last.timestamp {
            self.last = other.last;
            self.kind = other.kind;
            self.level = other.level;
        }
        if other.newest_release_seen > self.newest_release_seen {
            self.newest_release_seen = other.newest_release_seen;
            self.newest_release = other.newest_release;
        }
    }
}

impl BatchHandler for EventHandler {
    fn name(&self) -> &'static str {
        "events"
    }

    async fn handle(&self, items: &[&Envelope]) -> Result<(), ProcessError> {
        let announced = store(&self.pool, &self.symbolicator, items).await?;
        self.outbox.publish(&announced).await;
        Ok(())
    }
}

/// Stores one batch in one transaction: symbolicate, group, issues and
/// regressions, events, users, hourly counts, quota usage and the
/// announcements' outbox rows, whose ids it returns for publishing.
pub async fn store(pool: &PgPool, symbolicator: &Symbolicator, items: &[&Envelope]) -> Result<Vec<i64>, ProcessError> {
    let mut payloads = items
        .iter()
        .map(|envelope| EventPayload::parse(envelope.payload.as_str()))
        .collect::<Result<Vec<_>, _>>()?;
    // Symbolication comes before grouping: issues key on the mapped frames,
    // and the stored event is the mapped one.
    let mut fields: Vec<(Uuid, &mut serde_json::Value)> =
        items.iter().zip(&mut payloads).map(|(envelope, payload)| (envelope.project_id, payload.fields_mut())).collect();
    let release_has_map = symbolicator.symbolicate(&mut fields).await?;
    crate::attachment_refs::keep_known(pool, &mut fields).await?;
    let events = items
        .iter()
        .zip(payloads)
        .zip(release_has_map)
        .map(|((envelope, payload), has_map)| Event::parse(envelope, payload, has_map))
        .collect::<Result<Vec<_>, _>>()?;
    let mut by_project: BTreeMap<Uuid, Vec<&Event>> = BTreeMap::new();
    for event in &events {
        by_project.entry(event.envelope.project_id).or_default().push(event);
    }
    let mut tx = pool.begin().await?;
    let mut announcements = Vec::new();
    let mut stored = Vec::new();
    for (project_id, events) in by_project {
        let (new_events, project_announcements) = store_project_events(pool, &mut tx, project_id, events).await?;
        stored.extend(new_events.iter().map(|e| (e.envelope.org_id, e.received_at)));
        announcements.extend(project_announcements);
    }
    count_usage(&mut tx, Category::Events, stored.into_iter()).await?;
    let ids = Outbox::record(&mut tx, &announcements).await?;
    tx.commit().await?;
    Ok(ids)
}

/// Stores one project's events; returns those that were new (not stored
/// before) and the issues to announce.
async fn store_project_events<'e>(
    pool: &PgPool,
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    events: Vec<&'e Event<'e>>,
) -> Result<(Vec<&'e Event<'e>>, Vec<Announcement>), ProcessError> {
    let org_id = events[0].envelope.org_id;
    let events = keep_new(tx, IdTable::Events, project_id, events, |e| (e.id, e.received_at)).await?;
    if events.is_empty() {
        return Ok((events, Vec::new()));
    }
    let release_seen =
        releases::record_seen(tx, project_id, events.iter().map(|e| (e.release.as_str(), e.received_at))).await?;
    let deltas = aggregate(&events, &release_seen);
    let issue_ids = issues::resolve_ids(pool, tx, project_id, &deltas).await?;
    rows::copy_events(tx, project_id, &events, &issue_ids).await?;
    let new_users = rows::record_users(tx, project_id, &events, &issue_ids).await?;
    // From here on, rows other batches update too.
    rows::count_hours(tx, project_id, &events, &issue_ids).await?;
    rows::count_release_hours(tx, project_id, &events).await?;
    let updates = per_issue(&deltas, &issue_ids);
    let regressed = issues::mark_regressions(tx, project_id, &updates).await?;
    issues::add_counts(tx, project_id, &updates, &new_users).await?;
    let mut silenced: Vec<Uuid> = issue_ids.values().filter(|issue| issue.silence_may_end).map(|issue| issue.id).collect();
    silenced.sort();
    silenced.dedup();
    silences::end_reached(tx, project_id, &silenced).await?;

    let mut announcements: Vec<Announcement> = issue_ids
        .values()
        .filter(|issue| issue.inserted)
        .map(|issue| Announcement { project_id, org_id, issue_id: issue.id, reason: Reason::New, occurrence: 0 })
        .collect();
    announcements.extend(regressed.into_iter().map(|(issue_id, occurrence)| Announcement {
        project_id,
        org_id,
        issue_id,
        reason: Reason::Regressed,
        occurrence,
    }));
    Ok((events, announcements))
}

/// Everything handling one event does short of the database (symbolication
/// finds no map offline): parse, group, aggregate, and encode its row.
/// Returns the size of the row; the fuzz target feeds it.
pub fn handle_offline(envelope: &Envelope) -> Result<usize, ProcessError> {
    let payload = EventPayload::parse(envelope.payload.as_str())?;
    let event = Event::parse(envelope, payload, None)?;
    let events = [&event];
    let deltas = aggregate(&events, &HashMap::new());
    let issues: issues::IssueIds = deltas
        .keys()
        .map(|fingerprint| ((*fingerprint).to_owned(), issues::IssueRef::new(Uuid::nil(), (*fingerprint).to_owned())))
        .collect();
    Ok(rows::event_rows(envelope.project_id, &events, &issues)?.into_bytes().len())
}

/// The batch's events summed per fingerprint, in fingerprint order.
fn aggregate<'e>(events: &[&'e Event<'e>], release_seen: &HashMap<String, OffsetDateTime>) -> BTreeMap<&'e str, IssueDelta<'e>> {
    let mut deltas: BTreeMap<&str, IssueDelta> = BTreeMap::new();
    for &event in events {
        let delta = IssueDelta::of(event, release_seen.get(&event.release).copied());
        match deltas.entry(event.grouping.fingerprint.as_str()) {
            Entry::Vacant(entry) => {
                entry.insert(delta);
            }
            Entry::Occupied(mut entry) => entry.get_mut().add(&delta),
        }
    }
    deltas
}

/// The batch's deltas one per issue, fingerprints merged into one issue
/// (docs/decisions.md, "Merging") added up, in the order of the issues' own
/// fingerprints: the order every batch locks issue rows in, whichever of an
/// issue's fingerprints its events carried.
fn per_issue<'e>(deltas: &BTreeMap<&'e str, IssueDelta<'e>>, issues: &issues::IssueIds) -> Vec<(Uuid, IssueDelta<'e>)> {
    let mut by_issue: BTreeMap<&str, (Uuid, IssueDelta<'e>)> = BTreeMap::new();
    for (fingerprint, delta) in deltas {
        let issue = &issues[*fingerprint];
        match by_issue.entry(issue.fingerprint.as_str()) {
            Entry::Vacant(entry) => {
                entry.insert((issue.id, *delta));
            }
            Entry::Occupied(mut entry) => entry.get_mut().1.add(delta),
        }
    }
    by_issue.into_values().collect()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn columns(mut event: Value) -> DeviceColumns {
        event["id"] = json!("0193a0a0-0000-7000-8000-000000000001");
        event["timestamp"] = json!("2026-12-07T10:00:00Z");
        DeviceColumns::of(&read_tree(&event).unwrap())
    }

    #[test]
    fn device_columns_come_from_the_device_and_the_first_runtime_known() {
        let native = columns(json!({
            "device": {"os": "ios", "osVersion": "17.4", "model": "iPhone15,2"},
            "app": {"framework": {"name": "react-native", "version": "0.74.1"}},
            "tags": {"browser": "never read when there is a framework"},
        }));
        assert_eq!(
            (native.os.as_deref(), native.os_version.as_deref(), native.model.as_deref(), native.runtime.as_deref()),
            (Some("ios"), Some("17.4"), Some("iPhone15,2"), Some("react-native 0.74.1"))
        );
        let runtime = |event| columns(event).runtime;
        assert_eq!(runtime(json!({"app": {"framework": {"name": "flutter"}}})).as_deref(), Some("flutter"));
        assert_eq!(runtime(json!({"app": {"framework": {}}, "tags": {"browser": "Firefox 133"}})).as_deref(), Some("Firefox 133"));
        assert_eq!(runtime(json!({"tags": {"runtime": "node 22"}})).as_deref(), Some("node 22"));
        let bare = columns(json!({}));
        assert_eq!((bare.os, bare.runtime), (None, None));
    }

    #[test]
    fn an_event_the_processor_cannot_read_is_refused_naming_the_field() {
        let envelope = Envelope::new(sentori_queue::ItemKind::Event, Uuid::nil(), Uuid::nil(), OffsetDateTime::now_utc());
        for (json, path) in [
            (r#"{"timestamp": "2026-12-07T10:00:00Z"}"#, "id"),
            (r#"{"id": "0193a0a0-0000-7000-8000-000000000001", "timestamp": "yesterday"}"#, "timestamp"),
            (r#"{"id": "0193a0a0-0000-7000-8000-000000000001", "timestamp": "2026-12-07T10:00:00Z", "device": {"os": 3}}"#, "device.os"),
            (r#"{"id": "0193a0a0-0000-7000-8000-000000000001", "timestamp": "2026-12-07T10:00:00Z", "traceId": "x"}"#, "traceId"),
        ] {
            let payload = EventPayload::parse(json).unwrap();
            let Err(ProcessError::Payload(message)) = Event::parse(&envelope, payload, None) else { panic!("{json} was read") };
            assert!(message.contains(path), "{json}: {message}");
        }
    }
}
