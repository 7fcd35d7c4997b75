//! The versioned entry every stream carries.

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use uuid::Uuid;

/// Bumped on an incompatible change; readers reject versions they do not know.
///
/// Version 2 carries the payload as JSON text instead of a MessagePack tree,
/// so a consumer parses only the parts it reads and can store the rest as
/// it came. Version 1 entries (left in a stream across an upgrade) are still
/// read: their payload tree is turned into text when decoded.
pub const SCHEMA_VERSION: u16 = 2;
const OLDEST_READABLE_VERSION: u16 = 1;

/// What kind of work an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ItemKind {
    Event,
    Span,
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
        serializer.serialize_str(&self.0)
    }
}

/// Text (version 2), or a MessagePack tree (version 1) turned into text.
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

    /// The shape of a version 1 entry, as an older ingest wrote it.
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct EnvelopeV1 {
        version: u16,
        kind: ItemKind,
        project_id: Uuid,
        org_id: Uuid,
        received_at_us: i64,
        sdk: Option<String>,
        payload: serde_json::Value,
    }

    #[test]
    fn reads_version_1_entries_left_in_a_stream_across_an_upgrade() {
        let payload = serde_json::json!({"id": "x", "list": [1, -2, 2.5, "s", null, {"deep": true}]});
        let old = EnvelopeV1 {
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
    fn rejects_garbage_and_unknown_versions() {
        assert!(matches!(Envelope::decode(b"\xc1not msgpack"), Err(DecodeError::Malformed(_))));
        let mut envelope = Envelope::new(ItemKind::Span, Uuid::nil(), Uuid::nil(), time::OffsetDateTime::UNIX_EPOCH);
        envelope.version = 99;
        let bytes = rmp_serde::to_vec_named(&envelope).unwrap();
        assert!(matches!(Envelope::decode(&bytes), Err(DecodeError::UnsupportedVersion(99))));
    }
}
