//! `GET /status`: what an operator checks first when something looks stuck.

use std::time::Instant;

use axum::extract::State;
use serde::Serialize;
use serde_json::Value;
use sentori_queue::{Stream, StreamStats};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RetentionRun {
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(required)]
    pub finished_at: Option<OffsetDateTime>,
    pub ok: bool,
    #[schema(required)]
    pub error: Option<String>,
    pub created_partitions: Vec<String>,
    pub dropped_partitions: Vec<String>,
    pub deleted_traces: u64,
    pub deleted_attachments: u64,
    /// Everything the run recorded (sentori-store's `RunSummary`).
    #[schema(value_type = std::collections::HashMap<String, serde_json::Value>)]
    pub summary: Value,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub streams: Vec<StreamStats>,
    #[schema(required)]
    pub last_retention_run: Option<RetentionRun>,
    /// Round trip in milliseconds; `null` when PostgreSQL did not answer.
    #[schema(required)]
    pub postgres_ms: Option<f64>,
    #[schema(required)]
    pub valkey_ms: Option<f64>,
}

/// The consumer group whose pending entries count for a stream.
fn group_of(stream: Stream) -> &'static str {
    match stream {
        Stream::Notify => "notifier",
        _ => "processor",
    }
}

/// Stream backlogs, the last retention run and store round trips (operator only).
#[utoipa::path(get, path = "/status", tag = "operations", responses((status = 200, body = Status), (status = 403)))]
pub async fn status(State(state): State<AppState>, caller: Caller) -> Result<axum::Json<Status>, ApiError> {
    caller.require_operator()?;
    const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
    // Either store may be down; the answer still comes, showing which.
    let started = Instant::now();
    let postgres_ok = matches!(tokio::time::timeout(TIMEOUT, sentori_store::ping(&state.pool)).await, Ok(Ok(())));
    let postgres_ms = postgres_ok.then(|| started.elapsed().as_secs_f64() * 1000.0);
    let started = Instant::now();
    let mut conn = state.valkey.clone();
    let valkey_ok = matches!(tokio::time::timeout(TIMEOUT, sentori_queue::ping(&mut conn)).await, Ok(Ok(())));
    let valkey_ms = valkey_ok.then(|| started.elapsed().as_secs_f64() * 1000.0);

    let mut streams = Vec::new();
    if valkey_ok {
        for stream in Stream::ALL {
            let stats: StreamStats = match tokio::time::timeout(TIMEOUT, state.producer.stats(stream, group_of(stream))).await {
                Ok(Ok(stats)) => stats,
                _ => continue,
            };
            streams.push(StreamStats { name: state.keys.stream(stream), ..stats });
        }
    }
    let last_retention_run = if postgres_ok {
        sentori_store::retention_runs::latest(&state.pool).await?.map(|run| RetentionRun {
            started_at: run.started_at,
            finished_at: run.finished_at,
            ok: run.finished_at.is_some() && run.summary.error.is_none(),
            error: run.summary.error.clone(),
            created_partitions: run.summary.partitions_created.clone(),
            dropped_partitions: run.summary.partitions_dropped.clone(),
            deleted_traces: run.summary.traces_deleted,
            deleted_attachments: run.summary.attachments_deleted,
            summary: serde_json::to_value(&run.summary).unwrap_or_default(),
        })
    } else {
        None
    };
    Ok(axum::Json(Status { streams, last_retention_run, postgres_ms, valkey_ms }))
}
