//! Events: deduplicate, group, update issues (with regressions), store.
//!
//! One transaction per batch. Everything is aggregated in memory first, so
//! many events of one issue are one issue update, and every statement is a
//! multi-row `UNNEST` insert or update.

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::announce::{Announcement, Outbox, Reason};
use crate::quota::count_usage;
use sentori_store::quotas::Category;
use crate::dedupe::{IdTable, keep_new};
use crate::error::ProcessError;
use crate::grouping::{Grouping, group};
use crate::releases;
use crate::symbolicate::Symbolicator;
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
    grouping: Grouping,
}

impl<'a> Event<'a> {
    fn parse(envelope: &'a Envelope) -> Result<Self, ProcessError> {
        let p = &envelope.payload;
        let text = |key: &str| p[key].as_str().map(str::to_owned);
        let id = text("id").and_then(|s| Uuid::parse_str(&s).ok()).ok_or_else(|| ProcessError::Payload("event without a valid id".into()))?;
        let timestamp = text("timestamp")
            .and_then(|s| OffsetDateTime::parse(&s, &Rfc3339).ok())
            .ok_or_else(|| ProcessError::Payload("event without a valid timestamp".into()))?;
        let kind = text("kind").unwrap_or_else(|| "error".into());
        let level = text("level").unwrap_or_else(|| if kind == "message" { "info".into() } else { "error".into() });
        let user_key = p["user"]["id"]
            .as_str()
            .map(|id| format!("user:{id}"))
            .or_else(|| p["device"]["installId"].as_str().map(|id| format!("install:{id}")));
        let uuid_at = |key: &str| text(key).and_then(|s| Uuid::parse_str(&s).ok());
        Ok(Self {
            envelope,
            id,
            received_at: envelope.received_at(),
            timestamp,
            level,
            platform: text("platform").unwrap_or_default(),
            release: text("release").unwrap_or_default(),
            environment: text("environment").unwrap_or_default(),
            user_key,
            trace_id: uuid_at("traceId"),
            span_id: uuid_at("spanId"),
            grouping: group(p),
            kind,
        })
    }
}

/// The batch's contribution to one issue.
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
}

impl BatchHandler for EventHandler {
    fn name(&self) -> &'static str {
        "events"
    }

    async fn handle(&self, items: &[&Envelope]) -> Result<(), ProcessError> {
        // Symbolication comes before grouping: issues key on the mapped frames,
        // and the stored event is the mapped one.
        let symbolicated = self.symbolicator.symbolicate(items).await?;
        let symbolicated = crate::attachment_refs::keep_known(&self.pool, symbolicated).await?;
        let items: Vec<&Envelope> = symbolicated.iter().map(|e| e.as_ref()).collect();
        let events = items.iter().map(|e| Event::parse(e)).collect::<Result<Vec<_>, _>>()?;
        let mut by_project: BTreeMap<Uuid, Vec<&Event>> = BTreeMap::new();
        for event in &events {
            by_project.entry(event.envelope.project_id).or_default().push(event);
        }
        let mut tx = self.pool.begin().await?;
        let mut announcements = Vec::new();
        for (project_id, events) in by_project {
            announcements.extend(store_project_events(&self.pool, &mut tx, project_id, events).await?);
        }
        let ids = Outbox::record(&mut tx, &announcements).await?;
        tx.commit().await?;
        self.outbox.publish(&ids).await;
        Ok(())
    }
}

async fn store_project_events(
    pool: &PgPool,
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    events: Vec<&Event<'_>>,
) -> Result<Vec<Announcement>, ProcessError> {
    let org_id = events[0].envelope.org_id;
    let events = keep_new(tx, IdTable::Events, project_id, events, |e| (e.id, e.received_at)).await?;
    if events.is_empty() {
        return Ok(Vec::new());
    }
    count_usage(tx, Category::Events, events.iter().map(|e| (e.envelope.org_id, e.received_at))).await?;
    let release_seen = releases::record_seen(
        tx,
        project_id,
        events.iter().map(|e| (e.release.as_str(), e.received_at)),
    )
    .await?;

    // Aggregate per fingerprint, in fingerprint order so concurrent
    // processors lock issue rows in the same order and cannot deadlock.
    let mut deltas: BTreeMap<&str, IssueDelta> = BTreeMap::new();
    for event in &events {
        let seen = release_seen.get(&event.release).copied();
        let delta = deltas.entry(event.grouping.fingerprint.as_str()).or_insert_with(|| IssueDelta {
            grouping: &event.grouping,
            kind: &event.kind,
            level: &event.level,
            count: 0,
            first: event,
            last: event,
            newest_release_seen: None,
        });
        delta.count += 1;
        if event.timestamp < delta.first.timestamp {
            delta.first = event;
        }
        if event.timestamp >= delta.last.timestamp {
            delta.last = event;
            delta.kind = &event.kind;
            delta.level = &event.level;
        }
        delta.newest_release_seen = delta.newest_release_seen.max(seen);
    }

    let regressed = mark_regressions(tx, project_id, &deltas).await?;
    let issue_ids = upsert_issues(pool, tx, project_id, &deltas).await?;
    insert_events(tx, project_id, &events, &issue_ids).await?;
    count_users(tx, project_id, &events, &issue_ids).await?;
    count_hours(tx, project_id, &events, &issue_ids).await?;

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
    Ok(announcements)
}

/// Resolved issues that see an event from a newer release than the one they
/// were resolved in turn `regressed`. The row lock this takes makes the
/// decision once: a concurrent processor waits, then finds the issue no
/// longer `resolved`.
async fn mark_regressions(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    deltas: &BTreeMap<&str, IssueDelta<'_>>,
) -> Result<Vec<(Uuid, i64)>, ProcessError> {
    let fingerprints: Vec<&str> = deltas.keys().copied().collect();
    let newest: Vec<Option<OffsetDateTime>> = deltas.values().map(|d| d.newest_release_seen).collect();
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "UPDATE issues AS i
            SET status = 'regressed', regressed_at = now(), regression_count = i.regression_count + 1
           FROM UNNEST($2::text[], $3::timestamptz[]) AS b(fingerprint, newest_release_seen)
          WHERE i.project_id = $1 AND i.fingerprint = b.fingerprint AND i.status = 'resolved'
            AND (i.resolved_in_release IS NULL
                 OR b.newest_release_seen > COALESCE(
                        (SELECT r.first_seen FROM releases r
                          WHERE r.project_id = i.project_id AND r.name = i.resolved_in_release),
                        i.resolved_at))
      RETURNING i.id, i.regression_count",
    )
    .bind(project_id)
    .bind(&fingerprints)
    .bind(&newest)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows)
}

struct IssueRef {
    id: Uuid,
    inserted: bool,
}

async fn upsert_issues(
    pool: &PgPool,
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    deltas: &BTreeMap<&str, IssueDelta<'_>>,
) -> Result<HashMap<String, IssueRef>, ProcessError> {
    let fingerprints: Vec<&str> = deltas.keys().copied().collect();
    let short_ids = reserve_short_ids(pool, project_id, &fingerprints).await?;
    let mut ids = Vec::with_capacity(deltas.len());
    let mut components = Vec::with_capacity(deltas.len());
    let (mut titles, mut culprits, mut types, mut kinds, mut levels) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut counts, mut firsts, mut lasts, mut first_releases, mut last_releases, mut environments) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut shorts = Vec::with_capacity(deltas.len());
    for (fingerprint, delta) in deltas {
        ids.push(Uuid::now_v7());
        shorts.push(short_ids.get(*fingerprint).copied().unwrap_or(0));
        components.push(Json(&delta.grouping.components));
        titles.push(delta.grouping.title.as_str());
        culprits.push(delta.grouping.culprit.as_deref());
        types.push(delta.grouping.error_type.as_deref());
        kinds.push(delta.kind);
        levels.push(delta.level);
        counts.push(delta.count);
        firsts.push(delta.first.timestamp);
        lasts.push(delta.last.timestamp);
        first_releases.push(delta.first.release.as_str());
        last_releases.push(delta.last.release.as_str());
        environments.push(delta.last.environment.as_str());
    }
    let rows: Vec<(String, Uuid, bool)> = sqlx::query_as(
        "INSERT INTO issues (project_id, id, short_id, fingerprint, components, title, culprit, type, kind, level,
                             event_count, first_seen, last_seen, first_release, last_release, last_environment)
         SELECT $1, u.* FROM UNNEST($2::uuid[], $3::bigint[], $4::text[], $5::jsonb[], $6::text[], $7::text[],
                                    $8::text[], $9::text[], $10::text[], $11::bigint[], $12::timestamptz[],
                                    $13::timestamptz[], $14::text[], $15::text[], $16::text[]) AS u
         ON CONFLICT (project_id, fingerprint) DO UPDATE SET
             event_count      = issues.event_count + EXCLUDED.event_count,
             first_release    = CASE WHEN EXCLUDED.first_seen < issues.first_seen
                                     THEN EXCLUDED.first_release ELSE issues.first_release END,
             first_seen       = LEAST(issues.first_seen, EXCLUDED.first_seen),
             last_release     = CASE WHEN EXCLUDED.last_seen >= issues.last_seen
                                     THEN EXCLUDED.last_release ELSE issues.last_release END,
             last_environment = CASE WHEN EXCLUDED.last_seen >= issues.last_seen
                                     THEN EXCLUDED.last_environment ELSE issues.last_environment END,
             level            = CASE WHEN EXCLUDED.last_seen >= issues.last_seen
                                     THEN EXCLUDED.level ELSE issues.level END,
             last_seen        = GREATEST(issues.last_seen, EXCLUDED.last_seen)
         RETURNING fingerprint, id, (old.id IS NULL)",
    )
    .bind(project_id)
    .bind(&ids)
    .bind(&shorts)
    .bind(&fingerprints)
    .bind(&components)
    .bind(&titles)
    .bind(&culprits)
    .bind(&types)
    .bind(&kinds)
    .bind(&levels)
    .bind(&counts)
    .bind(&firsts)
    .bind(&lasts)
    .bind(&first_releases)
    .bind(&last_releases)
    .bind(&environments)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(fingerprint, id, inserted)| (fingerprint, IssueRef { id, inserted })).collect())
}

/// Numbers for the issues this batch may create. Reserved with a short
/// statement of its own, because holding the project row until the batch
/// commits would serialise every processor working on the project; an issue
/// created concurrently by another processor just leaves a gap.
async fn reserve_short_ids(
    pool: &PgPool,
    project_id: Uuid,
    fingerprints: &[&str],
) -> Result<HashMap<String, i64>, ProcessError> {
    let existing: Vec<String> = sqlx::query_scalar("SELECT fingerprint FROM issues WHERE project_id = $1 AND fingerprint = ANY($2)")
        .bind(project_id)
        .bind(fingerprints)
        .fetch_all(pool)
        .await?;
    let existing: HashSet<String> = existing.into_iter().collect();
    let missing: Vec<&str> = fingerprints.iter().copied().filter(|f| !existing.contains(*f)).collect();
    if missing.is_empty() {
        return Ok(HashMap::new());
    }
    let first: i64 = sqlx::query_scalar(
        "UPDATE projects SET next_short_id = next_short_id + $2 WHERE id = $1 RETURNING next_short_id - $2",
    )
    .bind(project_id)
    .bind(missing.len() as i64)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ProcessError::Payload(format!("project {project_id} does not exist")))?;
    Ok(missing.iter().enumerate().map(|(i, f)| ((*f).to_owned(), first + i as i64)).collect())
}

async fn insert_events(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    events: &[&Event<'_>],
    issues: &HashMap<String, IssueRef>,
) -> Result<(), ProcessError> {
    let n = events.len();
    let (mut ids, mut received, mut timestamps, mut issue_ids) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut kinds, mut levels, mut platforms, mut releases, mut environments) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut users, mut traces, mut spans, mut sdks, mut payloads) = (vec![], vec![], vec![], vec![], vec![]);
    for event in events {
        ids.push(event.id);
        received.push(event.received_at);
        timestamps.push(event.timestamp);
        issue_ids.push(issues[&event.grouping.fingerprint].id);
        kinds.push(event.kind.as_str());
        levels.push(event.level.as_str());
        platforms.push(event.platform.as_str());
        releases.push(event.release.as_str());
        environments.push(event.environment.as_str());
        users.push(event.user_key.as_deref());
        traces.push(event.trace_id);
        spans.push(event.span_id);
        sdks.push(event.envelope.sdk.as_deref());
        payloads.push(Json(&event.envelope.payload));
    }
    sqlx::query(
        "INSERT INTO events (project_id, id, received_at, timestamp, issue_id, kind, level, platform, release,
                             environment, user_key, trace_id, span_id, sdk, payload)
         SELECT $1, u.* FROM UNNEST($2::uuid[], $3::timestamptz[], $4::timestamptz[], $5::uuid[], $6::text[],
                                    $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::uuid[],
                                    $13::uuid[], $14::text[], $15::jsonb[]) AS u",
    )
    .bind(project_id)
    .bind(&ids)
    .bind(&received)
    .bind(&timestamps)
    .bind(&issue_ids)
    .bind(&kinds)
    .bind(&levels)
    .bind(&platforms)
    .bind(&releases)
    .bind(&environments)
    .bind(&users)
    .bind(&traces)
    .bind(&spans)
    .bind(&sdks)
    .bind(&payloads)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Distinct users per issue: only pairs never seen before raise `user_count`.
async fn count_users(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    events: &[&Event<'_>],
    issues: &HashMap<String, IssueRef>,
) -> Result<(), ProcessError> {
    let mut pairs: BTreeMap<(Uuid, &str), OffsetDateTime> = BTreeMap::new();
    for event in events {
        if let Some(user) = event.user_key.as_deref() {
            let first = pairs.entry((issues[&event.grouping.fingerprint].id, user)).or_insert(event.timestamp);
            *first = (*first).min(event.timestamp);
        }
    }
    if pairs.is_empty() {
        return Ok(());
    }
    let issue_ids: Vec<Uuid> = pairs.keys().map(|(issue, _)| *issue).collect();
    let users: Vec<&str> = pairs.keys().map(|(_, user)| *user).collect();
    let firsts: Vec<OffsetDateTime> = pairs.values().copied().collect();
    sqlx::query(
        "WITH new_users AS (
             INSERT INTO issue_users (project_id, issue_id, user_key, first_seen)
             SELECT $1, u.* FROM UNNEST($2::uuid[], $3::text[], $4::timestamptz[]) AS u
             ON CONFLICT DO NOTHING
             RETURNING issue_id)
         UPDATE issues SET user_count = user_count + n.added
           FROM (SELECT issue_id, count(*) AS added FROM new_users GROUP BY issue_id) AS n
          WHERE issues.project_id = $1 AND issues.id = n.issue_id",
    )
    .bind(project_id)
    .bind(&issue_ids)
    .bind(&users)
    .bind(&firsts)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Hourly counts feed the issue list's 24-hour trend without scanning events.
async fn count_hours(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    events: &[&Event<'_>],
    issues: &HashMap<String, IssueRef>,
) -> Result<(), ProcessError> {
    let mut hours: BTreeMap<(Uuid, OffsetDateTime), i64> = BTreeMap::new();
    for event in events {
        let t = event.received_at;
        let hour = t.replace_minute(0).and_then(|t| t.replace_second(0)).and_then(|t| t.replace_nanosecond(0)).unwrap_or(t);
        *hours.entry((issues[&event.grouping.fingerprint].id, hour)).or_default() += 1;
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

