//! Trace and span ids from protocols that do not use UUIDs.
//!
//! W3C trace context (OpenTelemetry, Sentry, the `traceparent` header) has
//! 16-byte trace ids and 8-byte span ids. A trace id is a UUID's 16 bytes
//! as they are, so its 32-hex form is the UUID's simple form. An 8-byte span
//! id fills a UUID's last 8 bytes behind 8 zero bytes; going the other way,
//! a span's W3C id is its UUID's last 8 bytes (the random part of a v7), so
//! a span id that crossed into W3C form and back names the same span.

use uuid::Uuid;

pub fn trace_id(bytes: [u8; 16]) -> Uuid {
    Uuid::from_bytes(bytes)
}

pub fn span_id(bytes: [u8; 8]) -> Uuid {
    let mut full = [0u8; 16];
    full[8..].copy_from_slice(&bytes);
    Uuid::from_bytes(full)
}

/// The 8-byte W3C form of a span id.
pub fn w3c_span_id(id: Uuid) -> [u8; 8] {
    let mut short = [0u8; 8];
    short.copy_from_slice(&id.as_bytes()[8..]);
    short
}

/// A trace id written as 32 hex digits (Sentry, OTLP JSON) or as a UUID.
pub fn parse_trace_id(text: &str) -> Option<Uuid> {
    parse_hex::<16>(text).map(trace_id).or_else(|| Uuid::parse_str(text).ok())
}

/// A span id written as 16 hex digits, or as a UUID.
pub fn parse_span_id(text: &str) -> Option<Uuid> {
    parse_hex::<8>(text).map(span_id).or_else(|| Uuid::parse_str(text).ok())
}

fn parse_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_in_w3c_form_name_the_same_span_both_ways() {
        let short = [0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3];
        assert_eq!(w3c_span_id(span_id(short)), short);
        assert_eq!(parse_span_id("deadbeef00010203"), Some(span_id(short)));
        let trace = parse_trace_id("0af7651916cd43dd8448eb211c80319c").unwrap();
        assert_eq!(trace.simple().to_string(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(parse_trace_id(&trace.to_string()), Some(trace));
        for bad in ["", "0af7651916cd43dd8448eb211c80319", "zz", "deadbeef0001020g"] {
            assert_eq!(parse_span_id(bad), None, "{bad}");
            assert_eq!(parse_trace_id(bad), None, "{bad}");
        }
    }
}
