//! A release's hourly counts and users (`release_hourly`, `release_users`),
//! which only the processor writes. The release rows themselves are
//! written by `sentori_store::releases`.

use std::collections::BTreeMap;

use sqlx::{Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

/// What one hour of one release adds to `release_hourly`.
#[derive(Debug, Default, Clone, Copy)]
pub struct HourCounts {
    pub events: i64,
    pub sessions: i64,
    pub crashed_sessions: i64,
}

/// Adds counts to releases' hours (keyed by release name and the hour from
/// [`crate::hour::counted_hour`]). The releases must exist: callers record
/// them first.
pub async fn add_hours(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    hours: &BTreeMap<(&str, OffsetDateTime), HourCounts>,
) -> Result<(), sqlx::Error> {
    if hours.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = hours.keys().map(|(name, _)| sentori_protocol::release_id(project_id, name)).collect();
    let starts: Vec<OffsetDateTime> = hours.keys().map(|(_, hour)| *hour).collect();
    let column = |f: fn(&HourCounts) -> i64| hours.values().map(f).collect::<Vec<i64>>();
    sqlx::query!(
        "INSERT INTO release_hourly (project_id, release_id, hour, events, sessions, crashed_sessions)
         SELECT $1, u.* FROM UNNEST($2::uuid[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::bigint[]) AS u
         ON CONFLICT (project_id, release_id, hour) DO UPDATE
            SET events = release_hourly.events + EXCLUDED.events,
                sessions = release_hourly.sessions + EXCLUDED.sessions,
                crashed_sessions = release_hourly.crashed_sessions + EXCLUDED.crashed_sessions",
        project_id,
        &ids,
        &starts,
        &column(|c| c.events),
        &column(|c| c.sessions),
        &column(|c| c.crashed_sessions),
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records a session's user in its release; a user with any crashed session
/// in it stays crashed.
pub async fn record_user(
    tx: &mut Transaction<'_, Postgres>,
    project_id: Uuid,
    release: &str,
    user_key: &str,
    crashed: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO release_users (project_id, release_id, user_key, crashed) VALUES ($1, $2, $3, $4)
         ON CONFLICT (project_id, release_id, user_key) DO UPDATE SET crashed = true
            WHERE EXCLUDED.crashed AND NOT release_users.crashed",
        project_id,
        sentori_protocol::release_id(project_id, release),
        user_key,
        crashed,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
