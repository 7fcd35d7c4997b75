//! Every write to issues and what hangs off one (its activity log, users,
//! hourly counts, merged fingerprints): the processor's (issues created
//! from a batch, its counts, regressions, silences that end by
//! themselves) and triage's (a status or an assignee set, issues merged
//! into one, issues deleted with their events). Each change goes into the
//! issue's activity log in the same statement, so a log never names a
//! change that did not happen.
//!
//! Issues are locked in the order the processor locks issue rows (their
//! fingerprints), so triage and a batch never wait for each other in a
//! circle; a batch that looked an issue up before it was merged or deleted
//! finds it gone and is redone.

use sqlx::PgConnection;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

/// The short id (`SHOPWEB-12`) of the issue `i`, as SQL: the project's
/// name in letters and digits, then the issue's number.
#[macro_export]
macro_rules! short_id_sql {
    () => {
        "(SELECT coalesce(nullif(upper(left(regexp_replace(p.name, '[^A-Za-z0-9]', '', 'g'), 10)), ''), 'ISSUE')
            FROM projects p WHERE p.id = i.project_id) || '-' || i.short_id"
    };
}

/// Who made a change, as the activity log names them.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// `dashboard`, `token` or `processor`.
    pub kind: &'a str,
    pub name: Option<&'a str>,
}

/// A status to set; the fields besides `status` apply only to the status they name.
#[derive(Debug, Clone, Copy)]
pub struct StatusChange<'a> {
    pub status: &'a str,
    /// With `resolved`: the release the fix ships in.
    pub resolved_in_release: Option<&'a str>,
    /// With `silenced`: how long, and how many more events, the silence lasts.
    pub silence_for_seconds: Option<i64>,
    pub silence_for_events: Option<i64>,
}

/// When, in which release and environment a batch saw an issue.
#[derive(Debug, Clone, Copy)]
pub struct Sighting<'a> {
    pub at: OffsetDateTime,
    pub release: &'a str,
    pub environment: &'a str,
}

/// An issue a batch found no row for, with zero counts ([`add_counts`]
/// adds the batch's).
#[derive(Debug, Clone, Copy)]
pub struct NewIssue<'a> {
    pub id: Uuid,
    pub short_id: i64,
    pub fingerprint: &'a str,
    /// What the fingerprint hashes, so the dashboard can explain the grouping.
    pub components: &'a [String],
    pub title: &'a str,
    pub culprit: Option<&'a str>,
    pub error_type: Option<&'a str>,
    pub kind: &'a str,
    pub level: &'a str,
    pub first: Sighting<'a>,
    pub last: Sighting<'a>,
    /// The event it was first seen in, for its activity log.
    pub first_event: Uuid,
}

/// Creates `issues`, logging each as first seen, unless another batch
/// created an issue of the same fingerprint first; answers the fingerprint
/// and id of each this call created.
pub async fn create<'a>(tx: &mut PgConnection, project_id: Uuid, issues: &[NewIssue<'a>]) -> Result<Vec<(String, Uuid)>, sqlx::Error> {
    let column = |f: fn(&NewIssue<'a>) -> &'a str| issues.iter().map(f).collect::<Vec<_>>();
    let ids: Vec<Uuid> = issues.iter().map(|i| i.id).collect();
    let shorts: Vec<i64> = issues.iter().map(|i| i.short_id).collect();
    let components: Vec<Json<&[String]>> = issues.iter().map(|i| Json(i.components)).collect();
    let culprits: Vec<Option<&str>> = issues.iter().map(|i| i.culprit).collect();
    let types: Vec<Option<&str>> = issues.iter().map(|i| i.error_type).collect();
    let firsts: Vec<OffsetDateTime> = issues.iter().map(|i| i.first.at).collect();
    let lasts: Vec<OffsetDateTime> = issues.iter().map(|i| i.last.at).collect();
    let first_events: Vec<Uuid> = issues.iter().map(|i| i.first_event).collect();
    sqlx::query!(
        r#"WITH created AS (
             INSERT INTO issues (project_id, id, short_id, fingerprint, components, title, culprit, type, kind, level,
                                 first_seen, last_seen, first_release, last_release, last_environment)
             SELECT $1, u.* FROM UNNEST($2::uuid[], $3::bigint[], $4::text[], $5::jsonb[], $6::text[], $7::text[],
                                        $8::text[], $9::text[], $10::text[], $11::timestamptz[], $12::timestamptz[],
                                        $13::text[], $14::text[], $15::text[]) AS u
             ON CONFLICT (project_id, fingerprint) DO NOTHING
             RETURNING fingerprint, id),
         logged AS (
             INSERT INTO issue_activity (project_id, issue_id, kind, actor, data)
             SELECT $1, created.id, 'firstSeen', 'processor', jsonb_build_object('eventId', f.event_id, 'release', nullif(f.release, ''))
               FROM created JOIN UNNEST($4::text[], $16::uuid[], $13::text[]) AS f(fingerprint, event_id, release) USING (fingerprint))
         SELECT fingerprint AS "fingerprint!", id AS "id!" FROM created"#,
        project_id,
        &ids,
        &shorts,
        column(|i| i.fingerprint) as _,
        &components as _,
        column(|i| i.title) as _,
        &culprits as _,
        &types as _,
        column(|i| i.kind) as _,
        column(|i| i.level) as _,
        &firsts,
        &lasts,
        column(|i| i.first.release) as _,
        column(|i| i.last.release) as _,
        column(|i| i.last.environment) as _,
        &first_events,
    )
    .map(|row| (row.fingerprint, row.id))
    .fetch_all(tx)
    .await
}

/// What a batch adds to one issue.
#[derive(Debug, Clone, Copy)]
pub struct Counts<'a> {
    pub id: Uuid,
    pub events: i64,
    /// Users the issue had not seen before ([`add_users`] says which).
    pub new_users: i64,
    pub first: Sighting<'a>,
    pub last: Sighting<'a>,
    pub level: &'a str,
}

/// One update per issue: event and user counts, first and last seen with
/// their releases, the latest environment and level. Answers how many
/// issues were there to update (one deleted or merged since it was looked
/// up is not).
pub async fn add_counts<'a>(tx: &mut PgConnection, project_id: Uuid, counts: &[Counts<'a>]) -> Result<u64, sqlx::Error> {
    let column = |f: fn(&Counts<'a>) -> &'a str| counts.iter().map(f).collect::<Vec<_>>();
    let ids: Vec<Uuid> = counts.iter().map(|c| c.id).collect();
    let events: Vec<i64> = counts.iter().map(|c| c.events).collect();
    let users: Vec<i64> = counts.iter().map(|c| c.new_users).collect();
    let firsts: Vec<OffsetDateTime> = counts.iter().map(|c| c.first.at).collect();
    let lasts: Vec<OffsetDateTime> = counts.iter().map(|c| c.last.at).collect();
    let updated = sqlx::query!(
        "UPDATE issues AS i SET
             event_count      = i.event_count + u.count,
             user_count       = i.user_count + u.users,
             first_release    = CASE WHEN u.first_seen < i.first_seen THEN u.first_release ELSE i.first_release END,
             first_seen       = LEAST(i.first_seen, u.first_seen),
             last_release     = CASE WHEN u.last_seen >= i.last_seen THEN u.last_release ELSE i.last_release END,
             last_environment = CASE WHEN u.last_seen >= i.last_seen THEN u.last_environment ELSE i.last_environment END,
             level            = CASE WHEN u.last_seen >= i.last_seen THEN u.level ELSE i.level END,
             last_seen        = GREATEST(i.last_seen, u.last_seen)
           FROM UNNEST($2::uuid[], $3::bigint[], $4::bigint[], $5::timestamptz[], $6::timestamptz[], $7::text[],
                       $8::text[], $9::text[], $10::text[])
                AS u(id, count, users, first_seen, last_seen, first_release, last_release, last_environment, level)
          WHERE i.project_id = $1 AND i.id = u.id",
        project_id,
        &ids,
        &events,
        &users,
        &firsts,
        &lasts,
        column(|c| c.first.release) as _,
        column(|c| c.last.release) as _,
        column(|c| c.last.environment) as _,
        column(|c| c.level) as _,
    )
    .execute(tx)
    .await?;
    Ok(updated.rows_affected())
}

/// The newest release a batch saw an issue in, with when that release was first seen.
#[derive(Debug, Clone, Copy)]
pub struct NewestRelease<'a> {
    pub id: Uuid,
    pub first_seen: Option<OffsetDateTime>,
    pub release: Option<&'a str>,
}

/// Resolved issues seen in a newer release than the one they were
/// resolved in turn `regressed`, logged with their regression number. The
/// row lock this takes makes the decision once: a concurrent processor
/// waits, then finds the issue no longer `resolved`. Answers each
/// regressed issue with its number.
pub async fn regress(tx: &mut PgConnection, project_id: Uuid, seen: &[NewestRelease<'_>]) -> Result<Vec<(Uuid, i64)>, sqlx::Error> {
    let ids: Vec<Uuid> = seen.iter().map(|s| s.id).collect();
    let newest: Vec<Option<OffsetDateTime>> = seen.iter().map(|s| s.first_seen).collect();
    let releases: Vec<Option<&str>> = seen.iter().map(|s| s.release).collect();
    sqlx::query!(
        r#"WITH regressed AS (
             UPDATE issues AS i
                SET status = 'regressed', regressed_at = now(), regression_count = i.regression_count + 1,
                    regressed_in_release = b.newest_release
               FROM UNNEST($2::uuid[], $3::timestamptz[], $4::text[]) AS b(id, newest_release_seen, newest_release)
              WHERE i.project_id = $1 AND i.id = b.id AND i.status = 'resolved'
                AND (i.resolved_in_release IS NULL
                     OR b.newest_release_seen > COALESCE(
                            (SELECT r.first_seen FROM releases r
                              WHERE r.project_id = i.project_id AND r.name = i.resolved_in_release),
                            i.resolved_at))
          RETURNING i.id, i.regression_count, b.newest_release),
         logged AS (
             INSERT INTO issue_activity (project_id, issue_id, kind, actor, data)
             SELECT $1, id, 'regressed', 'processor',
                    jsonb_build_object('occurrence', regression_count, 'release', nullif(newest_release, ''))
               FROM regressed)
         SELECT id AS "id!", regression_count AS "regression_count!" FROM regressed"#,
        project_id,
        &ids,
        &newest as _,
        &releases as _,
    )
    .map(|row| (row.id, row.regression_count))
    .fetch_all(tx)
    .await
}

/// Records which users each issue was seen by (issue, user key, first
/// seen); answers, per issue, how many it had never seen before.
pub async fn add_users(tx: &mut PgConnection, project_id: Uuid, users: &[(Uuid, &str, OffsetDateTime)]) -> Result<Vec<(Uuid, i64)>, sqlx::Error> {
    let issue_ids: Vec<Uuid> = users.iter().map(|(issue, ..)| *issue).collect();
    let keys: Vec<&str> = users.iter().map(|(_, key, _)| *key).collect();
    let firsts: Vec<OffsetDateTime> = users.iter().map(|(.., first)| *first).collect();
    sqlx::query!(
        r#"WITH new_users AS (
             INSERT INTO issue_users (project_id, issue_id, user_key, first_seen)
             SELECT $1, u.* FROM UNNEST($2::uuid[], $3::text[], $4::timestamptz[]) AS u
             ON CONFLICT DO NOTHING
             RETURNING issue_id)
         SELECT issue_id AS "issue_id!", count(*) AS "new!" FROM new_users GROUP BY issue_id"#,
        project_id,
        &issue_ids,
        &keys as _,
        &firsts,
    )
    .map(|row| (row.issue_id, row.new))
    .fetch_all(tx)
    .await
}

/// Adds events to issues' hourly counts (issue, hour, events).
pub async fn add_hours(tx: &mut PgConnection, project_id: Uuid, hours: &[(Uuid, OffsetDateTime, i64)]) -> Result<(), sqlx::Error> {
    let issue_ids: Vec<Uuid> = hours.iter().map(|(issue, ..)| *issue).collect();
    let starts: Vec<OffsetDateTime> = hours.iter().map(|(_, hour, _)| *hour).collect();
    let counts: Vec<i64> = hours.iter().map(|(.., count)| *count).collect();
    sqlx::query!(
        "INSERT INTO issue_hourly (project_id, issue_id, hour, count)
         SELECT $1, u.* FROM UNNEST($2::uuid[], $3::timestamptz[], $4::bigint[]) AS u
         ON CONFLICT (project_id, issue_id, hour) DO UPDATE SET count = issue_hourly.count + EXCLUDED.count",
        project_id,
        &issue_ids,
        &starts,
        &counts,
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// Locks the project's issues `ids` (see the module's note); answers those that exist.
pub async fn lock(tx: &mut PgConnection, project_id: Uuid, ids: &[Uuid]) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "SELECT id FROM issues WHERE project_id = $1 AND id = ANY($2) ORDER BY fingerprint FOR UPDATE",
        project_id,
        ids,
    )
    .fetch_all(tx)
    .await
}

/// Sets the status of `ids`: resolving records `resolved_at`, silencing
/// when the silence ends; anything else clears what the other statuses
/// set. Logs a change of status, of resolving release, or a new silence.
/// Answers the ids that exist.
pub async fn set_status(
    tx: &mut PgConnection,
    project_id: Uuid,
    ids: &[Uuid],
    change: StatusChange<'_>,
    actor: Actor<'_>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "WITH changed AS (
             UPDATE issues SET status = $3,
                    resolved_in_release = CASE WHEN $3 = 'resolved' THEN $4 END,
                    resolved_at = CASE WHEN $3 = 'resolved' THEN now() END,
                    silenced_until = CASE WHEN $3 = 'silenced' THEN now() + make_interval(secs => $5) END,
                    silenced_until_event_count = CASE WHEN $3 = 'silenced' THEN event_count + $6 END
              WHERE project_id = $1 AND id = ANY($2)
          RETURNING id, old.status AS was, old.resolved_in_release AS was_in, new.status, new.resolved_in_release,
                    new.silenced_until, new.silenced_until_event_count),
         logged AS (
             INSERT INTO issue_activity (project_id, issue_id, kind, actor, actor_name, data)
             SELECT $1, id, 'status', $7, $8,
                    jsonb_strip_nulls(jsonb_build_object('from', was, 'to', status, 'resolvedInRelease', resolved_in_release,
                                                         'silencedUntil', silenced_until,
                                                         'silencedUntilEventCount', silenced_until_event_count))
               FROM changed
              WHERE was <> status OR status = 'silenced' OR resolved_in_release IS DISTINCT FROM was_in)
         SELECT id FROM changed",
        project_id,
        ids,
        change.status,
        change.resolved_in_release,
        change.silence_for_seconds.map(|s| s as f64),
        change.silence_for_events,
        actor.kind,
        actor.name,
    )
    .fetch_all(tx)
    .await
}

/// Assigns `ids` to `assignee` (`None`: to no one), logging each change;
/// answers the ids that exist.
pub async fn assign(
    tx: &mut PgConnection,
    project_id: Uuid,
    ids: &[Uuid],
    assignee: Option<&str>,
    actor: Actor<'_>,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar!(
        "WITH changed AS (
             UPDATE issues SET assignee = $3 WHERE project_id = $1 AND id = ANY($2)
          RETURNING id, old.assignee AS was, new.assignee),
         logged AS (
             INSERT INTO issue_activity (project_id, issue_id, kind, actor, actor_name, data)
             SELECT $1, id, 'assigned', $4, $5, jsonb_strip_nulls(jsonb_build_object('from', was, 'to', assignee))
               FROM changed WHERE was IS DISTINCT FROM assignee)
         SELECT id FROM changed",
        project_id,
        ids,
        assignee,
        actor.kind,
        actor.name,
    )
    .fetch_all(tx)
    .await
}

/// Merges `sources` into `target`, all locked by [`lock`] first: their
/// events, users and hourly counts move to the target, their counters add
/// up, and their fingerprints (with those merged into them before) route
/// new events to the target from now on; the sources are gone.
pub async fn merge(
    tx: &mut PgConnection,
    project_id: Uuid,
    sources: &[Uuid],
    target: Uuid,
    actor: Actor<'_>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "WITH repointed AS (UPDATE merged_fingerprints SET issue_id = $3 WHERE project_id = $1 AND issue_id = ANY($2))
         INSERT INTO merged_fingerprints (project_id, fingerprint, issue_id)
         SELECT project_id, fingerprint, $3 FROM issues WHERE project_id = $1 AND id = ANY($2)",
        project_id,
        sources,
        target,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE events SET issue_id = $3 WHERE project_id = $1 AND issue_id = ANY($2)",
        project_id,
        sources,
        target,
    )
    .execute(&mut *tx)
    .await?;
    // A user of several of the issues counts once: only users new to the target add to its count.
    let new_users = sqlx::query_scalar!(
        r#"WITH moved AS (
             INSERT INTO issue_users (project_id, issue_id, user_key, first_seen)
             SELECT $1, $3, user_key, min(first_seen) FROM issue_users
              WHERE project_id = $1 AND issue_id = ANY($2) GROUP BY user_key
             ON CONFLICT DO NOTHING RETURNING 1),
              hours AS (
             INSERT INTO issue_hourly (project_id, issue_id, hour, count)
             SELECT $1, $3, hour, sum(count) FROM issue_hourly WHERE project_id = $1 AND issue_id = ANY($2) GROUP BY hour
             ON CONFLICT (project_id, issue_id, hour) DO UPDATE SET count = issue_hourly.count + EXCLUDED.count)
         SELECT count(*) AS "moved!" FROM moved"#,
        project_id,
        sources,
        target,
    )
    .fetch_one(&mut *tx)
    .await?;
    // The counters add up; first and last seen (with their release,
    // environment and level) come from whichever issue saw them. A silence
    // until N more events keeps waiting for N events that arrive from now on.
    sqlx::query!(
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
        project_id,
        sources,
        target,
        new_users,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query(concat!(
        "INSERT INTO issue_activity (project_id, issue_id, kind, actor, actor_name, data)
         SELECT $1, $3, 'merged', $4, $5,
                jsonb_build_object('issueId', i.id, 'shortId', ",
        short_id_sql!(),
        ", 'title', i.title, 'eventCount', i.event_count)
           FROM issues i WHERE i.project_id = $1 AND i.id = ANY($2) ORDER BY i.short_id"
    ))
    .bind(project_id)
    .bind(sources)
    .bind(target)
    .bind(actor.kind)
    .bind(actor.name)
    .execute(&mut *tx)
    .await?;
    forget(tx, project_id, sources).await
}

/// Deletes the issues `ids` (locked by [`lock`]) with their events;
/// answers the events' ids, whose attachments are the caller's to delete
/// (`crate::attachments::delete_of_events`, a chunk per transaction). The
/// ids stay in `event_ids`, so an SDK resending one does not bring it back.
pub async fn delete(tx: &mut PgConnection, project_id: Uuid, ids: &[Uuid]) -> Result<Vec<Uuid>, sqlx::Error> {
    let events = sqlx::query_scalar!(
        "DELETE FROM events WHERE project_id = $1 AND issue_id = ANY($2) RETURNING id",
        project_id,
        ids,
    )
    .fetch_all(&mut *tx)
    .await?;
    forget(tx, project_id, ids).await?;
    Ok(events)
}

/// Deletes the issues `ids` and what hangs off them besides their events:
/// users and hourly counts (no foreign keys, for the processor's sake),
/// unpublished announcements and the notifier's records. The search
/// document, activity log and merged fingerprints go by foreign key.
async fn forget(tx: &mut PgConnection, project_id: Uuid, ids: &[Uuid]) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "WITH users AS (DELETE FROM issue_users WHERE project_id = $1 AND issue_id = ANY($2)),
              hours AS (DELETE FROM issue_hourly WHERE project_id = $1 AND issue_id = ANY($2)),
              outbox AS (DELETE FROM announcements WHERE project_id = $1 AND issue_id = ANY($2)),
              sent AS (DELETE FROM deliveries WHERE project_id = $1 AND issue_id = ANY($2)),
              held AS (DELETE FROM notify_digest_items WHERE project_id = $1 AND issue_id = ANY($2))
         DELETE FROM issues WHERE project_id = $1 AND id = ANY($2)",
        project_id,
        ids,
    )
    .execute(tx)
    .await?;
    Ok(())
}

/// Which silences [`end_silences`] looks at.
#[derive(Debug, Clone, Copy)]
pub enum SilenceScope<'a> {
    /// The project's issues a batch just counted events for: their silence
    /// ends at its time or at its event count.
    Counted(Uuid, &'a [Uuid]),
    /// Every silence whose time has passed (through the partial index `issues_silence_ends`).
    Due,
}

/// Ends the silences `scope` selects that have run out: the issue turns
/// `active` again, quietly (no announcement), with an entry in its log.
/// The row lock of the update decides once: a second processor waits, then
/// finds the issue no longer silenced. Answers how many ended.
pub async fn end_silences(conn: &mut PgConnection, scope: SilenceScope<'_>) -> Result<u64, sqlx::Error> {
    // One statement per scope, each checked when it compiles.
    macro_rules! end_where {
        ($scope:literal, $ended_when:literal $(, $arg:expr)*) => {
            sqlx::query!(
                "WITH ended AS (
                     UPDATE issues AS i SET status = 'active', silenced_until = NULL, silenced_until_event_count = NULL
                      WHERE i.status = 'silenced' AND " + $scope + " AND (" + $ended_when + ")
                  RETURNING i.project_id, i.id, CASE WHEN old.silenced_until <= now() THEN 'time' ELSE 'events' END AS reason)
                 INSERT INTO issue_activity (project_id, issue_id, kind, actor, data)
                 SELECT project_id, id, 'silenceEnded', 'processor', jsonb_build_object('reason', reason) FROM ended",
                $($arg),*
            )
            .execute(conn)
            .await?
        };
    }
    let done = match scope {
        SilenceScope::Counted(_, []) => return Ok(0),
        SilenceScope::Counted(project_id, issues) => end_where!(
            "i.project_id = $1 AND i.id = ANY($2)",
            "i.silenced_until <= now() OR i.event_count >= i.silenced_until_event_count",
            project_id,
            issues
        ),
        SilenceScope::Due => end_where!("i.silenced_until IS NOT NULL", "i.silenced_until <= now()"),
    };
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use sentori_testkit::TestStack;
    use sqlx::PgPool;

    use super::*;

    const DASHBOARD: Actor<'static> = Actor { kind: "dashboard", name: None };

    /// An issue numbered `n` with `events` events and `users` users, first
    /// and last seen `n` hours ago.
    async fn issue(pool: &PgPool, project_id: Uuid, n: i64, events: i64, users: &[&str]) -> Uuid {
        let id = Uuid::now_v7();
        sqlx::query(
            "INSERT INTO issues (project_id, id, short_id, fingerprint, components, title, kind, level, event_count, user_count,
                                 first_seen, last_seen, first_release, last_release, last_environment)
             VALUES ($1, $2, $3, $4, '[]', 'TypeError', 'error', 'error', $5, $6,
                     now() - make_interval(hours => $3::int), now() - make_interval(hours => $3::int),
                     'app@' || $3, 'app@' || $3, 'prod')",
        )
        .bind(project_id)
        .bind(id)
        .bind(n)
        .bind(format!("{n:032x}"))
        .bind(events)
        .bind(users.len() as i64)
        .execute(pool)
        .await
        .unwrap();
        for user in users {
            sqlx::query("INSERT INTO issue_users (project_id, issue_id, user_key, first_seen) VALUES ($1, $2, $3, now())")
                .bind(project_id)
                .bind(id)
                .bind(user)
                .execute(pool)
                .await
                .unwrap();
        }
        sqlx::query("INSERT INTO issue_hourly (project_id, issue_id, hour, count) VALUES ($1, $2, date_trunc('hour', now()), $3)")
            .bind(project_id)
            .bind(id)
            .bind(events)
            .execute(pool)
            .await
            .unwrap();
        id
    }

    async fn project(pool: &PgPool) -> Uuid {
        crate::projects::create(pool, "shop", None).await.unwrap().expect("the dev org holds it")
    }

    async fn activity(pool: &PgPool, id: Uuid) -> Vec<(String, serde_json::Value)> {
        sqlx::query_as("SELECT kind, data FROM issue_activity WHERE issue_id = $1 ORDER BY at, kind")
            .bind(id)
            .fetch_all(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_batch_creates_counts_and_regresses_issues() {
        let stack = TestStack::new().await;
        let pool = stack.pool().await;
        let project_id = project(&pool).await;
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let seen = |release| Sighting { at: now, release, environment: "prod" };
        let components = vec!["TypeError".to_owned()];
        let new = |n: i64, fingerprint| NewIssue {
            id: Uuid::now_v7(),
            short_id: n,
            fingerprint,
            components: &components,
            title: "TypeError",
            culprit: Some("app.js in render"),
            error_type: Some("TypeError"),
            kind: "error",
            level: "error",
            first: seen("app@1"),
            last: seen("app@1"),
            first_event: Uuid::now_v7(),
        };
        let fingerprint = format!("{:032x}", 7);
        let mut tx = pool.begin().await.unwrap();
        let created = create(&mut tx, project_id, &[new(1, &fingerprint)]).await.unwrap();
        assert_eq!(created.len(), 1);
        assert!(create(&mut tx, project_id, &[new(2, &fingerprint)]).await.unwrap().is_empty(), "another batch's issue stands");
        let id = created[0].1;
        let users = [(id, "user:a", now), (id, "user:b", now)];
        assert_eq!(add_users(&mut tx, project_id, &users).await.unwrap(), [(id, 2)]);
        assert_eq!(add_users(&mut tx, project_id, &users[..1]).await.unwrap(), [], "seen before");
        add_hours(&mut tx, project_id, &[(id, now, 3)]).await.unwrap();
        add_hours(&mut tx, project_id, &[(id, now, 2)]).await.unwrap();
        let counts = Counts { id, events: 5, new_users: 2, first: seen("app@1"), last: seen("app@2"), level: "fatal" };
        assert_eq!(add_counts(&mut tx, project_id, &[counts, Counts { id: Uuid::now_v7(), ..counts }]).await.unwrap(), 1);
        tx.commit().await.unwrap();
        let row: (i64, i64, String, String) = sqlx::query_as("SELECT event_count, user_count, last_release, level FROM issues WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(row, (5, 2, "app@2".to_owned(), "fatal".to_owned()));
        let hourly: i64 = sqlx::query_scalar("SELECT count FROM issue_hourly WHERE issue_id = $1").bind(id).fetch_one(&pool).await.unwrap();
        assert_eq!(hourly, 5);

        let mut conn = pool.acquire().await.unwrap();
        let newer = NewestRelease { id, first_seen: Some(now + time::Duration::hours(1)), release: Some("app@3") };
        assert!(regress(&mut conn, project_id, &[newer]).await.unwrap().is_empty(), "an active issue does not regress");
        let resolve = StatusChange { status: "resolved", resolved_in_release: None, silence_for_seconds: None, silence_for_events: None };
        set_status(&mut conn, project_id, &[id], resolve, DASHBOARD).await.unwrap();
        assert_eq!(regress(&mut conn, project_id, &[newer]).await.unwrap(), [(id, 1)]);
        let log = activity(&pool, id).await;
        assert!(log.iter().any(|(kind, data)| kind == "firstSeen" && data["release"] == "app@1"), "{log:?}");
        assert!(log.iter().any(|(kind, data)| kind == "regressed" && data["occurrence"] == 1 && data["release"] == "app@3"), "{log:?}");
    }

    #[tokio::test]
    async fn a_status_or_assignee_is_logged_only_when_it_changes() {
        let stack = TestStack::new().await;
        let pool = stack.pool().await;
        let project_id = project(&pool).await;
        let id = issue(&pool, project_id, 1, 3, &[]).await;
        let resolve = StatusChange { status: "resolved", resolved_in_release: Some("app@2"), silence_for_seconds: None, silence_for_events: None };
        let mut conn = pool.acquire().await.unwrap();
        assert_eq!(set_status(&mut conn, project_id, &[id, Uuid::now_v7()], resolve, DASHBOARD).await.unwrap(), [id]);
        assert_eq!(set_status(&mut conn, project_id, &[id], resolve, DASHBOARD).await.unwrap(), [id], "found, unchanged");
        let ann = Actor { kind: "token", name: Some("ci …abcd") };
        assign(&mut conn, project_id, &[id], Some("ann@example.com"), ann).await.unwrap();
        assign(&mut conn, project_id, &[id], Some("ann@example.com"), ann).await.unwrap();
        let log = activity(&pool, id).await;
        assert_eq!(log.len(), 2, "{log:?}");
        assert!(log.iter().any(|(kind, data)| kind == "status" && data["to"] == "resolved" && data["resolvedInRelease"] == "app@2"));
        assert!(log.iter().any(|(kind, data)| kind == "assigned" && data["to"] == "ann@example.com"));
        assert!(assign(&mut conn, Uuid::now_v7(), &[id], None, DASHBOARD).await.unwrap().is_empty(), "another project's issue");
    }

    #[tokio::test]
    async fn a_silence_ends_at_its_event_count_or_its_time() {
        let stack = TestStack::new().await;
        let pool = stack.pool().await;
        let project_id = project(&pool).await;
        let (by_events, by_time) = (issue(&pool, project_id, 1, 3, &[]).await, issue(&pool, project_id, 2, 3, &[]).await);
        let mut conn = pool.acquire().await.unwrap();
        let silence = |seconds, events| StatusChange { status: "silenced", resolved_in_release: None, silence_for_seconds: seconds, silence_for_events: events };
        set_status(&mut conn, project_id, &[by_events], silence(None, Some(2)), DASHBOARD).await.unwrap();
        set_status(&mut conn, project_id, &[by_time], silence(Some(0), None), DASHBOARD).await.unwrap();
        let counted = SilenceScope::Counted(project_id, std::slice::from_ref(&by_events));
        assert_eq!(end_silences(&mut conn, counted).await.unwrap(), 0, "one more event is not enough");
        sqlx::query("UPDATE issues SET event_count = event_count + 2 WHERE id = $1").bind(by_events).execute(&pool).await.unwrap();
        assert_eq!(end_silences(&mut conn, counted).await.unwrap(), 1);
        assert_eq!(end_silences(&mut conn, SilenceScope::Due).await.unwrap(), 1);
        assert_eq!(end_silences(&mut conn, SilenceScope::Due).await.unwrap(), 0, "a silence ends once");
        for (id, reason) in [(by_events, "events"), (by_time, "time")] {
            let status: String = sqlx::query_scalar("SELECT status FROM issues WHERE id = $1").bind(id).fetch_one(&pool).await.unwrap();
            assert_eq!(status, "active");
            assert!(activity(&pool, id).await.iter().any(|(kind, data)| kind == "silenceEnded" && data["reason"] == reason));
        }
    }

    #[tokio::test]
    async fn a_merge_adds_up_counts_and_users_once_and_routes_the_fingerprints() {
        let stack = TestStack::new().await;
        let pool = stack.pool().await;
        let project_id = project(&pool).await;
        let target = issue(&pool, project_id, 1, 3, &["user:a", "user:b"]).await;
        let source = issue(&pool, project_id, 5, 2, &["user:b", "user:c"]).await;
        let mut tx = pool.begin().await.unwrap();
        assert_eq!(lock(&mut tx, project_id, &[source, target, Uuid::now_v7()]).await.unwrap().len(), 2);
        merge(&mut tx, project_id, &[source], target, DASHBOARD).await.unwrap();
        tx.commit().await.unwrap();
        let (events, users, first_release): (i64, i64, String) =
            sqlx::query_as("SELECT event_count, user_count, first_release FROM issues WHERE id = $1").bind(target).fetch_one(&pool).await.unwrap();
        assert_eq!((events, users), (5, 3), "user:b counts once");
        assert_eq!(first_release, "app@5", "the source was seen first");
        let hourly: i64 = sqlx::query_scalar("SELECT sum(count)::bigint FROM issue_hourly WHERE issue_id = $1").bind(target).fetch_one(&pool).await.unwrap();
        assert_eq!(hourly, 5);
        let routed: Uuid = sqlx::query_scalar("SELECT issue_id FROM merged_fingerprints WHERE fingerprint = $1")
            .bind(format!("{:032x}", 5))
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(routed, target);
        let gone: i64 = sqlx::query_scalar("SELECT count(*) FROM issues WHERE id = $1").bind(source).fetch_one(&pool).await.unwrap();
        assert_eq!(gone, 0);
        let log = activity(&pool, target).await;
        assert!(log.iter().any(|(kind, data)| kind == "merged" && data["shortId"] == "SHOP-5" && data["eventCount"] == 2), "{log:?}");
    }

    #[tokio::test]
    async fn a_deleted_issue_takes_its_users_and_hourly_counts() {
        let stack = TestStack::new().await;
        let pool = stack.pool().await;
        let project_id = project(&pool).await;
        let id = issue(&pool, project_id, 1, 3, &["user:a"]).await;
        let kept = issue(&pool, project_id, 2, 1, &["user:a"]).await;
        let mut tx = pool.begin().await.unwrap();
        assert_eq!(lock(&mut tx, project_id, &[id]).await.unwrap(), [id]);
        assert!(delete(&mut tx, project_id, &[id]).await.unwrap().is_empty(), "it had no stored events");
        tx.commit().await.unwrap();
        for table in ["issues", "issue_users", "issue_hourly"] {
            let column = if table == "issues" { "id" } else { "issue_id" };
            let left: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE {column} = ANY($1)"))
                .bind([id, kept])
                .fetch_one(&pool)
                .await
                .unwrap();
            assert_eq!(left, 1, "{table}: only the other issue's row is left");
        }
    }
}
