//! The periods the dashboard's charts cover (an issue's histogram, a
//! release's series) and the buckets they are drawn in.

use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistogramParams {
    /// `24h` (default): 24 hourly buckets; `14d` or `90d`: daily buckets (UTC days).
    pub period: Option<String>,
}

/// The periods a histogram covers, for the document.
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum HistogramPeriod {
    #[schema(rename = "24h")]
    Day,
    #[schema(rename = "14d")]
    TwoWeeks,
    #[schema(rename = "90d")]
    Quarter,
}

/// A histogram bucket's length, for the document.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum HistogramUnit {
    Hour,
    Day,
}

#[derive(Clone, Copy)]
pub enum Period {
    Day,
    TwoWeeks,
    Quarter,
}

impl Period {
    /// A missing or blank value is the default, `24h`.
    pub fn parse(value: Option<&str>) -> Result<Self, ApiError> {
        match value.map(str::trim).filter(|v| !v.is_empty()).unwrap_or("24h") {
            "24h" => Ok(Period::Day),
            "14d" => Ok(Period::TwoWeeks),
            "90d" => Ok(Period::Quarter),
            _ => Err(ApiError::invalid("period", "must be one of 24h, 14d, 90d")),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Period::Day => "24h",
            Period::TwoWeeks => "14d",
            Period::Quarter => "90d",
        }
    }

    /// How many hours back it reaches.
    pub fn hours(self) -> i64 {
        let (_, hours, count) = self.buckets();
        i64::from(hours * count)
    }

    /// The bucket's `date_trunc` unit, its length in hours, and how many there are.
    pub fn buckets(self) -> (&'static str, i32, i32) {
        match self {
            Period::Day => ("hour", 1, 24),
            Period::TwoWeeks => ("day", 24, 14),
            Period::Quarter => ("day", 24, 90),
        }
    }
}

/// A `buckets` CTE for a query bound as `$3` the bucket's `date_trunc` unit,
/// `$4` its length in hours and `$5` how many (see [`Period::buckets`]): their
/// starts, oldest first, the last being the current hour or day (UTC). It
/// has no rows unless `exists` (an SQL condition) holds, so a query over
/// something that does not exist returns nothing.
///
/// Steps in hours, not days: adding a day to a `timestamptz` follows the
/// session's time zone, and a daylight-saving change would shift buckets off
/// the UTC midnights.
pub fn buckets_cte(exists: &str) -> String {
    format!(
        "buckets AS (
             SELECT start FROM generate_series(
                 date_trunc($3, now(), 'UTC') - ($5 - 1) * make_interval(hours => $4),
                 date_trunc($3, now(), 'UTC'),
                 make_interval(hours => $4)) AS start
              WHERE {exists})"
    )
}
