//! Fuzzes `POST /v1/traces` short of the queue: decoding an OTLP request
//! (protobuf, or the OTLP JSON mapping) and mapping and validating every
//! span in it. The first byte picks the format, the rest is the body. A
//! body is refused as undecodable (a 400) or answered; nothing panics.
//!
//! Run: `cd services/ingest/fuzz && cargo fuzz run otlp`.

#![no_main]

use ingest::IngestError;
use ingest::otlp::decode::{self, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let format = if selector % 2 == 0 { Format::Protobuf } else { Format::Json };
    match decode::decode(format, body) {
        Ok(decoded) => {
            let read = decoded.unreadable.len()
                + decoded.request.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum::<usize>();
            let prepared = ingest::otlp::prepare(decoded, time::OffsetDateTime::now_utc());
            // Every span read is either queued or refused, never lost.
            assert_eq!(prepared.spans.len() + prepared.rejected, read);
        }
        Err(IngestError::InvalidJson(_) | IngestError::InvalidProtobuf(_)) => {}
        Err(other) => panic!("an undecodable body must be a 400, got {other:?}"),
    }
});
