//! Every way a request can fail, mapped to the protocol's error body in one place.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sentori_protocol::{ErrorBody, FieldError};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("the body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("the body is not a valid OTLP protobuf message: {0}")]
    InvalidProtobuf(String),
    #[error("unsupported Content-Type {0:?}")]
    UnsupportedContentType(String),
    #[error("validation failed")]
    ValidationFailed(Vec<FieldError>),
    #[error("too many items: {count} (at most {max})")]
    TooManyItems { count: usize, max: usize },
    #[error("unauthorized: {hint}")]
    Unauthorized { hint: &'static str },
    #[error("the token belongs to another project")]
    WrongProject,
    #[error("no such project number in the path")]
    NoSuchProject,
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported Content-Encoding {0:?}")]
    UnsupportedEncoding(String),
    #[error("rate limited")]
    RateLimited { retry_after_ms: u64 },
    #[error("too many token lookups from this client address")]
    TokenLookupsLimited { retry_after_ms: u64 },
    #[error("the monthly quota is used up")]
    QuotaExceeded { reset_at: time::OffsetDateTime },
    #[error("the project's daily attachment quota is used up")]
    AttachmentQuotaExceeded { reset_at: time::OffsetDateTime },
    #[error("the processing backlog is full")]
    Backlogged,
    #[error("Valkey is unavailable: {0}")]
    QueueUnavailable(#[from] sentori_queue::QueueError),
    #[error("attachment storage is not configured")]
    AttachmentsDisabled,
    #[error("unknown attachment kind {0:?}")]
    InvalidKind(String),
    #[error("media type {got:?} is not allowed for this kind")]
    UnsupportedMediaType { got: String, allowed: &'static [&'static str] },
    #[error("storing the upload failed: {0}")]
    Storage(std::io::Error),
    #[error("Valkey is unavailable: {0}")]
    ValkeyUnavailable(#[from] redis::RedisError),
    #[error(transparent)]
    TokenLookup(#[from] sentori_store::TokenLookupError),
    #[error("database: {0}")]
    Database(#[from] sentori_store::sqlx::Error),
}

/// How long clients are asked to wait when the server itself is the problem.
const UNAVAILABLE_RETRY_MS: u64 = 5_000;

impl IngestError {
    fn status_and_body(&self) -> (StatusCode, ErrorBody) {
        use IngestError::*;
        match self {
            InvalidJson(why) => (StatusCode::BAD_REQUEST, ErrorBody::new("invalidJson", format!("The body is not valid JSON: {why}"))),
            InvalidProtobuf(why) => (
                StatusCode::BAD_REQUEST,
                ErrorBody::new("invalidProtobuf", format!("The body is not an OTLP protobuf message: {why}")),
            ),
            UnsupportedContentType(media) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorBody::new("unsupportedContentType", format!("Content-Type {media:?} is not supported here"))
                    .with_hint("OTLP/HTTP: application/x-protobuf or application/json"),
            ),
            ValidationFailed(details) => (StatusCode::BAD_REQUEST, ErrorBody::validation_failed(details.clone())),
            TooManyItems { count, max } => (
                StatusCode::BAD_REQUEST,
                ErrorBody::new("tooManyItems", format!("The batch has {count} items; at most {max} are allowed")),
            ),
            Unauthorized { hint } => (
                StatusCode::UNAUTHORIZED,
                ErrorBody::new("unauthorized", "A valid token is required").with_hint(*hint),
            ),
            WrongProject => (
                StatusCode::FORBIDDEN,
                ErrorBody::new("forbidden", "This key does not belong to the project in the path")
                    .with_hint("use the DSN shown for this token: its last path segment is the project number"),
            ),
            NoSuchProject => (StatusCode::NOT_FOUND, ErrorBody::new("notFound", "No such endpoint")),
            PayloadTooLarge { limit: 0 } => {
                (StatusCode::PAYLOAD_TOO_LARGE, ErrorBody::new("payloadTooLarge", "The body is too large"))
            }
            PayloadTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorBody::new("payloadTooLarge", format!("The decoded body is larger than {limit} bytes")),
            ),
            AttachmentsDisabled => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorBody::new("attachmentsDisabled", "This server stores no attachments")
                    .with_hint("SDKs skip attachments when they see this"),
            ),
            InvalidKind(kind) => (
                StatusCode::BAD_REQUEST,
                ErrorBody::new("invalidKind", format!("{kind:?} is not an attachment kind"))
                    .with_hint("screenshot, viewTree, stateSnapshot, sessionTrail, logTail or replay"),
            ),
            UnsupportedMediaType { got, allowed } => (
                StatusCode::BAD_REQUEST,
                ErrorBody::new("unsupportedMediaType", format!("Media type {got:?} does not fit this kind"))
                    .with_hint(format!("allowed: {}", allowed.join(", "))),
            ),
            UnsupportedEncoding(encoding) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorBody::new("unsupportedEncoding", format!("Content-Encoding {encoding:?} is not supported"))
                    .with_hint("use gzip, deflate, br, zstd or none"),
            ),
            RateLimited { retry_after_ms } => rate_limited(*retry_after_ms, "Too many requests for this token; retry later"),
            TokenLookupsLimited { retry_after_ms } => {
                rate_limited(*retry_after_ms, "Too many unknown tokens from this address; retry later")
            }
            QuotaExceeded { reset_at } => quota_exceeded(*reset_at, "This organisation's monthly quota is used up"),
            AttachmentQuotaExceeded { reset_at } => quota_exceeded(*reset_at, "This project's daily attachment quota is used up"),
            Backlogged => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorBody {
                    retry_after_ms: Some(UNAVAILABLE_RETRY_MS),
                    ..ErrorBody::new("unavailable", "The processing backlog is full; retry later")
                },
            ),
            QueueUnavailable(_) | ValkeyUnavailable(_) | TokenLookup(_) | Database(_) | Storage(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorBody {
                    retry_after_ms: Some(UNAVAILABLE_RETRY_MS),
                    ..ErrorBody::new("unavailable", "The service cannot accept data right now; retry later")
                },
            ),
        }
    }
}

fn rate_limited(retry_after_ms: u64, message: &str) -> (StatusCode, ErrorBody) {
    let body = ErrorBody { retry_after_ms: Some(retry_after_ms), ..ErrorBody::new("rateLimited", message) };
    (StatusCode::TOO_MANY_REQUESTS, body)
}

fn quota_exceeded(reset_at: time::OffsetDateTime, message: &str) -> (StatusCode, ErrorBody) {
    let wait_ms = (reset_at - time::OffsetDateTime::now_utc()).whole_milliseconds().max(1000) as u64;
    let body = ErrorBody {
        retry_after_ms: Some(wait_ms),
        reset_at: reset_at.format(&time::format_description::well_known::Rfc3339).ok(),
        ..ErrorBody::new("quotaExceeded", message)
    };
    (StatusCode::TOO_MANY_REQUESTS, body)
}

impl IntoResponse for IngestError {
    fn into_response(self) -> Response {
        let (status, body) = self.status_and_body();
        if status.is_server_error() {
            tracing::warn!(error = %self, "request failed");
        }
        let retry_after = body.retry_after_ms.map(|ms| ms.div_ceil(1000).max(1));
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
