//! Who is calling the admin API.
//!
//! This first cut knows bearer tokens: an `admin` token (or the dev token)
//! may use its own project's routes; a `public` token is an ingest token and
//! may do nothing here. The operator's cookie login comes with the dashboard.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use sentori_protocol::TokenKind;
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;

/// An authenticated caller.
#[derive(Debug, Clone, Copy)]
pub enum Caller {
    /// An admin token, limited to one project.
    ProjectAdmin { project_id: Uuid },
}

impl Caller {
    /// Fails unless the caller may act on `project_id`. Another project's
    /// token gets `404`, so ids of other projects cannot be probed.
    pub fn require_project(&self, project_id: Uuid) -> Result<(), ApiError> {
        match self {
            Caller::ProjectAdmin { project_id: own } if *own == project_id => Ok(()),
            Caller::ProjectAdmin { .. } => Err(ApiError::NotFound),
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned())
            .ok_or(ApiError::Unauthorized)?;
        let resolved = state.tokens.resolve(&token).await?.ok_or(ApiError::Unauthorized)?;
        match resolved.kind {
            TokenKind::Admin => Ok(Caller::ProjectAdmin { project_id: resolved.project_id }),
            TokenKind::Public => Err(ApiError::Forbidden {
                hint: "this is a public ingest token; create an admin token for the admin API",
            }),
        }
    }
}
