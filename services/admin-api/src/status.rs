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
    pub deleted_traces: i64,
    pub deleted_attachments: i64,
    /// Everything the run recorded, as the retention service wrote it (its keys are its own).
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

fn strings(value: &Value) -> Vec<String> {
    value.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default()
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
        let row: Option<(OffsetDateTime, Option<OffsetDateTime>, Value)> =
            sqlx::query_as("SELECT started_at, finished_at, summary FROM retention_runs ORDER BY started_at DESC, id DESC LIMIT 1")
                .fetch_optional(&state.pool)
                .await?;
        row.map(|(started_at, finished_at, summary)| {
            let error = summary.get("error").and_then(Value::as_str).map(str::to_owned);
            RetentionRun {
                started_at,
                finished_at,
                ok: finished_at.is_some() && error.is_none(),
                error,
                created_partitions: strings(&summary["partitionsCreated"]),
                dropped_partitions: strings(&summary["partitionsDropped"]),
                deleted_traces: summary["tracesDeleted"].as_i64().unwrap_or(0),
                deleted_attachments: summary["attachmentsDeleted"].as_i64().unwrap_or(0),
                summary,
            }
        })
    } else {
        None
    };
    Ok(axum::Json(Status { streams, last_retention_run, postgres_ms, valkey_ms }))
}
