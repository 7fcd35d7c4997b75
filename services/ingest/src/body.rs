//! Reading request bodies: decompression with the limit applied to the
//! decoded size while decoding, so a compression bomb is refused without
//! ever being inflated in full.

use std::io::Read;

use axum::body::Body;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_ENCODING;
use bytes::Bytes;
use sentori_protocol::json::{self, Json};

use crate::error::IngestError;

/// Every JSON route: 1 MiB decoded.
pub const JSON_LIMIT: usize = 1024 * 1024;
/// A single span.
pub const SPAN_LIMIT: usize = 64 * 1024;
/// The largest zstd window a body may ask for: 2^23 = 8 MiB. A frame's
/// header names its window and the decoder allocates it up front, so
/// without this a few bytes could ask for zstd's own maximum (128 MiB and
/// more). Every compression level up to 19 stays within it for bodies of
/// our size.
pub const ZSTD_WINDOW_LOG_MAX: u32 = 23;

/// Reads and decodes a body of at most `limit` decoded bytes, for
/// [`parse_json`]. Any content type is accepted: beacons arrive as `text/plain`.
pub async fn read_decoded(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, IngestError> {
    let encoding = headers.get(CONTENT_ENCODING).map(|v| v.to_str().unwrap_or("?").to_owned());
    // A compressed body is never larger than its decoded form by more than a
    // few bytes per block; this bound only stops reading early.
    let raw_limit = limit + limit / 8 + 1024;
    let raw = axum::body::to_bytes(body, raw_limit)
        .await
        .map_err(|_| IngestError::PayloadTooLarge { limit })?;
    decode(encoding.as_deref(), raw, limit)
}

/// Decodes a body sent with `Content-Encoding: encoding`, refusing more than
/// `limit` decoded bytes. Pure and synchronous, so it can be fuzzed.
pub fn decode(encoding: Option<&str>, raw: Bytes, limit: usize) -> Result<Bytes, IngestError> {
    let encoding = encoding
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty() && e != "identity");
    match encoding.as_deref() {
        None => {
            if raw.len() > limit {
                return Err(IngestError::PayloadTooLarge { limit });
            }
            Ok(raw)
        }
        Some("gzip" | "x-gzip") => inflate(flate2::read::GzDecoder::new(&raw[..]), limit),
        Some("deflate") => {
            // HTTP's "deflate" is zlib-wrapped, but some clients send raw deflate.
            inflate(flate2::read::ZlibDecoder::new(&raw[..]), limit)
                .or_else(|_| inflate(flate2::read::DeflateDecoder::new(&raw[..]), limit))
        }
        Some("br") => inflate(brotli::Decompressor::new(&raw[..], 4096), limit),
        Some("zstd") => {
            let corrupt = |e: std::io::Error| IngestError::InvalidJson(format!("zstd stream is corrupt: {e}"));
            let mut decoder = zstd::stream::read::Decoder::new(&raw[..]).map_err(corrupt)?;
            decoder.window_log_max(ZSTD_WINDOW_LOG_MAX).map_err(corrupt)?;
            inflate(decoder, limit)
        }
        Some(other) => Err(IngestError::UnsupportedEncoding(other.to_owned())),
    }
}

/// The body of a legacy `/store/` request: JSON, or what the SDKs of
/// before envelopes (raven-*) sent without a `Content-Encoding`: the JSON
/// base64-encoded, usually after zlib compression.
pub fn legacy_store_body(raw: Bytes, limit: usize) -> Result<Bytes, IngestError> {
    use base64::Engine;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let text = raw.trim_ascii();
    if text.is_empty() || text[0] == b'{' {
        return Ok(raw);
    }
    let decoded = LENIENT.decode(text).map_err(|_| {
        IngestError::InvalidJson("the body is neither JSON nor base64 (of zlib-compressed) JSON".into())
    })?;
    // A zlib stream starts with 0x78 (deflate, 32 KiB window); JSON never does.
    if decoded.first() == Some(&0x78) {
        return inflate(flate2::read::ZlibDecoder::new(&decoded[..]), limit);
    }
    if decoded.len() > limit {
        return Err(IngestError::PayloadTooLarge { limit });
    }
    Ok(Bytes::from(decoded))
}

/// Decodes at most `limit + 1` bytes: one byte over is enough to know.
fn inflate(reader: impl Read, limit: usize) -> Result<Bytes, IngestError> {
    let mut out = Vec::with_capacity(limit.min(64 * 1024));
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| IngestError::InvalidJson(format!("the compressed body could not be decoded: {e}")))?;
    if out.len() > limit {
        return Err(IngestError::PayloadTooLarge { limit });
    }
    Ok(Bytes::from(out))
}

/// Parses a decoded body into a tree that borrows its strings from it.
pub fn parse_json(bytes: &[u8]) -> Result<Json<'_>, IngestError> {
    json::parse(bytes).map_err(|e| IngestError::InvalidJson(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zstd_with_window(window_log: u32, text: &[u8]) -> Bytes {
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        encoder.window_log(window_log).unwrap();
        std::io::Write::write_all(&mut encoder, text).unwrap();
        Bytes::from(encoder.finish().unwrap())
    }

    #[test]
    fn a_legacy_store_body_may_be_base64_of_zlib_or_of_json() {
        use base64::Engine;
        let json = br#"{"message":"from raven"}"#;
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut zlib, json).unwrap();
        let packed = base64::engine::general_purpose::STANDARD.encode(zlib.finish().unwrap());
        assert_eq!(legacy_store_body(Bytes::from(packed), JSON_LIMIT).unwrap(), &json[..]);
        let plain = base64::engine::general_purpose::STANDARD_NO_PAD.encode(json);
        assert_eq!(legacy_store_body(Bytes::from(plain), JSON_LIMIT).unwrap(), &json[..]);
        let as_is = Bytes::from_static(b"  {\"a\": 1}");
        assert_eq!(legacy_store_body(as_is.clone(), JSON_LIMIT).unwrap(), as_is);
        assert!(matches!(legacy_store_body(Bytes::from_static(b"<xml/>"), JSON_LIMIT), Err(IngestError::InvalidJson(_))));
        // A zlib bomb stops at the limit.
        let mut bomb = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut bomb, &vec![b' '; 4 * JSON_LIMIT]).unwrap();
        let bomb = base64::engine::general_purpose::STANDARD.encode(bomb.finish().unwrap());
        assert!(matches!(legacy_store_body(Bytes::from(bomb), JSON_LIMIT), Err(IngestError::PayloadTooLarge { .. })));
    }

    #[test]
    fn a_zstd_frame_asking_for_a_window_over_8_mib_is_refused() {
        let body = br#"{"ok": true}"#;
        let within = zstd_with_window(ZSTD_WINDOW_LOG_MAX, body);
        assert_eq!(decode(Some("zstd"), within, JSON_LIMIT).unwrap(), &body[..]);
        // 16 MiB: zstd's own default limit (128 MiB) would decode it.
        let over = zstd_with_window(ZSTD_WINDOW_LOG_MAX + 1, body);
        match decode(Some("zstd"), over, JSON_LIMIT) {
            Err(IngestError::InvalidJson(message)) => {
                assert!(message.contains("memory"), "{message}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}
