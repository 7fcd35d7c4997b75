//! Keyset cursors: the sort key of the last row of a page and its id,
//! base64url-encoded so clients treat it as opaque. Every list sorts by its
//! key descending, then by id ascending (matching the indexes), except a
//! trace's spans, which run forward in time (key and id ascending); the next
//! page starts strictly after the cursor's row.

use axum::http::{HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ApiError;

pub const NEXT_CURSOR: HeaderName = HeaderName::from_static("x-next-cursor");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// A count, or a timestamp as microseconds since the epoch.
    pub key: i64,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.key, self.id.simple()))
    }

    pub fn decode(value: &str) -> Result<Self, ApiError> {
        let bad = || ApiError::BadRequest { code: "invalidCursor", message: "The cursor is not one this API issued".into() };
        let bytes = URL_SAFE_NO_PAD.decode(value.trim()).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (key, id) = text.split_once(':').ok_or_else(bad)?;
        Ok(Cursor { key: key.parse().map_err(|_| bad())?, id: Uuid::try_parse(id).map_err(|_| bad())? })
    }

    pub fn parse(value: Option<&str>) -> Result<Option<Self>, ApiError> {
        value.filter(|v| !v.is_empty()).map(Self::decode).transpose()
    }

    /// The timestamp this cursor's key stands for.
    pub fn time(&self) -> Result<OffsetDateTime, ApiError> {
        OffsetDateTime::from_unix_timestamp_nanos(self.key as i128 * 1000)
            .map_err(|_| ApiError::BadRequest { code: "invalidCursor", message: "The cursor is out of range".into() })
    }
}

pub fn micros(at: OffsetDateTime) -> i64 {
    (at.unix_timestamp_nanos() / 1000) as i64
}

/// `?limit&cursor` of a list that has no filters of its own.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Rows per page; each list has its own default and maximum.
    pub limit: Option<i64>,
    /// `X-Next-Cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    /// The validated limit and the position to continue after.
    pub fn page(&self, default: i64, max: i64) -> Result<(i64, Option<Cursor>), ApiError> {
        Ok((limit(self.limit, default, max)?, Cursor::parse(self.cursor.as_deref())?))
    }
}

/// Validates `limit` (1..=max, default `default`).
pub fn limit(value: Option<i64>, default: i64, max: i64) -> Result<i64, ApiError> {
    let limit = value.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::invalid("limit", format!("must be between 1 and {max}")));
    }
    Ok(limit)
}

/// A page of a list: the rows, and the cursor of the next page when there is one.
pub struct Page<T> {
    pub rows: Vec<T>,
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// Trims a `limit + 1` fetch to `limit` rows; the extra row only says
    /// another page exists, and the cursor is the last kept row's.
    pub fn from_overfetch(mut rows: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> Cursor) -> Self {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next = if more { rows.last().map(cursor_of) } else { None };
        Page { rows, next }
    }
}

impl<T: Serialize> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        with_next(axum::Json(self.rows), self.next)
    }
}

/// A response whose body holds one page, with the `X-Next-Cursor` header
/// when another page follows.
pub fn with_next(body: impl IntoResponse, next: Option<Cursor>) -> Response {
    let mut response = body.into_response();
    if let Some(next) = next
        && let Ok(value) = HeaderValue::from_str(&next.encode())
    {
        response.headers_mut().insert(NEXT_CURSOR, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor { key: -1_234_567, id: Uuid::new_v4() };
        assert_eq!(Cursor::decode(&cursor.encode()).unwrap(), cursor);
        assert!(Cursor::decode("not base64!").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode("12:nope")).is_err());
        assert!(Cursor::parse(Some("")).unwrap().is_none());
    }
}
