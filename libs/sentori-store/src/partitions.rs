//! Monthly partitions of `events` and `spans`.

use sqlx::PgPool;
use time::{Date, Month, OffsetDateTime};

/// The partitioned tables.
pub const PARTITIONED: [&str; 2] = ["events", "spans"];

/// How many months ahead partitions exist, so writes never fall into the default partition.
pub const MONTHS_AHEAD: u32 = 6;

/// The first day of the month `offset` months after the month of `at`.
pub fn month_start(at: OffsetDateTime, offset: i32) -> Date {
    let index = at.year() * 12 + (at.month() as i32 - 1) + offset;
    let (year, month0) = (index.div_euclid(12), index.rem_euclid(12));
    let month = Month::try_from(month0 as u8 + 1).expect("month in 1..=12");
    Date::from_calendar_date(year, month, 1).expect("first of a month is a date")
}

/// Creates the current month's and the next [`MONTHS_AHEAD`] months' partitions.
/// Returns the names of the partitions it created.
pub async fn ensure_ahead(pool: &PgPool, now: OffsetDateTime) -> Result<Vec<String>, sqlx::Error> {
    let mut created = Vec::new();
    for table in PARTITIONED {
        for offset in 0..=MONTHS_AHEAD as i32 {
            let start = month_start(now, offset);
            let made = sqlx::query_scalar!(r#"SELECT sentori_ensure_month_partition($1, $2) AS "made!""#, table, start)
                .fetch_one(pool)
                .await?;
            if made {
                created.push(format!("{table}_p{:04}{:02}", start.year(), start.month() as u8));
            }
        }
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn month_arithmetic_crosses_years() {
        let at = datetime!(2026-11-26 10:00 UTC);
        assert_eq!(month_start(at, 0).to_string(), "2026-11-01");
        assert_eq!(month_start(at, 2).to_string(), "2027-01-01");
        assert_eq!(month_start(at, -11).to_string(), "2025-12-01");
        assert_eq!(month_start(at, -23).to_string(), "2024-12-01");
    }
}
