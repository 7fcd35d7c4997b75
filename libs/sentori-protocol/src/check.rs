//! The checking deserializer: reads a parsed payload into one of the
//! model's incoming shapes (`sentori_model::incoming`) and reports every
//! wrong value at its wire path (`error.stack[3].line`).
//!
//! It knows no payload key: the shapes name their fields, and a struct's
//! fields are visited in the order the shape declares them (absent ones
//! too, as a missing value), so the report lists problems in the schema's
//! order whatever order the client wrote its keys in, and a key sent twice
//! means its last value. Only structure is judged here; trimming is
//! `crate::trim`'s.

use std::cell::RefCell;
use std::fmt;

use serde::Deserialize;
use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use sentori_model::Limits;
use sentori_model::incoming::{ENCODED_SIZE, PRESENCE};

use crate::FieldError;
use crate::json::{Json, Number, Object};
use crate::path::{child, index};

/// Reads `payload` as a `T`, with every problem found on the way. The
/// value is there whenever the payload is an object: the shapes' fields
/// stand in for what was wrong.
pub(crate) fn check<'v, T: Deserialize<'v>>(payload: &'v Json<'v>) -> (Option<T>, Vec<FieldError>) {
    if payload.as_object().is_none() {
        return (None, vec![FieldError::new("$".to_owned(), "must be a JSON object")]);
    }
    let report = Report::default();
    let value = T::deserialize(Node { value: Some(payload), path: &Path::Root, in_object: false, report: &report });
    (value.ok(), report.errors.into_inner())
}

/// The problems found so far.
#[derive(Default)]
struct Report {
    errors: RefCell<Vec<FieldError>>,
}

impl Report {
    fn add(&self, path: &Path<'_>, message: String) {
        let mut errors = self.errors.borrow_mut();
        if errors.len() < Limits::MAX_REPORTED_ERRORS {
            errors.push(FieldError::new(path.to_string(), message));
        }
    }
}

/// Where a value stands, spelled out only when something there is wrong.
enum Path<'p> {
    Root,
    Key(&'p Path<'p>, &'p str),
    Index(&'p Path<'p>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Path::Root => String::new(),
            Path::Key(parent, key) => child(&parent.to_string(), key),
            Path::Index(parent, i) => index(&parent.to_string(), *i),
        };
        f.write_str(&text)
    }
}

/// A problem on its way out; `reported` once it is in the [`Report`], so
/// the nodes it passes through on the way up add it only once.
#[derive(Debug)]
pub(crate) struct CheckError {
    message: String,
    reported: bool,
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CheckError {}

impl de::Error for CheckError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        CheckError { message: message.to_string(), reported: false }
    }

    fn invalid_type(_: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::custom(format_args!("must be {expected}"))
    }

    fn invalid_value(_: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::custom(format_args!("must be {expected}"))
    }
}

/// One value of the tree (`None`: its key was absent), where it stands.
#[derive(Clone, Copy)]
struct Node<'v, 'p, 'r> {
    value: Option<&'v Json<'v>>,
    path: &'p Path<'p>,
    /// An object's field, where `null` means absent; an element or a map's
    /// value is a value like any other.
    in_object: bool,
    report: &'r Report,
}

impl<'v> Node<'v, '_, '_> {
    /// The value, unless the protocol reads it as missing.
    fn present(&self) -> Option<&'v Json<'v>> {
        match self.value {
            Some(Json::Null) if self.in_object => None,
            value => value,
        }
    }

    fn fail<T>(&self, message: impl Into<String>) -> Result<T, CheckError> {
        self.report.add(self.path, message.into());
        Err(CheckError { message: String::new(), reported: true })
    }

    /// Reports what a visitor refused, here.
    fn judged<T>(&self, result: Result<T, CheckError>) -> Result<T, CheckError> {
        result.or_else(|error| if error.reported { Err(error) } else { self.fail(error.message) })
    }

    /// The value, or `required` reported when there is none.
    fn value(&self) -> Result<&'v Json<'v>, CheckError> {
        match self.present() {
            Some(value) => Ok(value),
            None => self.fail("required"),
        }
    }

    fn wrong<T>(&self, expected: &str) -> Result<T, CheckError> {
        self.fail(format!("must be {expected}"))
    }

    fn integer<V: Visitor<'v>>(self, visitor: V) -> Result<V::Value, CheckError> {
        let result = match *self.value()? {
            Json::Number(Number::Int(n)) => visitor.visit_i64(n),
            Json::Number(Number::Uint(n)) => visitor.visit_u64(n),
            _ => return self.wrong("an integer"),
        };
        self.judged(result)
    }

    fn fields<V: Visitor<'v>>(self, object: &'v Object<'v>, names: &'static [&'static str], visitor: V) -> Result<V::Value, CheckError> {
        self.judged(visitor.visit_map(Fields { object, names, next: 0, node: self }))
    }
}

impl<'v> de::Deserializer<'v> for Node<'v, '_, '_> {
    type Error = CheckError;

    fn deserialize_any<V: Visitor<'v>>(self, visitor: V) -> Result<V::Value, CheckError> {
        let result = match self.value()? {
            Json::Null => visitor.visit_unit(),
            Json::Bool(b) => visitor.visit_bool(*b),
            Json::Number(Number::Int(n)) => visitor.visit_i64(*n),
            Json::Number(Number::Uint(n)) => visitor.visit_u64(*n),
            Json::Number(Number::Float(n)) => visitor.visit_f64(*n),
            Json::String(text) => visitor.visit_borrowed_str(text),
            Json::Array(items) => visitor.visit_seq(Elements { items: items.iter().enumerate(), node: self }),
            Json::Object(object) => visitor.visit_map(Entries { object, next: 0, value: None, node: self }),
        };
        self.judged(result)
    }

    fn deserialize_option<V: Visitor<'v>>(self, visitor: V) -> Result<V::Value, CheckError> {
        let result = match self.present() {
            None => visitor.visit_none(),
            Some(_) => visitor.visit_some(self),
        };
        self.judged(result)
    }

    fn deserialize_str<V: Visitor<'v>>(self, visitor: V) -> Result<V::Value, CheckError> {
        match self.value()? {
            Json::String(text) => self.judged(visitor.visit_borrowed_str(text)),
            _ => self.wrong("a string"),
        }
    }

    fn deserialize_string<V: Visitor<'v>>(self, visitor: V) -> Result<V::Value, CheckError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bool<V: Visitor<'v>>(self, visitor: V) -> Result<V::Value, CheckError> {
        match self.value()? {
            Json::Bool(b) => self.judged(visitor.visit_bool(*b)),
            _ => self.wrong("true or false"),
        }
    }

    fn deserialize_i64<V: Visitor<'v>>(self, visitor: V) -> Result<V::Value, CheckError> {
        self.integer(visitor)
    }

    fn deserialize_u64<V: Visitor<'v>>(self, visitor: V) -> Result<V::Value, CheckError> {
        self.integer(visitor)
    }

    fn deserialize_seq<V: Visitor<'v>>(self, visitor: V) -> Result<V::Value, CheckError> {
        match self.value()? {
            Json::Array(items) => self.judged(visitor.visit_seq(Elements { items: items.iter().enumerate(), node: self })),
            _ => self.wrong("an array"),
        }
    }

    fn deserialize_map<V: Visitor<'v>>(self, visitor: V) -> Result<V::Value, CheckError> {
        match self.value()? {
            Json::Object(object) => self.judged(visitor.visit_map(Entries { object, next: 0, value: None, node: self })),
            _ => self.wrong("an object"),
        }
    }

    fn deserialize_struct<V: Visitor<'v>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, CheckError> {
        match self.value()? {
            Json::Object(object) => self.fields(object, fields, visitor),
            _ => self.wrong("an object"),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'v>>(self, name: &'static str, visitor: V) -> Result<V::Value, CheckError> {
        let result = match name {
            PRESENCE if self.value.is_none() => visitor.visit_unit(),
            ENCODED_SIZE => match self.value()? {
                Json::Object(object) => visitor.visit_u64(encoded_size(object)),
                _ => return self.wrong("an object"),
            },
            _ => visitor.visit_newtype_struct(self),
        };
        self.judged(result)
    }

    fn deserialize_ignored_any<V: Visitor<'v>>(self, visitor: V) -> Result<V::Value, CheckError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        <W: Visitor<'v>>
        i8 i16 i32 i128 u8 u16 u32 u128 f32 f64 char bytes byte_buf unit unit_struct tuple tuple_struct enum identifier
    }
}

/// The length of `object` as JSON text, counted without writing it.
fn encoded_size(object: &Object<'_>) -> u64 {
    struct Counter(u64);

    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len() as u64;
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, object) {
        Ok(()) => counter.0,
        Err(_) => u64::MAX,
    }
}

/// A struct's fields in the order its shape declares them, each looked up
/// in the object (the last of a repeated key), absent ones included.
struct Fields<'v, 'p, 'r> {
    object: &'v Object<'v>,
    names: &'static [&'static str],
    next: usize,
    node: Node<'v, 'p, 'r>,
}

impl<'v> MapAccess<'v> for Fields<'v, '_, '_> {
    type Error = CheckError;

    fn next_key_seed<K: DeserializeSeed<'v>>(&mut self, seed: K) -> Result<Option<K::Value>, CheckError> {
        let Some(name) = self.names.get(self.next) else { return Ok(None) };
        seed.deserialize(BorrowedStrDeserializer::new(name)).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'v>>(&mut self, seed: S) -> Result<S::Value, CheckError> {
        let name = self.names[self.next];
        self.next += 1;
        let path = Path::Key(self.node.path, name);
        let node = Node { value: self.object.get(name), path: &path, in_object: true, report: self.node.report };
        seed.deserialize(node)
    }
}

/// A map's entries in order, a repeated key only at its last value.
struct Entries<'v, 'p, 'r> {
    object: &'v Object<'v>,
    next: usize,
    value: Option<(&'v str, &'v Json<'v>)>,
    node: Node<'v, 'p, 'r>,
}

impl<'v> MapAccess<'v> for Entries<'v, '_, '_> {
    type Error = CheckError;

    fn next_key_seed<K: DeserializeSeed<'v>>(&mut self, seed: K) -> Result<Option<K::Value>, CheckError> {
        let entries = self.object.entries();
        while let Some((key, value)) = entries.get(self.next) {
            self.next += 1;
            if self.object.get(key).is_some_and(|last| std::ptr::eq(last, value)) {
                self.value = Some((key, value));
                return seed.deserialize(BorrowedStrDeserializer::new(key)).map(Some);
            }
        }
        Ok(None)
    }

    fn next_value_seed<S: DeserializeSeed<'v>>(&mut self, seed: S) -> Result<S::Value, CheckError> {
        let (key, value) = self.value.take().expect("serde asks for a value after its key");
        let path = Path::Key(self.node.path, key);
        seed.deserialize(Node { value: Some(value), path: &path, in_object: false, report: self.node.report })
    }
}

struct Elements<'v, 'p, 'r, I> {
    items: I,
    node: Node<'v, 'p, 'r>,
}

impl<'v, I: Iterator<Item = (usize, &'v Json<'v>)>> SeqAccess<'v> for Elements<'v, '_, '_, I> {
    type Error = CheckError;

    fn next_element_seed<S: DeserializeSeed<'v>>(&mut self, seed: S) -> Result<Option<S::Value>, CheckError> {
        let Some((i, value)) = self.items.next() else { return Ok(None) };
        let path = Path::Index(self.node.path, i);
        seed.deserialize(Node { value: Some(value), path: &path, in_object: false, report: self.node.report }).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use sentori_model::incoming::{EventIn, SpanIn};

    use super::*;

    fn problems<'v, T: Deserialize<'v>>(payload: &'v Json<'v>) -> Vec<(String, String)> {
        check::<T>(payload).1.into_iter().map(|error| (error.field, error.message)).collect()
    }

    #[test]
    fn problems_come_in_the_shapes_order_whatever_order_the_keys_came_in() {
        let tree = crate::json::parse(br#"{"op": "", "traceId": 5, "name": "n", "durationMs": -1}"#).unwrap();
        let fields: Vec<_> = problems::<SpanIn>(&tree).into_iter().map(|(field, _)| field).collect();
        assert_eq!(fields, ["id", "traceId", "parentSpanId", "op", "startedAt", "durationMs", "status"]);
    }

    #[test]
    fn a_repeated_key_means_its_last_value_and_null_means_absent() {
        let tree = crate::json::parse(br#"{"id": 1, "id": "019508a0-1111-7000-8000-000000000001", "traceId": null}"#).unwrap();
        let found = problems::<SpanIn>(&tree);
        assert!(!found.iter().any(|(field, _)| field == "id"), "{found:?}");
        assert!(found.contains(&("traceId".to_owned(), "required".to_owned())), "{found:?}");
        let tree = crate::json::parse(br#"{"tags": {"a": 1, "a": "x", "b": null}, "fingerprint": ["x", null]}"#).unwrap();
        let found = problems::<EventIn>(&tree);
        assert!(found.contains(&("tags.b".to_owned(), "must be a string".to_owned())), "{found:?}");
        assert!(!found.iter().any(|(field, _)| field == "tags.a"), "{found:?}");
        assert!(found.contains(&("fingerprint[1]".to_owned(), "must be a string".to_owned())), "{found:?}");
    }

    #[test]
    fn a_report_stops_at_its_limit_and_a_root_that_is_no_object_is_named() {
        let frames = (0..80).map(|_| r#"{"file": 1, "line": "x"}"#).collect::<Vec<_>>().join(",");
        let body = format!(r#"{{"error": {{"type": "E", "stack": [{frames}]}}}}"#);
        let tree = crate::json::parse(body.as_bytes()).unwrap();
        assert_eq!(problems::<EventIn>(&tree).len(), Limits::MAX_REPORTED_ERRORS);
        let tree = crate::json::parse(b"[1]").unwrap();
        assert_eq!(problems::<EventIn>(&tree), [("$".to_owned(), "must be a JSON object".to_owned())]);
    }

    #[test]
    fn a_span_data_object_is_measured_as_encoded_json() {
        let big = "x".repeat(Limits::SPAN_DATA_MAX_BYTES);
        let body = format!(r#"{{"data": {{"k": "{big}"}}}}"#);
        let tree = crate::json::parse(body.as_bytes()).unwrap();
        assert!(problems::<SpanIn>(&tree).contains(&("data".to_owned(), "must be at most 16384 bytes encoded".to_owned())));
        let tree = crate::json::parse(br#"{"data": {"k": "v"}, "parentSpanId": null}"#).unwrap();
        let found = problems::<SpanIn>(&tree);
        assert!(!found.iter().any(|(field, _)| field == "data" || field == "parentSpanId"), "{found:?}");
    }
}
