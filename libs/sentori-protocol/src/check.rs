//! The checking deserializer: reads a parsed payload into one of the
//! model's incoming shapes (`sentori_model::incoming`) and reports every
//! wrong value at its wire path (`error.stack[3].line`).
//!
//! It knows no payload key: the shapes name their fields, and a struct's
//! fields are visited in the order the shape declares them (absent ones
//! too, as a missing value), so the report lists problems in the schema's
//! order whatever order the client wrote its keys in, and a key sent twice
//! means its last value.
//!
//! The same pass plans the trimming: a field the shape declares
//! `Trimmed` by a rule is measured against it here, and what must be cut
//! is recorded with its place in the tree for [`crate::trim::apply`]. The
//! rules that need to see the whole error tree (causes too deep, members
//! beyond the tree's budget) steer the walk itself: what they cut is not
//! walked.

use std::cell::RefCell;
use std::fmt;

use serde::Deserialize;
use serde::de::value::{BorrowedStrDeserializer, U64Deserializer};
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use sentori_model::Limits;
use sentori_model::incoming::{ENCODED_SIZE, PRESENCE, Trim};
use time::OffsetDateTime;

use crate::FieldError;
use crate::json::{Json, Number, Object};
use crate::path::{child, index};
use crate::trim::{self, Cut, Edit, ErrorTree, Step};

/// What checking a payload found.
pub(crate) struct Checked<T> {
    /// There whenever the payload is an object: the shapes' fields stand in
    /// for what was wrong.
    pub value: Option<T>,
    pub errors: Vec<FieldError>,
    /// What trimming must cut, in the order the walk met it (a list's cut
    /// before its elements'); empty when not asked to trim.
    pub cuts: Vec<Cut>,
}

/// Reads `payload` as a `T`, with every problem found on the way and, when
/// `received_at` is given, what trimming must cut.
pub(crate) fn check<'v, T: Deserialize<'v>>(payload: &'v Json<'v>, received_at: Option<OffsetDateTime>) -> Checked<T> {
    if payload.as_object().is_none() {
        let errors = vec![FieldError::new("$".to_owned(), "must be a JSON object")];
        return Checked { value: None, errors, cuts: Vec::new() };
    }
    let report = Report {
        errors: RefCell::default(),
        trimming: received_at.map(|received_at| RefCell::new(Trimming { received_at, cuts: Vec::new(), tree: ErrorTree::new() })),
    };
    let root = Node { value: Some(payload), path: &Path::Root, in_object: false, records_cuts: true, keep: Keep::All, report: &report };
    let value = T::deserialize(root).ok();
    let cuts = report.trimming.map(|trimming| trimming.into_inner().cuts).unwrap_or_default();
    Checked { value, errors: report.errors.into_inner(), cuts }
}

/// The problems found so far, and what trimming will cut.
struct Report {
    errors: RefCell<Vec<FieldError>>,
    trimming: Option<RefCell<Trimming>>,
}

struct Trimming {
    received_at: OffsetDateTime,
    cuts: Vec<Cut>,
    tree: ErrorTree,
}

impl Report {
    fn add(&self, path: &Path<'_>, message: String) {
        let mut errors = self.errors.borrow_mut();
        if errors.len() < Limits::MAX_REPORTED_ERRORS {
            errors.push(FieldError::new(path.render(Numbering::AsSent), message));
        }
    }
}

/// Where a value stands, spelled out only when something there is wrong
/// or cut. An element has two indices: where the client sent it, and where
/// it will be once its list is trimmed (none: trimming drops it).
enum Path<'p> {
    Root,
    Key(&'p Path<'p>, &'p str),
    Index(&'p Path<'p>, usize, Option<usize>),
}

/// Which of an element's indices a path is spelled with.
#[derive(Clone, Copy, PartialEq)]
enum Numbering {
    /// As the client sent it: problems name these.
    AsSent,
    /// After trimming: `_meta` and the cuts name these.
    AsKept,
}

impl Path<'_> {
    fn render(&self, numbering: Numbering) -> String {
        match self {
            Path::Root => String::new(),
            Path::Key(parent, key) => child(&parent.render(numbering), key),
            Path::Index(parent, sent, kept) => {
                let i = if numbering == Numbering::AsKept { kept.unwrap_or(*sent) } else { *sent };
                index(&parent.render(numbering), i)
            }
        }
    }

    fn steps(&self) -> Vec<Step> {
        let mut steps = match self {
            Path::Root => return Vec::new(),
            Path::Key(parent, _) | Path::Index(parent, ..) => parent.steps(),
        };
        steps.push(match self {
            Path::Key(_, key) => Step::Key((*key).to_owned()),
            Path::Index(_, sent, kept) => Step::Index(kept.unwrap_or(*sent)),
            Path::Root => unreachable!("handled above"),
        });
        steps
    }
}

/// Which elements of a list are walked, and what they will be numbered.
#[derive(Clone, Copy)]
enum Keep {
    All,
    /// The first `n`; the rest are cut unread.
    First(usize),
    /// All are read, but only the ends of a list this long are kept.
    Ends(usize),
}

impl Keep {
    /// Element `i`'s index once trimmed, if it stays; `None` from the
    /// iterator's point of view ends the walk.
    fn kept(self, i: usize) -> Option<Option<usize>> {
        match self {
            Keep::All => Some(Some(i)),
            Keep::First(n) => (i < n).then_some(Some(i)),
            Keep::Ends(len) => {
                let half = Limits::MAX_FRAMES / 2;
                Some(if i < half {
                    Some(i)
                } else if i >= len - half {
                    Some(i - (len - 2 * half))
                } else {
                    None
                })
            }
        }
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
    /// Whether what is cut here is recorded: not inside an element that
    /// trimming drops anyway.
    records_cuts: bool,
    keep: Keep,
    report: &'r Report,
}

impl<'v, 'r> Node<'v, '_, 'r> {
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

    /// A node of this one's value, for a rule that steers the walk.
    fn keeping(self, keep: Keep) -> Self {
        Node { keep, ..self }
    }

    fn child<'q>(&self, value: Option<&'v Json<'v>>, path: &'q Path<'q>, in_object: bool, records_cuts: bool) -> Node<'v, 'q, 'r> {
        Node { value, path, in_object, records_cuts, keep: Keep::All, report: self.report }
    }

    fn cut(&self, trimming: &RefCell<Trimming>, edit: Edit) {
        let cut = Cut { steps: self.path.steps(), meta_path: self.path.render(Numbering::AsKept), edit };
        trimming.borrow_mut().cuts.push(cut);
    }

    /// A field trimmed by `rule`: measured, what is over its limit recorded,
    /// then read (or, for a cause cut whole, not).
    fn trimmed<V: Visitor<'v>>(self, rule: Trim, visitor: V) -> Result<V::Value, CheckError> {
        let (Some(trimming), Some(value), true) = (&self.report.trimming, self.present(), self.records_cuts) else {
            return self.judged(visitor.visit_newtype_struct(self));
        };
        let result = match (rule, value) {
            (Trim::Cause, Json::Object(_)) => {
                let entered = trimming.borrow_mut().tree.enter_cause();
                if entered {
                    let result = visitor.visit_newtype_struct(self);
                    trimming.borrow_mut().tree.leave_cause();
                    result
                } else {
                    self.cut(trimming, Edit::CutCause(trim::tree_size(value)));
                    visitor.visit_unit()
                }
            }
            (Trim::Members, Json::Array(members)) => {
                let (keep, depth) = trimming.borrow_mut().tree.enter_members(members.len());
                if keep < members.len() {
                    self.cut(trimming, Edit::KeepFirst(keep));
                }
                let result = visitor.visit_newtype_struct(self.keeping(Keep::First(keep)));
                trimming.borrow_mut().tree.leave_members(depth);
                result
            }
            (Trim::Stack, Json::Array(frames)) if frames.len() > Limits::MAX_FRAMES => {
                self.cut(trimming, Edit::KeepEnds(Limits::MAX_FRAMES / 2));
                visitor.visit_newtype_struct(self.keeping(Keep::Ends(frames.len())))
            }
            _ => {
                let received_at = trimming.borrow().received_at;
                if let Some(edit) = trim::plan(rule, value, received_at) {
                    self.cut(trimming, edit);
                }
                visitor.visit_newtype_struct(self)
            }
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
        if let Some(rule) = Trim::from_newtype_name(name) {
            return self.trimmed(rule, visitor);
        }
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
        if self.next == self.names.len() {
            return Ok(None);
        }
        // By position: a derived struct knows its fields by index too, which
        // spares matching each name against the list again.
        seed.deserialize(U64Deserializer::new(self.next as u64)).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'v>>(&mut self, seed: S) -> Result<S::Value, CheckError> {
        let name = self.names[self.next];
        self.next += 1;
        let path = Path::Key(self.node.path, name);
        seed.deserialize(self.node.child(self.object.get(name), &path, true, self.node.records_cuts))
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
        seed.deserialize(self.node.child(Some(value), &path, false, self.node.records_cuts))
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
        let Some(kept) = self.node.keep.kept(i) else { return Ok(None) };
        let path = Path::Index(self.node.path, i, kept);
        seed.deserialize(self.node.child(Some(value), &path, false, self.node.records_cuts && kept.is_some())).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use sentori_model::incoming::{EventIn, SpanIn};

    use super::*;

    fn problems<'v, T: Deserialize<'v>>(payload: &'v Json<'v>) -> Vec<(String, String)> {
        check::<T>(payload, None).errors.into_iter().map(|error| (error.field, error.message)).collect()
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
