//! `admin-api`: the dashboard's and the CLI's `/admin/api` (admin-api.md).

mod activity;
mod artifacts;
pub mod auth;
mod changes;
mod config;
mod dsn;
pub mod cursor;
mod docs;
mod error;
mod events;
mod extract;
mod issues;
pub mod login_limit;
mod period;
mod projects;
mod recipients;
mod release_version;
mod releases;
mod removal;
mod sentry_api;
pub mod session;
mod status;
mod traces;
mod transactions;
mod web;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::routing::get;
use sentori_queue::Valkey;
use sentori_queue::{Keys, Producer};
use sentori_runtime::{Readiness, Shutdown};
use sentori_store::{PoolSettings, TokenDirectory};
use sqlx::PgPool;
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use config::AdminConfig;
pub use error::ApiError;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

pub struct Shared {
    pub config: AdminConfig,
    /// The primary: every write, and every read that must see this
    /// process's own writes (an issue after a change, sessions, settings).
    pub pool: PgPool,
    /// Lists and aggregates that tolerate replica lag (docs/self-hosting.md):
    /// a streaming replica's pool when `SENTORI_DATABASE_READ_URL` is set,
    /// else the primary's.
    pub reads: PgPool,
    pub tokens: TokenDirectory,
    pub valkey: Valkey,
    pub keys: Keys,
    pub producer: Producer,
    pub sessions: session::SessionCookies,
    pub login_limiter: login_limit::LoginLimiter,
    /// `SENTORI_PUBLIC_URL`'s origin: the only `Origin` a cookie-authenticated mutation may come from.
    pub public_origin: String,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.inner
    }
}

pub use sentori_runtime::StartError;

pub struct AdminApi {
    state: AppState,
    readiness: Readiness,
}

/// Every documented route of `/admin/api`, registered together with its
/// OpenAPI operation: the router and the document come from this one list,
/// and the authorization matrix test walks the document.
fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(docs::ApiDoc::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(projects::list, projects::create))
        .routes(routes!(projects::tokens, projects::create_token))
        .routes(routes!(projects::revoke_token))
        .routes(routes!(issues::list))
        .routes(routes!(issues::counts))
        .routes(routes!(issues::detail, changes::update, removal::delete))
        .routes(routes!(changes::bulk))
        .routes(routes!(removal::merge))
        .routes(routes!(removal::bulk_delete))
        .routes(routes!(activity::list))
        .routes(routes!(issues::histogram))
        .routes(routes!(events::list))
        .routes(routes!(events::detail))
        .routes(routes!(events::latest))
        .routes(routes!(events::attachments))
        .routes(routes!(events::blob))
        .routes(routes!(traces::list))
        .routes(routes!(traces::detail))
        .routes(routes!(transactions::summary))
        .routes(routes!(releases::list))
        .routes(routes!(releases::get))
        .routes(routes!(releases::series))
        .routes(routes!(releases::issues))
        .routes(routes!(recipients::list, recipients::create))
        .routes(routes!(recipients::update, recipients::delete))
        .routes(routes!(status::status))
}

/// The OpenAPI document of the whole `/admin/api` surface (paths relative to it).
pub fn openapi() -> utoipa::openapi::OpenApi {
    docs::with_error_bodies(documented_routes().into_openapi())
}

async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(openapi())
}

impl AdminApi {
    pub async fn start(config: AdminConfig) -> Result<Self, StartError> {
        let pool = sentori_store::connect_and_migrate(&config.store.database_url, &PoolSettings::default()).await?;
        let (conn, producer) = sentori_runtime::connect_queue(&config.store, Duration::from_secs(2)).await?;
        let tokens = TokenDirectory::new(pool.clone(), Some(&config.dev_token));
        let keys = producer.keys().clone();
        let self_trace = config.store.self_trace_project_id;
        sentori_runtime::self_trace::install_if_configured("admin-api", self_trace, &pool, producer.clone()).await?;
        let reads = match &config.database_read_url {
            // A replica is read-only and already migrated through its primary.
            Some(url) => sentori_store::connect(url, &PoolSettings::default()).await?,
            None => pool.clone(),
        };
        let sessions = session::SessionCookies::new(&config);
        let login_limiter = login_limit::LoginLimiter::new(keys.clone(), config.login_limits);
        let public_origin = auth::origin_of(&config.public_url);
        let state = AppState {
            inner: Arc::new(Shared {
                config,
                pool: pool.clone(),
                reads,
                tokens,
                valkey: conn.clone(),
                keys,
                producer,
                sessions,
                login_limiter,
                public_origin,
            }),
        };
        Ok(Self { state, readiness: Readiness { postgres: Some(pool), valkey: Some(conn) } })
    }

    pub fn router(&self) -> Router {
        let (documented, _) = documented_routes().split_for_parts();
        let artifacts = artifacts::Artifacts::new(&self.state.config.artifacts);
        let api = documented
            .merge(artifacts::routes(artifacts.clone()))
            .route("/openapi.json", get(openapi_json))
            .fallback(|| async { ApiError::NotFound })
            .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
            .layer(axum::middleware::from_fn_with_state(self.state.clone(), auth::project_guard))
            .layer(axum::middleware::from_fn_with_state(self.state.clone(), session::sessions))
            .layer(axum::middleware::from_fn(error::json_errors))
            // Answers carry projects' data and CSRF tokens: no browser or proxy cache may keep them.
            .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .with_state(self.state.clone());
        let api = sentori_runtime::instrument_http(api, "admin-api");
        // Sentry's web API, for sentry-cli: outside /admin/api, with Sentry's error shape.
        let sentry_api = sentry_api::routes(&self.state.config.artifacts, artifacts)
            .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .with_state(self.state.clone());
        let sentry_api = sentori_runtime::instrument_http(sentry_api, "admin-api");
        // `nest` leaves "/admin/api/" itself to the outer router, where the
        // dashboard's fallback would answer it with index.html.
        let router = Router::new()
            .route_service("/admin/api/", api.clone().into_service())
            .nest("/admin/api", api)
            .merge(sentry_api)
            .merge(sentori_runtime::health_routes(self.readiness.clone()));
        match &self.state.config.web_dir {
            Some(dir) => router.merge(web::routes(dir)),
            None => router,
        }
    }

    pub async fn serve(self, shutdown: Shutdown) -> Result<(), StartError> {
        sentori_runtime::serve(self.state.config.addr, self.router(), shutdown).await?;
        Ok(())
    }
}
