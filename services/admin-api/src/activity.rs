//! An issue's activity log: what happened to it and who did it. The
//! processor writes first events, regressions and silences that ended; this
//! service writes what people do through it (status changes, assignment,
//! merges), in the transaction of the change.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{AdminToken, Caller};
use crate::cursor::{self, Cursor, Page, PageParams};
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::issues::issue_exists;
use crate::projects::scope;

/// Who an entry is written for: the kind of caller and, for a token, its name.
pub struct Actor {
    pub kind: &'static str,
    pub name: Option<String>,
}

impl Actor {
    /// As the store's writers take it.
    pub fn as_store(&self) -> sentori_store::issues::Actor<'_> {
        sentori_store::issues::Actor { kind: self.kind, name: self.name.as_deref() }
    }

    /// The operator's session is the dashboard; a token is named by its label and last four characters.
    pub async fn of(state: &AppState, caller: &Caller) -> Result<Self, ApiError> {
        let name = match caller {
            Caller::Operator { .. } => return Ok(Actor { kind: "dashboard", name: None }),
            Caller::ProjectAdmin { token: AdminToken::Dev, .. } => Some("dev token".to_owned()),
            Caller::ProjectAdmin { token: AdminToken::Stored { sha256 }, .. } => {
                let token: Option<(String, String)> = sqlx::query!(
                    "SELECT label, last4 FROM tokens WHERE token_sha256 = $1",
                    &sha256[..],
                )
                .map(|row| (row.label, row.last4))
                .fetch_optional(&state.pool)
                .await?;
                token.map(|(label, last4)| if label.is_empty() { format!("token …{last4}") } else { format!("{label} (…{last4})") })
            }
        };
        Ok(Actor { kind: "token", name })
    }
}

/// The kinds of entry, for the document.
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum ActivityKind {
    /// The issue's first event (processor).
    #[schema(rename = "firstSeen")]
    FirstSeen,
    /// A resolved issue came back (processor).
    #[schema(rename = "regressed")]
    Regressed,
    /// A silence for a time or a number of events ended (processor).
    #[schema(rename = "silenceEnded")]
    SilenceEnded,
    /// A person changed the status.
    #[schema(rename = "status")]
    Status,
    /// A person assigned or unassigned the issue.
    #[schema(rename = "assigned")]
    Assigned,
    /// A person merged another issue into this one.
    #[schema(rename = "merged")]
    Merged,
}

/// Who wrote an entry, for the document.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum ActivityActor {
    Processor,
    Dashboard,
    Token,
}

/// What an entry says; which fields are set depends on its kind.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityData {
    /// `status`: the status before; `assigned`: the assignee before (absent: no one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// `status`: the status after; `assigned`: the assignee after (absent: no one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// `status` to resolved in a release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_in_release: Option<String>,
    /// `status` to silenced for a time: when it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub silenced_until: Option<String>,
    /// `status` to silenced for a number of events: the event count that ends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silenced_until_event_count: Option<i64>,
    /// `silenceEnded`: `time` or `events`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `regressed`: the how-manieth regression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurrence: Option<i64>,
    /// `firstSeen`: the first event's release; `regressed`: the release that brought it back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// `firstSeen`: the first event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<Uuid>,
    /// `merged`: the issue merged into this one (it no longer exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue_id: Option<Uuid>,
    /// `merged`: that issue's short id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_id: Option<String>,
    /// `merged`: that issue's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `merged`: the events it brought.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_count: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivityEntry {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[schema(value_type = ActivityKind)]
    pub kind: String,
    #[schema(value_type = ActivityActor)]
    pub actor: String,
    /// For a token: its label and last four characters.
    #[schema(required)]
    pub actor_name: Option<String>,
    pub data: ActivityData,
}

type ActivityRow = (Uuid, OffsetDateTime, String, String, Option<String>, sqlx::types::Json<ActivityData>);

/// An issue's activity, newest first.
#[utoipa::path(get, path = "/projects/{pid}/issues/{iid}/activity", operation_id = "issue_activity", tag = "issues",
    params(("pid" = Uuid, Path), ("iid" = Uuid, Path), PageParams),
    responses((status = 200, body = [ActivityEntry], headers(("x-next-cursor" = String, description = "the next page's cursor"))),
              (status = 404)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_id, issue_id)): Path<(Uuid, Uuid)>,
    Query(params): Query<PageParams>,
) -> Result<Page<ActivityEntry>, ApiError> {
    scope(&state, &caller, project_id).await?;
    let (limit, after) = params.page(100, 500)?;
    if !issue_exists(&state.pool, project_id, issue_id).await? {
        return Err(ApiError::NotFound);
    }
    let (after_at, after_id) = match after {
        Some(cursor) => (Some(cursor.time()?), Some(cursor.id)),
        None => (None, None),
    };
    let rows: Vec<ActivityRow> = sqlx::query!(
        r#"SELECT id, at, kind, actor, actor_name, data AS "data: sqlx::types::Json<ActivityData>" FROM issue_activity
            WHERE project_id = $1 AND issue_id = $2 AND ($3::timestamptz IS NULL OR at < $3 OR (at = $3 AND id > $4))
            ORDER BY at DESC, id ASC LIMIT $5"#,
        project_id,
        issue_id,
        after_at,
        after_id,
        limit + 1,
    )
    .map(|row| (row.id, row.at, row.kind, row.actor, row.actor_name, row.data))
    .fetch_all(&state.pool)
    .await?;
    let entries = rows
        .into_iter()
        .map(|(id, at, kind, actor, actor_name, sqlx::types::Json(data))| ActivityEntry { id, at, kind, actor, actor_name, data })
        .collect();
    Ok(Page::from_overfetch(entries, limit, |entry| Cursor { key: cursor::micros(entry.at), id: entry.id }))
}
