//! Changing issues, one or many: status (resolve, silence, reopen) and
//! assignee. Each change that changes something goes into the issue's
//! activity log in the same transaction.

use axum::extract::State;
use serde::{Deserialize, Deserializer};
use sentori_store::issues::{self, StatusChange};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::activity::Actor;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::issues::{IssueRow, fetch_rows};
use crate::projects::scope;
use crate::releases::release_exists;

/// At most this many issues in one bulk request (merges and deletes too).
pub const BULK_MAX: usize = 1000;
/// A silence for a time ends within a year.
const SILENCE_MAX_SECONDS: i64 = 366 * 24 * 3600;
const SILENCE_MAX_EVENTS: i64 = 1_000_000_000;
/// Assignees are names or emails, not essays.
const ASSIGNEE_MAX_CHARS: usize = 200;

/// What a change asks for; every field may be left out, but not all of them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssueChange {
    /// `active` (reopen), `resolved` or `silenced`.
    pub status: Option<String>,
    /// Only with `resolved`: a release name of the project.
    pub resolved_in_release: Option<String>,
    /// Only with `silenced`: the silence ends (the issue turns active) after this many seconds.
    pub silence_for_seconds: Option<i64>,
    /// Only with `silenced`: the silence ends once this many more events arrived.
    /// With `silenceForSeconds` too, whichever comes first; with neither, it lasts until reopened.
    pub silence_for_events: Option<i64>,
    /// A name or email; `null` or `""` unassigns; left out, the assignee stays.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub assignee: Option<Option<String>>,
}

/// Distinguishes `"assignee": null` (`Some(None)`) from a missing key (`None`, through `default`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BulkChange {
    pub issue_ids: Vec<Uuid>,
    #[serde(flatten)]
    pub change: IssueChange,
}

/// A change, checked.
struct Checked {
    status: Option<&'static str>,
    resolved_in_release: Option<String>,
    silence_for_seconds: Option<i64>,
    silence_for_events: Option<i64>,
    /// `Some(None)`: unassign.
    assignee: Option<Option<String>>,
}

fn parse_status(status: &str) -> Result<&'static str, ApiError> {
    match status {
        "active" => Ok("active"),
        "resolved" => Ok("resolved"),
        "silenced" => Ok("silenced"),
        _ => Err(ApiError::invalid("status", "must be one of active, resolved, silenced")),
    }
}

fn in_range(field: &str, value: Option<i64>, max: i64) -> Result<Option<i64>, ApiError> {
    match value {
        Some(n) if !(1..=max).contains(&n) => Err(ApiError::invalid(field, format!("must be between 1 and {max}"))),
        other => Ok(other),
    }
}

impl IssueChange {
    async fn check(self, state: &AppState, project_id: Uuid) -> Result<Checked, ApiError> {
        let status = self.status.as_deref().map(parse_status).transpose()?;
        let release = self.resolved_in_release.as_deref().map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned);
        if let Some(release) = &release {
            if status != Some("resolved") {
                return Err(ApiError::invalid("resolvedInRelease", "is only allowed with status resolved"));
            }
            if !release_exists(&state.pool, project_id, release).await? {
                return Err(ApiError::invalid("resolvedInRelease", "is not a release of this project"));
            }
        }
        let seconds = in_range("silenceForSeconds", self.silence_for_seconds, SILENCE_MAX_SECONDS)?;
        let events = in_range("silenceForEvents", self.silence_for_events, SILENCE_MAX_EVENTS)?;
        if (seconds.is_some() || events.is_some()) && status != Some("silenced") {
            let field = if seconds.is_some() { "silenceForSeconds" } else { "silenceForEvents" };
            return Err(ApiError::invalid(field, "is only allowed with status silenced"));
        }
        let assignee = match self.assignee {
            Some(Some(name)) if !name.trim().is_empty() => {
                let name = name.trim();
                if name.chars().count() > ASSIGNEE_MAX_CHARS || name.chars().any(char::is_control) {
                    return Err(ApiError::invalid("assignee", format!("must be a name or email of at most {ASSIGNEE_MAX_CHARS} characters")));
                }
                Some(Some(name.to_owned()))
            }
            Some(_) => Some(None),
            None => None,
        };
        if status.is_none() && assignee.is_none() {
            return Err(ApiError::invalid("status", "a change needs a status or an assignee"));
        }
        Ok(Checked { status, resolved_in_release: release, silence_for_seconds: seconds, silence_for_events: events, assignee })
    }
}

/// Applies `change` to the project's issues `ids`; answers those that exist.
async fn apply(state: &AppState, project_id: Uuid, ids: &[Uuid], change: &Checked, actor: &Actor) -> Result<Vec<Uuid>, ApiError> {
    let mut tx = state.pool.begin().await?;
    let mut found = Vec::new();
    if let Some(status) = change.status {
        let status = StatusChange {
            status,
            resolved_in_release: change.resolved_in_release.as_deref(),
            silence_for_seconds: change.silence_for_seconds,
            silence_for_events: change.silence_for_events,
        };
        found = issues::set_status(&mut tx, project_id, ids, status, actor.as_store()).await?;
    }
    if let Some(assignee) = &change.assignee {
        found = issues::assign(&mut tx, project_id, ids, assignee.as_deref(), actor.as_store()).await?;
    }
    tx.commit().await?;
    Ok(found)
}

/// Resolve, silence (for a while, or until more events) or reopen one issue, or (un)assign it.
#[utoipa::path(patch, path = "/projects/{pid}/issues/{iid}", operation_id = "update_issue", tag = "issues",
    params(("pid" = Uuid, Path), ("iid" = Uuid, Path)), request_body = IssueChange,
    responses((status = 200, body = IssueRow), (status = 400), (status = 404)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_id, issue_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<IssueChange>,
) -> Result<axum::Json<IssueRow>, ApiError> {
    scope(&state, &caller, project_id).await?;
    let change = body.check(&state, project_id).await?;
    let actor = Actor::of(&state, &caller).await?;
    if apply(&state, project_id, &[issue_id], &change, &actor).await?.is_empty() {
        return Err(ApiError::NotFound);
    }
    let row = fetch_rows(&state, project_id, &[issue_id]).await?.pop().ok_or(ApiError::NotFound)?;
    Ok(axum::Json(row))
}

/// Change the status or assignee of many issues at once; answers the updated rows.
#[utoipa::path(post, path = "/projects/{pid}/issues:bulk", tag = "issues", params(("pid" = Uuid, Path)),
    request_body = BulkChange, responses((status = 200, body = [IssueRow]), (status = 400)))]
pub async fn bulk(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<Uuid>,
    Json(body): Json<BulkChange>,
) -> Result<axum::Json<Vec<IssueRow>>, ApiError> {
    scope(&state, &caller, project_id).await?;
    check_bulk_size(&body.issue_ids)?;
    let change = body.change.check(&state, project_id).await?;
    let actor = Actor::of(&state, &caller).await?;
    let updated = apply(&state, project_id, &body.issue_ids, &change, &actor).await?;
    let ids: Vec<Uuid> = body.issue_ids.iter().copied().filter(|id| updated.contains(id)).collect();
    Ok(axum::Json(fetch_rows(&state, project_id, &ids).await?))
}

/// 1 to [`BULK_MAX`] ids.
pub fn check_bulk_size(ids: &[Uuid]) -> Result<(), ApiError> {
    if ids.is_empty() || ids.len() > BULK_MAX {
        return Err(ApiError::invalid("issueIds", format!("must hold 1 to {BULK_MAX} ids")));
    }
    Ok(())
}
