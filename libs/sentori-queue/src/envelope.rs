//! The versioned entry every stream carries.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use uuid::Uuid;

/// Bumped on an incompatible change; readers reject versions they do not know.
///
/// Version 2 carries the payload as JSON text instead of a MessagePack tree,
/// so a consumer parses only the parts it reads and can store the rest as
/// it came. Version 3 compresses that text with zstd when it is at least
/// [`COMPRESS_FROM_BYTES`] long (a MessagePack `bin` instead of a `str`).
/// Version 4 adds [`ItemKind::Spans`], an entry holding several spans.
/// Entries of versions 1 and 2 (left in a stream across an upgrade) are
/// still read: a version 1 payload tree is turned into text when decoded.
pub const SCHEMA_VERSION: u16 = 4;
const OLDEST_READABLE_VERSION: u16 = 1;

/// Payloads this long or longer are stored compressed: a backlog lives in
/// Valkey's memory and every entry is written to its append-only file, and
/// a typical error event shrinks about fourfold for a few microseconds of
/// CPU (docs/performance.md). Below this, spans and sessions gain too
/// little to pay for it.
pub const COMPRESS_FROM_BYTES: usize = 512;

/// zstd's fastest level: JSON of this kind compresses about as well at 3
/// (4.21 against 4.24 on the benchmark's events) for a third more time.
const COMPRESSION_LEVEL: i32 = 1;

/// A decompressed payload larger than this is refused rather than
/// allocated; ingest accepts nothing near it.
const MAX_PAYLOAD_BYTES: u64 = 64 * 1024 * 1024;

/// What kind of work an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ItemKind {
    Event,
    Span,
    /// Several spans of one request: the payload is a JSON array of spans,
    /// each validated on its own. One entry per request instead of one per
    /// span: an OTLP exporter sends hundreds of spans a request, and a
    /// stream entry (its envelope, compression, Valkey's own bookkeeping
    /// and append-only file record) cost more than mapping the span.
    Spans,
    Session,
    Deploy,
    /// A new or regressed issue to tell people about.
    Notification,
}

/// One unit of work on a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub version: u16,
    pub kind: ItemKind,
    pub project_id: Uuid,
    pub org_id: Uuid,
    /// When ingest accepted the item, microseconds since the Unix epoch.
    pub received_at_us: i64,
    /// The `Sentori-Sdk` header, when the client sent one.
    pub sdk: Option<String>,
    /// The validated (and trimmed) payload.
    pub payload: Payload,
}

/// An item's JSON, kept as text until a reader asks for it.
///
/// Parsing a crash report into a `serde_json::Value` costs more than
/// anything else a processor does with it (a map and a string allocation
/// per key); as text, the event path parses only the fields it reads.
#[derive(Clone, PartialEq, Eq)]
pub struct Payload(String);

impl Payload {
    pub fn from_value(value: &serde_json::Value) -> Self {
        Self(value.to_string())
    }

    /// `json` must be one valid JSON value; ingest passes a body through
    /// here only after it parsed and validated it.
    pub fn from_json_text(json: String) -> Self {
        Self(json)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// One JSON array of `parts`, each already a valid JSON value.
    pub fn array(parts: &[Payload]) -> Self {
        let mut text = String::with_capacity(parts.iter().map(|p| p.0.len() + 1).sum::<usize>() + 2);
        text.push('[');
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            text.push_str(&part.0);
        }
        text.push(']');
        Self(text)
    }

    /// The whole payload as a tree.
    pub fn value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&self.0)
    }

    /// The payload read into `T`, which may skip what it does not need.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.0)
    }
}

impl Default for Payload {
    fn default() -> Self {
        Self("null".to_owned())
    }
}

impl fmt::Debug for Payload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Payload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.len() < COMPRESS_FROM_BYTES {
            return serializer.serialize_str(&self.0);
        }
        let compressed = compress(self.0.as_bytes()).map_err(serde::ser::Error::custom)?;
        serializer.serialize_bytes(&compressed)
    }
}

// zstd's contexts hold a few hundred KB of tables each, so making one per
// payload costs more than the work itself: each thread keeps one of each.
thread_local! {
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

fn compress(text: &[u8]) -> std::io::Result<Vec<u8>> {
    COMPRESSOR.with_borrow_mut(|compressor| {
        let compressor = match compressor {
            Some(compressor) => compressor,
            None => compressor.insert(zstd::bulk::Compressor::new(COMPRESSION_LEVEL)?),
        };
        compressor.compress(text)
    })
}

/// The text of a compressed payload. The frame records its size (the
/// compressor writes it), so the buffer is allocated once, exactly.
fn decompress(frame: &[u8]) -> Result<String, String> {
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(size)) if size <= MAX_PAYLOAD_BYTES => size as usize,
        Ok(Some(size)) => return Err(format!("the compressed payload holds {size} bytes, more than {MAX_PAYLOAD_BYTES}")),
        Ok(None) | Err(_) => return Err("the compressed payload is not a zstd frame with its size".into()),
    };
    let text = DECOMPRESSOR.with_borrow_mut(|decompressor| {
        let decompressor = match decompressor {
            Some(decompressor) => decompressor,
            None => decompressor.insert(zstd::bulk::Decompressor::new()?),
        };
        decompressor.decompress(frame, size)
    });
    let text = text.map_err(|e| format!("the compressed payload is corrupt: {e}"))?;
    String::from_utf8(text).map_err(|_| "the compressed payload is not UTF-8 text".into())
}

/// Text (version 2), compressed text (version 3), or a MessagePack tree
/// (version 1) turned into text.
impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PayloadVisitor;

        impl PayloadVisitor {
            fn tree<E: de::Error>(value: serde_json::Value) -> Result<Payload, E> {
                Ok(Payload::from_value(&value))
            }
        }

        impl<'de> Visitor<'de> for PayloadVisitor {
            type Value = Payload;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a payload as JSON text or as a tree")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Payload, E> {
                Ok(Payload(text.to_owned()))
            }

            fn visit_string<E: de::Error>(self, text: String) -> Result<Payload, E> {
                Ok(Payload(text))
            }

            fn visit_bytes<E: de::Error>(self, frame: &[u8]) -> Result<Payload, E> {
                decompress(frame).map(Payload).map_err(E::custom)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Payload, A::Error> {
                Self::tree(serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Payload, A::Error> {
                Self::tree(serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?)
            }

            fn visit_unit<E: de::Error>(self) -> Result<Payload, E> {
                Ok(Payload::default())
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Payload, E> {
                Self::tree(v.into())
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Payload, E> {
                Self::tree(v.into())
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Payload, E> {
                Self::tree(v.into())
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Payload, E> {
                Self::tree(v.into())
            }
        }

        deserializer.deserialize_any(PayloadVisitor)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the entry has no `envelope` field")]
    MissingField,
    #[error("the envelope is not valid MessagePack: {0}")]
    Malformed(#[from] rmp_serde::decode::Error),
    #[error("envelope schema version {0} is not supported (this build reads {SCHEMA_VERSION})")]
    UnsupportedVersion(u16),
}

impl Envelope {
    pub fn new(kind: ItemKind, project_id: Uuid, org_id: Uuid, received_at: time::OffsetDateTime) -> Self {
        Self {
            version: SCHEMA_VERSION,
            kind,
            project_id,
            org_id,
            received_at_us: (received_at.unix_timestamp_nanos() / 1_000) as i64,
            sdk: None,
            payload: Payload::default(),
        }
    }

    pub fn with_payload(mut self, payload: serde_json::Value) -> Self {
        self.payload = Payload::from_value(&payload);
        self
    }

    pub fn with_payload_text(mut self, payload: Payload) -> Self {
        self.payload = payload;
        self
    }

    pub fn with_sdk(mut self, sdk: Option<String>) -> Self {
        self.sdk = sdk;
        self
    }

    pub fn received_at(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.received_at_us) * 1_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }

    /// The items this entry carries, as trees: one, or each span of a
    /// [`ItemKind::Spans`] entry.
    pub fn items(&self) -> Result<Vec<serde_json::Value>, serde_json::Error> {
        match (self.kind, self.payload.value()?) {
            (ItemKind::Spans, serde_json::Value::Array(items)) => Ok(items),
            (_, item) => Ok(vec![item]),
        }
    }

    /// Named fields, so a reader of a newer minor shape still finds what it knows.
    pub fn encode(&self) -> Result<Vec<u8>, rmp_serde::encode::Error> {
        rmp_serde::to_vec_named(self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut envelope: Envelope = rmp_serde::from_slice(bytes)?;
        if !(OLDEST_READABLE_VERSION..=SCHEMA_VERSION).contains(&envelope.version) {
            return Err(DecodeError::UnsupportedVersion(envelope.version));
        }
        envelope.version = SCHEMA_VERSION;
        Ok(envelope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_payloads_with_nested_json() {
        let payload = serde_json::json!({"id": "x", "n": 1, "f": 1.5, "nested": {"list": [true, null, "s"]}});
        let envelope = Envelope::new(ItemKind::Event, Uuid::now_v7(), Uuid::now_v7(), time::OffsetDateTime::now_utc())
            .with_payload(payload.clone())
            .with_sdk(Some("sentori.js/1.0.0".into()));
        let decoded = Envelope::decode(&envelope.encode().unwrap()).unwrap();
        assert_eq!(decoded, envelope);
        assert_eq!(decoded.payload.value().unwrap(), payload);
    }

    /// The shape of an entry an older ingest wrote: the payload as a
    /// MessagePack tree (version 1, `serde_json::Value`) or always as
    /// text (version 2, `&str`).
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct OldEnvelope<P> {
        version: u16,
        kind: ItemKind,
        project_id: Uuid,
        org_id: Uuid,
        received_at_us: i64,
        sdk: Option<String>,
        payload: P,
    }

    #[test]
    fn reads_version_1_entries_left_in_a_stream_across_an_upgrade() {
        let payload = serde_json::json!({"id": "x", "list": [1, -2, 2.5, "s", null, {"deep": true}]});
        let old = OldEnvelope {
            version: 1,
            kind: ItemKind::Event,
            project_id: Uuid::now_v7(),
            org_id: Uuid::now_v7(),
            received_at_us: 1_700_000_000_000_000,
            sdk: None,
            payload: payload.clone(),
        };
        let decoded = Envelope::decode(&rmp_serde::to_vec_named(&old).unwrap()).unwrap();
        assert_eq!(decoded.version, SCHEMA_VERSION);
        assert_eq!(decoded.project_id, old.project_id);
        assert_eq!(decoded.payload.value().unwrap(), payload);
    }

    #[test]
    fn the_payload_travels_as_the_text_it_was_given() {
        let text = r#"{"b":1,"a":{"z":[1,2]},"unknown":"kept"}"#;
        let envelope = Envelope::new(ItemKind::Event, Uuid::nil(), Uuid::nil(), time::OffsetDateTime::UNIX_EPOCH)
            .with_payload_text(Payload::from_json_text(text.to_owned()));
        let decoded = Envelope::decode(&envelope.encode().unwrap()).unwrap();
        assert_eq!(decoded.payload.as_str(), text);
    }

    #[test]
    fn a_long_payload_is_compressed_and_read_back_as_its_text() {
        let text = serde_json::json!({"id": "x", "breadcrumbs": vec!["GET /api/cart 200"; 100]}).to_string();
        assert!(text.len() >= COMPRESS_FROM_BYTES);
        let envelope = Envelope::new(ItemKind::Event, Uuid::nil(), Uuid::nil(), time::OffsetDateTime::UNIX_EPOCH)
            .with_payload_text(Payload::from_json_text(text.clone()));
        let bytes = envelope.encode().unwrap();
        assert!(bytes.len() < text.len() / 4, "{} bytes for {} of text", bytes.len(), text.len());
        assert_eq!(Envelope::decode(&bytes).unwrap().payload.as_str(), text);
    }

    #[test]
    fn a_span_batch_is_one_array_read_back_item_by_item() {
        let parts = [r#"{"id":"a"}"#, r#"{"id":"b","tags":{"k":"v"}}"#].map(|t| Payload::from_json_text(t.to_owned()));
        let envelope = Envelope::new(ItemKind::Spans, Uuid::nil(), Uuid::nil(), time::OffsetDateTime::UNIX_EPOCH)
            .with_payload_text(Payload::array(&parts));
        let decoded = Envelope::decode(&envelope.encode().unwrap()).unwrap();
        assert_eq!(decoded.kind, ItemKind::Spans);
        let items = decoded.items().unwrap();
        assert_eq!(items, vec![serde_json::json!({"id": "a"}), serde_json::json!({"id": "b", "tags": {"k": "v"}})]);
        assert_eq!(Payload::array(&[]).as_str(), "[]");
        let single = Envelope::new(ItemKind::Span, Uuid::nil(), Uuid::nil(), time::OffsetDateTime::UNIX_EPOCH)
            .with_payload_text(Payload::from_json_text("[1]".to_owned()));
        assert_eq!(single.items().unwrap(), vec![serde_json::json!([1])], "only a Spans entry is taken apart");
    }

    #[test]
    fn a_short_payload_stays_text() {
        let text = r#"{"id":"s","op":"http.client"}"#;
        let envelope = Envelope::new(ItemKind::Span, Uuid::nil(), Uuid::nil(), time::OffsetDateTime::UNIX_EPOCH)
            .with_payload_text(Payload::from_json_text(text.to_owned()));
        let bytes = envelope.encode().unwrap();
        assert!(bytes.windows(text.len()).any(|w| w == text.as_bytes()));
    }

    #[test]
    fn reads_version_2_entries_left_in_a_stream_across_an_upgrade() {
        let text = serde_json::json!({"id": "x", "breadcrumbs": vec!["tap"; 200]}).to_string();
        let old = OldEnvelope {
            version: 2,
            kind: ItemKind::Event,
            project_id: Uuid::now_v7(),
            org_id: Uuid::now_v7(),
            received_at_us: 1_700_000_000_000_000,
            sdk: Some("sentori.js/1.0.0".into()),
            payload: &text,
        };
        let decoded = Envelope::decode(&rmp_serde::to_vec_named(&old).unwrap()).unwrap();
        assert_eq!(decoded.version, SCHEMA_VERSION);
        assert_eq!(decoded.payload.as_str(), text);
    }

    #[test]
    fn a_corrupt_compressed_payload_fails_only_its_entry() {
        let text = serde_json::json!({"id": "x", "breadcrumbs": vec!["tap"; 200]}).to_string();
        let envelope = Envelope::new(ItemKind::Event, Uuid::nil(), Uuid::nil(), time::OffsetDateTime::UNIX_EPOCH)
            .with_payload_text(Payload::from_json_text(text));
        let mut bytes = envelope.encode().unwrap();
        let last = bytes.len() - 1;
        bytes[last - 4..=last].fill(0xff);
        let error = Envelope::decode(&bytes).unwrap_err().to_string();
        assert!(error.contains("compressed payload"), "{error}");
    }

    #[test]
    fn rejects_garbage_and_unknown_versions() {
        assert!(matches!(Envelope::decode(b"\xc1not msgpack"), Err(DecodeError::Malformed(_))));
        let mut envelope = Envelope::new(ItemKind::Span, Uuid::nil(), Uuid::nil(), time::OffsetDateTime::UNIX_EPOCH);
        envelope.version = 99;
        let bytes = rmp_serde::to_vec_named(&envelope).unwrap();
        assert!(matches!(Envelope::decode(&bytes), Err(DecodeError::UnsupportedVersion(99))));
    }
}
