//! Sessions (stored once per id) and deploys (a release's deploy time).

use std::collections::BTreeMap;

use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ProcessError;
use crate::hour::counted_hour;
use crate::releases::{self, HourCounts};
use crate::worker::BatchHandler;
use sentori_model::{Deploy, Session, SessionStatus};
use sentori_queue::Envelope;

/// An item's payload as its model type; an entry that is not one is the
/// entry's fault (ingest validated it), so it is dead-lettered alone.
fn typed<T: serde::de::DeserializeOwned>(envelope: &Envelope, what: &str) -> Result<T, ProcessError> {
    envelope.payload.parse().map_err(|err| ProcessError::Payload(format!("not a valid {what}: {err}")))
}

/// Everything handling one session does short of the database; the fuzz target feeds it.
pub fn handle_offline(envelope: &Envelope) -> Result<usize, ProcessError> {
    typed::<Session>(envelope, "session").map(|session| session.release.len())
}

pub struct SessionHandler {
    pool: PgPool,
}

impl SessionHandler {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

impl BatchHandler for SessionHandler {
    fn name(&self) -> &'static str {
        "sessions"
    }

    async fn handle(&self, items: &[&Envelope]) -> Result<(), ProcessError> {
        let mut tx = self.pool.begin().await?;
        let rows = items.iter().map(|envelope| typed::<Session>(envelope, "session")).collect::<Result<Vec<_>, _>>()?;
        let mut hours: BTreeMap<Uuid, BTreeMap<(&str, OffsetDateTime), HourCounts>> = BTreeMap::new();
        for (envelope, row) in items.iter().zip(&rows) {
            let project_id = envelope.project_id;
            sentori_store::releases::record_seen(&mut tx, project_id, std::iter::once((row.release.as_str(), envelope.received_at()))).await?;
            let inserted = sqlx::query!(
                "INSERT INTO sessions (project_id, id, received_at, user_id, release, environment, status, started_at, duration_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (project_id, id) DO NOTHING",
                project_id,
                row.id,
                envelope.received_at(),
                &row.user_id as _,
                &row.release,
                &row.environment,
                row.status.as_str(),
                row.started_at,
                row.duration_ms,
            )
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            // A session is stored once, so a retried one must not count twice.
            if !inserted {
                continue;
            }
            let crashed = row.status == SessionStatus::Crashed;
            let hour = hours.entry(project_id).or_default().entry((&row.release, counted_hour(row.started_at, envelope.received_at())));
            let hour = hour.or_default();
            hour.sessions += 1;
            hour.crashed_sessions += i64::from(crashed);
            if let Some(user) = &row.user_id {
                releases::record_user(&mut tx, project_id, &row.release, user, crashed).await?;
            }
        }
        for (project_id, hours) in &hours {
            releases::add_hours(&mut tx, *project_id, hours).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

pub struct DeployHandler {
    pool: PgPool,
}

impl DeployHandler {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

impl BatchHandler for DeployHandler {
    fn name(&self) -> &'static str {
        "deploys"
    }

    async fn handle(&self, items: &[&Envelope]) -> Result<(), ProcessError> {
        let mut tx = self.pool.begin().await?;
        for envelope in items {
            let deploy: Deploy = typed(envelope, "deploy")?;
            let deployed_at = deploy.deployed_at.unwrap_or_else(|| envelope.received_at());
            sentori_store::releases::record_deploy(&mut tx, envelope.project_id, &deploy.release, deploy.environment.as_deref(), deployed_at, envelope.received_at())
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
