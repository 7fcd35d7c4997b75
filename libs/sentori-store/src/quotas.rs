//! Durable monthly usage per org, the PostgreSQL copy of ingest's Valkey
//! quota counters: the processor adds what it stores, and ingest seeds a
//! missing counter (after a Valkey restart) from here.

use std::collections::BTreeMap;

use sqlx::{Executor, PgPool, Postgres};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// What a quota counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Category {
    Events,
    Spans,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Events => "events",
            Category::Spans => "spans",
        }
    }
}

/// The first day of the UTC month of `at`.
pub fn month_of(at: OffsetDateTime) -> Date {
    crate::partitions::month_start(at.to_offset(time::UtcOffset::UTC), 0)
}

/// Adds stored items per (org, month) inside the caller's transaction.
pub async fn add_usage<'e>(
    executor: impl Executor<'e, Database = Postgres>,
    category: Category,
    counts: &BTreeMap<(Uuid, Date), i64>,
) -> Result<(), sqlx::Error> {
    if counts.is_empty() {
        return Ok(());
    }
    let orgs: Vec<Uuid> = counts.keys().map(|(org, _)| *org).collect();
    let months: Vec<Date> = counts.keys().map(|(_, month)| *month).collect();
    let used: Vec<i64> = counts.values().copied().collect();
    sqlx::query!(
        "INSERT INTO quota_usage (org_id, month, category, used)
         SELECT u.org_id, u.month, $4, u.used FROM UNNEST($1::uuid[], $2::date[], $3::bigint[]) AS u(org_id, month, used)
         ON CONFLICT (org_id, month, category) DO UPDATE SET used = quota_usage.used + EXCLUDED.used",
        &orgs,
        &months,
        &used,
        category.as_str(),
    )
    .execute(executor)
    .await?;
    Ok(())
}

/// The stored usage of one org in one month.
pub async fn usage(pool: &PgPool, org_id: Uuid, month: Date, category: Category) -> Result<i64, sqlx::Error> {
    let used = sqlx::query_scalar!(
        "SELECT used FROM quota_usage WHERE org_id = $1 AND month = $2 AND category = $3",
        org_id,
        month,
        category.as_str(),
    )
    .fetch_optional(pool)
    .await?;
    Ok(used.unwrap_or(0))
}
