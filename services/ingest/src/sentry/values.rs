//! Reading the loose JSON Sentry SDKs send: times as RFC 3339 strings or
//! epoch floats, ids and numbers as strings or numbers.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An RFC 3339 string (a missing offset read as UTC, as old SDKs send it)
/// or seconds since the epoch as a number.
pub fn timestamp(value: &Value) -> Option<OffsetDateTime> {
    match value {
        Value::String(text) => {
            let text = text.trim();
            OffsetDateTime::parse(text, &Rfc3339)
                .or_else(|_| OffsetDateTime::parse(&format!("{text}Z"), &Rfc3339))
                .ok()
                .or_else(|| text.parse::<f64>().ok().and_then(epoch))
        }
        Value::Number(number) => number.as_f64().and_then(epoch),
        _ => None,
    }
}

fn epoch(seconds: f64) -> Option<OffsetDateTime> {
    if !seconds.is_finite() || !(0.0..=253_402_300_799.0).contains(&seconds) {
        return None;
    }
    let micros = (seconds * 1_000_000.0).round() as i128;
    OffsetDateTime::from_unix_timestamp_nanos(micros * 1_000).ok()
}

/// A string as it is; a number or boolean as its JSON text; anything else `None`.
pub fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

/// [`text`] of `object[key]`, empty strings counted as absent.
pub fn text_at(object: &Value, key: &str) -> Option<String> {
    object.get(key).and_then(text).filter(|t| !t.trim().is_empty())
}

pub fn u64_at(object: &Value, key: &str) -> Option<u64> {
    match object.get(key)? {
        Value::Number(number) => number.as_u64().or_else(|| number.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// At most `max` characters.
pub fn truncate(mut text: String, max: usize) -> String {
    if let Some((at, _)) = text.char_indices().nth(max) {
        text.truncate(at);
    }
    text
}

/// Milliseconds from `start` to `end`, never negative.
pub fn duration_ms(start: OffsetDateTime, end: OffsetDateTime) -> i64 {
    (end - start).whole_milliseconds().max(0).min(i64::MAX as i128) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn times_come_as_strings_with_or_without_an_offset_or_as_epoch_floats() {
        let at = datetime!(2026-12-02 10:00:00.25 UTC);
        assert_eq!(timestamp(&json!("2026-12-02T10:00:00.250000Z")), Some(at));
        assert_eq!(timestamp(&json!("2026-12-02T10:00:00.25")), Some(at));
        assert_eq!(timestamp(&json!("2026-12-02T11:00:00.25+01:00")), Some(at));
        assert_eq!(timestamp(&json!(at.unix_timestamp() as f64 + 0.25)), Some(at));
        assert_eq!(timestamp(&json!(at.unix_timestamp())), Some(datetime!(2026-12-02 10:00 UTC)));
        assert_eq!(timestamp(&json!("1796205600.25")), Some(at));
        for bad in [json!("yesterday"), json!(-1), json!(1e300), json!(null), json!({})] {
            assert_eq!(timestamp(&bad), None, "{bad}");
        }
    }

    #[test]
    fn numbers_and_booleans_read_as_text() {
        assert_eq!(text(&json!(42)).as_deref(), Some("42"));
        assert_eq!(text(&json!(true)).as_deref(), Some("true"));
        assert_eq!(text(&json!(1.5)).as_deref(), Some("1.5"));
        assert_eq!(text(&json!([1])), None);
        assert_eq!(truncate("héllo".into(), 2), "hé");
    }
}
