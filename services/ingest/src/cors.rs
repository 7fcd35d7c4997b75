//! CORS for browsers (protocol.md): any origin on every answer (errors
//! too), no credentials, preflight answered `204` and cached.
//!
//! Not tower-http's `CorsLayer`: it answers a preflight `200`, where the
//! protocol (which SDKs and their tests already rely on) says `204`, and it
//! passes an `OPTIONS` without `Access-Control-Request-Method` on to the
//! routes, which answer it `405`.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

/// What one family of routes allows and exposes.
#[derive(Clone, Copy)]
pub struct CorsPolicy {
    allowed_headers: &'static str,
    exposed_headers: &'static str,
}

/// `/v1/*`: Sentori's SDKs. They read Retry-After on 429 and 503.
pub const V1: CorsPolicy = CorsPolicy {
    allowed_headers: "Authorization, Content-Type, Content-Encoding, Sentori-Sdk, X-Sentori-Token",
    exposed_headers: "Retry-After",
};

/// `/api/{number}/…`: Sentry's browser SDKs, which also read the rate limits.
pub const SENTRY: CorsPolicy = CorsPolicy {
    allowed_headers: "X-Sentry-Auth, Authorization, Content-Type, Content-Encoding, sentry-trace, baggage",
    exposed_headers: "X-Sentry-Rate-Limits, Retry-After",
};

const MAX_AGE_SECS: &str = "86400";

pub async fn cors(State(policy): State<CorsPolicy>, request: Request, next: Next) -> Response {
    let mut response = if request.method() == Method::OPTIONS {
        let mut preflight = Response::new(Body::empty());
        *preflight.status_mut() = StatusCode::NO_CONTENT;
        let headers = preflight.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, OPTIONS"));
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(policy.allowed_headers));
        headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE_SECS));
        preflight
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(policy.exposed_headers));
    response
}
