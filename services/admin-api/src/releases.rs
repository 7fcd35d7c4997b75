//! Releases with their health numbers.

use axum::extract::State;
use serde::Serialize;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::cursor::{self, Cursor, Page};
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

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `firstSeen` (default): the newest release first. `version`: apps
    /// (`<app>@`) by name, each one's highest version first: numeric parts
    /// as numbers, a pre-release below its release, the build number last.
    sort: Option<String>,
    /// Rows per page, 1 to 200, default 50.
    limit: Option<i64>,
    /// `X-Next-Cursor` of the previous page.
    cursor: Option<String>,
}

/// How many releases a version-sorted list orders; a project with more
/// sees its newest-first-seen ones.
const VERSION_SORT_MAX: i64 = 10_000;

/// The project's releases, newest first or highest version first.
#[utoipa::path(get, path = "/projects/{pid}/releases", operation_id = "list_releases", tag = "releases",
    params(("pid" = Uuid, Path), ListParams),
    responses((status = 200, body = [ReleaseRow], headers(("x-next-cursor" = String)))))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<Uuid>,
    Query(params): Query<ListParams>,
) -> Result<Page<ReleaseRow>, ApiError> {
    scope(&state, &caller, project_id).await?;
    let limit = cursor::limit(params.limit, 50, 200)?;
    let after = Cursor::parse(params.cursor.as_deref())?;
    match params.sort.as_deref().map(str::trim).filter(|s| !s.is_empty()).unwrap_or("firstSeen") {
        "firstSeen" => by_first_seen(&state, project_id, limit, after).await,
        "version" => by_version(&state, project_id, limit, after).await,
        _ => Err(ApiError::invalid("sort", "must be firstSeen or version")),
    }
}

async fn by_first_seen(state: &AppState, project_id: Uuid, limit: i64, after: Option<Cursor>) -> Result<Page<ReleaseRow>, ApiError> {
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

/// Versions do not sort in SQL, so the names are sorted here and the page's
/// numbers fetched for its rows only. The cursor is the last row's place in
/// that order and its id; the next page continues after that id wherever a
/// new release has moved it.
async fn by_version(state: &AppState, project_id: Uuid, limit: i64, after: Option<Cursor>) -> Result<Page<ReleaseRow>, ApiError> {
    let mut names: Vec<(Uuid, String)> =
        sqlx::query_as("SELECT id, name FROM releases WHERE project_id = $1 ORDER BY first_seen DESC LIMIT $2")
            .bind(project_id)
            .bind(VERSION_SORT_MAX)
            .fetch_all(&state.pool)
            .await?;
    names.sort_by(|(a_id, a), (b_id, b)| crate::release_version::newest_first(a, b).then_with(|| a_id.cmp(b_id)));
    let start = match after {
        Some(c) => names.iter().position(|(id, _)| *id == c.id).map_or(usize::try_from(c.key).unwrap_or(usize::MAX), |at| at + 1),
        None => 0,
    };
    let ids: Vec<Uuid> = names.iter().skip(start).take(limit as usize + 1).map(|(id, _)| *id).collect();
    let query = format!(
        "WITH page AS (SELECT r.id, r.name, r.first_seen, r.deploy_at FROM releases r WHERE r.project_id = $1 AND r.id = ANY($2))
         {WITH_HEALTH}"
    );
    let mut rows = sqlx::query_as::<_, ReleaseRow>(&query).bind(project_id).bind(&ids).fetch_all(&state.pool).await?;
    rows.sort_by_key(|row| ids.iter().position(|id| *id == row.id));
    let place = |row: &ReleaseRow| ids.iter().position(|id| *id == row.id).map_or(0, |at| (start + at) as i64);
    Ok(Page::from_overfetch(rows, limit, |row| Cursor { key: place(row), id: row.id }))
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
