//! Issues: the list with its filters, sorts and cursor; the detail; the histogram.
//! Changing an issue is in `changes.rs`, merging and deleting in `removal.rs`.

use std::collections::HashMap;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Postgres, QueryBuilder};
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::cursor::{self, Cursor, Page};
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::period::{BucketUnit, HistogramParams, Period, buckets_cte};
use crate::projects::scope;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// `active` (default; includes `regressed`), `resolved`, `silenced`, `regressed`, `all`.
    status: Option<String>,
    /// Substring search over title, culprit and type.
    query: Option<String>,
    /// Issues with an event in this release.
    release: Option<String>,
    /// Issues with an event in this environment.
    environment: Option<String>,
    kind: Option<String>,
    level: Option<String>,
    /// The error type, exactly.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    r#type: Option<String>,
    /// An alias of `type`.
    error_type: Option<String>,
    /// Issues that affected this user: the SDK's `user.id`, else the device's `installId`.
    user: Option<String>,
    /// `key=value`: issues with an event carrying that tag. Repeated, one event must carry them all.
    #[serde(default)]
    tag: Vec<String>,
    /// Issues assigned to this name or email (case-insensitive, exactly).
    assignee: Option<String>,
    /// `true`: issues assigned to anyone; `false`: to no one.
    assigned: Option<bool>,
    /// `lastSeen` (default), `firstSeen`, `events`, `users`; always descending.
    sort: Option<String>,
    /// 1 to 200, default 50.
    limit: Option<i64>,
    cursor: Option<String>,
}

#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssueRow {
    pub id: Uuid,
    pub short_id: String,
    pub title: String,
    #[schema(required)]
    pub culprit: Option<String>,
    #[serde(rename = "type")]
    pub r#type: Option<String>,
    pub kind: String,
    #[schema(required)]
    pub level: Option<String>,
    #[schema(value_type = IssueStatus)]
    pub status: String,
    pub event_count: i64,
    pub user_count: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub first_seen: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub last_seen: OffsetDateTime,
    #[schema(required)]
    pub first_release: Option<String>,
    #[schema(required)]
    pub last_release: Option<String>,
    #[schema(required)]
    pub last_environment: Option<String>,
    #[schema(required)]
    pub resolved_in_release: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(required)]
    pub regressed_at: Option<OffsetDateTime>,
    /// The person the issue is assigned to, a name or an email as typed.
    #[schema(required)]
    pub assignee: Option<String>,
    /// A silenced issue turns active again at this time…
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(required)]
    pub silenced_until: Option<OffsetDateTime>,
    /// …or once `eventCount` reaches this, whichever comes first; both null: until reopened.
    #[schema(required)]
    pub silenced_until_event_count: Option<i64>,
    /// 24 hourly counts of events by when they happened (see the issue's histogram),
    /// oldest first; the last is the current (partial) UTC hour.
    #[sqlx(skip)]
    pub trend24h: Vec<i64>,
}

const ISSUE_COLUMNS: &str = concat!(
    "i.id, ",
    sentori_store::short_id_sql!(),
    " AS short_id,
    i.title, i.culprit, i.type, i.kind, i.level, i.status, i.event_count, i.user_count, i.first_seen, i.last_seen,
    i.first_release, i.last_release, i.last_environment, i.resolved_in_release, i.regressed_at,
    i.assignee, i.silenced_until, i.silenced_until_event_count"
);

#[derive(Clone, Copy)]
enum Sort {
    LastSeen,
    FirstSeen,
    Events,
    Users,
}

impl Sort {
    fn column(self) -> &'static str {
        match self {
            Sort::LastSeen => "i.last_seen",
            Sort::FirstSeen => "i.first_seen",
            Sort::Events => "i.event_count",
            Sort::Users => "i.user_count",
        }
    }

    fn key(self, row: &IssueRow) -> i64 {
        match self {
            Sort::LastSeen => cursor::micros(row.last_seen),
            Sort::FirstSeen => cursor::micros(row.first_seen),
            Sort::Events => row.event_count,
            Sort::Users => row.user_count,
        }
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Escapes `LIKE` wildcards so a search is a plain substring match.
fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The project's issues, filtered and sorted, a page at a time.
#[utoipa::path(get, path = "/projects/{pid}/issues", operation_id = "list_issues", tag = "issues",
    params(("pid" = Uuid, Path), ListParams),
    responses((status = 200, body = [IssueRow], headers(("x-next-cursor" = String, description = "the next page's cursor")))))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<Uuid>,
    Query(params): Query<ListParams>,
) -> Result<Page<IssueRow>, ApiError> {
    scope(&state, &caller, project_id).await?;
    let statuses: &[&str] = match non_empty(&params.status).unwrap_or("active") {
        "active" => &["active", "regressed"],
        "resolved" => &["resolved"],
        "silenced" => &["silenced"],
        "regressed" => &["regressed"],
        "all" => &["active", "regressed", "resolved", "silenced"],
        _ => return Err(ApiError::invalid("status", "must be one of active, resolved, silenced, regressed, all")),
    };
    let sort = match non_empty(&params.sort).unwrap_or("lastSeen") {
        "lastSeen" => Sort::LastSeen,
        "firstSeen" => Sort::FirstSeen,
        "events" => Sort::Events,
        "users" => Sort::Users,
        _ => return Err(ApiError::invalid("sort", "must be one of lastSeen, firstSeen, events, users")),
    };
    let limit = cursor::limit(params.limit, 50, 200)?;
    let after = Cursor::parse(params.cursor.as_deref())?;
    let narrowing = params.narrowing()?;

    // One index range per status, each walked in sort order and cut at the
    // page size, then merged: with `status = ANY(...)` over the whole table
    // no index yields the order, and every issue of the tab would be read
    // and sorted. Walking in order also lets a release or environment filter
    // stop probing `events` once a page is full.
    let column = sort.column();
    let mut q = QueryBuilder::<Postgres>::new("SELECT ");
    q.push(ISSUE_COLUMNS).push(" FROM unnest(");
    q.push_bind(statuses.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    q.push("::text[]) AS s(status) CROSS JOIN LATERAL (SELECT i.* FROM issues i WHERE i.project_id = ");
    q.push_bind(project_id);
    q.push(" AND i.status = s.status");
    narrowing.push_conditions(&mut q, project_id);
    if let Some(after) = after {
        // `<=` alone bounds the index range; the rest only skips the ties
        // already shown.
        q.push(format!(" AND {column} <= "));
        push_key(&mut q, sort, &after)?;
        q.push(format!(" AND ({column} < "));
        push_key(&mut q, sort, &after)?;
        q.push(" OR i.id > ").push_bind(after.id).push(")");
    }
    q.push(format!(" ORDER BY {column} DESC, i.id ASC LIMIT ")).push_bind(limit + 1);
    q.push(format!(") i ORDER BY {column} DESC, i.id ASC LIMIT ")).push_bind(limit + 1);
    // Planned for the values at hand, never as a cached generic plan: whether
    // probing `events` issue by issue beats reading all of a release's events
    // depends on how common that release or environment is.
    let rows = q.build_query_as::<IssueRow>().persistent(false).fetch_all(&state.reads).await?;
    let mut page = Page::from_overfetch(rows, limit, |row| Cursor { key: sort.key(row), id: row.id });
    fill_trends(&state.reads, project_id, &mut page.rows).await?;
    narrowing.scope_counts(&state, project_id, &mut page.rows).await?;
    Ok(page)
}

/// What narrows the list besides its status tab; the status tabs' counts
/// apply the same.
struct Narrowing<'p> {
    text: Option<&'p str>,
    release: Option<&'p str>,
    environment: Option<&'p str>,
    kind: Option<&'p str>,
    level: Option<&'p str>,
    error_type: Option<&'p str>,
    user: Option<&'p str>,
    /// All of them on one event, as a `jsonb` object for `@>`.
    tags: Option<serde_json::Value>,
    assignee: Option<&'p str>,
    assigned: Option<bool>,
}

impl ListParams {
    fn narrowing(&self) -> Result<Narrowing<'_>, ApiError> {
        let error_type = match (non_empty(&self.r#type), non_empty(&self.error_type)) {
            (Some(a), Some(b)) if a != b => return Err(ApiError::invalid("errorType", "contradicts type")),
            (a, b) => a.or(b),
        };
        let mut tags = serde_json::Map::new();
        for tag in self.tag.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            match tag.split_once('=') {
                Some((key, value)) if !key.trim().is_empty() => {
                    let value = serde_json::Value::String(value.trim().to_owned());
                    if tags.insert(key.trim().to_owned(), value).is_some() {
                        return Err(ApiError::invalid("tag", format!("{:?} is given twice: an event has one value per tag", key.trim())));
                    }
                }
                _ => return Err(ApiError::invalid("tag", format!("{tag:?} is not key=value"))),
            }
        }
        Ok(Narrowing {
            text: non_empty(&self.query),
            release: non_empty(&self.release),
            environment: non_empty(&self.environment),
            kind: non_empty(&self.kind),
            level: non_empty(&self.level),
            error_type,
            user: non_empty(&self.user),
            tags: (!tags.is_empty()).then_some(serde_json::Value::Object(tags)),
            assignee: non_empty(&self.assignee),
            assigned: self.assigned,
        })
    }
}

impl Narrowing<'_> {
    /// `AND …` conditions on `i`, an issue of `project_id`.
    fn push_conditions(&self, q: &mut QueryBuilder<'_, Postgres>, project_id: Uuid) {
        if let Some(text) = self.text {
            // Title, culprit and type, as written to `issue_search` when the
            // issue was created (they never change), trigram-indexed there.
            q.push(" AND EXISTS (SELECT 1 FROM issue_search t WHERE t.project_id = i.project_id AND t.issue_id = i.id AND t.document ILIKE ")
                .push_bind(like_pattern(text))
                .push(")");
        }
        if let Some(release) = self.release {
            // An issue's first and last seen bound its events' timestamps, so an
            // issue with an event in the release overlaps the release's span:
            // the walk skips the issues outside it without probing `events`
            // (an old release sorted by first seen probed thousands).
            q.push(" AND i.first_seen <= (SELECT max(timestamp) FROM events WHERE project_id = ").push_bind(project_id);
            q.push(" AND release = ").push_bind(release.to_owned());
            q.push(") AND i.last_seen >= (SELECT min(timestamp) FROM events WHERE project_id = ").push_bind(project_id);
            q.push(" AND release = ").push_bind(release.to_owned());
            q.push(") AND EXISTS (SELECT 1 FROM events e WHERE e.project_id = i.project_id AND e.issue_id = i.id AND e.release = ")
                .push_bind(release.to_owned())
                .push(")");
        }
        if let Some(environment) = self.environment {
            q.push(
                " AND EXISTS (SELECT 1 FROM events e WHERE e.project_id = i.project_id AND e.issue_id = i.id AND e.environment = ",
            )
            .push_bind(environment.to_owned())
            .push(")");
        }
        for (field, value) in [("i.kind", self.kind), ("i.level", self.level), ("i.type", self.error_type)] {
            if let Some(value) = value {
                q.push(format!(" AND {field} = ")).push_bind(value.to_owned());
            }
        }
        if let Some(user) = self.user {
            // The processor keys users as `user:<id>`, else `install:<id>`.
            q.push(" AND EXISTS (SELECT 1 FROM issue_users u WHERE u.project_id = i.project_id AND u.issue_id = i.id AND u.user_key = ANY(")
                .push_bind(vec![format!("user:{user}"), format!("install:{user}")])
                .push("))");
        }
        if let Some(tags) = &self.tags {
            q.push(" AND EXISTS (SELECT 1 FROM events e WHERE e.project_id = i.project_id AND e.issue_id = i.id AND e.tags @> ")
                .push_bind(sqlx::types::Json(tags.clone()))
                .push("::jsonb)");
        }
        if let Some(assignee) = self.assignee {
            q.push(" AND lower(i.assignee) = lower(").push_bind(assignee.to_owned()).push(")");
        }
        match self.assigned {
            Some(true) => q.push(" AND i.assignee IS NOT NULL"),
            Some(false) => q.push(" AND i.assignee IS NULL"),
            None => q,
        };
    }

    /// With a release or environment filter, each row's event and user
    /// counts are those of its events in that release or environment: the
    /// all-time numbers beside a filtered list misled.
    async fn scope_counts(&self, state: &AppState, project_id: Uuid, rows: &mut [IssueRow]) -> Result<(), ApiError> {
        if self.release.is_none() && self.environment.is_none() {
            return Ok(());
        }
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        // Only the filters that are set go into the statement: a generic
        // `($3 IS NULL OR release = $3)` cannot use the release index, and
        // the index-only scan is what keeps this fast.
        let mut query = QueryBuilder::<Postgres>::new("SELECT issue_id, count(*), count(DISTINCT user_key) FROM events WHERE project_id = ");
        query.push_bind(project_id).push(" AND issue_id = ANY(").push_bind(&ids).push(")");
        if let Some(release) = self.release {
            query.push(" AND release = ").push_bind(release);
        }
        if let Some(environment) = self.environment {
            query.push(" AND environment = ").push_bind(environment);
        }
        let counts: Vec<(Uuid, i64, i64)> = query.push(" GROUP BY issue_id").build_query_as().fetch_all(&state.reads).await?;
        let counts: HashMap<Uuid, (i64, i64)> = counts.into_iter().map(|(id, events, users)| (id, (events, users))).collect();
        for row in rows {
            (row.event_count, row.user_count) = counts.get(&row.id).copied().unwrap_or((0, 0));
        }
        Ok(())
    }
}

/// How many issues each status tab holds under the list's other filters.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct IssueCounts {
    /// Active and regressed, as the `active` tab lists them.
    pub active: i64,
    pub regressed: i64,
    pub resolved: i64,
    pub silenced: i64,
    pub all: i64,
}

/// The status tabs' counts for the list's filters (`status`, `sort`, `limit`
/// and `cursor` are ignored).
#[utoipa::path(get, path = "/projects/{pid}/issues:counts", tag = "issues", params(("pid" = Uuid, Path), ListParams),
    responses((status = 200, body = IssueCounts)))]
pub async fn counts(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<Uuid>,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<IssueCounts>, ApiError> {
    scope(&state, &caller, project_id).await?;
    let narrowing = params.narrowing()?;
    let mut q = QueryBuilder::<Postgres>::new("SELECT i.status, count(*) FROM issues i WHERE i.project_id = ");
    q.push_bind(project_id);
    narrowing.push_conditions(&mut q, project_id);
    q.push(" GROUP BY i.status");
    let rows: Vec<(String, i64)> = q.build_query_as().persistent(false).fetch_all(&state.reads).await?;
    let mut counts = IssueCounts::default();
    for (status, count) in rows {
        match status.as_str() {
            "active" => counts.active += count,
            "regressed" => {
                counts.regressed += count;
                counts.active += count;
            }
            "resolved" => counts.resolved += count,
            "silenced" => counts.silenced += count,
            _ => {}
        }
        counts.all += count;
    }
    Ok(axum::Json(counts))
}

fn push_key(q: &mut QueryBuilder<'_, Postgres>, sort: Sort, after: &Cursor) -> Result<(), ApiError> {
    match sort {
        Sort::LastSeen | Sort::FirstSeen => q.push_bind(after.time()?),
        Sort::Events | Sort::Users => q.push_bind(after.key),
    };
    Ok(())
}

/// Fills `trend24h` from `issue_hourly`: 24 buckets, the current hour last.
async fn fill_trends(pool: &PgPool, project_id: Uuid, rows: &mut [IssueRow]) -> Result<(), ApiError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let counts: Vec<(Uuid, i32, i64)> = sqlx::query!(
        r#"SELECT issue_id, (extract(epoch FROM date_trunc('hour', now()) - hour) / 3600)::int AS "ago!", count
             FROM issue_hourly
            WHERE project_id = $1 AND issue_id = ANY($2)
              AND hour >= date_trunc('hour', now()) - interval '23 hours' AND hour <= date_trunc('hour', now())"#,
        project_id,
        &ids,
    )
    .map(|row| (row.issue_id, row.ago, row.count))
    .fetch_all(pool)
    .await?;
    let mut by_issue: HashMap<Uuid, Vec<i64>> = HashMap::new();
    for (issue_id, ago, count) in counts {
        if (0..24).contains(&ago) {
            by_issue.entry(issue_id).or_insert_with(|| vec![0; 24])[23 - ago as usize] += count;
        }
    }
    for row in rows {
        row.trend24h = by_issue.remove(&row.id).unwrap_or_else(|| vec![0; 24]);
    }
    Ok(())
}

/// Whether the project has this issue; `pool` is the primary where the
/// caller must see its own writes, else the read pool.
pub(crate) async fn issue_exists(pool: &PgPool, project_id: Uuid, issue_id: Uuid) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM issues WHERE project_id = $1 AND id = $2) AS "exists!""#,
        project_id,
        issue_id,
    )
    .fetch_one(pool)
    .await?)
}

pub(crate) async fn fetch_rows(state: &AppState, project_id: Uuid, ids: &[Uuid]) -> Result<Vec<IssueRow>, ApiError> {
    let mut rows = sqlx::query_as::<_, IssueRow>(&format!(
        "SELECT {ISSUE_COLUMNS} FROM issues i WHERE i.project_id = $1 AND i.id = ANY($2)"
    ))
    .bind(project_id)
    .bind(ids)
    .fetch_all(&state.pool)
    .await?;
    // In the order asked for.
    rows.sort_by_key(|row| ids.iter().position(|id| *id == row.id));
    fill_trends(&state.pool, project_id, &mut rows).await?;
    Ok(rows)
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TagValue {
    pub value: String,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssueDetail {
    #[serde(flatten)]
    pub row: IssueRow,
    /// The grouping components, in order.
    pub fingerprint: Vec<String>,
    pub fingerprint_hash: String,
    /// The fingerprints of issues merged into this one: their new events land here too.
    pub merged_fingerprints: Vec<String>,
    /// Top values (at most 10 a key) over the issue's newest events.
    #[schema(value_type = std::collections::HashMap<String, Vec<TagValue>>)]
    pub tags: serde_json::Map<String, serde_json::Value>,
    /// The same for the tags the SDK sent (`tags` of the event), at most
    /// 30 keys, the most common first.
    #[schema(value_type = std::collections::HashMap<String, Vec<TagValue>>)]
    pub custom_tags: serde_json::Map<String, serde_json::Value>,
    #[schema(required)]
    pub latest_event_id: Option<Uuid>,
    #[schema(required)]
    pub oldest_event_id: Option<Uuid>,
}

/// How many of an issue's newest events the tag distribution counts. Every
/// one costs a random heap read and a decompression of its payload, so a
/// sample keeps the issue page within its 50 ms (docs/decisions.md, "Tag
/// distributions"); the dashboard shows shares, which 2 000 events put
/// within about ±2 points.
const TAG_SAMPLE: i64 = 2_000;
const TAG_KEYS: [&str; 5] = ["release", "environment", "os", "deviceModel", "runtime"];
/// How many of the SDK's own tag keys the issue page lists.
const CUSTOM_TAG_KEYS: usize = 30;
/// Marks an SDK tag's key in the distribution query, apart from the columns.
const CUSTOM_TAG_PREFIX: &str = "tag:";

/// One issue with its grouping, tag distribution and first and last events.
#[utoipa::path(get, path = "/projects/{pid}/issues/{iid}", operation_id = "issue_detail", tag = "issues",
    params(("pid" = Uuid, Path), ("iid" = Uuid, Path)), responses((status = 200, body = IssueDetail), (status = 404)))]
pub async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_id, issue_id)): Path<(Uuid, Uuid)>,
) -> Result<axum::Json<IssueDetail>, ApiError> {
    scope(&state, &caller, project_id).await?;
    let row = fetch_rows(&state, project_id, &[issue_id]).await?.pop().ok_or(ApiError::NotFound)?;
    let grouping = sqlx::query!(
        r#"SELECT components AS "components: sqlx::types::Json<Vec<String>>", fingerprint,
                  ARRAY(SELECT m.fingerprint FROM merged_fingerprints m
                         WHERE m.project_id = i.project_id AND m.issue_id = i.id ORDER BY m.merged_at, m.fingerprint) AS "merged!"
             FROM issues i WHERE project_id = $1 AND id = $2"#,
        project_id,
        issue_id,
    )
    .fetch_one(&state.pool)
    .await?;
    // The tags come from columns the processor filled from each payload
    // (the payload is `json` text, parsed whole by every look inside it).
    let tag_rows: Vec<(String, String, i64)> = sqlx::query!(
        r#"WITH recent AS (
             SELECT release, environment, nullif(trim(concat_ws(' ', os, os_version)), '') AS os, device_model, runtime, tags
               FROM events
              WHERE project_id = $1 AND issue_id = $2 ORDER BY timestamp DESC, id DESC LIMIT $3),
         vals AS (
             SELECT 'release' AS key, release AS value FROM recent
             UNION ALL SELECT 'environment', environment FROM recent
             UNION ALL SELECT 'os', os FROM recent
             UNION ALL SELECT 'deviceModel', device_model FROM recent
             UNION ALL SELECT 'runtime', runtime FROM recent
             UNION ALL SELECT $4 || t.key, t.value FROM recent CROSS JOIN LATERAL jsonb_each_text(recent.tags) AS t),
         counted AS (
             SELECT key, value, count(*) AS n,
                    row_number() OVER (PARTITION BY key ORDER BY count(*) DESC, value) AS rank
               FROM vals WHERE value IS NOT NULL AND value <> '' GROUP BY key, value)
         SELECT key AS "key!", value AS "value!", n AS "n!" FROM counted WHERE rank <= 10 ORDER BY key, n DESC, value"#,
        project_id,
        issue_id,
        TAG_SAMPLE,
        CUSTOM_TAG_PREFIX,
    )
    .map(|row| (row.key, row.value, row.n))
    .fetch_all(&state.pool)
    .await?;
    let mut tags = serde_json::Map::new();
    for key in TAG_KEYS {
        tags.insert(key.into(), serde_json::Value::Array(Vec::new()));
    }
    let mut custom: HashMap<String, Vec<TagValue>> = HashMap::new();
    for (key, value, count) in tag_rows {
        match key.strip_prefix(CUSTOM_TAG_PREFIX) {
            Some(custom_key) => custom.entry(custom_key.to_owned()).or_default().push(TagValue { value, count }),
            None => {
                if let Some(serde_json::Value::Array(values)) = tags.get_mut(&key) {
                    values.push(serde_json::json!({ "value": value, "count": count }));
                }
            }
        }
    }
    let custom_tags = most_common_keys(custom, CUSTOM_TAG_KEYS);
    let ends = sqlx::query!(
        r#"SELECT (SELECT id FROM events WHERE project_id = $1 AND issue_id = $2 ORDER BY timestamp DESC, id DESC LIMIT 1) AS "latest?",
                  (SELECT id FROM events WHERE project_id = $1 AND issue_id = $2 ORDER BY timestamp ASC, id ASC LIMIT 1) AS "oldest?""#,
        project_id,
        issue_id,
    )
    .fetch_one(&state.pool)
    .await?;
    Ok(axum::Json(IssueDetail {
        row,
        fingerprint: grouping.components.0,
        fingerprint_hash: grouping.fingerprint,
        merged_fingerprints: grouping.merged,
        tags,
        custom_tags,
        latest_event_id: ends.latest,
        oldest_event_id: ends.oldest,
    }))
}

/// The `limit` keys seen on the most events (ties by name), in that order.
fn most_common_keys(by_key: HashMap<String, Vec<TagValue>>, limit: usize) -> serde_json::Map<String, serde_json::Value> {
    let mut keys: Vec<(String, Vec<TagValue>)> = by_key.into_iter().collect();
    let total = |values: &[TagValue]| values.iter().map(|v| v.count).sum::<i64>();
    keys.sort_by(|(a, va), (b, vb)| total(vb).cmp(&total(va)).then_with(|| a.cmp(b)));
    keys.into_iter()
        .take(limit)
        .map(|(key, values)| (key, serde_json::to_value(values).unwrap_or_default()))
        .collect()
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistogramBucket {
    /// The bucket's first instant (a UTC hour or day); it ends where the next begins.
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    pub count: i64,
}

/// The values of the `issues.status` column, for the document: the rows carry
/// the column's text as it is.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum IssueStatus {
    Active,
    Regressed,
    Resolved,
    Silenced,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Histogram {
    pub period: Period,
    pub bucket: BucketUnit,
    /// Oldest first; the last is the current (partial) hour or day.
    pub buckets: Vec<HistogramBucket>,
}

/// An issue's events over the last 24 hours, 14 or 90 days, counted by
/// when they happened (the hour of their `timestamp`, or of their arrival
/// when the timestamp is later).
#[utoipa::path(get, path = "/projects/{pid}/issues/{iid}/histogram", tag = "issues",
    params(("pid" = Uuid, Path), ("iid" = Uuid, Path), HistogramParams),
    responses((status = 200, body = Histogram), (status = 400), (status = 404)))]
pub async fn histogram(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_id, issue_id)): Path<(Uuid, Uuid)>,
    period: Period,
) -> Result<axum::Json<Histogram>, ApiError> {
    scope(&state, &caller, project_id).await?;
    // No rows at all: the issue does not exist.
    let query = format!(
        "WITH {}
         SELECT b.start, coalesce(sum(h.count), 0)::bigint
           FROM buckets b
           LEFT JOIN issue_hourly h
             ON h.project_id = $1 AND h.issue_id = $2 AND h.hour >= b.start AND h.hour < b.start + make_interval(hours => $4)
          GROUP BY b.start ORDER BY b.start",
        buckets_cte("EXISTS (SELECT 1 FROM issues WHERE project_id = $1 AND id = $2)")
    );
    let rows: Vec<(OffsetDateTime, i64)> =
        period.bind_buckets(sqlx::query_as(&query).bind(project_id).bind(issue_id)).fetch_all(&state.reads).await?;
    if rows.is_empty() {
        return Err(ApiError::NotFound);
    }
    let buckets = rows.into_iter().map(|(start, count)| HistogramBucket { start, count }).collect();
    Ok(axum::Json(Histogram { period, bucket: period.unit(), buckets }))
}
