//! `retention`: the daily housekeeping pass (processing.md, "Retention").
//!
//! This build keeps the monthly partitions of `events` and `spans` ahead of
//! time (the current month and six more), at start and then daily, so writes
//! never fall into a default partition. Expiry of old partitions, traces and
//! attachments is tracked as its own piece of work.

use std::net::SocketAddr;
use std::time::Duration;

use sentori_config::{ConfigErrors, Env};
use sentori_runtime::{Readiness, Shutdown};
use sentori_store::PoolSettings;
use sqlx::PgPool;

#[derive(Debug, Clone)]
pub struct RetentionConfig {
    pub addr: SocketAddr,
    pub database_url: String,
}

impl RetentionConfig {
    pub fn from_env(mut env: Env) -> Result<Self, ConfigErrors> {
        let addr = env.addr_or("SENTORI_RETENTION_ADDR", "0.0.0.0:8084");
        let database_url = env.required("SENTORI_DATABASE_URL");
        env.finish()?;
        Ok(Self { addr, database_url })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] sentori_store::StoreError),
    #[error("serving health checks failed: {0}")]
    Serve(#[from] std::io::Error),
}

pub struct Retention {
    config: RetentionConfig,
    pool: PgPool,
}

const PASS_INTERVAL: Duration = Duration::from_secs(24 * 3600);

impl Retention {
    pub async fn start(config: RetentionConfig) -> Result<Self, StartError> {
        let pool = sentori_store::connect_and_migrate(&config.database_url, &PoolSettings::default()).await?;
        Ok(Self { config, pool })
    }

    pub async fn run(self, shutdown: Shutdown) -> Result<(), StartError> {
        let listener = tokio::net::TcpListener::bind(self.config.addr).await?;
        let readiness = Readiness { postgres: Some(self.pool.clone()), valkey: None };
        let health = tokio::spawn(sentori_runtime::serve_on(listener, sentori_runtime::health_routes(readiness), shutdown.clone()));
        let mut tick = tokio::time::interval(PASS_INTERVAL);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {
                    match sentori_store::partitions::ensure_ahead(&self.pool, time::OffsetDateTime::now_utc()).await {
                        Ok(created) => tracing::info!(?created, "partitions are in place"),
                        Err(err) => tracing::warn!(error = %err, "creating partitions failed; retrying at the next pass"),
                    }
                }
            }
        }
        let _ = health.await;
        Ok(())
    }
}
