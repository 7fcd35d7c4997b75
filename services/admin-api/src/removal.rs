//! Issues that go away: merged into another issue (their events, counts and
//! fingerprints move to it), or deleted with their events and attachments
//! (docs/decisions.md, "Triage").

use axum::extract::State;
use serde::{Deserialize, Serialize};
use sentori_store::attachments::{self, PER_TRANSACTION};
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::activity::Actor;
use crate::auth::{Caller, OkBody};
use crate::changes::check_bulk_size;
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::issues::{IssueRow, SHORT_ID, fetch_rows};
use crate::projects::scope;

/// Events whose attachments are deleted per transaction: an event has a few
/// attachments at most, and each distinct blob costs a lock (see
/// [`PER_TRANSACTION`]).
const EVENTS_PER_ATTACHMENT_TRANSACTION: usize = PER_TRANSACTION as usize / 5;

/// Locks the project's issues `ids` in the order the processor locks issue
/// rows (their fingerprints), so neither waits for the other in a circle;
/// answers the ids that exist. A batch that looked one of them up before
/// and finds it gone later is redone by the processor.
async fn lock(tx: &mut PgConnection, project_id: Uuid, ids: &[Uuid]) -> Result<Vec<Uuid>, ApiError> {
    Ok(sqlx::query_scalar("SELECT id FROM issues WHERE project_id = $1 AND id = ANY($2) ORDER BY fingerprint FOR UPDATE")
        .bind(project_id)
        .bind(ids)
        .fetch_all(tx)
        .await?)
}

/// Deletes the issues `ids` and what hangs off them besides their events:
/// users and hourly counts (no foreign keys, for the processor's sake),
/// unpublished announcements and the notifier's records. The search
/// document, activity log and merged fingerprints go by foreign key.
async fn forget(tx: &mut PgConnection, project_id: Uuid, ids: &[Uuid]) -> Result<(), ApiError> {
    sqlx::query(
        "WITH users AS (DELETE FROM issue_users WHERE project_id = $1 AND issue_id = ANY($2)),
              hours AS (DELETE FROM issue_hourly WHERE project_id = $1 AND issue_id = ANY($2)),
              outbox AS (DELETE FROM announcements WHERE project_id = $1 AND issue_id = ANY($2)),
              sent AS (DELETE FROM deliveries WHERE project_id = $1 AND issue_id = ANY($2)),
              held AS (DELETE FROM notify_digest_items WHERE project_id = $1 AND issue_id = ANY($2))
         DELETE FROM issues WHERE project_id = $1 AND id = ANY($2)",
    )
    .bind(project_id)
    .bind(ids)
    .execute(tx)
    .await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MergeRequest {
    /// The issue that stays.
    pub target_id: Uuid,
    /// The issues merged into it (the target among them is ignored).
    pub issue_ids: Vec<Uuid>,
}

/// Merge issues into one: their events, users and hourly counts move to the
/// target, their counters add up, and their fingerprints route new events to
/// the target from now on; the merged issues are gone. Answers the target.
#[utoipa::path(post, path = "/projects/{pid}/issues:merge", tag = "issues", params(("pid" = Uuid, Path)),
    request_body = MergeRequest, responses((status = 200, body = IssueRow), (status = 400), (status = 404)))]
pub async fn merge(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<Uuid>,
    Json(body): Json<MergeRequest>,
) -> Result<axum::Json<IssueRow>, ApiError> {
    scope(&state, &caller, project_id).await?;
    let target = body.target_id;
    let mut sources: Vec<Uuid> = body.issue_ids.into_iter().filter(|id| *id != target).collect();
    sources.sort();
    sources.dedup();
    if sources.is_empty() {
        return Err(ApiError::invalid("issueIds", "must name an issue besides targetId"));
    }
    check_bulk_size(&sources)?;
    let actor = Actor::of(&state, &caller).await?;
    let mut tx = state.pool.begin().await?;
    let mut all = sources.clone();
    all.push(target);
    if lock(&mut tx, project_id, &all).await?.len() != all.len() {
        return Err(ApiError::NotFound);
    }
    // Fingerprints merged into a source before follow it, and the sources' own join them.
    sqlx::query(
        "WITH repointed AS (UPDATE merged_fingerprints SET issue_id = $3 WHERE project_id = $1 AND issue_id = ANY($2))
         INSERT INTO merged_fingerprints (project_id, fingerprint, issue_id)
         SELECT project_id, fingerprint, $3 FROM issues WHERE project_id = $1 AND id = ANY($2)",
    )
    .bind(project_id)
    .bind(&sources)
    .bind(target)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE events SET issue_id = $3 WHERE project_id = $1 AND issue_id = ANY($2)")
        .bind(project_id)
        .bind(&sources)
        .bind(target)
        .execute(&mut *tx)
        .await?;
    // A user of several of the issues counts once: only users new to the target add to its count.
    let new_users: i64 = sqlx::query_scalar(
        "WITH moved AS (
             INSERT INTO issue_users (project_id, issue_id, user_key, first_seen)
             SELECT $1, $3, user_key, min(first_seen) FROM issue_users
              WHERE project_id = $1 AND issue_id = ANY($2) GROUP BY user_key
             ON CONFLICT DO NOTHING RETURNING 1),
              hours AS (
             INSERT INTO issue_hourly (project_id, issue_id, hour, count)
             SELECT $1, $3, hour, sum(count) FROM issue_hourly WHERE project_id = $1 AND issue_id = ANY($2) GROUP BY hour
             ON CONFLICT (project_id, issue_id, hour) DO UPDATE SET count = issue_hourly.count + EXCLUDED.count)
         SELECT count(*) FROM moved",
    )
    .bind(project_id)
    .bind(&sources)
    .bind(target)
    .fetch_one(&mut *tx)
    .await?;
    // The counters add up; first and last seen (with their release,
    // environment and level) come from whichever issue saw them. A silence
    // until N more events keeps waiting for N events that arrive from now on.
    sqlx::query(
        "UPDATE issues t SET
             event_count = t.event_count + s.events,
             user_count = t.user_count + $4,
             silenced_until_event_count = t.silenced_until_event_count + s.events,
             first_release = CASE WHEN s.first_seen < t.first_seen THEN s.first_release ELSE t.first_release END,
             first_seen = LEAST(t.first_seen, s.first_seen),
             last_release = CASE WHEN s.last_seen > t.last_seen THEN s.last_release ELSE t.last_release END,
             last_environment = CASE WHEN s.last_seen > t.last_seen THEN s.last_environment ELSE t.last_environment END,
             level = CASE WHEN s.last_seen > t.last_seen THEN s.level ELSE t.level END,
             last_seen = GREATEST(t.last_seen, s.last_seen)
           FROM (SELECT sum(event_count) AS events, min(first_seen) AS first_seen, max(last_seen) AS last_seen,
                        (array_agg(first_release ORDER BY first_seen))[1] AS first_release,
                        (array_agg(last_release ORDER BY last_seen DESC))[1] AS last_release,
                        (array_agg(last_environment ORDER BY last_seen DESC))[1] AS last_environment,
                        (array_agg(level ORDER BY last_seen DESC))[1] AS level
                   FROM issues WHERE project_id = $1 AND id = ANY($2)) AS s
          WHERE t.project_id = $1 AND t.id = $3",
    )
    .bind(project_id)
    .bind(&sources)
    .bind(target)
    .bind(new_users)
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO issue_activity (project_id, issue_id, kind, actor, actor_name, data)
         SELECT $1, $3, 'merged', $4, $5,
                jsonb_build_object('issueId', i.id, 'shortId', {SHORT_ID}, 'title', i.title, 'eventCount', i.event_count)
           FROM issues i WHERE i.project_id = $1 AND i.id = ANY($2) ORDER BY i.short_id"
    ))
    .bind(project_id)
    .bind(&sources)
    .bind(target)
    .bind(actor.kind)
    .bind(actor.name.as_deref())
    .execute(&mut *tx)
    .await?;
    forget(&mut tx, project_id, &sources).await?;
    tx.commit().await?;
    let row = fetch_rows(&state, project_id, &[target]).await?.pop().ok_or(ApiError::NotFound)?;
    Ok(axum::Json(row))
}

/// Deletes the project's issues `ids` with their events, then the events'
/// attachments (rows and blobs no other attachment shares) a chunk per
/// transaction; answers how many issues there were. The events' ids stay
/// in `event_ids`, so an SDK resending one of them does not bring it back;
/// a new event of the same fingerprint starts a new issue.
async fn delete_issues(state: &AppState, project_id: Uuid, ids: &[Uuid]) -> Result<usize, ApiError> {
    let mut tx = state.pool.begin().await?;
    let found = lock(&mut tx, project_id, ids).await?;
    if found.is_empty() {
        return Ok(0);
    }
    let events: Vec<Uuid> = sqlx::query_scalar("DELETE FROM events WHERE project_id = $1 AND issue_id = ANY($2) RETURNING id")
        .bind(project_id)
        .bind(&found)
        .fetch_all(&mut *tx)
        .await?;
    forget(&mut tx, project_id, &found).await?;
    tx.commit().await?;
    // After the commit: an attachment left by a failure here points at no
    // event and expires with its age at the next retention pass.
    if let Err(err) = delete_attachments(state, project_id, &events).await {
        tracing::warn!(error = %err, "deleting the attachments of deleted issues failed; retention will expire them");
    }
    Ok(found.len())
}

async fn delete_attachments(state: &AppState, project_id: Uuid, events: &[Uuid]) -> Result<(), sqlx::Error> {
    let dir = state.config.attachment_dir.as_deref();
    for chunk in events.chunks(EVENTS_PER_ATTACHMENT_TRANSACTION) {
        let mut tx = state.pool.begin().await?;
        attachments::delete_of_events(&mut tx, project_id, chunk, dir).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Delete an issue with its events and their attachments.
#[utoipa::path(delete, path = "/projects/{pid}/issues/{iid}", operation_id = "delete_issue", tag = "issues",
    params(("pid" = Uuid, Path), ("iid" = Uuid, Path)), responses((status = 200, body = OkBody), (status = 404)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_id, issue_id)): Path<(Uuid, Uuid)>,
) -> Result<axum::Json<OkBody>, ApiError> {
    scope(&state, &caller, project_id).await?;
    match delete_issues(&state, project_id, &[issue_id]).await? {
        0 => Err(ApiError::NotFound),
        _ => Ok(axum::Json(OkBody::yes())),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkDelete {
    pub issue_ids: Vec<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Deleted {
    /// How many of the issues existed and were deleted.
    pub deleted: usize,
}

/// Delete many issues with their events and attachments.
#[utoipa::path(post, path = "/projects/{pid}/issues:delete", tag = "issues", params(("pid" = Uuid, Path)),
    request_body = BulkDelete, responses((status = 200, body = Deleted), (status = 400)))]
pub async fn bulk_delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<Uuid>,
    Json(body): Json<BulkDelete>,
) -> Result<axum::Json<Deleted>, ApiError> {
    scope(&state, &caller, project_id).await?;
    check_bulk_size(&body.issue_ids)?;
    Ok(axum::Json(Deleted { deleted: delete_issues(&state, project_id, &body.issue_ids).await? }))
}
