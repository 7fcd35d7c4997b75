//! Message normalisation (processing.md, "Grouping").
//!
//! Values that differ between occurrences of one bug (ids, addresses,
//! timestamps, counts) are replaced by placeholders so the messages group.
//! The order matters: a UUID contains hex runs and digits, a timestamp
//! contains digits, so the more specific patterns go first.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

struct Patterns {
    uuid: Regex,
    hex: Regex,
    timestamp: Regex,
    email: Regex,
    ipv4: Regex,
    ipv6: Regex,
    url_query: Regex,
    digits: Regex,
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| Patterns {
    uuid: Regex::new(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b").unwrap(),
    hex: Regex::new(r"(?i)\b0x[0-9a-f]+\b|\b[0-9a-f]{8,}\b").unwrap(),
    timestamp: Regex::new(
        r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b",
    )
    .unwrap(),
    email: Regex::new(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b").unwrap(),
    ipv4: Regex::new(r"\b(?:\d{1,3}\.){3}\d{1,3}\b").unwrap(),
    ipv6: Regex::new(r"(?i)(?:\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|(?:\b[0-9a-f]{1,4})?(?::[0-9a-f]{1,4}){0,6}::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6}\b)?)").unwrap(),
    url_query: Regex::new(r"(?i)\b((?:https?|wss?)://[^\s?#]+)\?[^\s#]*").unwrap(),
    digits: Regex::new(r"\d+").unwrap(),
});

/// Replaces, in this order: UUIDs, hex numbers of 8 or more digits and any
/// `0x…`, ISO timestamps, e-mail addresses, IP addresses, URL query strings
/// and runs of digits.
pub fn normalize_message(message: &str) -> String {
    let p = &*PATTERNS;
    let text = p.uuid.replace_all(message, "<uuid>");
    let text = replace(&p.hex, text, |caps| {
        let found = &caps[0];
        // A word like "deadbeef" with no digit is more likely prose than a number.
        if found.starts_with("0x") || found.starts_with("0X") || found.bytes().any(|b| b.is_ascii_digit()) {
            "<hex>".to_owned()
        } else {
            found.to_owned()
        }
    });
    let text = replace_with(&p.timestamp, text, "<ts>");
    let text = replace_with(&p.email, text, "<email>");
    let text = replace_with(&p.ipv4, text, "<ip>");
    let text = replace(&p.ipv6, text, |caps| {
        // `::` alone, or the `::` in `std::vector`, is not an address.
        let found = &caps[0];
        if found.len() > 2 && found.bytes().filter(|b| *b == b':').count() >= 2 && found.bytes().any(|b| b.is_ascii_digit()) {
            "<ip>".to_owned()
        } else {
            found.to_owned()
        }
    });
    let text = replace_with(&p.url_query, text, "$1?<query>");
    let text = replace_with(&p.digits, text, "<n>");
    text.into_owned()
}

fn replace_with<'a>(re: &Regex, text: Cow<'a, str>, with: &str) -> Cow<'a, str> {
    match re.replace_all(&text, with) {
        Cow::Borrowed(_) => text,
        Cow::Owned(s) => Cow::Owned(s),
    }
}

fn replace<'a>(re: &Regex, text: Cow<'a, str>, with: impl FnMut(&Captures) -> String) -> Cow<'a, str> {
    match re.replace_all(&text, with) {
        Cow::Borrowed(_) => text,
        Cow::Owned(s) => Cow::Owned(s),
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_message as n;

    #[test]
    fn uuids() {
        assert_eq!(n("user 019508a0-1111-7000-8000-00000000ABCD not found"), "user <uuid> not found");
    }

    #[test]
    fn hex_numbers() {
        assert_eq!(n("segfault at 0x7ffdf00d"), "segfault at <hex>");
        assert_eq!(n("object 3f2a1b9c4d5e gone"), "object <hex> gone");
        assert_eq!(n("tx 0xA"), "tx <hex>");
        assert_eq!(n("a deadbeefcafe word"), "a deadbeefcafe word", "no digit: prose, not a number");
    }

    #[test]
    fn timestamps() {
        assert_eq!(n("expired at 2026-11-26T10:00:00.123Z"), "expired at <ts>");
        assert_eq!(n("on 2026-11-26 10:00:00+01:00"), "on <ts>");
        assert_eq!(n("due 2026-11-26"), "due <ts>");
    }

    #[test]
    fn emails() {
        assert_eq!(n("no account for jane.doe+x@example.co.uk"), "no account for <email>");
    }

    #[test]
    fn ip_addresses() {
        assert_eq!(n("connect to 10.0.0.12 refused"), "connect to <ip> refused");
        assert_eq!(n("connect to 2001:db8::1 refused"), "connect to <ip> refused");
        assert_eq!(n("fe80:0:0:0:202:b3ff:fe1e:8329 down"), "<ip> down");
        assert_eq!(n("std::vector::at"), "std::vector::at");
    }

    #[test]
    fn url_query_strings() {
        assert_eq!(
            n("GET https://api.example.com/items?page=2&sort=asc failed"),
            "GET https://api.example.com/items?<query> failed"
        );
    }

    #[test]
    fn digit_runs() {
        assert_eq!(n("index 12 out of range for length 3"), "index <n> out of range for length <n>");
    }

    #[test]
    fn specific_patterns_win_over_digits() {
        let a = n("timeout after 3000ms talking to 192.168.1.20 for 2026-01-02T03:04:05Z");
        let b = n("timeout after 4500ms talking to 192.168.7.3 for 2026-05-06T07:08:09Z");
        assert_eq!(a, b);
        assert_eq!(a, "timeout after <n>ms talking to <ip> for <ts>");
    }

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(n("Cannot read properties of undefined"), "Cannot read properties of undefined");
    }
}
