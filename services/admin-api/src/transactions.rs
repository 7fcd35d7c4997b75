//! The transaction summary: the traces that started in a window, grouped by
//! their root span's name, with how many there were, how long they took and
//! how often one failed.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::cursor;
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::period::Period;
use crate::projects::scope;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryParams {
    /// Traces that started in the last `24h` (default), `14d` or `90d`: the charts' periods.
    period: Option<String>,
    /// How many names, the most traces first: 1 to 200, default 50.
    limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    /// The root span's name its traces share.
    pub root_name: String,
    pub trace_count: i64,
    /// Trace durations (the extent of all of a trace's spans) at the 50th,
    /// 95th and 99th percentile, in ms: each is the duration of one of the
    /// traces (nearest rank), never an interpolation between two.
    pub p50_ms: i64,
    pub p95_ms: i64,
    pub p99_ms: i64,
    /// Traces whose status is `error`: a span of theirs failed.
    pub failed_count: i64,
    /// `failedCount / traceCount`, from 0 to 1.
    pub error_rate: f64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TransactionSummary {
    pub period: Period,
    /// The window's start: traces that started at or after it count.
    #[serde(with = "time::serde::rfc3339")]
    pub since: OffsetDateTime,
    /// The most traces first, then by name. Traces whose root span has not
    /// arrived have no name and are in no row.
    pub transactions: Vec<Transaction>,
}

type Row = (String, i64, Vec<i64>, i64);

/// Traces grouped by root span name, with duration percentiles and error rate.
#[utoipa::path(get, path = "/projects/{pid}/transactions", operation_id = "list_transactions", tag = "traces",
    params(("pid" = Uuid, Path), SummaryParams),
    responses((status = 200, body = TransactionSummary)))]
pub async fn summary(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<Uuid>,
    Query(params): Query<SummaryParams>,
) -> Result<axum::Json<TransactionSummary>, ApiError> {
    scope(&state, &caller, project_id).await?;
    let period = Period::parse(params.period.as_deref())?;
    let limit = cursor::limit(params.limit, 50, 200)?;
    let since = OffsetDateTime::now_utc() - Duration::hours(period.hours());
    // `traces_root_name` serves this as a skip scan: one descent per name
    // into its newest start times, in name order, from the index alone. One
    // ordered-set aggregate gives the three percentiles from one sort.
    let rows: Vec<Row> = sqlx::query!(
        r#"SELECT root_name AS "root_name!", count(*) AS "count!",
                  percentile_disc(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms) AS "percentiles!",
                  count(*) FILTER (WHERE status = 'error') AS "errors!"
             FROM traces
            WHERE project_id = $1 AND root_name IS NOT NULL AND started_at >= $2
            GROUP BY root_name
            ORDER BY count(*) DESC, root_name
            LIMIT $3"#,
        project_id,
        since,
        limit,
    )
    .map(|row| (row.root_name, row.count, row.percentiles, row.errors))
    .fetch_all(&state.reads)
    .await?;
    let transactions = rows
        .into_iter()
        .map(|(root_name, trace_count, percentiles, failed_count)| {
            let at = |i: usize| percentiles.get(i).copied().unwrap_or(0);
            Transaction {
                root_name,
                trace_count,
                p50_ms: at(0),
                p95_ms: at(1),
                p99_ms: at(2),
                failed_count,
                error_rate: failed_count as f64 / trace_count.max(1) as f64,
            }
        })
        .collect();
    Ok(axum::Json(TransactionSummary { period, since, transactions }))
}
