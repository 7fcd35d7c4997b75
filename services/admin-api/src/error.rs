//! Admin API errors, mapped to the shared error body in one place.
//!
//! Every way a request can fail — a handler's own error, a rejected path,
//! query or JSON body, an unknown route or method — ends up here, so the
//! dashboard always gets `{"error", "message", ...}` and never a framework's
//! plain-text page.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sentori_protocol::{ErrorBody, FieldError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unauthorized")]
    Unauthorized,
    #[error("forbidden: {hint}")]
    Forbidden { hint: &'static str },
    /// A cookie-authenticated mutation without the right CSRF header or Origin.
    #[error("csrf: {0}")]
    Csrf(&'static str),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// A request the API understood but refuses, with its own code (`invalidEmail`, `invalidCursor`, ...).
    #[error("{code}: {message}")]
    BadRequest { code: &'static str, message: String },
    #[error("{code}: {message}")]
    Conflict { code: &'static str, message: String },
    /// A malformed request body, query string or path, as the extractor saw it.
    #[error("rejected input: {message}")]
    Rejected { status: StatusCode, code: &'static str, message: String },
    #[error("too many login tries")]
    RateLimited { retry_after_ms: u64 },
    #[error("attachment storage is not configured")]
    AttachmentsDisabled,
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    TokenLookup(#[from] sentori_store::TokenLookupError),
    #[error("valkey: {0}")]
    Valkey(#[from] redis::RedisError),
    #[error("storage: {0}")]
    Io(#[from] std::io::Error),
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let code = match &rejection {
            JsonRejection::MissingJsonContentType(_) => "unsupportedMediaType",
            JsonRejection::JsonSyntaxError(_) => "invalidJson",
            JsonRejection::JsonDataError(_) => "validationFailed",
            _ if status == StatusCode::PAYLOAD_TOO_LARGE => "payloadTooLarge",
            _ => "invalidBody",
        };
        // Malformed and mistyped bodies are both the 400 of every other
        // validation error here (axum would say 422 for the second), and a
        // failure to read the body is still no 500 with a plain-text body.
        let status = match code {
            "invalidJson" | "validationFailed" => StatusCode::BAD_REQUEST,
            _ if status.is_client_error() => status,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::Rejected { status, code, message: rejection.body_text() }
    }
}

impl From<axum_extra::extract::QueryRejection> for ApiError {
    fn from(rejection: axum_extra::extract::QueryRejection) -> Self {
        ApiError::Rejected { status: StatusCode::BAD_REQUEST, code: "invalidQuery", message: rejection.body_text() }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        // A malformed id in the path names nothing that could exist.
        ApiError::Rejected { status: StatusCode::BAD_REQUEST, code: "invalidPath", message: rejection.body_text() }
    }
}

impl From<sentori_queue::QueueError> for ApiError {
    fn from(err: sentori_queue::QueueError) -> Self {
        match err {
            sentori_queue::QueueError::Valkey(err) => ApiError::Valkey(err),
            other => ApiError::Io(std::io::Error::other(other.to_string())),
        }
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
            ApiError::Csrf(message) => (StatusCode::FORBIDDEN, ErrorBody::new("csrfFailed", *message).with_hint(
                "send the X-Sentori-Csrf header with the token from login or /me, from the dashboard's own origin",
            )),
            ApiError::NotFound => (StatusCode::NOT_FOUND, ErrorBody::new("notFound", "No such resource")),
            ApiError::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, ErrorBody::new("methodNotAllowed", "This route does not take that method"))
            }
            ApiError::Invalid(details) => (StatusCode::BAD_REQUEST, ErrorBody::validation_failed(details.clone())),
            ApiError::BadRequest { code, message } => (StatusCode::BAD_REQUEST, ErrorBody::new(*code, message.clone())),
            ApiError::Conflict { code, message } => (StatusCode::CONFLICT, ErrorBody::new(*code, message.clone())),
            ApiError::Rejected { status, code, message } => (*status, ErrorBody::new(*code, message.clone())),
            ApiError::RateLimited { retry_after_ms } => {
                let mut body = ErrorBody::new("rateLimited", "Too many login tries; wait before trying again");
                body.retry_after_ms = Some(*retry_after_ms);
                let mut response = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
                let secs = retry_after_ms.div_ceil(1000).max(1);
                if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                return response;
            }
            ApiError::AttachmentsDisabled => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorBody::new("attachmentsDisabled", "Attachment storage is not configured on this server")
                    .with_hint("set SENTORI_ATTACHMENT_DIR"),
            ),
            ApiError::Database(_) | ApiError::TokenLookup(_) => {
                tracing::error!(error = %self, "database error");
                (StatusCode::SERVICE_UNAVAILABLE, ErrorBody::new("unavailable", "The database is unavailable; retry later"))
            }
            ApiError::Valkey(err) => {
                tracing::error!(error = %err, "valkey error");
                (StatusCode::SERVICE_UNAVAILABLE, ErrorBody::new("unavailable", "Valkey is unavailable; retry later"))
            }
            ApiError::Io(err) => {
                tracing::error!(error = %err, "storage error");
                (StatusCode::SERVICE_UNAVAILABLE, ErrorBody::new("unavailable", "Storage is unavailable; retry later"))
            }
        };
        (status, axum::Json(body)).into_response()
    }
}

/// The last line of defence for the error shape: an error answer that is not
/// JSON (a rejection of an extractor used outside this module's mapping, in
/// a router merged from elsewhere) is rewritten into the error body, keeping
/// its status and headers and its text as the message.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024).await.map(|b| String::from_utf8_lossy(&b).trim().to_owned()).unwrap_or_default();
    let code = match status {
        StatusCode::BAD_REQUEST => "badRequest",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "notFound",
        StatusCode::METHOD_NOT_ALLOWED => "methodNotAllowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payloadTooLarge",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupportedMediaType",
        StatusCode::UNPROCESSABLE_ENTITY => "validationFailed",
        StatusCode::TOO_MANY_REQUESTS => "rateLimited",
        s if s.is_server_error() => "unavailable",
        _ => "requestFailed",
    };
    let message = if text.is_empty() { status.canonical_reason().unwrap_or("Request failed").to_owned() } else { text };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let body = serde_json::to_vec(&ErrorBody::new(code, message)).unwrap_or_default();
    Response::from_parts(parts, axum::body::Body::from(body))
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn plain_text_errors_become_the_error_body() {
        let router = Router::new()
            .route("/plain", get(|| async { (StatusCode::BAD_REQUEST, [(header::RETRY_AFTER, "3")], "Invalid URL: bad id") }))
            .route("/ok", get(|| async { "fine" }))
            .layer(axum::middleware::from_fn(json_errors));
        let call = |uri: &'static str| router.clone().oneshot(Request::get(uri).body(axum::body::Body::empty()).unwrap());
        let response = call("/plain").await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::RETRY_AFTER], "3");
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let body: ErrorBody = serde_json::from_slice(&body).unwrap();
        assert_eq!((body.error.as_str(), body.message.as_str()), ("badRequest", "Invalid URL: bad id"));
        let response = call("/ok").await.unwrap();
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        assert_eq!(&body[..], b"fine", "successes pass through untouched");
    }
}
