//! `admin-api`: the dashboard's and the CLI's `/admin/api` (admin-api.md).

mod auth;
mod config;
mod error;
mod issues;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use sentori_runtime::{Readiness, Shutdown};
use sentori_store::{PoolSettings, TokenDirectory};
use sqlx::PgPool;

pub use config::AdminConfig;
pub use error::ApiError;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

pub struct Shared {
    pub config: AdminConfig,
    pub pool: PgPool,
    pub tokens: TokenDirectory,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.inner
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] sentori_store::StoreError),
    #[error("connecting to Valkey failed: {0}")]
    Valkey(#[from] redis::RedisError),
    #[error("serving failed: {0}")]
    Serve(#[from] std::io::Error),
}

pub struct AdminApi {
    state: AppState,
    readiness: Readiness,
}

impl AdminApi {
    pub async fn start(config: AdminConfig) -> Result<Self, StartError> {
        let pool = sentori_store::connect_and_migrate(&config.store.database_url, &PoolSettings::default()).await?;
        let conn = sentori_queue::connect(&config.store.valkey_url, Duration::from_secs(2)).await?;
        let tokens = TokenDirectory::new(pool.clone(), Some(&config.dev_token));
        let state = AppState { inner: Arc::new(Shared { config, pool: pool.clone(), tokens }) };
        Ok(Self { state, readiness: Readiness { postgres: Some(pool), valkey: Some(conn) } })
    }

    pub fn router(&self) -> Router {
        let api = Router::new()
            .route("/projects/{pid}/issues", get(issues::list))
            .fallback(|| async { ApiError::NotFound })
            .with_state(self.state.clone());
        Router::new().nest("/admin/api", api).merge(sentori_runtime::health_routes(self.readiness.clone()))
    }

    pub async fn serve(self, shutdown: Shutdown) -> Result<(), StartError> {
        sentori_runtime::serve(self.state.config.addr, self.router(), shutdown).await?;
        Ok(())
    }
}
