//! The hour a rollup counts something in.

use time::{OffsetDateTime, Time, UtcOffset};

/// The UTC hour an event or session is counted in: the hour it happened, by
/// the device's clock, except that a time after its arrival is taken as the
/// arrival (a clock ahead would otherwise count it in an hour still to come).
/// Ingest has already replaced times far off the receive time
/// (docs/protocol.md), so this stays within 90 days before it.
pub fn counted_hour(timestamp: OffsetDateTime, received_at: OffsetDateTime) -> OffsetDateTime {
    let t = timestamp.min(received_at).to_offset(UtcOffset::UTC);
    t.replace_time(Time::from_hms(t.hour(), 0, 0).expect("an hour of a valid time is valid"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_counts_in_the_utc_hour_it_happened_never_after_its_arrival() {
        use time::macros::datetime;
        let received = datetime!(2026-12-02 16:40:12 UTC);
        assert_eq!(counted_hour(datetime!(2026-11-30 09:59:59.9 UTC), received), datetime!(2026-11-30 09:00 UTC));
        assert_eq!(counted_hour(datetime!(2026-11-30 10:45 +05:30), received), datetime!(2026-11-30 05:00 UTC), "the UTC hour");
        assert_eq!(counted_hour(datetime!(2026-12-03 01:00 UTC), received), datetime!(2026-12-02 16:00 UTC), "a clock ahead");
    }
}
