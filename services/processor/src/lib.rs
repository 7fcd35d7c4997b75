//! `processor`: turns queued events, spans, sessions and deploys into
//! issues, events, traces, sessions and releases (processing.md).
//!
//! One consumer per stream, each in the `processor` consumer group, so more
//! processes share the work. Every batch is one transaction and is
//! acknowledged only after it commits.

mod announce;
mod attachment_refs;
mod config;
mod dedupe;
mod error;
mod events;
mod hour;
pub mod grouping;
mod quota;
mod releases;
mod sessions;
mod silences;
mod spans;
mod stream_gauges;
pub mod symbolicate;
mod worker;

use std::time::Duration;

use sentori_queue::{Consumer, ConsumerConfig, Producer, Stream};
use sentori_runtime::{Readiness, Shutdown};
use sentori_store::PoolSettings;
use sqlx::PgPool;

pub use config::ProcessorConfig;

/// What handling an entry does short of the database, one function a
/// stream, for the fuzz target in `services/processor/fuzz`.
#[doc(hidden)]
pub mod offline {
    pub use crate::events::handle_offline as event;
    pub use crate::sessions::handle_offline as session;
    pub use crate::spans::handle_offline as span;
}
pub use error::ProcessError;

/// The processor's handlers for other crates' tests that need rows exactly
/// as the processor writes them (admin-api's): the same code the workers
/// run, without the streams and without publishing announcements.
#[doc(hidden)]
pub mod seed {
    use sentori_queue::{Envelope, ItemKind};
    use sqlx::PgPool;

    use crate::ProcessError;
    use crate::symbolicate::Symbolicator;
    use crate::worker::BatchHandler;

    /// The hour an event or session is counted in, by the rollups.
    pub use crate::hour::counted_hour;
    /// The statement events are stored with; a bulk seed (admin-bench)
    /// writes its columns in this order with `sentori_store::copy`.
    pub use crate::events::COPY_EVENTS;

    /// Stores `envelopes`, as ingest queues them, one batch per kind.
    /// No source map is applied to events: the artifact directory is one
    /// that does not exist.
    pub async fn store(pool: &PgPool, envelopes: &[Envelope]) -> Result<(), ProcessError> {
        let of = |kinds: &[ItemKind]| envelopes.iter().filter(|e| kinds.contains(&e.kind)).collect::<Vec<_>>();
        let (events, spans) = (of(&[ItemKind::Event]), of(&[ItemKind::Span, ItemKind::Spans]));
        let (sessions, deploys) = (of(&[ItemKind::Session]), of(&[ItemKind::Deploy]));
        if !events.is_empty() {
            let no_artifacts = std::env::temp_dir().join(format!("sentori-seed-{}", uuid::Uuid::new_v4().simple()));
            crate::events::store(pool, &Symbolicator::new(pool.clone(), &no_artifacts, 0), &events).await?;
        }
        if !spans.is_empty() {
            crate::spans::SpanHandler::new(pool.clone()).handle(&spans).await?;
        }
        if !sessions.is_empty() {
            crate::sessions::SessionHandler::new(pool.clone()).handle(&sessions).await?;
        }
        if !deploys.is_empty() {
            crate::sessions::DeployHandler::new(pool.clone()).handle(&deploys).await?;
        }
        Ok(())
    }
}

/// The consumer group every processor joins.
pub const GROUP: &str = "processor";

pub use sentori_runtime::StartError;

pub struct Processor {
    config: ProcessorConfig,
    pool: PgPool,
    producer: Producer,
    readiness: Readiness,
}

impl Processor {
    pub async fn start(config: ProcessorConfig) -> Result<Self, StartError> {
        // Each event batch in flight holds a transaction and may briefly
        // need a second connection (short-id reservation, artifact and
        // attachment look-ups); the other streams, the outbox sweeper and
        // self-tracing need a few more. Sized so more workers never starve
        // each other of connections.
        let pool_settings = PoolSettings { max_connections: 6 + 2 * config.event_workers as u32, ..PoolSettings::default() };
        let pool = sentori_store::connect_and_migrate(&config.store.database_url, &pool_settings).await?;
        let (conn, producer) = sentori_runtime::connect_queue(&config.store, Duration::from_secs(5)).await?;
        let self_trace = config.store.self_trace_project_id;
        sentori_runtime::self_trace::install_if_configured("processor", self_trace, &pool, producer.clone()).await?;
        let readiness = Readiness { postgres: Some(pool.clone()), valkey: Some(conn) };
        Ok(Self { config, pool, producer, readiness })
    }

    fn symbolicator(&self) -> symbolicate::Symbolicator {
        symbolicate::Symbolicator::new(self.pool.clone(), &self.config.data_dir, self.config.sourcemap_cache_bytes)
    }

    async fn consumer(&self, stream: Stream) -> Result<Consumer, StartError> {
        let mut config = ConsumerConfig::new(stream, GROUP);
        config.batch_size = self.config.batch_size;
        config.claim_idle = self.config.claim_idle;
        config.max_deliveries = self.config.max_deliveries;
        Ok(Consumer::join(&self.config.store.valkey_url, self.producer.keys().clone(), config).await?)
    }

    /// Consumes every stream until `shutdown`, then returns once in-flight
    /// batches have finished.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), StartError> {
        let listener = tokio::net::TcpListener::bind(self.config.addr).await?;
        let health = sentori_runtime::serve_on(listener, sentori_runtime::health_routes(self.readiness.clone()), shutdown.clone());
        let outbox = announce::Outbox::new(self.pool.clone(), self.producer.clone());
        outbox.spawn_sweeper(shutdown.clone());
        silences::spawn_sweeper(self.pool.clone(), shutdown.clone());
        stream_gauges::spawn(self.producer.clone(), shutdown.clone());
        let event_handler = std::sync::Arc::new(events::EventHandler::new(self.pool.clone(), outbox, self.symbolicator()));
        let mut event_workers = tokio::task::JoinSet::new();
        for _ in 0..self.config.event_workers {
            event_workers.spawn(worker::run(self.consumer(Stream::Events).await?, event_handler.clone(), shutdown.clone()));
        }
        let events = event_workers.join_all();
        let spans = worker::run(self.consumer(Stream::Spans).await?, spans::SpanHandler::new(self.pool.clone()), shutdown.clone());
        let sessions =
            worker::run(self.consumer(Stream::Sessions).await?, sessions::SessionHandler::new(self.pool.clone()), shutdown.clone());
        let deploys = worker::run(self.consumer(Stream::Deploys).await?, sessions::DeployHandler::new(self.pool.clone()), shutdown.clone());
        tracing::info!(addr = %self.config.addr, "processor running");
        let (health, ..) = tokio::join!(health, events, spans, sessions, deploys);
        health?;
        Ok(())
    }
}
