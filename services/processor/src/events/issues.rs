//! Issue rows: found or created per fingerprint, regressed, counted.

use std::collections::{BTreeMap, HashMap};

use sqlx::types::Json;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use super::IssueDelta;
use crate::error::ProcessError;

pub struct IssueRef {
    pub id: Uuid,
    /// Created by this batch: the issue is announced as new.
    pub inserted: bool,
    /// The issue's own fingerprint: the batch's key unless that fingerprint
    /// belongs to an issue merged into this one. Orders the batch's locks.
    pub fingerprint: String,
    /// Silenced until a time or a count when it was looked up: the batch
    /// checks whether that silence has ended.
    pub silence_may_end: bool,
}

impl IssueRef {
    /// An issue this batch created.
    pub fn new(id: Uuid, fingerprint: String) -> Self {
        Self { id, inserted: true, fingerprint, silence_may_end: false }
    }
}

/// Fingerprint → issue, for every fingerprint of the batch.
pub type IssueIds = HashMap<String, IssueRef>;

/// Finds the issue of every fingerprint, creating the missing ones with
/// zero counts ([`add_counts`] adds the batch's). Creating them now, before
/// the events that point at them are stored, keeps the long part of the
/// transaction free of locks on existing issues.
pub async fn resolve_ids(
    pool: &PgPool,
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    deltas: &BTreeMap<&str, IssueDelta<'_>>,
) -> Result<IssueIds, ProcessError> {
    let fingerprints: Vec<&str> = deltas.keys().copied().collect();
    let mut ids = existing(tx, project_id, &fingerprints).await?;
    let missing: Vec<&str> = fingerprints.iter().copied().filter(|f| !ids.contains_key(*f)).collect();
    if missing.is_empty() {
        return Ok(ids);
    }
    ids.extend(insert_new(pool, tx, project_id, deltas, &missing).await?);
    // What is still missing was created by another batch since the first
    // look (the insert waited for it to commit, so it is visible now).
    let raced: Vec<&str> = missing.iter().copied().filter(|f| !ids.contains_key(*f)).collect();
    if !raced.is_empty() {
        ids.extend(existing(tx, project_id, &raced).await?);
    }
    match fingerprints.iter().find(|f| !ids.contains_key(**f)) {
        Some(lost) => Err(ProcessError::Payload(format!("issue for fingerprint {lost} neither found nor created"))),
        None => Ok(ids),
    }
}

/// The issues of `fingerprints`: by their own fingerprint, else by the
/// fingerprint of an issue merged into them (docs/decisions.md, "Merging").
async fn existing(tx: &mut PgConnection, project_id: Uuid, fingerprints: &[&str]) -> Result<IssueIds, sqlx::Error> {
    let rows: Vec<(String, String, Uuid, bool, bool)> = sqlx::query_as(
        "SELECT fingerprint, fingerprint, id, status = 'silenced' AND (silenced_until IS NOT NULL OR silenced_until_event_count IS NOT NULL),
                false AS merged
           FROM issues WHERE project_id = $1 AND fingerprint = ANY($2)
         UNION ALL
         SELECT m.fingerprint, i.fingerprint, i.id,
                i.status = 'silenced' AND (i.silenced_until IS NOT NULL OR i.silenced_until_event_count IS NOT NULL), true
           FROM merged_fingerprints m JOIN issues i ON i.project_id = m.project_id AND i.id = m.issue_id
          WHERE m.project_id = $1 AND m.fingerprint = ANY($2)
         ORDER BY merged",
    )
    .bind(project_id)
    .bind(fingerprints)
    .fetch_all(tx)
    .await?;
    let mut ids = IssueIds::with_capacity(rows.len());
    for (key, fingerprint, id, silence_may_end, _merged) in rows {
        // An issue's own fingerprint wins over a merged one (they never
        // coincide: a merged issue's row, fingerprint and all, is gone).
        ids.entry(key).or_insert(IssueRef { id, inserted: false, fingerprint, silence_may_end });
    }
    Ok(ids)
}

async fn insert_new(
    pool: &PgPool,
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    deltas: &BTreeMap<&str, IssueDelta<'_>>,
    missing: &[&str],
) -> Result<IssueIds, ProcessError> {
    let first_short_id = reserve_short_ids(pool, project_id, missing.len()).await?;
    let n = missing.len();
    let (mut ids, mut shorts, mut components) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut titles, mut culprits, mut types, mut kinds, mut levels) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut firsts, mut lasts, mut first_releases, mut last_releases, mut environments) = (vec![], vec![], vec![], vec![], vec![]);
    let mut first_events = Vec::with_capacity(n);
    for (i, fingerprint) in missing.iter().enumerate() {
        let delta = &deltas[fingerprint];
        ids.push(Uuid::now_v7());
        shorts.push(first_short_id + i as i64);
        components.push(Json(&delta.grouping.components));
        titles.push(delta.grouping.title.as_str());
        culprits.push(delta.grouping.culprit.as_deref());
        types.push(delta.grouping.error_type.as_deref());
        kinds.push(delta.kind);
        levels.push(delta.level);
        firsts.push(delta.first.timestamp);
        lasts.push(delta.last.timestamp);
        first_releases.push(delta.first.release.as_str());
        last_releases.push(delta.last.release.as_str());
        environments.push(delta.last.environment.as_str());
        first_events.push(delta.first.id);
    }
    // The first event goes into the issue's activity log in the same
    // statement, for the issues this batch created (not those another
    // batch created first).
    let rows: Vec<(String, Uuid)> = sqlx::query_as(
        "WITH created AS (
             INSERT INTO issues (project_id, id, short_id, fingerprint, components, title, culprit, type, kind, level,
                                 first_seen, last_seen, first_release, last_release, last_environment)
             SELECT $1, u.* FROM UNNEST($2::uuid[], $3::bigint[], $4::text[], $5::jsonb[], $6::text[], $7::text[],
                                        $8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::timestamptz[],
                                        $13::text[], $14::text[], $15::text[]) AS u
             ON CONFLICT (project_id, fingerprint) DO NOTHING
             RETURNING fingerprint, id),
         logged AS (
             INSERT INTO issue_activity (project_id, issue_id, kind, actor, data)
             SELECT $1, created.id, 'firstSeen', 'processor', jsonb_build_object('eventId', f.event_id, 'release', nullif(f.release, ''))
               FROM created JOIN UNNEST($4::text[], $16::uuid[], $13::text[]) AS f(fingerprint, event_id, release) USING (fingerprint))
         SELECT fingerprint, id FROM created",
    )
    .bind(project_id)
    .bind(&ids)
    .bind(&shorts)
    .bind(missing)
    .bind(&components)
    .bind(&titles)
    .bind(&culprits)
    .bind(&types)
    .bind(&kinds)
    .bind(&levels)
    .bind(&firsts)
    .bind(&lasts)
    .bind(&first_releases)
    .bind(&last_releases)
    .bind(&environments)
    .bind(&first_events)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().map(|(fingerprint, id)| (fingerprint.clone(), IssueRef::new(id, fingerprint))).collect())
}

/// The first of `count` numbers for new issues (see
/// [`sentori_store::projects::reserve_short_ids`]).
async fn reserve_short_ids(pool: &PgPool, project_id: Uuid, count: usize) -> Result<i64, ProcessError> {
    sentori_store::projects::reserve_short_ids(pool, project_id, count)
        .await?
        .ok_or_else(|| ProcessError::Payload(format!("project {project_id} does not exist")))
}

/// Resolved issues that see an event from a newer release than the one they
/// were resolved in turn `regressed`. The row lock this takes makes the
/// decision once: a concurrent processor waits, then finds the issue no
/// longer `resolved`. Returns each regressed issue with its regression
/// number, which also goes into its activity log.
pub async fn mark_regressions(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    updates: &[(Uuid, IssueDelta<'_>)],
) -> Result<Vec<(Uuid, i64)>, ProcessError> {
    let ids: Vec<Uuid> = updates.iter().map(|(id, _)| *id).collect();
    let newest: Vec<Option<OffsetDateTime>> = updates.iter().map(|(_, d)| d.newest_release_seen).collect();
    let releases: Vec<Option<&str>> = updates.iter().map(|(_, d)| d.newest_release).collect();
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "WITH regressed AS (
             UPDATE issues AS i
                SET status = 'regressed', regressed_at = now(), regression_count = i.regression_count + 1,
                    regressed_in_release = b.newest_release
               FROM UNNEST($2::uuid[], $3::timestamptz[], $4::text[]) AS b(id, newest_release_seen, newest_release)
              WHERE i.project_id = $1 AND i.id = b.id AND i.status = 'resolved'
                AND (i.resolved_in_release IS NULL
                     OR b.newest_release_seen > COALESCE(
                            (SELECT r.first_seen FROM releases r
                              WHERE r.project_id = i.project_id AND r.name = i.resolved_in_release),
                            i.resolved_at))
          RETURNING i.id, i.regression_count, b.newest_release),
         logged AS (
             INSERT INTO issue_activity (project_id, issue_id, kind, actor, data)
             SELECT $1, id, 'regressed', 'processor',
                    jsonb_build_object('occurrence', regression_count, 'release', nullif(newest_release, ''))
               FROM regressed)
         SELECT id, regression_count FROM regressed",
    )
    .bind(project_id)
    .bind(&ids)
    .bind(&newest)
    .bind(&releases)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows)
}

/// One update per issue per batch: event and user counts, first and last
/// seen with their releases, the latest environment and level.
pub async fn add_counts(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    updates: &[(Uuid, IssueDelta<'_>)],
    new_users: &HashMap<Uuid, i64>,
) -> Result<(), ProcessError> {
    let n = updates.len();
    let (mut ids, mut counts, mut users) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut firsts, mut lasts, mut first_releases, mut last_releases, mut environments, mut levels) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for (id, delta) in updates {
        ids.push(*id);
        counts.push(delta.count);
        users.push(new_users.get(id).copied().unwrap_or(0));
        firsts.push(delta.first.timestamp);
        lasts.push(delta.last.timestamp);
        first_releases.push(delta.first.release.as_str());
        last_releases.push(delta.last.release.as_str());
        environments.push(delta.last.environment.as_str());
        levels.push(delta.level);
    }
    let updated = sqlx::query(
        "UPDATE issues AS i SET
             event_count      = i.event_count + u.count,
             user_count       = i.user_count + u.users,
             first_release    = CASE WHEN u.first_seen < i.first_seen THEN u.first_release ELSE i.first_release END,
             first_seen       = LEAST(i.first_seen, u.first_seen),
             last_release     = CASE WHEN u.last_seen >= i.last_seen THEN u.last_release ELSE i.last_release END,
             last_environment = CASE WHEN u.last_seen >= i.last_seen THEN u.last_environment ELSE i.last_environment END,
             level            = CASE WHEN u.last_seen >= i.last_seen THEN u.level ELSE i.level END,
             last_seen        = GREATEST(i.last_seen, u.last_seen)
           FROM UNNEST($2::uuid[], $3::bigint[], $4::bigint[], $5::timestamptz[], $6::timestamptz[], $7::text[],
                       $8::text[], $9::text[], $10::text[])
                AS u(id, count, users, first_seen, last_seen, first_release, last_release, last_environment, level)
          WHERE i.project_id = $1 AND i.id = u.id",
    )
    .bind(project_id)
    .bind(&ids)
    .bind(&counts)
    .bind(&users)
    .bind(&firsts)
    .bind(&lasts)
    .bind(&first_releases)
    .bind(&last_releases)
    .bind(&environments)
    .bind(&levels)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() != n as u64 {
        // An issue an operator deleted or merged since its id was looked up:
        // fail, and the batch is redone from the start.
        let vanished = n as u64 - updated.rows_affected();
        return Err(ProcessError::IssueVanished(format!("{vanished} of {n} issues were deleted or merged while the batch was stored")));
    }
    Ok(())
}
