//! Issues that go away: merged into another issue (their events, counts and
//! fingerprints move to it), or deleted with their events and attachments
//! (docs/decisions.md, "Triage").

use axum::extract::State;
use serde::{Deserialize, Serialize};
use sentori_store::attachments::{self, PER_TRANSACTION};
use sentori_store::issues;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::activity::Actor;
use crate::auth::{Caller, OkBody};
use crate::changes::check_bulk_size;
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::issues::{IssueRow, fetch_rows};
use crate::projects::scope;

/// Events whose attachments are deleted per transaction: an event has a few
/// attachments at most, and each distinct blob costs a lock (see
/// [`PER_TRANSACTION`]).
const EVENTS_PER_ATTACHMENT_TRANSACTION: usize = PER_TRANSACTION as usize / 5;

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
    if issues::lock(&mut tx, project_id, &all).await?.len() != all.len() {
        return Err(ApiError::NotFound);
    }
    issues::merge(&mut tx, project_id, &sources, target, actor.as_store()).await?;
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
    let found = issues::lock(&mut tx, project_id, ids).await?;
    if found.is_empty() {
        return Ok(0);
    }
    let events = issues::delete(&mut tx, project_id, &found).await?;
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
