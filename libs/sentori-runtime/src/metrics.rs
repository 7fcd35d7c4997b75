//! Prometheus metrics at `/metrics` on every service.
//!
//! One recorder per process (the `metrics` facade is global); code anywhere
//! records with `metrics::counter!` and friends, and the health router
//! renders the registry. Names are the contract in docs/self-hosting.md.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Latency buckets in seconds: ingest answers in milliseconds, admin pages in tens of them.
const LATENCY_BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];
const BATCH_BUCKETS: [f64; 9] = [1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];

/// Installs the process-wide recorder (once; later calls reuse it).
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("duration_seconds".into()), &LATENCY_BUCKETS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full("sentori_batch_size".into()), &BATCH_BUCKETS))
            .expect("bucket lists are not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (a test harness); then
        // this handle renders an empty registry rather than failing the service.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// `GET /metrics`: the Prometheus text format.
pub async fn render() -> impl IntoResponse {
    let body = install().render();
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

/// Counts requests and their latency per route template (not per concrete
/// path, so ids in URLs do not explode the label set).
pub async fn track_http(State(service): State<&'static str>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("service", service.to_owned()), ("route", route), ("status", status)];
    metrics::counter!("sentori_http_requests_total", &labels).increment(1);
    metrics::histogram!("sentori_http_request_duration_seconds", &labels[..2]).record(started.elapsed().as_secs_f64());
    response
}
