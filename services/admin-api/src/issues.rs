//! `GET /projects/{pid}/issues`: the issue list.

use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    status: Option<String>,
    sort: Option<String>,
    limit: Option<i64>,
}

#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct IssueRow {
    id: Uuid,
    short_id: i64,
    title: String,
    culprit: Option<String>,
    #[serde(rename = "type")]
    r#type: Option<String>,
    kind: String,
    level: String,
    status: String,
    event_count: i64,
    user_count: i64,
    #[serde(with = "time::serde::rfc3339")]
    first_seen: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    last_seen: OffsetDateTime,
    first_release: Option<String>,
    last_release: Option<String>,
    last_environment: Option<String>,
    resolved_in_release: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    regressed_at: Option<OffsetDateTime>,
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<Uuid>,
    Query(params): Query<ListParams>,
) -> Result<Json<Vec<IssueRow>>, ApiError> {
    caller.require_project(project_id)?;
    // `active` includes `regressed`: both are open.
    let statuses: &[&str] = match params.status.as_deref().unwrap_or("active") {
        "active" => &["active", "regressed"],
        "resolved" => &["resolved"],
        "silenced" => &["silenced"],
        "regressed" => &["regressed"],
        "all" => &["active", "regressed", "resolved", "silenced"],
        _ => return Err(ApiError::invalid("status", "must be one of active, resolved, silenced, regressed, all")),
    };
    let order = match params.sort.as_deref().unwrap_or("lastSeen") {
        "lastSeen" => "last_seen DESC",
        "firstSeen" => "first_seen DESC",
        "events" => "event_count DESC",
        "users" => "user_count DESC",
        _ => return Err(ApiError::invalid("sort", "must be one of lastSeen, firstSeen, events, users")),
    };
    let limit = params.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be between 1 and 200"));
    }
    let query = format!(
        "SELECT id, short_id, title, culprit, type, kind, level, status, event_count, user_count, first_seen,
                last_seen, first_release, last_release, last_environment, resolved_in_release, regressed_at
           FROM issues WHERE project_id = $1 AND status = ANY($2)
          ORDER BY {order}, id LIMIT $3"
    );
    let rows = sqlx::query_as::<_, IssueRow>(&query)
        .bind(project_id)
        .bind(statuses)
        .bind(limit)
        .fetch_all(&state.pool)
        .await?;
    Ok(Json(rows))
}
