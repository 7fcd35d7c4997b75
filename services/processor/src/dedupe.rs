//! Idempotency: an event or span id is stored once per project, however
//! often a batch is redelivered or an SDK retries.
//!
//! The partitioned tables cannot hold a unique key on (project, id), so the
//! narrow `event_ids` / `span_ids` tables are the keys: an id inserted there
//! for the first time is new, any other is a duplicate.

use std::collections::HashSet;

use sqlx::{Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(Clone, Copy)]
pub enum IdTable {
    Events,
    Spans,
}

/// Keeps the items whose id was never stored for `project_id` (and the first
/// of repeats within the batch), recording their ids in the same transaction.
pub async fn keep_new<'a, T>(
    tx: &mut Transaction<'_, Postgres>,
    table: IdTable,
    project_id: Uuid,
    items: Vec<&'a T>,
    key: impl Fn(&T) -> (Uuid, OffsetDateTime),
) -> Result<Vec<&'a T>, sqlx::Error> {
    let mut seen = HashSet::new();
    let items: Vec<&T> = items.into_iter().filter(|item| seen.insert(key(item).0)).collect();
    let (ids, received): (Vec<Uuid>, Vec<OffsetDateTime>) = items.iter().map(|item| key(item)).unzip();
    // One statement per table, each checked when it compiles.
    macro_rules! insert_ids {
        ($table:literal) => {
            sqlx::query_scalar!(
                "INSERT INTO " + $table + " (project_id, id, received_at)
                 SELECT $1, u.* FROM UNNEST($2::uuid[], $3::timestamptz[]) AS u ON CONFLICT DO NOTHING RETURNING id",
                project_id,
                &ids,
                &received,
            )
            .fetch_all(&mut **tx)
            .await?
        };
    }
    let inserted = match table {
        IdTable::Events => insert_ids!("event_ids"),
        IdTable::Spans => insert_ids!("span_ids"),
    };
    let inserted: HashSet<Uuid> = inserted.into_iter().collect();
    Ok(items.into_iter().filter(|item| inserted.contains(&key(item).0)).collect())
}
