//! Fuzzes what ingest does with a request body before anything is queued:
//! decompression under the size cap, JSON parsing, validation and trimming.
//! The first byte picks the Content-Encoding, the rest is the body.
//!
//! Run: `cd services/ingest/fuzz && cargo fuzz run body_parser` (cargo-fuzz
//! needs nightly features; `RUSTC_BOOTSTRAP=1` enables them on stable).

#![no_main]

use libfuzzer_sys::fuzz_target;

const ENCODINGS: [Option<&str>; 6] = [None, Some("gzip"), Some("deflate"), Some("br"), Some("zstd"), Some("identity")];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let encoding = ENCODINGS[selector as usize % ENCODINGS.len()];
    let Ok(decoded) = ingest::body::decode(encoding, bytes::Bytes::copy_from_slice(body), ingest::body::JSON_LIMIT) else {
        return;
    };
    let Ok(value) = ingest::body::parse_json(&decoded) else { return };
    let received_at = time::OffsetDateTime::now_utc();
    if let Ok(event) = sentori_protocol::validate_event(value.clone(), received_at) {
        // What is stored must still be valid JSON of bounded size.
        let stored = serde_json::to_vec(&event.payload).expect("a validated payload serialises");
        assert!(stored.len() <= decoded.len() * 2 + 4096, "trimming never grows a payload much");
    }
    let _ = sentori_protocol::validate_span(value.clone(), received_at);
    let _ = sentori_protocol::validate_session(value.clone(), received_at);
    let _ = sentori_protocol::validate_deploy(value, received_at);
});
