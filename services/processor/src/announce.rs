//! Announcing new and regressed issues on the notify stream, through an outbox.
//!
//! Announcements are written in the batch's transaction and published after
//! it commits, so an announcement exists exactly when its issue change does.
//! A processor that dies between commit and publish leaves rows that the
//! sweep publishes; the notifier's delivery log absorbs a double publication.

use std::time::Duration;

use sqlx::{PgPool, Postgres, Transaction};
use sentori_queue::{Envelope, ItemKind, PartitionKey, Producer, Stream};
use sentori_runtime::Shutdown;
use time::OffsetDateTime;
use uuid::Uuid;

pub use sentori_model::Reason;

#[derive(Debug, Clone)]
pub struct Announcement {
    pub project_id: Uuid,
    pub org_id: Uuid,
    pub issue_id: Uuid,
    pub reason: Reason,
    /// 0 for `new`; the regression's number for `regressed`.
    pub occurrence: i64,
}

/// An announcement row waiting to be published.
struct Pending {
    id: i64,
    project_id: Uuid,
    org_id: Uuid,
    issue_id: Uuid,
    reason: String,
    occurrence: i64,
}

enum Filter<'a> {
    Ids(&'a [i64]),
    OlderThan(OffsetDateTime),
}

#[derive(Clone)]
pub struct Outbox {
    pool: PgPool,
    producer: Producer,
}

/// How old an unpublished row must be before the sweep takes it over from
/// the processor that wrote it.
const ORPHAN_AGE: Duration = Duration::from_secs(30);

impl Outbox {
    pub fn new(pool: PgPool, producer: Producer) -> Self {
        Self { pool, producer }
    }

    /// Writes announcements inside the batch's transaction.
    pub async fn record(tx: &mut Transaction<'_, Postgres>, announcements: &[Announcement]) -> Result<Vec<i64>, sqlx::Error> {
        if announcements.is_empty() {
            return Ok(Vec::new());
        }
        let projects: Vec<Uuid> = announcements.iter().map(|a| a.project_id).collect();
        let orgs: Vec<Uuid> = announcements.iter().map(|a| a.org_id).collect();
        let issues: Vec<Uuid> = announcements.iter().map(|a| a.issue_id).collect();
        let reasons: Vec<&str> = announcements.iter().map(|a| a.reason.as_str()).collect();
        let occurrences: Vec<i64> = announcements.iter().map(|a| a.occurrence).collect();
        sqlx::query_scalar!(
            "INSERT INTO announcements (project_id, org_id, issue_id, reason, occurrence)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::bigint[])
             RETURNING id",
            &projects,
            &orgs,
            &issues,
            &reasons as _,
            &occurrences,
        )
        .fetch_all(&mut **tx)
        .await
    }

    /// Publishes committed announcements; a failure leaves them for the sweep.
    pub async fn publish(&self, ids: &[i64]) {
        if ids.is_empty() {
            return;
        }
        if let Err(err) = self.publish_where(Filter::Ids(ids)).await {
            tracing::warn!(error = %err, "publishing announcements failed; the sweep will retry");
        }
    }

    async fn publish_where(&self, filter: Filter<'_>) -> Result<usize, Box<dyn std::error::Error + Send + Sync>> {
        let mut tx = self.pool.begin().await?;
        // SKIP LOCKED: a row another processor is publishing right now is its business.
        let rows = match filter {
            Filter::Ids(ids) => {
                sqlx::query_as!(
                    Pending,
                    "SELECT id, project_id, org_id, issue_id, reason, occurrence FROM announcements
                      WHERE id = ANY($1) ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1000",
                    ids,
                )
                .fetch_all(&mut *tx)
                .await?
            }
            Filter::OlderThan(at) => {
                sqlx::query_as!(
                    Pending,
                    "SELECT id, project_id, org_id, issue_id, reason, occurrence FROM announcements
                      WHERE created_at < $1 ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1000",
                    at,
                )
                .fetch_all(&mut *tx)
                .await?
            }
        };
        if rows.is_empty() {
            return Ok(0);
        }
        let mut envelopes = Vec::with_capacity(rows.len());
        for row in &rows {
            let announcement = sentori_model::Announcement { issue_id: row.issue_id, reason: row.reason.parse()?, occurrence: row.occurrence };
            envelopes.push(
                Envelope::new(ItemKind::Notification, row.project_id, row.org_id, OffsetDateTime::now_utc())
                    .with_payload(serde_json::to_value(&announcement)?),
            );
        }
        self.producer.append(Stream::Notify, PartitionKey::of(rows[0].project_id, rows[0].issue_id), &envelopes).await?;
        let done: Vec<i64> = rows.iter().map(|row| row.id).collect();
        sqlx::query!("DELETE FROM announcements WHERE id = ANY($1)", &done).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.len())
    }

    /// Publishes what dead processors left behind, until shutdown.
    pub fn spawn_sweeper(&self, shutdown: Shutdown) {
        let outbox = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(ORPHAN_AGE / 3);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => {
                        match outbox.publish_where(Filter::OlderThan(OffsetDateTime::now_utc() - ORPHAN_AGE)).await {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(count = n, "published announcements left by another processor"),
                            Err(err) => tracing::warn!(error = %err, "announcement sweep failed"),
                        }
                    }
                }
            }
        });
    }
}
