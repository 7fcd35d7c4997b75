//! Sessions (stored once per id) and deploys (a release's deploy time).

use std::collections::BTreeMap;

use sqlx::PgPool;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::error::ProcessError;
use crate::hour::counted_hour;
use crate::releases::{self, HourCounts};
use crate::worker::BatchHandler;
use sentori_queue::Envelope;

fn timestamp(value: &serde_json::Value) -> Option<OffsetDateTime> {
    value.as_str().and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
}

/// One session row, read from its payload.
struct SessionRow {
    id: Uuid,
    user_id: Option<String>,
    release: String,
    environment: String,
    status: String,
    started_at: OffsetDateTime,
    duration_ms: i64,
}

impl SessionRow {
    fn parse(envelope: &Envelope) -> Result<Self, ProcessError> {
        let p = &envelope.payload.value()?;
        let id = p["id"].as_str().and_then(|s| Uuid::parse_str(s).ok());
        let started_at = timestamp(&p["startedAt"]);
        let (Some(id), Some(started_at)) = (id, started_at) else {
            return Err(ProcessError::Payload("session without a valid id or startedAt".into()));
        };
        let text = |key: &str| p[key].as_str().map(str::to_owned);
        Ok(Self {
            id,
            user_id: text("userId"),
            release: text("release").unwrap_or_default(),
            environment: text("environment").unwrap_or_default(),
            status: text("status").unwrap_or_else(|| "ok".into()),
            started_at,
            duration_ms: p["durationMs"].as_i64().unwrap_or(0),
        })
    }
}

/// Everything handling one session does short of the database; the fuzz target feeds it.
pub fn handle_offline(envelope: &Envelope) -> Result<usize, ProcessError> {
    SessionRow::parse(envelope).map(|row| row.release.len())
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
        let rows = items.iter().map(|envelope| SessionRow::parse(envelope)).collect::<Result<Vec<_>, _>>()?;
        let mut hours: BTreeMap<Uuid, BTreeMap<(&str, OffsetDateTime), HourCounts>> = BTreeMap::new();
        for (envelope, row) in items.iter().zip(&rows) {
            let project_id = envelope.project_id;
            releases::record_seen(&mut tx, project_id, std::iter::once((row.release.as_str(), envelope.received_at()))).await?;
            let inserted = sqlx::query(
                "INSERT INTO sessions (project_id, id, received_at, user_id, release, environment, status, started_at, duration_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT (project_id, id) DO NOTHING",
            )
            .bind(project_id)
            .bind(row.id)
            .bind(envelope.received_at())
            .bind(&row.user_id)
            .bind(&row.release)
            .bind(&row.environment)
            .bind(&row.status)
            .bind(row.started_at)
            .bind(row.duration_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            // A session is stored once, so a retried one must not count twice.
            if !inserted {
                continue;
            }
            let crashed = row.status == "crashed";
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
            let p = &envelope.payload.value()?;
            let Some(release) = p["release"].as_str() else {
                return Err(ProcessError::Payload("deploy without a release".into()));
            };
            let deployed_at = timestamp(&p["deployedAt"]).unwrap_or_else(|| envelope.received_at());
            releases::record_deploy(&mut tx, envelope.project_id, release, p["environment"].as_str(), deployed_at, envelope.received_at())
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
