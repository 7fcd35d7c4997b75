//! Fuzzes what the processor does with an entry, short of the database:
//! only payloads that pass ingest's validation reach it, as in production,
//! so a finding is a bug one request with a public token could trigger.
//! The first byte picks the stream, the rest is the request body. An error
//! is the processor refusing the entry (it is dead-lettered alone); only a
//! panic is a finding.
//!
//! Run: `cd services/processor/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run handlers corpus/handlers -- -runs=1000000`
//! (`make fuzz` does this for each target).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sentori_protocol::json::Json;
use sentori_queue::{Envelope, ItemKind, Payload};
use time::OffsetDateTime;

type Validate = fn(Json<'_>, OffsetDateTime) -> Option<String>;

const STREAMS: [(ItemKind, Validate); 3] = [
    (ItemKind::Event, |v, at| sentori_protocol::validate_event(v, at).ok().map(|e| e.payload.to_json_string())),
    (ItemKind::Span, |v, at| sentori_protocol::validate_span(v, at).ok().map(|s| s.payload.to_json_string())),
    (ItemKind::Session, |v, at| sentori_protocol::validate_session(v, at).ok().map(|s| s.payload.to_json_string())),
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let (kind, validate) = STREAMS[selector as usize % STREAMS.len()];
    let Ok(value) = sentori_protocol::json::parse(body) else { return };
    // The seeds' times are of 2026-11; any fixed receive time keeps runs repeatable.
    let received_at = time::macros::datetime!(2026-11-26 12:00 UTC);
    let Some(text) = validate(value, received_at) else { return };
    let mut payload = Payload::from_json_text(text);
    // Ingest packs a request's spans into one `Spans` entry; the high bit
    // of the selector takes that path (with the span twice).
    let kind = match kind {
        ItemKind::Span if selector & 0x80 != 0 => {
            payload = Payload::array(&[payload.clone(), payload]);
            ItemKind::Spans
        }
        kind => kind,
    };
    let envelope = Envelope::new(kind, uuid::Uuid::nil(), uuid::Uuid::nil(), received_at).with_payload_text(payload);
    // The stream carries the envelope encoded; the processor decodes it.
    let envelope = Envelope::decode(&envelope.encode().expect("an envelope encodes")).expect("an encoded envelope decodes");
    let _ = match kind {
        ItemKind::Event => processor::offline::event(&envelope),
        ItemKind::Span | ItemKind::Spans => processor::offline::span(&envelope),
        _ => processor::offline::session(&envelope),
    };
});
