//! An event's payload, parsed only as far as the processor reads it.
//!
//! Turning a whole crash report into a `serde_json::Value` (a map and an
//! allocation per key of every breadcrumb, tag and context) cost the
//! processor more than grouping and storing it together. The top-level
//! fields the processor reads become a tree; every other field keeps the
//! JSON text it arrived in and is written back into the stored payload
//! unchanged.

use std::sync::LazyLock;

use sentori_model::{EventSummary, GroupingInput, Symbolication, SymbolicationInput, field_names};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::attachment_refs::AttachmentCheck;

/// Whether the processor reads `key` (else it is kept as text): the fields
/// of [`EventSummary`] (the event's columns), [`GroupingInput`],
/// [`SymbolicationInput`] and the attachment check, and the
/// [`Symbolication`] note it writes itself. A field none of them names
/// reads as absent to the processor.
fn is_read(key: &str) -> bool {
    static READ_FIELDS: LazyLock<Vec<&str>> = LazyLock::new(|| {
        let typed = [
            field_names::<EventSummary>(),
            field_names::<GroupingInput>(),
            field_names::<SymbolicationInput>(),
            field_names::<AttachmentCheck>(),
        ];
        [&typed.concat()[..], &[Symbolication::FIELD]].concat()
    });
    READ_FIELDS.contains(&key)
}

pub struct EventPayload<'a> {
    /// The fields it reads, as an object; what the processor changes
    /// (mapped frames, dropped attachment refs, `_meta`) it changes here.
    read: Value,
    /// Every other field, as the text it arrived in (borrowed from it).
    kept: Vec<(String, &'a RawValue)>,
}

impl<'a> EventPayload<'a> {
    pub fn parse(json: &'a str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The fields the processor reads (always an object).
    pub fn fields(&self) -> &Value {
        &self.read
    }

    pub fn fields_mut(&mut self) -> &mut Value {
        &mut self.read
    }

    /// The payload as stored: the server's `symbolication` object (when
    /// `release_has_map` is known) in place of any the client sent.
    pub fn stored(&self, release_has_map: Option<bool>) -> StoredPayload<'_, 'a> {
        StoredPayload { payload: self, release_has_map }
    }
}

impl<'de> Deserialize<'de> for EventPayload<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PayloadVisitor;

        impl<'de> Visitor<'de> for PayloadVisitor {
            type Value = EventPayload<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an event object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EventPayload<'de>, A::Error> {
                let mut read = Map::new();
                let mut kept: Vec<(String, &'de RawValue)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if is_read(&key) {
                        let value: Value = map.next_value()?;
                        read.insert(key, value);
                    } else {
                        // A repeated key is kept each time: readers of the
                        // stored `json` take its last value, as a tree would
                        // (PostgreSQL's json functions, serde_json, the
                        // browser's JSON.parse). Removing the
                        // earlier copy here would make an event of many keys
                        // quadratic to read.
                        let value: &RawValue = map.next_value()?;
                        kept.push((key, value));
                    }
                }
                Ok(EventPayload { read: Value::Object(read), kept })
            }
        }

        deserializer.deserialize_map(PayloadVisitor)
    }
}

pub struct StoredPayload<'p, 'a> {
    payload: &'p EventPayload<'a>,
    release_has_map: Option<bool>,
}

impl Serialize for StoredPayload<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(read) = self.payload.read.as_object() {
            for (key, value) in read.iter().filter(|(key, _)| *key != Symbolication::FIELD) {
                map.serialize_entry(key, value)?;
            }
        }
        for (key, value) in &self.payload.kept {
            map.serialize_entry(key, value)?;
        }
        if let Some(has_map) = self.release_has_map {
            map.serialize_entry(Symbolication::FIELD, &Symbolication { release_has_map: has_map })?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_fields_read_come_from_the_types_that_read_them() {
        for key in ["id", "timestamp", "user", "device", "app", "tags", "traceId", "spanId", "kind", "message", "error", "fingerprint", "debug_meta"] {
            assert!(is_read(key), "{key}");
        }
        for key in ["breadcrumbs", "contexts", "extra", "somethingNew"] {
            assert!(!is_read(key), "{key}");
        }
    }

    fn stored(json: &str, has_map: Option<bool>) -> Value {
        let payload = EventPayload::parse(json).unwrap();
        serde_json::to_value(payload.stored(has_map)).unwrap()
    }

    #[test]
    fn what_the_processor_does_not_read_is_stored_as_it_came() {
        let event = json!({
            "id": "0193a0a0-0000-7000-8000-000000000001",
            "error": {"type": "E", "stack": [{"function": "f", "file": "a.js"}]},
            "breadcrumbs": [{"type": "nav", "data": {"n": 1.5e3, "s": "\u{e9}\n"}}],
            "tags": {"screen": "checkout"},
            "fromTheFuture": {"x": [1, null, true]}
        });
        let text = event.to_string();
        assert_eq!(stored(&text, None), event);
        let payload = EventPayload::parse(&text).unwrap();
        assert_eq!(payload.fields()["error"]["type"], "E");
        assert!(payload.fields().get("breadcrumbs").is_none(), "breadcrumbs are never parsed");
    }

    #[test]
    fn the_server_symbolication_object_replaces_the_clients() {
        let event = r#"{"id":"x","symbolication":{"releaseHasMap":true,"forged":1},"extra":{"a":1}}"#;
        let stored = stored(event, Some(false));
        assert_eq!(stored["symbolication"], json!({"releaseHasMap": false}));
        assert_eq!(stored["extra"], json!({"a": 1}));
        assert!(self::stored(event, None).get("symbolication").is_none());
    }

    #[test]
    fn changes_to_the_read_fields_are_stored() {
        let mut payload = EventPayload::parse(r#"{"attachments":[1,2],"contexts":{"a":"b"}}"#).unwrap();
        payload.fields_mut()["attachments"] = json!([]);
        let stored = serde_json::to_value(payload.stored(None)).unwrap();
        assert_eq!(stored, json!({"attachments": [], "contexts": {"a": "b"}}));
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value_as_a_tree_would() {
        let text = r#"{"contexts":{"a":"1"},"contexts":{"a":"2"},"kind":"x","kind":"error"}"#;
        assert_eq!(stored(text, None), json!({"contexts": {"a": "2"}, "kind": "error"}));
        // Written as text, the copies keep their order, so every reader of
        // the stored `json` (which takes a repeated key's last value) reads
        // the same.
        let written = serde_json::to_string(&EventPayload::parse(text).unwrap().stored(None)).unwrap();
        let position = |needle: &str| written.find(needle).unwrap_or_else(|| panic!("{needle} in {written}"));
        assert!(position(r#"{"a":"1"}"#) < position(r#"{"a":"2"}"#), "{written}");
    }

    #[test]
    fn anything_but_an_object_is_refused() {
        assert!(EventPayload::parse("[1]").is_err());
        assert!(EventPayload::parse("null").is_err());
        assert!(EventPayload::parse("{\"id\":").is_err());
    }
}
