//! `ingest`: the SDK-facing `/v1/*` endpoints, and Sentry SDKs' `/api/<number>/*` (protocol.md).
//!
//! It authenticates, rate-limits, validates and trims, appends one envelope
//! per item to a Valkey stream, and answers. It never writes to PostgreSQL on
//! the hot path: tokens are read through a cache.

mod attachments;
mod auth;
mod backlog;
pub mod body;
mod config;
mod cors;
mod error;
mod lookup_budget;
pub mod otlp;
mod quota;
mod rate_limit;
mod routes;
pub mod sentry;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use sentori_queue::Producer;
use sentori_runtime::{Readiness, Shutdown};
use sentori_store::{PoolSettings, TokenDirectory};
use tower::Layer;
use tower_http::normalize_path::NormalizePathLayer;

pub use backlog::BacklogGauge;
pub use config::IngestConfig;
pub use error::IngestError;
pub use quota::QuotaGate;
pub use rate_limit::RateLimiter;

/// Everything a request handler needs, shared by all of them.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

pub struct Shared {
    pub config: IngestConfig,
    pub tokens: TokenDirectory,
    pub lookup_budget: lookup_budget::LookupBudget,
    pub producer: Producer,
    pub limiter: RateLimiter,
    pub quotas: QuotaGate,
    pub backlog: BacklogGauge,
    /// Attachment uploads and the metadata rows they write.
    pub attachments: Option<attachments::AttachmentStore>,
    pub pool: sentori_store::sqlx::PgPool,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.inner
    }
}

pub use sentori_runtime::StartError;

/// A started ingest service, ready to serve.
pub struct Ingest {
    state: AppState,
    readiness: Readiness,
}

impl Ingest {
    pub async fn start(config: IngestConfig) -> Result<Self, StartError> {
        let pool = sentori_store::connect_and_migrate(&config.store.database_url, &PoolSettings::default()).await?;
        let (conn, producer) = sentori_runtime::connect_queue(&config.store, Duration::from_secs(2)).await?;
        let keys = producer.keys().clone();
        let self_trace = config.store.self_trace_project_id;
        sentori_runtime::self_trace::install_if_configured("ingest", self_trace, &pool, producer.clone()).await?;
        let negative_ttl = Duration::from_secs(2).min(config.token_cache_ttl);
        let tokens = TokenDirectory::with_ttl(pool.clone(), Some(&config.dev_token), config.token_cache_ttl, negative_ttl);
        let lookup_budget = lookup_budget::LookupBudget::new(config.token_lookups_per_min_per_client);
        let limiter = RateLimiter::new(conn.clone(), keys.clone(), config.rate_limit_per_min);
        let quotas = QuotaGate::new(conn.clone(), keys, pool.clone(), config.span_limit_monthly, config.attachment_bytes_daily);
        let backlog = BacklogGauge::new(config.max_backlog, producer.keys().shards());
        backlog.refresh(&producer).await;
        let attachments = config.attachment_dir.as_ref().map(|dir| attachments::AttachmentStore {
            blobs: Arc::new(sentori_blobs::LocalDir::new(dir)),
            max_bytes: config.attachment_max_bytes,
        });
        let shared =
            Shared { config, tokens, lookup_budget, producer, limiter, quotas, backlog, attachments, pool: pool.clone() };
        let state = AppState { inner: Arc::new(shared) };
        Ok(Self { state, readiness: Readiness { postgres: Some(pool), valkey: Some(conn) } })
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The whole HTTP surface: `/v1/*` plus health checks.
    pub fn router(&self) -> Router {
        router(self.state.clone()).merge(sentori_runtime::health_routes(self.readiness.clone()))
    }

    pub async fn serve(self, shutdown: Shutdown) -> Result<(), StartError> {
        let listener = tokio::net::TcpListener::bind(self.state.config.addr).await?;
        self.serve_on(listener, shutdown).await
    }

    pub async fn serve_on(self, listener: tokio::net::TcpListener, shutdown: Shutdown) -> Result<(), StartError> {
        tracing::info!(addr = %listener.local_addr()?, "ingest listening");
        self.state.backlog.spawn_sampler(self.state.producer.clone(), shutdown.clone());
        let app = NormalizePathLayer::trim_trailing_slash().layer(self.router());
        let make_service = axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<SocketAddr>(app);
        axum::serve(listener, make_service).with_graceful_shutdown(async move { shutdown.cancelled().await }).await?;
        Ok(())
    }
}

/// The `/v1/*` routes.
pub fn router(state: AppState) -> Router {
    let attachment_body_limit = state.attachments.as_ref().map_or(attachments::MULTIPART_OVERHEAD, |s| s.body_limit());
    let v1 = Router::new()
        .route("/events", post(routes::post_event))
        .route("/events:batch", post(routes::post_events_batch))
        .route("/spans", post(routes::post_span))
        .route("/spans:batch", post(routes::post_spans_batch))
        .route("/sessions", post(routes::post_session))
        .route("/traces", post(otlp::post_traces))
        .route("/deploys", post(routes::post_deploy))
        .route(
            "/events/{event_id}/attachments/{kind}",
            post(attachments::post_attachment).layer(axum::extract::DefaultBodyLimit::max(attachment_body_limit)),
        )
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(cors::V1, cors::cors))
        .with_state(state.clone());
    Router::new().nest("/v1", sentori_runtime::instrument_http(v1, "ingest")).merge(sentry::router(state))
}
