//! Spans and the per-trace summaries built from them.

use std::collections::BTreeMap;

use sentori_model::SpanSummary;
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::dedupe::{IdTable, keep_new};
use crate::error::{ProcessError, read_tree};
use crate::quota::count_usage;
use sentori_store::quotas::Category;
use crate::worker::BatchHandler;
use sentori_queue::Envelope;

pub struct SpanHandler {
    pool: PgPool,
}

impl SpanHandler {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

struct Span<'a> {
    project_id: Uuid,
    org_id: Uuid,
    id: Uuid,
    trace_id: Uuid,
    parent: Option<Uuid>,
    op: &'a str,
    name: &'a str,
    started_at: OffsetDateTime,
    duration_ms: i64,
    status: &'a str,
    /// Its `service.name` tag (OTLP spans carry one).
    service: Option<&'a str>,
    received_at: OffsetDateTime,
    payload: &'a Value,
}

impl<'a> Span<'a> {
    fn parse(envelope: &'a Envelope, p: &'a Value) -> Result<Self, ProcessError> {
        let read: SpanSummary = read_tree(p)?;
        Ok(Self {
            project_id: envelope.project_id,
            org_id: envelope.org_id,
            id: read.id,
            trace_id: read.trace_id,
            parent: read.parent_span_id,
            op: read.op,
            name: read.name,
            started_at: read.started_at,
            duration_ms: read.duration_ms,
            status: read.status,
            service: read.service(),
            received_at: envelope.received_at(),
            payload: p,
        })
    }

    /// The end, or the start when the end is past what a date can hold
    /// (ingest bounds both, but entries queued by an older ingest are not).
    fn ended_at(&self) -> OffsetDateTime {
        self.started_at.checked_add(time::Duration::milliseconds(self.duration_ms)).unwrap_or(self.started_at)
    }
}

/// Trace status severity: error > cancelled > ok (unknown statuses count as ok).
fn severity(status: &str) -> u8 {
    match status {
        "error" => 2,
        "cancelled" => 1,
        _ => 0,
    }
}

const STATUS_BY_SEVERITY: [&str; 3] = ["ok", "cancelled", "error"];

/// A batch's contribution to one trace summary.
struct TraceDelta<'a> {
    root: Option<&'a Span<'a>>,
    started_at: OffsetDateTime,
    ended_at: OffsetDateTime,
    spans: i64,
    errors: i64,
    severity: u8,
    /// Distinct, sorted.
    services: Vec<&'a str>,
}

impl BatchHandler for SpanHandler {
    fn name(&self) -> &'static str {
        "spans"
    }

    async fn handle(&self, items: &[&Envelope]) -> Result<(), ProcessError> {
        let payloads = items.iter().map(|e| e.items()).collect::<Result<Vec<_>, _>>()?;
        let spans = items
            .iter()
            .zip(&payloads)
            .flat_map(|(e, spans)| spans.iter().map(move |p| Span::parse(e, p)))
            .collect::<Result<Vec<_>, _>>()?;
        let mut by_project: BTreeMap<Uuid, Vec<&Span>> = BTreeMap::new();
        for span in &spans {
            by_project.entry(span.project_id).or_default().push(span);
        }
        let mut tx = self.pool.begin().await?;
        for (project_id, spans) in by_project {
            let fresh = keep_new(&mut tx, IdTable::Spans, project_id, spans, |s| (s.id, s.received_at)).await?;
            if !fresh.is_empty() {
                count_usage(&mut tx, Category::Spans, fresh.iter().map(|s| (s.org_id, s.received_at))).await?;
                insert_spans(&mut tx, project_id, &fresh).await?;
                update_traces(&mut tx, project_id, &fresh).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn insert_spans(tx: &mut Transaction<'_, Postgres>, project_id: Uuid, spans: &[&Span<'_>]) -> Result<(), ProcessError> {
    let ids: Vec<Uuid> = spans.iter().map(|s| s.id).collect();
    let received: Vec<OffsetDateTime> = spans.iter().map(|s| s.received_at).collect();
    let traces: Vec<Uuid> = spans.iter().map(|s| s.trace_id).collect();
    let parents: Vec<Option<Uuid>> = spans.iter().map(|s| s.parent).collect();
    let ops: Vec<&str> = spans.iter().map(|s| s.op).collect();
    let names: Vec<&str> = spans.iter().map(|s| s.name).collect();
    let starts: Vec<OffsetDateTime> = spans.iter().map(|s| s.started_at).collect();
    let durations: Vec<i64> = spans.iter().map(|s| s.duration_ms).collect();
    let statuses: Vec<&str> = spans.iter().map(|s| s.status).collect();
    let payloads: Vec<Json<&Value>> = spans.iter().map(|s| Json(s.payload)).collect();
    sqlx::query!(
        "INSERT INTO spans (project_id, id, received_at, trace_id, parent_span_id, op, name, started_at, duration_ms, status, payload)
         SELECT $1, u.* FROM UNNEST($2::uuid[], $3::timestamptz[], $4::uuid[], $5::uuid[], $6::text[], $7::text[],
                                    $8::timestamptz[], $9::bigint[], $10::text[], $11::jsonb[]) AS u",
        project_id,
        &ids,
        &received,
        &traces,
        &parents as _,
        &ops as _,
        &names as _,
        &starts,
        &durations,
        &statuses as _,
        &payloads as _,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The spans summed per trace.
fn trace_deltas<'a>(spans: &[&'a Span<'a>]) -> BTreeMap<Uuid, TraceDelta<'a>> {
    let mut traces: BTreeMap<Uuid, TraceDelta> = BTreeMap::new();
    for span in spans {
        let delta = traces.entry(span.trace_id).or_insert_with(|| TraceDelta {
            root: None,
            started_at: span.started_at,
            ended_at: span.ended_at(),
            spans: 0,
            errors: 0,
            severity: 0,
            services: Vec::new(),
        });
        delta.spans += 1;
        delta.errors += i64::from(span.status == "error");
        delta.severity = delta.severity.max(severity(span.status));
        delta.started_at = delta.started_at.min(span.started_at);
        delta.ended_at = delta.ended_at.max(span.ended_at());
        if span.parent.is_none() {
            delta.root = Some(span);
        }
        if let Some(service) = span.service {
            if let Err(at) = delta.services.binary_search(&service) {
                delta.services.insert(at, service);
            }
        }
    }
    traces
}

/// Everything handling one entry's spans does short of the database: parse
/// them and fold them into their traces' summaries. The fuzz target feeds it.
pub fn handle_offline(envelope: &Envelope) -> Result<usize, ProcessError> {
    let payloads = envelope.items()?;
    let spans = payloads.iter().map(|p| Span::parse(envelope, p)).collect::<Result<Vec<_>, _>>()?;
    Ok(trace_deltas(&spans.iter().collect::<Vec<_>>()).len())
}

/// Folds the batch's new spans into the trace summaries. Only spans stored
/// for the first time reach here, so counts stay exact under redelivery. A
/// trace's duration is the extent of all its spans, not the root's own
/// duration: a child may outlive the root, and spans may start before it.
async fn update_traces(tx: &mut Transaction<'_, Postgres>, project_id: Uuid, spans: &[&Span<'_>]) -> Result<(), ProcessError> {
    let traces = trace_deltas(spans);
    let ids: Vec<Uuid> = traces.keys().copied().collect();
    let root_ops: Vec<Option<&str>> = traces.values().map(|t| t.root.map(|r| r.op)).collect();
    let root_names: Vec<Option<&str>> = traces.values().map(|t| t.root.map(|r| r.name)).collect();
    let root_durations: Vec<Option<i64>> = traces.values().map(|t| t.root.map(|r| r.duration_ms)).collect();
    let starts: Vec<OffsetDateTime> = traces.values().map(|t| t.started_at).collect();
    let ends: Vec<OffsetDateTime> = traces.values().map(|t| t.ended_at).collect();
    let counts: Vec<i64> = traces.values().map(|t| t.spans).collect();
    let errors: Vec<i64> = traces.values().map(|t| t.errors).collect();
    let statuses: Vec<&str> = traces.values().map(|t| STATUS_BY_SEVERITY[t.severity as usize]).collect();
    // One text per trace (PostgreSQL has no arrays of arrays of varying
    // length): the services joined by a newline, which a tag value may not
    // usefully hold and which the query splits again.
    let services: Vec<String> = traces.values().map(|t| t.services.join("\n")).collect();
    sqlx::query!(
        "INSERT INTO traces AS t (project_id, trace_id, root_op, root_name, root_duration_ms, started_at, ended_at,
                                  duration_ms, span_count, error_count, status, services)
         SELECT $1, u.trace_id, u.root_op, u.root_name, u.root_duration_ms, u.started_at, u.ended_at,
                (extract(epoch FROM u.ended_at - u.started_at) * 1000)::bigint,
                u.span_count, u.error_count, u.status,
                CASE WHEN u.services = '' THEN '{}'::text[] ELSE string_to_array(u.services, E'\n') END
           FROM UNNEST($2::uuid[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[], $7::timestamptz[],
                       $8::bigint[], $9::bigint[], $10::text[], $11::text[])
                AS u(trace_id, root_op, root_name, root_duration_ms, started_at, ended_at, span_count, error_count, status,
                     services)
         ON CONFLICT (project_id, trace_id) DO UPDATE SET
             root_op          = COALESCE(EXCLUDED.root_op, t.root_op),
             root_name        = COALESCE(EXCLUDED.root_name, t.root_name),
             root_duration_ms = COALESCE(EXCLUDED.root_duration_ms, t.root_duration_ms),
             started_at       = LEAST(t.started_at, EXCLUDED.started_at),
             ended_at         = GREATEST(t.ended_at, EXCLUDED.ended_at),
             duration_ms      = (extract(epoch FROM GREATEST(t.ended_at, EXCLUDED.ended_at)
                                                  - LEAST(t.started_at, EXCLUDED.started_at)) * 1000)::bigint,
             span_count       = t.span_count + EXCLUDED.span_count,
             error_count      = t.error_count + EXCLUDED.error_count,
             status           = CASE WHEN 'error' IN (t.status, EXCLUDED.status) THEN 'error'
                                     WHEN 'cancelled' IN (t.status, EXCLUDED.status) THEN 'cancelled'
                                     ELSE 'ok' END,
             services         = CASE WHEN EXCLUDED.services <@ t.services THEN t.services
                                     ELSE ARRAY(SELECT DISTINCT x FROM unnest(t.services || EXCLUDED.services) AS x ORDER BY x)
                                END",
        project_id,
        &ids,
        &root_ops as _,
        &root_names as _,
        &root_durations as _,
        &starts,
        &ends,
        &counts,
        &errors,
        &statuses as _,
        &services,
    )
    .execute(&mut **tx)
    .await?;
    Ok(())
}
