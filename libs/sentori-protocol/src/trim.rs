//! Trimming oversized content (protocol.md, "Limits: reject or trim").
//!
//! A crash report is the most valuable thing a user sends, so size never
//! rejects an event: it is cut down, and `_meta` names each trimmed path with
//! what it was before (`originalLength` in the unit of the limit,
//! `originalCount` for lists).

use serde_json::{Map, Value, json};

use crate::path::{child, index};
use crate::validate::Limits;

const MESSAGE_MAX_BYTES: usize = 8 * 1024;
const MAX_BREADCRUMBS: usize = 100;
const MAX_FRAMES: usize = 100;
const MAX_CAUSE_DEPTH: usize = 10;
const MAX_TAGS: usize = 50;
const TAG_KEY_MAX_CHARS: usize = 64;
const TAG_VALUE_MAX_CHARS: usize = 200;
const MAX_CONTEXT_LINES: usize = 10;

/// What was trimmed, keyed by wire path.
#[derive(Default)]
struct Meta(Map<String, Value>);

impl Meta {
    fn record(&mut self, path: String, what: &str, original: usize) {
        let entry = self.0.entry(path).or_insert_with(|| json!({}));
        if let Some(entry) = entry.as_object_mut() {
            entry.insert(what.to_owned(), json!(original));
        }
    }

    /// Stores `_meta` on the payload when anything was trimmed, and says whether it was.
    fn attach(self, obj: &mut Map<String, Value>) -> bool {
        let trimmed = !self.0.is_empty();
        if trimmed {
            obj.insert("_meta".to_owned(), Value::Object(self.0));
        }
        trimmed
    }
}

/// Each of these returns whether the payload changed (it was trimmed, or a
/// server-set field the client sent was removed): an unchanged payload can
/// be queued as the text it came in.
pub(crate) fn event(payload: &mut Value) -> bool {
    let Some(obj) = payload.as_object_mut() else { return false };
    // Server-set fields: a client's value would mislead the dashboard.
    let removed = obj.remove("symbolication").is_some() | obj.remove("_meta").is_some();
    let mut meta = Meta::default();
    truncate_bytes(obj, "", "message", &mut meta);
    if let Some(error) = obj.get_mut("error").and_then(Value::as_object_mut) {
        error_chain(error, "error", 0, &mut meta);
    }
    if let Some(Value::Array(crumbs)) = obj.get_mut("breadcrumbs") {
        // SDKs append breadcrumbs oldest first; the newest are the ones that explain the crash.
        if crumbs.len() > MAX_BREADCRUMBS {
            meta.record("breadcrumbs".into(), "originalCount", crumbs.len());
            crumbs.drain(..crumbs.len() - MAX_BREADCRUMBS);
        }
    }
    tags(obj, "tags", &mut meta);
    meta.attach(obj) || removed
}

pub(crate) fn span(payload: &mut Value) -> bool {
    let Some(obj) = payload.as_object_mut() else { return false };
    let removed = obj.remove("_meta").is_some();
    let mut meta = Meta::default();
    tags(obj, "tags", &mut meta);
    meta.attach(obj) || removed
}

pub(crate) fn session(payload: &mut Value) -> bool {
    let Some(obj) = payload.as_object_mut() else { return false };
    let removed = obj.remove("_meta").is_some();
    let mut meta = Meta::default();
    if let Some(duration) = obj.get("durationMs").and_then(Value::as_i64) {
        if duration > Limits::SESSION_MAX_DURATION_MS {
            meta.record("durationMs".into(), "originalValue", duration as usize);
            obj.insert("durationMs".into(), json!(Limits::SESSION_MAX_DURATION_MS));
        }
    }
    meta.attach(obj) || removed
}

fn error_chain(error: &mut Map<String, Value>, path: &str, depth: usize, meta: &mut Meta) {
    truncate_bytes(error, path, "message", meta);
    if let Some(Value::Array(frames)) = error.get_mut("stack") {
        if frames.len() > MAX_FRAMES {
            // Keep both ends: the top says where it broke, the bottom how it got there.
            meta.record(child(path, "stack"), "originalCount", frames.len());
            let keep = MAX_FRAMES / 2;
            frames.drain(keep..frames.len() - keep);
        }
        for (i, frame) in frames.iter_mut().enumerate() {
            if let Some(frame) = frame.as_object_mut() {
                context_lines(frame, &index(&child(path, "stack"), i), meta);
            }
        }
    }
    let cause_path = child(path, "cause");
    if depth == MAX_CAUSE_DEPTH {
        let removed = cause_depth(error.get("cause"));
        if removed > 0 {
            meta.record(cause_path, "removedCauses", removed);
            error.insert("cause".into(), Value::Null);
        }
        return;
    }
    if let Some(cause) = error.get_mut("cause").and_then(Value::as_object_mut) {
        error_chain(cause, &cause_path, depth + 1, meta);
    }
}

fn cause_depth(mut cause: Option<&Value>) -> usize {
    let mut depth = 0;
    while let Some(Value::Object(error)) = cause {
        depth += 1;
        cause = error.get("cause");
    }
    depth
}

fn context_lines(frame: &mut Map<String, Value>, path: &str, meta: &mut Meta) {
    // The lines nearest the failing line matter most: the end of preContext, the start of postContext.
    if let Some(Value::Array(pre)) = frame.get_mut("preContext") {
        if pre.len() > MAX_CONTEXT_LINES {
            meta.record(child(path, "preContext"), "originalCount", pre.len());
            pre.drain(..pre.len() - MAX_CONTEXT_LINES);
        }
    }
    if let Some(Value::Array(post)) = frame.get_mut("postContext") {
        if post.len() > MAX_CONTEXT_LINES {
            meta.record(child(path, "postContext"), "originalCount", post.len());
            post.truncate(MAX_CONTEXT_LINES);
        }
    }
}

fn truncate_bytes(obj: &mut Map<String, Value>, parent: &str, key: &str, meta: &mut Meta) {
    if let Some(Value::String(text)) = obj.get_mut(key) {
        if text.len() > MESSAGE_MAX_BYTES {
            meta.record(child(parent, key), "originalLength", text.len());
            let mut cut = MESSAGE_MAX_BYTES;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
    }
}

fn truncate_chars(text: &str, max: usize) -> Option<String> {
    let count = text.chars().count();
    (count > max).then(|| text.chars().take(max).collect())
}

/// Tags (and span tags): at most 50 keys, keys of 64 and values of 200 characters.
fn tags(obj: &mut Map<String, Value>, key: &str, meta: &mut Meta) {
    let Some(Value::Object(tags)) = obj.get_mut(key) else { return };
    let original_count = tags.len();
    let needs_work = original_count > MAX_TAGS
        || tags.iter().any(|(k, v)| {
            k.chars().count() > TAG_KEY_MAX_CHARS || v.as_str().is_some_and(|v| v.chars().count() > TAG_VALUE_MAX_CHARS)
        });
    if !needs_work {
        return;
    }
    if original_count > MAX_TAGS {
        meta.record(key.to_owned(), "originalCount", original_count);
    }
    let mut trimmed = Map::new();
    for (name, value) in std::mem::take(tags).into_iter().take(MAX_TAGS) {
        let name = match truncate_chars(&name, TAG_KEY_MAX_CHARS) {
            Some(short) => {
                meta.record(child(key, &short), "originalKeyLength", name.chars().count());
                short
            }
            None => name,
        };
        let value = match value {
            Value::String(text) => match truncate_chars(&text, TAG_VALUE_MAX_CHARS) {
                Some(short) => {
                    meta.record(child(key, &name), "originalLength", text.chars().count());
                    Value::String(short)
                }
                None => Value::String(text),
            },
            other => other,
        };
        trimmed.insert(name, value);
    }
    *tags = trimmed;
}
