//! Issue rows: found or created per fingerprint, regressed, counted.

use std::collections::{BTreeMap, HashMap};

use sentori_store::issues::{self as store, Counts, NewIssue, NewestRelease};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
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
    let rows = sqlx::query!(
        r#"SELECT fingerprint AS "key!", fingerprint AS "fingerprint!", id AS "id!",
                status = 'silenced' AND (silenced_until IS NOT NULL OR silenced_until_event_count IS NOT NULL) AS "silence_may_end!",
                false AS "merged!"
           FROM issues WHERE project_id = $1 AND fingerprint = ANY($2)
         UNION ALL
         SELECT m.fingerprint, i.fingerprint, i.id,
                i.status = 'silenced' AND (i.silenced_until IS NOT NULL OR i.silenced_until_event_count IS NOT NULL), true
           FROM merged_fingerprints m JOIN issues i ON i.project_id = m.project_id AND i.id = m.issue_id
          WHERE m.project_id = $1 AND m.fingerprint = ANY($2)
         ORDER BY 5"#,
        project_id,
        fingerprints as _,
    )
    .fetch_all(tx)
    .await?;
    let mut ids = IssueIds::with_capacity(rows.len());
    for row in rows {
        // An issue's own fingerprint wins over a merged one (they never
        // coincide: a merged issue's row, fingerprint and all, is gone).
        let issue = IssueRef { id: row.id, inserted: false, fingerprint: row.fingerprint, silence_may_end: row.silence_may_end };
        ids.entry(row.key).or_insert(issue);
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
    let new: Vec<NewIssue> = missing
        .iter()
        .enumerate()
        .map(|(i, fingerprint)| {
            let delta = &deltas[fingerprint];
            NewIssue {
                id: Uuid::now_v7(),
                short_id: first_short_id + i as i64,
                fingerprint,
                components: &delta.grouping.components,
                title: &delta.grouping.title,
                culprit: delta.grouping.culprit.as_deref(),
                error_type: delta.grouping.error_type.as_deref(),
                kind: delta.kind,
                level: delta.level,
                first: delta.first.sighting(),
                last: delta.last.sighting(),
                first_event: delta.first.id,
            }
        })
        .collect();
    let created = store::create(tx, project_id, &new).await?;
    Ok(created.into_iter().map(|(fingerprint, id)| (fingerprint.clone(), IssueRef::new(id, fingerprint))).collect())
}

/// The first of `count` numbers for new issues (see
/// [`sentori_store::projects::reserve_short_ids`]).
async fn reserve_short_ids(pool: &PgPool, project_id: Uuid, count: usize) -> Result<i64, ProcessError> {
    sentori_store::projects::reserve_short_ids(pool, project_id, count)
        .await?
        .ok_or_else(|| ProcessError::Payload(format!("project {project_id} does not exist")))
}

/// Resolved issues that see an event from a newer release than the one they
/// were resolved in turn `regressed` ([`store::regress`]); returns each with
/// its regression number.
pub async fn mark_regressions(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    updates: &[(Uuid, IssueDelta<'_>)],
) -> Result<Vec<(Uuid, i64)>, ProcessError> {
    let seen: Vec<NewestRelease> = updates
        .iter()
        .map(|(id, delta)| NewestRelease { id: *id, first_seen: delta.newest_release_seen, release: delta.newest_release })
        .collect();
    Ok(store::regress(tx, project_id, &seen).await?)
}

/// One update per issue per batch ([`store::add_counts`]).
pub async fn add_counts(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    updates: &[(Uuid, IssueDelta<'_>)],
    new_users: &HashMap<Uuid, i64>,
) -> Result<(), ProcessError> {
    let counts: Vec<Counts> = updates
        .iter()
        .map(|(id, delta)| Counts {
            id: *id,
            events: delta.count,
            new_users: new_users.get(id).copied().unwrap_or(0),
            first: delta.first.sighting(),
            last: delta.last.sighting(),
            level: delta.level,
        })
        .collect();
    let n = counts.len() as u64;
    let updated = store::add_counts(tx, project_id, &counts).await?;
    if updated != n {
        // An issue an operator deleted or merged since its id was looked up:
        // fail, and the batch is redone from the start.
        let vanished = n - updated;
        return Err(ProcessError::IssueVanished(format!("{vanished} of {n} issues were deleted or merged while the batch was stored")));
    }
    Ok(())
}
