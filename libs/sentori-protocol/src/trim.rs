//! Trimming oversized content (protocol.md, "Limits: reject or trim").
//!
//! A crash report is the most valuable thing a user sends, so size never
//! rejects an event: it is cut down, and `_meta` names each trimmed path with
//! what it was before (`originalLength` in the unit of the limit,
//! `originalCount` for lists).
//!
//! Which field is cut by which rule is the model's to say (a field's type
//! is `Trimmed` by a `Trim` rule); the checking pass ([`crate::check`])
//! measures each such field against its rule with [`plan`] and records a
//! [`Cut`] where it stands; [`apply`] then makes the cuts on the tree.

use std::borrow::Cow;

use sentori_model::incoming::{ErrorTreeSize, Trim};
use sentori_model::{Limits, Meta};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::json::{Json, Object};
use crate::path::child;

/// One step from a value to one inside it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// What to do to one value that is over its limit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Edit {
    /// Keep this many characters of a string.
    Chars(usize),
    /// Keep at most this many bytes of a string, at a character boundary.
    Bytes(usize),
    /// Put the receive time in place of a time the device had wrong.
    Time(OffsetDateTime),
    /// Put this number in place of a larger one.
    Cap(i64),
    /// Keep this many elements at each end of a list.
    KeepEnds(usize),
    KeepFirst(usize),
    KeepLast(usize),
    /// Keep the first tags, with keys and values cut to length.
    Tags,
    /// Cut a cause away with what it holds: this many errors.
    CutCause(u64),
}

/// An edit, where it applies: `steps` lead there in the tree as earlier
/// cuts leave it, `meta_path` names it in `_meta`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cut {
    pub steps: Vec<Step>,
    pub meta_path: String,
    pub edit: Edit,
}

/// The edit `rule` asks of `value`, if it is over its limit; a value of
/// the wrong type is left to the check that reports it.
pub(crate) fn plan(rule: Trim, value: &Json<'_>, received_at: OffsetDateTime) -> Option<Edit> {
    match (rule, value) {
        (Trim::Name, Json::String(text)) => {
            Limits::over_chars(text, Limits::NAME_MAX_CHARS).then_some(Edit::Chars(Limits::NAME_MAX_CHARS))
        }
        (Trim::Message, Json::String(text)) => {
            (text.len() > Limits::MESSAGE_MAX_BYTES).then_some(Edit::Bytes(Limits::MESSAGE_MAX_BYTES))
        }
        (Trim::Time, Json::String(text)) => {
            let at = OffsetDateTime::parse(text, &Rfc3339).ok()?;
            (effective_time(at, received_at) != at).then_some(Edit::Time(received_at))
        }
        (Trim::Breadcrumbs, Json::Array(crumbs)) => {
            (crumbs.len() > Limits::MAX_BREADCRUMBS).then_some(Edit::KeepLast(Limits::MAX_BREADCRUMBS))
        }
        (Trim::PreContext, Json::Array(lines)) => {
            (lines.len() > Limits::MAX_CONTEXT_LINES).then_some(Edit::KeepLast(Limits::MAX_CONTEXT_LINES))
        }
        (Trim::PostContext, Json::Array(lines)) => {
            (lines.len() > Limits::MAX_CONTEXT_LINES).then_some(Edit::KeepFirst(Limits::MAX_CONTEXT_LINES))
        }
        (Trim::Tags, Json::Object(tags)) => tags_over(tags).then_some(Edit::Tags),
        (Trim::SessionDuration, value) => {
            value.as_i64().filter(|ms| *ms > Limits::SESSION_MAX_DURATION_MS).map(|_| Edit::Cap(Limits::SESSION_MAX_DURATION_MS))
        }
        // Stacks, causes and group members steer the checking walk itself (crate::check).
        _ => None,
    }
}

/// How much of an event's error tree trimming keeps, as the checking walk
/// goes through it: a cause comes before the members, and a group's
/// members before what they hold.
pub(crate) struct ErrorTree {
    /// Causes below the error that started the chain being walked (a group
    /// member starts a chain of its own).
    depth: usize,
    /// How many more errors the tree may keep.
    budget: usize,
}

impl ErrorTree {
    pub fn new() -> Self {
        ErrorTree { depth: 0, budget: Limits::MAX_TREE_ERRORS - 1 }
    }

    /// Whether the cause met now is kept (then it is walked, and
    /// [`ErrorTree::leave_cause`] follows).
    pub fn enter_cause(&mut self) -> bool {
        if self.depth == Limits::MAX_CAUSE_DEPTH || self.budget == 0 {
            return false;
        }
        self.budget -= 1;
        self.depth += 1;
        true
    }

    pub fn leave_cause(&mut self) {
        self.depth -= 1;
    }

    /// How many of a group's `count` members are kept, and the depth to
    /// give back to [`ErrorTree::leave_members`].
    pub fn enter_members(&mut self, count: usize) -> (usize, usize) {
        let keep = count.min(Limits::MAX_GROUP_MEMBERS).min(self.budget);
        self.budget -= keep;
        (keep, std::mem::replace(&mut self.depth, 0))
    }

    pub fn leave_members(&mut self, depth: usize) {
        self.depth = depth;
    }
}

/// How many errors `error` (an object) holds, itself included.
pub(crate) fn tree_size(error: &Json<'_>) -> u64 {
    crate::check::check::<ErrorTreeSize>(error, None).value.map_or(1, |tree| tree.size())
}

/// Removes the server-set fields `server_set` a client sent, makes `cuts`
/// and records them in `_meta`; answers whether the payload changed (an
/// unchanged payload can be queued as the text it came in).
pub(crate) fn apply(payload: &mut Json<'_>, server_set: &[&str], cuts: Vec<Cut>) -> bool {
    let Some(obj) = payload.as_object_mut() else { return false };
    let removed = server_set.iter().fold(false, |removed, field| obj.remove(field).is_some() | removed);
    if cuts.is_empty() {
        return removed;
    }
    let mut meta = Meta::default();
    for cut in cuts {
        if let Some(value) = walk(payload, &cut.steps) {
            edit(value, cut.edit, &cut.meta_path, &mut meta);
        }
    }
    let encoded = serde_json::to_value(&meta).and_then(Json::deserialize);
    let obj = payload.as_object_mut().expect("checked to be an object above");
    obj.insert(Meta::FIELD, encoded.expect("the model's Meta encodes as JSON"));
    true
}

fn walk<'t, 'a>(mut value: &'t mut Json<'a>, steps: &[Step]) -> Option<&'t mut Json<'a>> {
    for step in steps {
        value = match step {
            Step::Key(key) => value.as_object_mut()?.get_mut(key)?,
            Step::Index(i) => value.as_array_mut()?.get_mut(*i)?,
        };
    }
    Some(value)
}

fn edit(value: &mut Json<'_>, edit: Edit, path: &str, meta: &mut Meta) {
    match (edit, value) {
        (Edit::Chars(max), Json::String(text)) => {
            if let Some(short) = truncate_chars(text, max) {
                meta.at(path).original_length = Some(text.chars().count() as u64);
                *text = Cow::Owned(short);
            }
        }
        (Edit::Bytes(max), Json::String(text)) => {
            meta.at(path).original_length = Some(text.len() as u64);
            let mut cut = max.min(text.len());
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.to_mut().truncate(cut);
        }
        (Edit::Time(received_at), value) => {
            meta.at(path).original_value = value.as_str().map(Into::into);
            let text = received_at.format(&Rfc3339).expect("a receive time formats as RFC 3339");
            *value = Json::String(Cow::Owned(text));
        }
        (Edit::Cap(max), value) => {
            meta.at(path).original_value = value.as_i64().map(Into::into);
            *value = Json::from(max);
        }
        (Edit::KeepEnds(each), Json::Array(items)) => {
            meta.at(path).original_count = Some(items.len() as u64);
            items.drain(each..items.len() - each);
        }
        (Edit::KeepFirst(n), Json::Array(items)) => {
            meta.at(path).original_count = Some(items.len() as u64);
            items.truncate(n);
        }
        (Edit::KeepLast(n), Json::Array(items)) => {
            meta.at(path).original_count = Some(items.len() as u64);
            items.drain(..items.len() - n);
        }
        (Edit::Tags, Json::Object(tags)) => trim_tags(tags, path, meta),
        (Edit::CutCause(removed), value) => {
            meta.at(path).removed_causes = Some(removed);
            *value = Json::Null;
        }
        // A value the walk measured is the value it edits; nothing else can meet here.
        _ => {}
    }
}

/// Whether a span built in the typed model (a protocol mapping's output)
/// and encoded as `text` is one [`crate::validate_span`] accepts and
/// trimming leaves as it is, so `text` can be queued as it stands instead
/// of being parsed back and walked. It answers exactly as that path would
/// (a property test holds the two together); a `false` only means the span
/// takes the full path. `extra` is assumed to hold no named field, as the
/// model's deserialiser and the mappings guarantee.
pub fn span_untouched(span: &sentori_model::Span, text: &str, received_at: OffsetDateTime) -> bool {
    let within = |text: &str, max: usize| !Limits::over_chars(text, max);
    // `op` and `name` are validated as 1..=max characters, the rest only trimmed.
    !span.op.is_empty()
        && within(&span.op, Limits::SPAN_OP_MAX_CHARS)
        && !span.name.is_empty()
        && within(&span.name, Limits::SPAN_NAME_MAX_CHARS)
        && (0..=Limits::SPAN_MAX_DURATION_MS).contains(&span.duration_ms)
        && within(span.status.as_str(), Limits::NAME_MAX_CHARS)
        && effective_time(span.started_at, received_at) == span.started_at
        && span.tags.len() <= Limits::MAX_TAGS
        && span.tags.iter().all(|(k, v)| within(k, Limits::TAG_KEY_MAX_CHARS) && within(v, Limits::TAG_VALUE_MAX_CHARS))
        && !span.extra.contains_key(Meta::FIELD)
        && !crate::json::has_nul_escape(text.as_bytes())
        // `data` is part of `text`: a short text needs no second encoding.
        && (text.len() <= Limits::SPAN_DATA_MAX_BYTES
            || span.data.as_ref().is_none_or(|data| {
                serde_json::to_vec(data).is_ok_and(|encoded| encoded.len() <= Limits::SPAN_DATA_MAX_BYTES)
            }))
}

/// `at` when it falls where a timestamp is taken as sent, else the receive
/// time: a device clock years off would pin an issue's last-seen time, or
/// land in no partition.
pub(crate) fn effective_time(at: OffsetDateTime, received_at: OffsetDateTime) -> OffsetDateTime {
    let earliest = received_at.checked_sub(Limits::TIMESTAMP_MAX_AGE).unwrap_or(received_at);
    let latest = received_at.checked_add(Limits::TIMESTAMP_MAX_AHEAD).unwrap_or(received_at);
    if (earliest..=latest).contains(&at) { at } else { received_at }
}

fn truncate_chars(text: &str, max: usize) -> Option<String> {
    let count = text.chars().count();
    (count > max).then(|| text.chars().take(max).collect())
}

fn tags_over(tags: &Object<'_>) -> bool {
    let long_value = |v: &Json<'_>| v.as_str().is_some_and(|v| Limits::over_chars(v, Limits::TAG_VALUE_MAX_CHARS));
    tags.len() > Limits::MAX_TAGS || tags.iter().any(|(k, v)| Limits::over_chars(k, Limits::TAG_KEY_MAX_CHARS) || long_value(v))
}

/// Tags (and span tags): the first [`Limits::MAX_TAGS`] keys, keys and
/// values cut to length; `key` is where they stand.
fn trim_tags(tags: &mut Object<'_>, key: &str, meta: &mut Meta) {
    let original_count = tags.len();
    if original_count > Limits::MAX_TAGS {
        meta.at(key).original_count = Some(original_count as u64);
    }
    let mut trimmed = Object::default();
    for (name, value) in tags.take_entries().into_iter().take(Limits::MAX_TAGS) {
        let name = match truncate_chars(&name, Limits::TAG_KEY_MAX_CHARS) {
            Some(short) => {
                meta.at(child(key, &short)).original_key_length = Some(name.chars().count() as u64);
                Cow::Owned(short)
            }
            None => name,
        };
        let value = match value {
            Json::String(text) => match truncate_chars(&text, Limits::TAG_VALUE_MAX_CHARS) {
                Some(short) => {
                    meta.at(child(key, &name)).original_length = Some(text.chars().count() as u64);
                    Json::String(Cow::Owned(short))
                }
                None => Json::String(text),
            },
            other => other,
        };
        trimmed.insert(name, value);
    }
    *tags = trimmed;
}
