//! Releases with their health numbers.

use axum::extract::State;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::cursor::{self, Cursor, Page, PageParams};
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::projects::scope;

/// Completes a query whose `page` CTE holds release rows of project `$1`
/// (`id, name, first_seen, deploy_at`) with their health numbers.
const WITH_HEALTH: &str = "
         SELECT page.id, page.name, page.first_seen, page.deploy_at,
                (SELECT count(*) FROM events e WHERE e.project_id = $1 AND e.release = page.name) AS event_count,
                (SELECT count(*) FROM issues i WHERE i.project_id = $1 AND i.first_release = page.name) AS new_issue_count,
                s.sessions AS session_count,
                CASE WHEN s.sessions > 0 THEN 1.0 - s.crashed::float8 / s.sessions END AS crash_free_sessions,
                CASE WHEN s.users > 0 THEN 1.0 - s.crashed_users::float8 / s.users END AS crash_free_users,
                (SELECT count(*) FROM artifacts a WHERE a.project_id = $1 AND a.release_id = page.id) AS artifact_count
           FROM page
           CROSS JOIN LATERAL (
               SELECT count(*) AS sessions,
                      count(*) FILTER (WHERE status = 'crashed') AS crashed,
                      count(DISTINCT user_id) AS users,
                      count(DISTINCT user_id) FILTER (WHERE status = 'crashed') AS crashed_users
                 FROM sessions WHERE project_id = $1 AND release = page.name) s
          ORDER BY page.first_seen DESC, page.id ASC";

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseRow {
    #[serde(skip)]
    pub id: Uuid,
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub deploy_at: Option<OffsetDateTime>,
    pub event_count: i64,
    /// Issues first seen in this release.
    pub new_issue_count: i64,
    pub session_count: i64,
    /// Share (0–1) of sessions that did not crash; `null` without sessions.
    pub crash_free_sessions: Option<f64>,
    /// Share (0–1) of distinct session users with no crashed session; `null` without user ids.
    pub crash_free_users: Option<f64>,
    pub artifact_count: i64,
}

/// The project's releases, newest first.
#[utoipa::path(get, path = "/projects/{pid}/releases", tag = "releases", params(("pid" = Uuid, Path), PageParams),
    responses((status = 200, body = [ReleaseRow], headers(("x-next-cursor" = String)))))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<Uuid>,
    Query(params): Query<PageParams>,
) -> Result<Page<ReleaseRow>, ApiError> {
    scope(&state, &caller, project_id).await?;
    let (limit, after) = params.page(50, 200)?;
    let (after_time, after_id) = match after {
        Some(c) => (Some(c.time()?), Some(c.id)),
        None => (None, None),
    };
    let query = format!(
        "WITH page AS (
             SELECT r.id, r.name, r.first_seen, r.deploy_at FROM releases r
              WHERE r.project_id = $1
                AND ($2::timestamptz IS NULL OR r.first_seen < $2 OR (r.first_seen = $2 AND r.id > $3))
              ORDER BY r.first_seen DESC, r.id ASC LIMIT $4)
         {WITH_HEALTH}"
    );
    let rows = sqlx::query_as::<_, ReleaseRow>(&query)
    .bind(project_id)
    .bind(after_time)
    .bind(after_id)
    .bind(limit + 1)
    .fetch_all(&state.pool)
    .await?;
    Ok(Page::from_overfetch(rows, limit, |row| Cursor { key: cursor::micros(row.first_seen), id: row.id }))
}

/// One release by name, with the same numbers as the list; 404 for a name
/// the project never saw.
#[utoipa::path(get, path = "/projects/{pid}/releases/{release}", tag = "releases",
    params(("pid" = Uuid, Path), ("release" = String, Path, description = "The release name, percent-encoded")),
    responses((status = 200, body = ReleaseRow), (status = 404, description = "The project has no release of that name")))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_id, release)): Path<(Uuid, String)>,
) -> Result<axum::Json<ReleaseRow>, ApiError> {
    scope(&state, &caller, project_id).await?;
    let query = format!(
        "WITH page AS (SELECT r.id, r.name, r.first_seen, r.deploy_at FROM releases r WHERE r.project_id = $1 AND r.name = $2)
         {WITH_HEALTH}"
    );
    let row = sqlx::query_as::<_, ReleaseRow>(&query).bind(project_id).bind(&release).fetch_optional(&state.pool).await?;
    row.map(axum::Json).ok_or(ApiError::NotFound)
}
