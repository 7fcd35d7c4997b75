//! Releases with their health numbers.

use axum::extract::State;
use serde::Serialize;
use sqlx::PgPool;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::cursor::{self, Cursor, Page};
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::period::{BucketUnit, HistogramParams, Period, buckets_cte};
use crate::projects::scope;

/// Completes a query whose `page` CTE holds release rows of project `$1`
/// (`id, name, first_seen, deploy_at`) with their health numbers.
///
/// The numbers come from the rollups the processor keeps (`release_hourly`,
/// `release_users`), not from counting events and sessions per request.
const WITH_HEALTH: &str = "
         SELECT page.id, page.name, page.first_seen, page.deploy_at,
                coalesce(h.events, 0) AS event_count,
                (SELECT count(*) FROM issues i WHERE i.project_id = $1 AND i.first_release = page.name) AS new_issue_count,
                coalesce(h.sessions, 0) AS session_count,
                CASE WHEN h.sessions > 0 THEN 1.0 - h.crashed::float8 / h.sessions END AS crash_free_sessions,
                CASE WHEN u.users > 0 THEN 1.0 - u.crashed::float8 / u.users END AS crash_free_users,
                (SELECT count(*) FROM artifacts a WHERE a.project_id = $1 AND a.release_id = page.id) AS artifact_count
           FROM page
           CROSS JOIN LATERAL (
               SELECT sum(events)::bigint AS events, sum(sessions)::bigint AS sessions, sum(crashed_sessions)::bigint AS crashed
                 FROM release_hourly WHERE project_id = $1 AND release_id = page.id) h
           CROSS JOIN LATERAL (
               SELECT count(*) AS users, count(*) FILTER (WHERE crashed) AS crashed
                 FROM release_users WHERE project_id = $1 AND release_id = page.id) u
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
    #[schema(required)]
    pub deploy_at: Option<OffsetDateTime>,
    /// Events received from this release, including those retention has
    /// since removed.
    pub event_count: i64,
    /// Issues first seen in this release.
    pub new_issue_count: i64,
    pub session_count: i64,
    /// Share (0–1) of sessions that did not crash; `null` without sessions.
    #[schema(required)]
    pub crash_free_sessions: Option<f64>,
    /// Share (0–1) of distinct session users with no crashed session; `null` without user ids.
    #[schema(required)]
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
    .fetch_all(&state.reads)
    .await?;
    Ok(Page::from_overfetch(rows, limit, |row| Cursor { key: cursor::micros(row.first_seen), id: row.id }))
}

/// Versions do not sort in SQL, so the names are sorted here and the page's
/// numbers fetched for its rows only. The cursor is the last row's place in
/// that order and its id; the next page continues after that id wherever a
/// new release has moved it.
async fn by_version(state: &AppState, project_id: Uuid, limit: i64, after: Option<Cursor>) -> Result<Page<ReleaseRow>, ApiError> {
    let mut names: Vec<(Uuid, String)> =
        sqlx::query!(
            "SELECT id, name FROM releases WHERE project_id = $1 ORDER BY first_seen DESC LIMIT $2",
            project_id,
            VERSION_SORT_MAX,
        )
        .map(|row| (row.id, row.name))
        .fetch_all(&state.reads)
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
    let mut rows = sqlx::query_as::<_, ReleaseRow>(&query).bind(project_id).bind(&ids).fetch_all(&state.reads).await?;
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
    let row = sqlx::query_as::<_, ReleaseRow>(&query).bind(project_id).bind(&release).fetch_optional(&state.reads).await?;
    row.map(axum::Json).ok_or(ApiError::NotFound)
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseBucket {
    /// The bucket's first instant (a UTC hour or day); it ends where the next begins.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    /// Events from this release that happened in the bucket.
    pub events: i64,
    /// Sessions of this release that started in the bucket, and how many crashed.
    pub sessions: i64,
    pub crashed_sessions: i64,
    /// Distinct users of those sessions, and how many of them had a crashed one.
    pub users: i64,
    pub crashed_users: i64,
    /// All of the project's sessions and events in the bucket, every release
    /// together: a release's adoption is its share of them.
    pub project_sessions: i64,
    pub project_events: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseSeries {
    pub period: Period,
    pub bucket: BucketUnit,
    /// Oldest first; the last is the current (partial) hour or day.
    pub buckets: Vec<ReleaseBucket>,
}

/// A release over the last 24 hours, 14 or 90 days: its events, sessions,
/// crashes and users, beside the whole project's, per hour or day. Events
/// count when they happened and sessions when they started (each clamped to
/// its arrival), as in the issue histogram.
#[utoipa::path(get, path = "/projects/{pid}/releases/{release}/series", tag = "releases",
    params(("pid" = Uuid, Path), ("release" = String, Path, description = "The release name, percent-encoded"), HistogramParams),
    responses((status = 200, body = ReleaseSeries), (status = 400), (status = 404, description = "The project has no release of that name")))]
pub async fn series(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_id, release)): Path<(Uuid, String)>,
    period: Period,
) -> Result<axum::Json<ReleaseSeries>, ApiError> {
    scope(&state, &caller, project_id).await?;
    // Users per bucket come from the release's sessions (distinct users do not
    // add up across hours); one pass over them, bucketed like the rollups.
    let query = format!(
        "WITH {},
         hourly AS (
             SELECT b.start,
                    coalesce(sum(h.events) FILTER (WHERE h.release_id = $6), 0)::bigint AS events,
                    coalesce(sum(h.sessions) FILTER (WHERE h.release_id = $6), 0)::bigint AS sessions,
                    coalesce(sum(h.crashed_sessions) FILTER (WHERE h.release_id = $6), 0)::bigint AS crashed_sessions,
                    coalesce(sum(h.sessions), 0)::bigint AS project_sessions,
                    coalesce(sum(h.events), 0)::bigint AS project_events
               FROM buckets b
               LEFT JOIN release_hourly h
                 ON h.project_id = $1 AND h.hour >= b.start AND h.hour < b.start + make_interval(hours => $4)
              GROUP BY b.start),
         users AS (
             SELECT date_trunc($3, least(started_at, received_at), 'UTC') AS start,
                    count(DISTINCT user_id) AS users,
                    count(DISTINCT user_id) FILTER (WHERE status = 'crashed') AS crashed_users
               FROM sessions
              WHERE project_id = $1 AND release = $2
                AND least(started_at, received_at) >= (SELECT min(start) FROM buckets)
              GROUP BY 1)
         SELECT hourly.*, coalesce(users.users, 0) AS users, coalesce(users.crashed_users, 0) AS crashed_users
           FROM hourly LEFT JOIN users USING (start)
          ORDER BY hourly.start",
        buckets_cte("EXISTS (SELECT 1 FROM releases WHERE project_id = $1 AND id = $6)")
    );
    let buckets = period
        .bind_buckets(sqlx::query_as::<_, ReleaseBucket>(&query).bind(project_id).bind(&release))
        .bind(sentori_protocol::release_id(project_id, &release))
        .fetch_all(&state.reads)
        .await?;
    if buckets.is_empty() {
        return Err(ApiError::NotFound);
    }
    Ok(axum::Json(ReleaseSeries { period, bucket: period.unit(), buckets }))
}

/// Whether the project has a release of this name.
pub(crate) async fn release_exists(pool: &PgPool, project_id: Uuid, name: &str) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM releases WHERE project_id = $1 AND name = $2) AS "exists!""#,
        project_id,
        name,
    )
    .fetch_one(pool)
    .await?)
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReleaseIssuesParams {
    /// `new` (default): issues first seen in the release; `regressed`: issues
    /// whose latest regression came with an event from it.
    which: Option<String>,
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseIssue {
    pub id: Uuid,
    pub short_id: i64,
    pub title: String,
    #[schema(required)]
    pub culprit: Option<String>,
    #[schema(value_type = crate::issues::IssueStatus)]
    pub status: String,
    pub level: String,
    pub event_count: i64,
    pub user_count: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen: OffsetDateTime,
}

/// How many issues a release page lists of each kind; the issue list,
/// filtered by release, has them all.
const RELEASE_ISSUES_MAX: i64 = 50;

/// The issues a release brought (new) or brought back (regressed), the most
/// frequent first.
#[utoipa::path(get, path = "/projects/{pid}/releases/{release}/issues", tag = "releases",
    params(("pid" = Uuid, Path), ("release" = String, Path, description = "The release name, percent-encoded"), ReleaseIssuesParams),
    responses((status = 200, body = [ReleaseIssue]), (status = 400), (status = 404, description = "The project has no release of that name")))]
pub async fn issues(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_id, release)): Path<(Uuid, String)>,
    Query(params): Query<ReleaseIssuesParams>,
) -> Result<axum::Json<Vec<ReleaseIssue>>, ApiError> {
    scope(&state, &caller, project_id).await?;
    let column = match params.which.as_deref().map(str::trim).filter(|w| !w.is_empty()).unwrap_or("new") {
        "new" => "first_release",
        "regressed" => "regressed_in_release",
        _ => return Err(ApiError::invalid("which", "must be new or regressed")),
    };
    if !release_exists(&state.reads, project_id, &release).await? {
        return Err(ApiError::NotFound);
    }
    let query = format!(
        "SELECT id, short_id, title, culprit, status, level, event_count, user_count, first_seen, last_seen
           FROM issues WHERE project_id = $1 AND {column} = $2
          ORDER BY event_count DESC, id LIMIT $3"
    );
    let rows = sqlx::query_as::<_, ReleaseIssue>(&query)
        .bind(project_id)
        .bind(&release)
        .bind(RELEASE_ISSUES_MAX)
        .fetch_all(&state.reads)
        .await?;
    Ok(axum::Json(rows))
}
