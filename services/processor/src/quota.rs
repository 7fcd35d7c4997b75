//! The durable copy of the monthly quota counters: what was stored, per org
//! and UTC month, added in the batch's own transaction so it is exact.

use std::collections::BTreeMap;

use sentori_store::quotas::{self, Category};
use sqlx::{Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

pub async fn count_usage(
    tx: &mut Transaction<'_, Postgres>,
    category: Category,
    items: impl Iterator<Item = (Uuid, OffsetDateTime)>,
) -> Result<(), sqlx::Error> {
    let mut counts = BTreeMap::new();
    for (org, received_at) in items {
        *counts.entry((org, quotas::month_of(received_at))).or_insert(0i64) += 1;
    }
    quotas::add_usage(&mut **tx, category, &counts).await
}
