//! The parts every service shares: logging, `/healthz`, `/readyz` and `/metrics`,
//! signal handling, and the exit on bad configuration.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use sentori_config::{ConfigErrors, StoreConfig};
use sentori_queue::{Keys, Producer, Valkey};
use sentori_store::sqlx::PgPool;
use tokio_util::sync::CancellationToken;

pub use tokio_util::sync::CancellationToken as Shutdown;

pub mod bearer;
pub mod client_addr;
mod healthcheck;
pub mod metrics;
pub mod panic;
pub mod self_trace;
pub use healthcheck::{HealthcheckError, connect_addr, healthcheck_subcommand, probe_healthz};

/// The stream keys a service's store settings name.
pub fn stream_keys(store: &StoreConfig) -> Keys {
    Keys::with_shards(store.valkey_namespace.clone(), store.stream_shards)
}

/// Connects to Valkey (a node or a cluster) and makes the producer a
/// service appends with, as its store settings say.
pub async fn connect_queue(store: &StoreConfig, response_timeout: Duration) -> Result<(Valkey, Producer), redis::RedisError> {
    let conn = sentori_queue::connect(&store.valkey_url, response_timeout).await?;
    let producer = Producer::new(conn.clone(), stream_keys(store)).with_wait_replicas(store.valkey_wait_replicas);
    Ok((conn, producer))
}

/// Logs to stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second init (tests starting several services in one process) is harmless.
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Ends the process with a message naming every configuration problem.
pub fn exit_on_config_error<T>(service: &str, result: Result<T, ConfigErrors>) -> T {
    match result {
        Ok(value) => value,
        Err(errors) => {
            eprintln!("{service}: {errors}");
            std::process::exit(2);
        }
    }
}

/// Ends the process with a message for a failure during startup.
pub fn exit_on_startup_error<T, E: std::fmt::Display>(service: &str, what: &str, result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(err) => {
            tracing::error!(error = %err, "{what} failed");
            eprintln!("{service}: {what} failed: {err}");
            std::process::exit(1);
        }
    }
}

/// A token cancelled on the first SIGTERM or SIGINT.
pub fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {}
            _ = term => {}
        }
        tracing::info!("shutdown requested; finishing in-flight work");
        trigger.cancel();
    });
    token
}

/// Why a service could not start (or stopped serving): every service that
/// talks to PostgreSQL and Valkey fails in these ways.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] sentori_store::StoreError),
    #[error("reading from PostgreSQL failed: {0}")]
    Database(#[from] sentori_store::sqlx::Error),
    #[error("connecting to Valkey failed: {0}")]
    Valkey(#[from] redis::RedisError),
    #[error("joining a consumer group failed: {0}")]
    Queue(#[from] sentori_queue::QueueError),
    #[error("listening failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Measures (metrics) and, when self-tracing is on, traces every request of `router`.
pub fn instrument_http(router: Router, service: &'static str) -> Router {
    router
        .route_layer(axum::middleware::from_fn(self_trace::trace_http))
        .route_layer(axum::middleware::from_fn_with_state(service, metrics::track_http))
}

/// What `/readyz` checks.
#[derive(Clone, Default)]
pub struct Readiness {
    pub postgres: Option<PgPool>,
    pub valkey: Option<Valkey>,
}

/// `/healthz` (the process answers) and `/readyz` (its stores answer).
pub fn health_routes(readiness: Readiness) -> Router {
    metrics::install();
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render))
        .with_state(readiness)
}

async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

async fn readyz(State(readiness): State<Readiness>) -> impl IntoResponse {
    const TIMEOUT: Duration = Duration::from_secs(2);
    let mut checks = serde_json::Map::new();
    let mut ready = true;
    if let Some(pool) = &readiness.postgres {
        let ok = matches!(tokio::time::timeout(TIMEOUT, sentori_store::ping(pool)).await, Ok(Ok(())));
        ready &= ok;
        checks.insert("postgres".into(), ok.into());
    }
    if let Some(conn) = &readiness.valkey {
        let mut conn = conn.clone();
        let ok = matches!(tokio::time::timeout(TIMEOUT, sentori_queue::ping(&mut conn)).await, Ok(Ok(())));
        ready &= ok;
        checks.insert("valkey".into(), ok.into());
    }
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, axum::Json(serde_json::json!({"ready": ready, "checks": checks})))
}

/// Serves `router` on `addr` until `shutdown` is cancelled, letting in-flight
/// requests finish.
pub async fn serve(addr: SocketAddr, router: Router, shutdown: CancellationToken) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "listening");
    serve_on(listener, router, shutdown).await
}

/// Like [`serve`] on an already bound listener (tests bind port 0).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
