//! Admin API errors, mapped to the shared error body in one place.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sentori_protocol::{ErrorBody, FieldError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unauthorized")]
    Unauthorized,
    #[error("forbidden: {hint}")]
    Forbidden { hint: &'static str },
    #[error("not found")]
    NotFound,
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                ErrorBody::new("unauthorized", "Log in or send an admin token")
                    .with_hint("Authorization: Bearer <admin token>, or the session cookie"),
            ),
            ApiError::Forbidden { hint } => {
                (StatusCode::FORBIDDEN, ErrorBody::new("forbidden", "This credential may not do that").with_hint(*hint))
            }
            ApiError::NotFound => (StatusCode::NOT_FOUND, ErrorBody::new("notFound", "No such resource")),
            ApiError::Invalid(details) => (StatusCode::BAD_REQUEST, ErrorBody::validation_failed(details.clone())),
            ApiError::Database(err) => {
                tracing::error!(error = %err, "database error");
                (StatusCode::SERVICE_UNAVAILABLE, ErrorBody::new("unavailable", "The database is unavailable; retry later"))
            }
        };
        (status, axum::Json(body)).into_response()
    }
}
