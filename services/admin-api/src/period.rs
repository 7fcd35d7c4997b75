//! The periods the dashboard's charts cover (an issue's histogram, a
//! release's series) and the buckets they are drawn in.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use sqlx::Postgres;
use sqlx::postgres::PgArguments;
use sqlx::query::QueryAs;
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;
use crate::extract::Query;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistogramParams {
    /// `24h` (default): 24 hourly buckets; `14d` or `90d`: daily buckets (UTC days).
    pub period: Option<String>,
}

/// The periods a chart covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(as = HistogramPeriod)]
pub enum Period {
    #[serde(rename = "24h")]
    Day,
    #[serde(rename = "14d")]
    TwoWeeks,
    #[serde(rename = "90d")]
    Quarter,
}

/// A chart bucket's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = HistogramUnit)]
pub enum BucketUnit {
    Hour,
    Day,
}

impl BucketUnit {
    /// The unit as `date_trunc` names it.
    pub fn sql(self) -> &'static str {
        match self {
            BucketUnit::Hour => "hour",
            BucketUnit::Day => "day",
        }
    }
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

    /// How many hours back it reaches.
    pub fn hours(self) -> i64 {
        let (_, hours, count) = self.buckets();
        i64::from(hours * count)
    }

    /// The bucket's unit, its length in hours, and how many there are.
    fn buckets(self) -> (BucketUnit, i32, i32) {
        match self {
            Period::Day => (BucketUnit::Hour, 1, 24),
            Period::TwoWeeks => (BucketUnit::Day, 24, 14),
            Period::Quarter => (BucketUnit::Day, 24, 90),
        }
    }

    pub fn unit(self) -> BucketUnit {
        self.buckets().0
    }

    /// Binds `$3` to `$5` of a query over [`buckets_cte`] to this period's
    /// buckets; `query` has bound `$1` and `$2`.
    pub fn bind_buckets<'q, O>(self, query: QueryAs<'q, Postgres, O, PgArguments>) -> QueryAs<'q, Postgres, O, PgArguments> {
        let (unit, hours, count) = self.buckets();
        query.bind(unit.sql()).bind(hours).bind(count)
    }
}

/// A chart's handler takes the period straight from the query string
/// ([`HistogramParams`] documents it).
impl<S: Send + Sync> FromRequestParts<S> for Period {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(params) = Query::<HistogramParams>::from_request_parts(parts, state).await?;
        Period::parse(params.period.as_deref())
    }
}

/// A `buckets` CTE for a query bound as `$3` the bucket's `date_trunc` unit,
/// `$4` its length in hours and `$5` how many ([`Period::bind_buckets`]): their
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
