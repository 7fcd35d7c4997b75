//! What Sentry SDKs read from an answer besides its status:
//! `X-Sentry-Rate-Limits`, which tells an SDK which categories of data to
//! stop sending and for how long (CORS is `crate::cors::SENTRY`).
//!
//! Grammar (protocol.md): a comma-separated list of
//! `<seconds>:<category>;<category>…:<scope>[:<reason>]`; an empty category
//! list means every category, and the scope is always present.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sentori_store::quotas::Category;
use time::OffsetDateTime;

use super::Failure;
use crate::error::IngestError;

pub const RATE_LIMITS: &str = "x-sentry-rate-limits";

/// The Sentry data categories a Sentori quota stops.
fn categories(category: Category) -> &'static str {
    match category {
        Category::Events => "error;default",
        Category::Spans => "transaction;span",
    }
}

pub fn next_month() -> OffsetDateTime {
    sentori_store::partitions::month_start(OffsetDateTime::now_utc(), 1).midnight().assume_utc()
}

fn seconds_until(at: OffsetDateTime) -> i64 {
    (at - OffsetDateTime::now_utc()).whole_seconds().max(1)
}

/// One limit per used-up quota, or `None` when none is.
pub fn quota_header(stopped: &[(OffsetDateTime, Category)]) -> Option<HeaderValue> {
    let limits: Vec<String> = stopped
        .iter()
        .map(|(reset_at, category)| format!("{}:{}:organization:quota_exceeded", seconds_until(*reset_at), categories(*category)))
        .collect();
    (!limits.is_empty()).then(|| HeaderValue::from_str(&limits.join(", ")).ok()).flatten()
}

/// The protocol's error answer, with `X-Sentry-Rate-Limits` on every `429`
/// and `503` so an SDK backs off exactly what is refused.
pub fn error_response(failure: Failure) -> Response {
    match failure {
        Failure::Quota { reset_at, categories } => {
            let stopped: Vec<_> = categories.into_iter().map(|c| (reset_at, c)).collect();
            let mut response = IngestError::QuotaExceeded { reset_at }.into_response();
            if let Some(header) = quota_header(&stopped) {
                response.headers_mut().insert(RATE_LIMITS, header);
            }
            response
        }
        Failure::Ingest(err) => {
            let scope = match &err {
                IngestError::RateLimited { .. } | IngestError::TokenLookupsLimited { .. } => "key",
                _ => "organization",
            };
            let quota = match &err {
                IngestError::QuotaExceeded { reset_at } => Some(*reset_at),
                _ => None,
            };
            let mut response = err.into_response();
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
                let seconds = response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i64>().ok())
                    .unwrap_or(60);
                let value = match quota {
                    Some(reset_at) => format!("{}:error;default:organization:quota_exceeded", seconds_until(reset_at)),
                    None => format!("{seconds}::{scope}"),
                };
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.headers_mut().insert(RATE_LIMITS, value);
                }
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(response: &Response) -> &str {
        response.headers()[RATE_LIMITS].to_str().unwrap()
    }

    #[test]
    fn every_429_and_503_says_what_to_stop_in_the_sdks_grammar() {
        let limited = error_response(Failure::Ingest(IngestError::RateLimited { retry_after_ms: 2500 }));
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(limited.headers()[header::RETRY_AFTER], "3");
        assert_eq!(header(&limited), "3::key");
        let busy = error_response(Failure::Ingest(IngestError::Backlogged));
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(header(&busy), "5::organization");
        let reset_at = OffsetDateTime::now_utc() + time::Duration::hours(1);
        let quota = error_response(Failure::Quota { reset_at, categories: vec![Category::Spans] });
        assert_eq!(quota.status(), StatusCode::TOO_MANY_REQUESTS);
        let value = header(&quota);
        let parts: Vec<&str> = value.split(':').collect();
        assert_eq!(&parts[1..], ["transaction;span", "organization", "quota_exceeded"]);
        assert!((3590..=3600).contains(&parts[0].parse::<i64>().unwrap()), "{value}");
        let both = quota_header(&[(reset_at, Category::Events), (reset_at, Category::Spans)]).unwrap();
        assert!(both.to_str().unwrap().contains(":error;default:organization:quota_exceeded, "));
        let bad = error_response(Failure::Ingest(IngestError::WrongProject));
        assert_eq!(bad.status(), StatusCode::FORBIDDEN);
        assert!(bad.headers().get(RATE_LIMITS).is_none());
    }
}
