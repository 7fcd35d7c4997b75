//! PostgreSQL, the source of truth (architecture.md).
//!
//! Every service that touches the database calls [`connect_and_migrate`] at
//! boot: migrations are embedded, and sqlx takes an advisory lock so several
//! services starting together migrate once.

pub mod attachments;
pub mod copy;
pub mod issues;
pub mod partitions;
pub mod projects;
pub mod quotas;
pub mod releases;
pub mod retention_runs;
pub mod tokens;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

pub use sqlx;
pub use tokens::{Cached, ResolvedToken, TokenDirectory, TokenLookupError};

/// The migrations of `migrations/`, compiled into every binary.
///
/// Migrations a newer release already applied are tolerated: during a
/// rolling update an older replica restarts against the newer (forward-only,
/// additive) schema and must keep working rather than crash-loop.
pub fn migrator() -> sqlx::migrate::Migrator {
    let mut migrator = sqlx::migrate!("../../migrations");
    migrator.set_ignore_missing(true);
    migrator
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("SENTORI_DATABASE_URL is not a valid PostgreSQL URL: {0}")]
    BadUrl(sqlx::Error),
    #[error("PostgreSQL is unreachable: {0}")]
    Unreachable(sqlx::Error),
    #[error("migrating the database failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error(transparent)]
    Query(#[from] sqlx::Error),
}

/// Pool settings a service can tune.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long boot keeps retrying an unreachable database before giving up.
    pub connect_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self { max_connections: 10, connect_timeout: Duration::from_secs(30) }
    }
}

/// Connects (retrying while PostgreSQL starts up) and applies pending migrations.
pub async fn connect_and_migrate(url: &str, settings: &PoolSettings) -> Result<PgPool, StoreError> {
    let pool = connect(url, settings).await?;
    migrator().run(&pool).await?;
    partitions::ensure_ahead(&pool, time::OffsetDateTime::now_utc()).await?;
    Ok(pool)
}

/// Connects without migrating (tools that only read).
pub async fn connect(url: &str, settings: &PoolSettings) -> Result<PgPool, StoreError> {
    let options: PgConnectOptions = url.parse().map_err(StoreError::BadUrl)?;
    // Statement logging at INFO would drown the service's own logs.
    let options = options.log_statements(tracing::log::LevelFilter::Trace);
    let pool_options = PgPoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(Duration::from_secs(10));
    let deadline = tokio::time::Instant::now() + settings.connect_timeout;
    let mut delay = Duration::from_millis(100);
    loop {
        match pool_options.clone().connect_with(options.clone()).await {
            Ok(pool) => return Ok(pool),
            Err(err) if tokio::time::Instant::now() + delay < deadline => {
                tracing::warn!(error = %err, "PostgreSQL not reachable yet, retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            Err(err) => return Err(StoreError::Unreachable(err)),
        }
    }
}

/// A cheap round trip for readiness checks.
pub async fn ping(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!("SELECT 1 AS alive").fetch_one(pool).await.map(|_| ())
}
