//! A JSON tree that borrows its strings from the request body.
//!
//! Validation walks every field of a crash report, but a
//! `serde_json::Value` pays for that with a hash table per object and a
//! `String` per key and value; for a typical event that was most of
//! ingest's CPU beyond HTTP itself. Here objects are small vectors searched
//! linearly (objects in payloads have a handful of keys) and strings point
//! into the body unless they contain escapes.
//!
//! Semantics follow `serde_json::Value` where the two could disagree: a key
//! that appears twice means its last value, and numbers are `i64`, `u64`
//! or `f64`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Object<'a>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Number {
    Int(i64),
    Uint(u64),
    Float(f64),
}

/// An object's entries in the order they came, duplicates included.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Object<'a>(Vec<(Cow<'a, str>, Json<'a>)>);

/// Parses one JSON value from `bytes`, borrowing its strings.
pub fn parse(bytes: &[u8]) -> Result<Json<'_>, serde_json::Error> {
    serde_json::from_slice(bytes)
}

impl<'a> Json<'a> {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Json::String(_))
    }

    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Json::Number(Number::Int(n)) => Some(n),
            Json::Number(Number::Uint(n)) => i64::try_from(n).ok(),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Json::Number(Number::Int(n)) => u64::try_from(n).ok(),
            Json::Number(Number::Uint(n)) => Some(n),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Json::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Json<'a>>> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Json<'a>>> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Object<'a>> {
        match self {
            Json::Object(object) => Some(object),
            _ => None,
        }
    }

    pub fn as_object_mut(&mut self) -> Option<&mut Object<'a>> {
        match self {
            Json::Object(object) => Some(object),
            _ => None,
        }
    }

    /// The value of `key` if this is an object that has it.
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.as_object().and_then(|object| object.get(key))
    }

    /// The JSON text of this value.
    pub fn to_json_string(&self) -> String {
        serde_json::to_string(self).expect("a tree of strings, numbers and containers serialises")
    }
}

impl<'a> Object<'a> {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn position(&self, key: &str) -> Option<usize> {
        self.0.iter().rposition(|(k, _)| k == key)
    }

    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.position(key).map(|i| &self.0[i].1)
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_some()
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Json<'a>> {
        self.position(key).map(|i| &mut self.0[i].1)
    }

    /// Removes every entry of `key`; returns the value it had (the last one).
    pub fn remove(&mut self, key: &str) -> Option<Json<'a>> {
        let i = self.position(key)?;
        let (_, value) = self.0.remove(i);
        self.0.retain(|(k, _)| k != key);
        Some(value)
    }

    /// Sets `key` to `value`, in place of the value it had.
    pub fn insert(&mut self, key: impl Into<Cow<'a, str>>, value: Json<'a>) {
        let key = key.into();
        match self.position(&key) {
            Some(i) => self.0[i].1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// Entries in order; a repeated key appears each time it was sent.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Json<'a>)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }

    /// Entries in order, as stored.
    pub(crate) fn entries(&self) -> &[(Cow<'a, str>, Json<'a>)] {
        &self.0
    }

    /// Empties the object, giving back its entries in order.
    pub fn take_entries(&mut self) -> Vec<(Cow<'a, str>, Json<'a>)> {
        std::mem::take(&mut self.0)
    }
}

impl<'o, 'a> IntoIterator for &'o Object<'a> {
    type Item = (&'o str, &'o Json<'a>);
    type IntoIter = std::iter::Map<std::slice::Iter<'o, (Cow<'a, str>, Json<'a>)>, fn(&'o (Cow<'a, str>, Json<'a>)) -> (&'o str, &'o Json<'a>)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl<'a> FromIterator<(Cow<'a, str>, Json<'a>)> for Object<'a> {
    fn from_iter<I: IntoIterator<Item = (Cow<'a, str>, Json<'a>)>>(entries: I) -> Self {
        Object(entries.into_iter().collect())
    }
}

impl From<&str> for Json<'static> {
    fn from(text: &str) -> Self {
        Json::String(Cow::Owned(text.to_owned()))
    }
}

impl From<usize> for Json<'static> {
    fn from(n: usize) -> Self {
        Json::Number(Number::Uint(n as u64))
    }
}

impl From<i64> for Json<'static> {
    fn from(n: i64) -> Self {
        Json::Number(Number::Int(n))
    }
}

/// A string that borrows from the input when it has no escapes.
struct CowStr;

impl<'de> DeserializeSeed<'de> for CowStr {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(CowStrVisitor)
    }
}

struct CowStrVisitor;

impl<'de> Visitor<'de> for CowStrVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(text))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(without_nul(text.to_owned())))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(without_nul(text)))
    }
}

/// PostgreSQL's `text` cannot hold U+0000: an event with one in any string
/// would be answered `202` here and then fail where it is stored. It
/// becomes U+FFFD, the replacement character. Only an escape (`\u0000`)
/// puts one in a JSON string, and only strings with escapes are owned, so
/// the borrowed ones are never scanned.
fn without_nul(text: String) -> String {
    if text.contains('\0') { text.replace('\0', "\u{FFFD}") } else { text }
}

/// Whether the JSON text has a U+0000 escape that parsing replaced.
pub fn has_nul_escape(text: &[u8]) -> bool {
    memchr::memmem::find(text, b"\\u0000").is_some()
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct JsonVisitor;

        impl<'de> Visitor<'de> for JsonVisitor {
            type Value = Json<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_unit<E: de::Error>(self) -> Result<Json<'de>, E> {
                Ok(Json::Null)
            }

            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Json<'de>, E> {
                Ok(Json::Bool(b))
            }

            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Json<'de>, E> {
                Ok(Json::Number(Number::Int(n)))
            }

            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Json<'de>, E> {
                Ok(Json::Number(Number::Uint(n)))
            }

            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Json<'de>, E> {
                Ok(Json::Number(Number::Float(n)))
            }

            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Json<'de>, E> {
                Ok(Json::String(Cow::Borrowed(text)))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Json<'de>, E> {
                CowStrVisitor.visit_str(text).map(Json::String)
            }

            fn visit_string<E: de::Error>(self, text: String) -> Result<Json<'de>, E> {
                CowStrVisitor.visit_string(text).map(Json::String)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Json::Array(items))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(key) = map.next_key_seed(CowStr)? {
                    entries.push((key, map.next_value()?));
                }
                Ok(Json::Object(Object(entries)))
            }
        }

        deserializer.deserialize_any(JsonVisitor)
    }
}

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => serializer.serialize_unit(),
            Json::Bool(b) => serializer.serialize_bool(*b),
            Json::Number(Number::Int(n)) => serializer.serialize_i64(*n),
            Json::Number(Number::Uint(n)) => serializer.serialize_u64(*n),
            Json::Number(Number::Float(n)) => serializer.serialize_f64(*n),
            Json::String(text) => serializer.serialize_str(text),
            Json::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(object) => object.serialize(serializer),
        }
    }
}

/// Objects up to this size look for a later copy of a key by scanning;
/// larger ones use a set, so no object makes writing it quadratic.
const SCAN_FOR_REPEATS_UP_TO: usize = 16;

/// Each key once, with its last value (where its last copy stood).
impl Serialize for Object<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let entries = &self.0;
        let is_last: Vec<bool> = if entries.len() <= SCAN_FOR_REPEATS_UP_TO {
            (0..entries.len()).map(|i| entries[i + 1..].iter().all(|(k, _)| *k != entries[i].0)).collect()
        } else {
            let mut seen = std::collections::HashSet::with_capacity(entries.len());
            let mut flags: Vec<bool> = entries.iter().rev().map(|(k, _)| seen.insert(k.as_ref())).collect();
            flags.reverse();
            flags
        };
        let mut map = serializer.serialize_map(Some(is_last.iter().filter(|last| **last).count()))?;
        for ((key, value), _) in entries.iter().zip(&is_last).filter(|(_, last)| **last) {
            map.serialize_entry(key.as_ref(), value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(text: &str) -> serde_json::Value {
        serde_json::from_str(&parse(text.as_bytes()).unwrap().to_json_string()).unwrap()
    }

    #[test]
    fn reads_and_writes_what_serde_json_does() {
        let value = json!({"a": [1, -2, 18446744073709551615u64, 2.5, "x\n\u{e9}", null, true], "b": {"c": {}}, "d": []});
        assert_eq!(round_trip(&value.to_string()), value);
    }

    #[test]
    fn strings_without_escapes_borrow_from_the_body() {
        let body = br#"{"plain": "abc", "escaped": "a\nb"}"#;
        let tree = parse(body).unwrap();
        assert!(matches!(tree.get("plain"), Some(Json::String(Cow::Borrowed("abc")))));
        assert!(matches!(tree.get("escaped"), Some(Json::String(Cow::Owned(s))) if s == "a\nb"));
    }

    #[test]
    fn a_repeated_key_means_its_last_value_as_in_serde_json() {
        let text = r#"{"k": 1, "other": 2, "k": "last"}"#;
        let tree = parse(text.as_bytes()).unwrap();
        assert_eq!(tree.get("k").and_then(Json::as_str), Some("last"));
        assert_eq!(round_trip(text), serde_json::from_str::<serde_json::Value>(text).unwrap());
        let mut object = tree.as_object().unwrap().clone();
        assert_eq!(object.remove("k").and_then(|v| v.as_str().map(str::to_owned)).as_deref(), Some("last"));
        assert!(object.get("k").is_none(), "remove takes every copy");
    }

    #[test]
    fn large_objects_with_repeats_write_each_key_once_with_its_last_value() {
        let mut text = String::from("{");
        for i in 0..40 {
            text.push_str(&format!("\"k{}\": {i},", i % 20));
        }
        text.push_str("\"end\": true}");
        let written = round_trip(&text);
        let object = written.as_object().unwrap();
        assert_eq!(object.len(), 21);
        assert_eq!(object["k3"], 23, "the second copy of k3 is the last");
        assert_eq!(written, serde_json::from_str::<serde_json::Value>(&text).unwrap());
    }

    #[test]
    fn insert_replaces_and_appends() {
        let mut object = Object::default();
        object.insert("a", Json::from(1i64));
        object.insert("b", Json::from("x"));
        object.insert("a", Json::from(2i64));
        assert_eq!(serde_json::to_value(&object).unwrap(), json!({"a": 2, "b": "x"}));
    }

    #[test]
    fn numbers_convert_like_serde_json() {
        let tree = parse(br#"[-1, 5, 18446744073709551615, 1.0]"#).unwrap();
        let items = tree.as_array().unwrap();
        assert_eq!((items[0].as_i64(), items[0].as_u64()), (Some(-1), None));
        assert_eq!((items[1].as_i64(), items[1].as_u64()), (Some(5), Some(5)));
        assert_eq!((items[2].as_i64(), items[2].as_u64()), (None, Some(u64::MAX)));
        assert_eq!(items[3].as_i64(), None);
    }
}
