//! The part of Sentry's web API (`/api/0/`) that the unmodified sentry-cli 3
//! calls to upload source maps (protocol.md, "Sentry's /api/0/"): who am I,
//! the chunking parameters, chunk uploads, and assembling the chunks into an
//! artifact bundle whose files are found by debug id.
//!
//! Answers and errors take Sentry's shapes, not Sentori's: an error is
//! `{"detail": "..."}`, which sentry-cli prints as "sentry reported an error:
//! <detail>". The token is a Sentori admin token, so the project is the
//! token's; `--org` is ignored and `--project` must name that project.

pub mod assemble;
pub mod bundle;
pub mod chunks;

use std::io;
use std::sync::Arc;

use axum::extract::multipart::MultipartError;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use sentori_blobs::LocalDir;
use sentori_protocol::TokenKind;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::AppState;
use crate::artifacts::{ArtifactConfig, Artifacts};
use sentori_runtime::bearer::bearer_token;
use crate::error::ApiError;

/// What the `/api/0/` handlers share besides the app state.
#[derive(Clone)]
pub(crate) struct Uploads {
    pub artifacts: Artifacts,
    /// Chunks waiting for their assembly, under `<data dir>/chunks/`: read
    /// by path while a bundle is assembled, so always a local directory.
    pub chunks: Arc<LocalDir>,
}

/// The `/api/0/` routes, merged beside `/admin/api`.
pub(crate) fn routes(config: &ArtifactConfig, artifacts: Artifacts) -> Router<AppState> {
    let uploads = Uploads { artifacts, chunks: Arc::new(LocalDir::new(config.data_dir.join("chunks"))) };
    Router::new()
        .route("/api/0", get(root))
        .route("/api/0/", get(root))
        .route(
            "/api/0/organizations/{org}/chunk-upload/",
            get(chunks::options).post(chunks::upload).layer(DefaultBodyLimit::max(chunks::REQUEST_BODY_LIMIT)),
        )
        .route("/api/0/organizations/{org}/artifactbundle/assemble/", post(assemble::assemble))
        .route("/api/0/{*rest}", axum::routing::any(|| async { CliError::NotFound }))
        .layer(Extension(uploads))
}

/// Sentry's error answers: a status and `{"detail"}`.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("Invalid token: send an admin token of a Sentori project (--auth-token or SENTRY_AUTH_TOKEN)")]
    Unauthorized,
    #[error("This is a public ingest token (the key of a DSN); sentry-cli needs an admin token of the project")]
    PublicToken,
    #[error("{0}")]
    OtherProject(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("The requested resource does not exist")]
    NotFound,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    TokenLookup(#[from] sentori_store::TokenLookupError),
    #[error("storage: {0}")]
    Storage(#[from] io::Error),
}

impl From<ApiError> for CliError {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::Database(err) => CliError::Database(err),
            ApiError::TokenLookup(err) => CliError::TokenLookup(err),
            ApiError::Io(err) => CliError::Storage(err),
            other => CliError::Storage(io::Error::other(other.to_string())),
        }
    }
}

impl From<MultipartError> for CliError {
    fn from(err: MultipartError) -> Self {
        if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return CliError::TooLarge(format!("A chunk upload request is at most {} bytes", chunks::MAX_REQUEST_SIZE));
        }
        CliError::Invalid(format!("Not a readable multipart/form-data body: {}", err.body_text()))
    }
}

impl IntoResponse for CliError {
    fn into_response(self) -> Response {
        let status = match &self {
            CliError::Unauthorized => StatusCode::UNAUTHORIZED,
            CliError::PublicToken => StatusCode::FORBIDDEN,
            CliError::NotFound => StatusCode::NOT_FOUND,
            // Not 404: sentry-cli turns a 404 from the assemble endpoint into
            // its generic "Release not found", hiding the detail.
            CliError::OtherProject(_) | CliError::Invalid(_) => StatusCode::BAD_REQUEST,
            CliError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            CliError::Database(_) | CliError::TokenLookup(_) | CliError::Storage(_) => {
                tracing::error!(error = %self, "the /api/0/ upload API failed");
                let body = json!({ "detail": "Sentori cannot store uploads right now; retry later" });
                return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
            }
        };
        (status, Json(json!({ "detail": self.to_string() }))).into_response()
    }
}

/// The project of the admin token sentry-cli sends.
#[derive(Debug, Clone, Copy)]
pub struct CliProject {
    pub project_id: Uuid,
    /// What `--project` names.
    pub number: i64,
}

impl CliProject {
    async fn of(headers: &HeaderMap, state: &AppState) -> Result<Option<Self>, CliError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
        let token = bearer_token(value).ok_or(CliError::Unauthorized)?;
        let resolved = state.tokens.resolve(token).await?.ok_or(CliError::Unauthorized)?;
        match resolved.kind {
            TokenKind::Admin => Ok(Some(CliProject { project_id: resolved.project_id, number: resolved.project_number })),
            TokenKind::Public => Err(CliError::PublicToken),
        }
    }

    /// Fails unless `named` (what `--project` said: the project's number,
    /// or its id) is this project.
    pub fn require_named(&self, named: &str) -> Result<(), CliError> {
        let named = named.trim();
        if named == self.number.to_string() || Uuid::try_parse(named).is_ok_and(|id| id == self.project_id) {
            return Ok(());
        }
        Err(CliError::OtherProject(format!(
            "Project {named:?} not found: this token is for project {} (pass --project {})",
            self.number, self.number
        )))
    }
}

impl FromRequestParts<AppState> for CliProject {
    type Rejection = CliError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, CliError> {
        CliProject::of(&parts.headers, state).await?.ok_or(CliError::Unauthorized)
    }
}

/// `GET /api/0/`: what `sentry-cli info` asks to check the server and the
/// token. Without a token it still answers (the server is reachable).
async fn root(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, CliError> {
    let auth = CliProject::of(&headers, &state).await?.map(|project| {
        json!({ "scopes": ["project:read", "project:releases", "project:write", "org:read"], "project": project.number })
    });
    Ok(Json(json!({ "version": "0", "auth": auth, "user": null })))
}

/// Lowercase hex SHA-1, as sentry-cli names chunks and bundles.
pub fn is_sha1(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
