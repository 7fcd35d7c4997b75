//! The versioned entry every stream carries.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Bumped on an incompatible change; readers reject versions they do not know.
pub const SCHEMA_VERSION: u16 = 1;

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
    pub payload: serde_json::Value,
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
            payload: serde_json::Value::Null,
        }
    }

    pub fn with_payload(mut self, payload: serde_json::Value) -> Self {
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
        let envelope: Envelope = rmp_serde::from_slice(bytes)?;
        if envelope.version != SCHEMA_VERSION {
            return Err(DecodeError::UnsupportedVersion(envelope.version));
        }
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
        assert_eq!(decoded.payload, payload);
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
