//! Splitting a Sentry envelope: a JSON header line, then items, each a JSON
//! header line and a payload. A payload whose header has `length` is exactly
//! that many bytes (it may contain newlines); without `length` it runs to
//! the next newline or the end. A missing final newline is fine.
//!
//! The splitter only cuts bytes; it never parses a payload, so one bad
//! payload fails only its own item.

use serde_json::{Map, Value};

/// The envelope header and its items, as far as they could be cut.
#[derive(Debug, Default)]
pub struct Envelope<'a> {
    pub header: Map<String, Value>,
    pub items: Vec<Item<'a>>,
    /// Why splitting stopped before the end, if it did: everything after
    /// that point is lost, everything before it is kept.
    pub broken: Option<String>,
}

#[derive(Debug)]
pub struct Item<'a> {
    /// The header's `type`, `""` when absent.
    pub item_type: String,
    pub header: Map<String, Value>,
    pub payload: &'a [u8],
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("the envelope is empty")]
    Empty,
    #[error("the envelope header is not a JSON object: {0}")]
    BadHeader(String),
}

/// Cuts `body` into its header and items.
pub fn split(body: &[u8]) -> Result<Envelope<'_>, SplitError> {
    let (first, mut rest) = line(body);
    if first.iter().all(u8::is_ascii_whitespace) {
        return Err(SplitError::Empty);
    }
    let header = object(first).map_err(SplitError::BadHeader)?;
    let mut envelope = Envelope { header, ..Default::default() };
    while !rest.is_empty() {
        let (item_line, after) = line(rest);
        rest = after;
        // Blank lines between items carry nothing.
        if item_line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let header = match object(item_line) {
            Ok(header) => header,
            Err(why) => {
                envelope.broken = Some(format!("item {}: the header is not a JSON object: {why}", envelope.items.len()));
                break;
            }
        };
        let item_type = header.get("type").and_then(Value::as_str).unwrap_or("").to_owned();
        let payload = match header.get("length") {
            Some(length) => {
                let Some(length) = length.as_u64().and_then(|l| usize::try_from(l).ok()) else {
                    envelope.broken = Some(format!("item {}: length must be a non-negative integer", envelope.items.len()));
                    break;
                };
                if length > rest.len() {
                    envelope.broken = Some(format!(
                        "item {}: length {length} is past the end of the envelope ({} bytes left)",
                        envelope.items.len(),
                        rest.len()
                    ));
                    break;
                }
                let (payload, after) = rest.split_at(length);
                // The newline that ends the payload, when there is one.
                rest = after.strip_prefix(b"\r\n").or_else(|| after.strip_prefix(b"\n")).unwrap_or(after);
                payload
            }
            None => {
                let (payload, after) = line(rest);
                rest = after;
                payload
            }
        };
        envelope.items.push(Item { item_type, header, payload });
    }
    Ok(envelope)
}

/// The bytes up to the next `\n` (a `\r` before it dropped) and what follows it.
fn line(bytes: &[u8]) -> (&[u8], &[u8]) {
    let (line, rest) = match bytes.iter().position(|&b| b == b'\n') {
        Some(at) => (&bytes[..at], &bytes[at + 1..]),
        None => (bytes, &bytes[bytes.len()..]),
    };
    (line.strip_suffix(b"\r").unwrap_or(line), rest)
}

fn object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("not an object".into()),
        Err(err) => Err(err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types<'e>(envelope: &'e Envelope<'_>) -> Vec<&'e str> {
        envelope.items.iter().map(|i| i.item_type.as_str()).collect()
    }

    #[test]
    fn items_with_length_may_hold_newlines_and_items_without_run_to_the_newline() {
        let body = b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n\
            {\"type\":\"attachment\",\"length\":10,\"filename\":\"a.txt\"}\n\x0aline\x0a\x0abc\n\
            {\"type\":\"event\"}\n{\"message\":\"hi\"}\n";
        let envelope = split(body).unwrap();
        assert_eq!(envelope.header["event_id"], "9ec79c33ec9942ab8353589fcb2e04dc");
        assert_eq!(types(&envelope), ["attachment", "event"]);
        assert_eq!(envelope.items[0].payload, b"\nline\n\nbc\n");
        assert_eq!(envelope.items[1].payload, b"{\"message\":\"hi\"}");
        assert_eq!(envelope.broken, None);
    }

    #[test]
    fn a_missing_final_newline_is_fine_with_or_without_length() {
        let envelope = split(b"{}\n{\"type\":\"event\",\"length\":2}\n{}").unwrap();
        assert_eq!(envelope.items[0].payload, b"{}");
        let envelope = split(b"{}\n{\"type\":\"event\"}\n{\"a\":1}").unwrap();
        assert_eq!(envelope.items[0].payload, b"{\"a\":1}");
        let envelope = split(b"{\"dsn\":\"x\"}").unwrap();
        assert!(envelope.items.is_empty());
        assert_eq!(envelope.header["dsn"], "x");
    }

    #[test]
    fn an_item_header_at_the_very_end_has_an_empty_payload() {
        let envelope = split(b"{}\n{\"type\":\"session\"}").unwrap();
        assert_eq!(types(&envelope), ["session"]);
        assert_eq!(envelope.items[0].payload, b"");
        let envelope = split(b"{}\n{\"type\":\"event\",\"length\":0}\n{\"type\":\"span\"}\n{}\n").unwrap();
        assert_eq!(types(&envelope), ["event", "span"]);
        assert_eq!(envelope.items[0].payload, b"");
    }

    #[test]
    fn an_empty_envelope_or_a_bad_header_is_refused() {
        assert_eq!(split(b"").unwrap_err(), SplitError::Empty);
        assert_eq!(split(b"\n\n").unwrap_err(), SplitError::Empty);
        assert!(matches!(split(b"[1]\n").unwrap_err(), SplitError::BadHeader(_)));
        assert!(matches!(split(b"{\"a\":\n{}").unwrap_err(), SplitError::BadHeader(_)));
    }

    #[test]
    fn a_truncated_item_keeps_the_items_before_it() {
        let envelope = split(b"{}\n{\"type\":\"event\"}\n{}\n{\"type\":\"attachment\",\"length\":100}\nshort").unwrap();
        assert_eq!(types(&envelope), ["event"]);
        assert!(envelope.broken.unwrap().contains("past the end"));
        let envelope = split(b"{}\n{\"type\":\"event\"}\n{}\nnot json\n{\"type\":\"event\"}\n{}\n").unwrap();
        assert_eq!(types(&envelope), ["event"]);
        assert!(envelope.broken.is_some());
        let envelope = split(b"{}\n{\"type\":\"event\",\"length\":-1}\n{}").unwrap();
        assert!(envelope.items.is_empty() && envelope.broken.is_some());
    }

    #[test]
    fn unknown_and_missing_types_are_items_like_any_other() {
        let envelope = split(b"{}\r\n{\"type\":\"brand_new\"}\r\n{\"x\":1}\r\n{}\n\n{\"type\":\"event\"}\n{}").unwrap();
        assert_eq!(types(&envelope), ["brand_new", "", "event"]);
        assert_eq!(envelope.items[0].payload, b"{\"x\":1}");
    }
}
