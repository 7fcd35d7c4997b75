//! Trimming oversized content (protocol.md, "Limits: reject or trim").
//!
//! A crash report is the most valuable thing a user sends, so size never
//! rejects an event: it is cut down, and `_meta` names each trimmed path with
//! what it was before (`originalLength` in the unit of the limit,
//! `originalCount` for lists).

use std::borrow::Cow;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use sentori_model::{Meta, Symbolication};
use serde::Deserialize;

use crate::json::{Json, Object};

use crate::path::{child, index};
use crate::validate::Limits;

const MESSAGE_MAX_BYTES: usize = 8 * 1024;
const MAX_BREADCRUMBS: usize = 100;
const MAX_FRAMES: usize = 100;
const MAX_CAUSE_DEPTH: usize = 10;
/// Members kept per exception group: the first ones.
const MAX_GROUP_MEMBERS: usize = 50;
/// Errors kept in one event's tree: the raised error, its causes, group
/// members and theirs.
const MAX_TREE_ERRORS: usize = 100;
const MAX_TAGS: usize = 50;
const TAG_KEY_MAX_CHARS: usize = 64;
const TAG_VALUE_MAX_CHARS: usize = 200;
const MAX_CONTEXT_LINES: usize = 10;

/// Stores `_meta` on the payload when anything was trimmed, and says whether it was.
fn attach(meta: Meta, obj: &mut Object<'_>) -> bool {
    if meta.is_empty() {
        return false;
    }
    let encoded = serde_json::to_value(&meta).and_then(Json::deserialize);
    obj.insert(Meta::FIELD, encoded.expect("the model's Meta encodes as JSON"));
    true
}

/// Each of these returns whether the payload changed (it was trimmed, or a
/// server-set field the client sent was removed): an unchanged payload can
/// be queued as the text it came in.
pub(crate) fn event(payload: &mut Json<'_>, received_at: OffsetDateTime) -> bool {
    let Some(obj) = payload.as_object_mut() else { return false };
    // Server-set fields: a client's value would mislead the dashboard.
    let removed = obj.remove(Symbolication::FIELD).is_some() | obj.remove(Meta::FIELD).is_some();
    let mut meta = Meta::default();
    clamp_time(obj, "", "timestamp", received_at, &mut meta);
    truncate_names(obj, "", &["platform", "kind", "level"], &mut meta);
    for (key, names) in [
        ("device", &["os", "osVersion", "model", "locale", "networkType", "installId"][..]),
        ("app", &["version", "build"]),
        ("user", &["id", "name"]),
    ] {
        if let Some(part) = obj.get_mut(key).and_then(Json::as_object_mut) {
            truncate_names(part, key, names, &mut meta);
        }
    }
    if let Some(framework) =
        obj.get_mut("app").and_then(Json::as_object_mut).and_then(|app| app.get_mut("framework")).and_then(Json::as_object_mut)
    {
        truncate_names(framework, "app.framework", &["name", "version"], &mut meta);
    }
    truncate_bytes(obj, "", "message", &mut meta);
    if let Some(error) = obj.get_mut("error").and_then(Json::as_object_mut) {
        let mut budget = MAX_TREE_ERRORS - 1;
        error_tree(error, "error", 0, &mut budget, &mut meta);
    }
    if let Some(Json::Array(crumbs)) = obj.get_mut("breadcrumbs") {
        // SDKs append breadcrumbs oldest first; the newest are the ones that explain the crash.
        if crumbs.len() > MAX_BREADCRUMBS {
            meta.at("breadcrumbs").original_count = Some(crumbs.len() as u64);
            crumbs.drain(..crumbs.len() - MAX_BREADCRUMBS);
        }
    }
    tags(obj, "tags", &mut meta);
    attach(meta, obj) || removed
}

pub(crate) fn span(payload: &mut Json<'_>, received_at: OffsetDateTime) -> bool {
    let Some(obj) = payload.as_object_mut() else { return false };
    let removed = obj.remove(Meta::FIELD).is_some();
    let mut meta = Meta::default();
    clamp_time(obj, "", "startedAt", received_at, &mut meta);
    truncate_names(obj, "", &["status"], &mut meta);
    tags(obj, "tags", &mut meta);
    attach(meta, obj) || removed
}

/// Whether a span built in the typed model (a protocol mapping's output)
/// and encoded as `text` is one [`crate::validate_span`] accepts and
/// trimming leaves as it is, so `text` can be queued as it stands instead
/// of being parsed back and walked. It answers exactly as that path would
/// (a property test holds the two together); a `false` only means the span
/// takes the full path. `extra` is assumed to hold no named field, as the
/// model's deserialiser and the mappings guarantee.
pub fn span_untouched(span: &sentori_model::Span, text: &str, received_at: OffsetDateTime) -> bool {
    // Bytes bound characters from above: most strings are decided without counting.
    let within = |text: &str, max: usize| text.len() <= max || text.chars().count() <= max;
    // `op` and `name` are validated as 1..=max characters, the rest only trimmed.
    !span.op.is_empty()
        && within(&span.op, Limits::SPAN_OP_MAX_CHARS)
        && !span.name.is_empty()
        && within(&span.name, Limits::SPAN_NAME_MAX_CHARS)
        && (0..=Limits::SPAN_MAX_DURATION_MS).contains(&span.duration_ms)
        && within(span.status.as_str(), Limits::NAME_MAX_CHARS)
        && effective_time(span.started_at, received_at) == span.started_at
        && span.tags.len() <= MAX_TAGS
        && span.tags.iter().all(|(k, v)| within(k, TAG_KEY_MAX_CHARS) && within(v, TAG_VALUE_MAX_CHARS))
        && !span.extra.contains_key(Meta::FIELD)
        && !crate::json::has_nul_escape(text.as_bytes())
        // `data` is part of `text`: a short text needs no second encoding.
        && (text.len() <= Limits::SPAN_DATA_MAX_BYTES
            || span.data.as_ref().is_none_or(|data| {
                serde_json::to_vec(data).is_ok_and(|encoded| encoded.len() <= Limits::SPAN_DATA_MAX_BYTES)
            }))
}

pub(crate) fn session(payload: &mut Json<'_>, received_at: OffsetDateTime) -> bool {
    let Some(obj) = payload.as_object_mut() else { return false };
    let removed = obj.remove(Meta::FIELD).is_some();
    let mut meta = Meta::default();
    clamp_time(obj, "", "startedAt", received_at, &mut meta);
    truncate_names(obj, "", &["userId", "status"], &mut meta);
    if let Some(duration) = obj.get("durationMs").and_then(Json::as_i64) {
        if duration > Limits::SESSION_MAX_DURATION_MS {
            meta.at("durationMs").original_value = Some(duration.into());
            obj.insert("durationMs", Json::from(Limits::SESSION_MAX_DURATION_MS));
        }
    }
    attach(meta, obj) || removed
}

/// `error` is `depth` causes below the error that starts its chain (a
/// group member starts a chain of its own); `budget` is how many more
/// errors the tree may keep. A cause comes before the members, and a
/// group's members before what they hold.
fn error_tree(error: &mut Object<'_>, path: &str, depth: usize, budget: &mut usize, meta: &mut Meta) {
    truncate_names(error, path, &["type"], meta);
    truncate_bytes(error, path, "message", meta);
    if let Some(Json::Array(frames)) = error.get_mut("stack") {
        let stack_path = child(path, "stack");
        if frames.len() > MAX_FRAMES {
            // Keep both ends: the top says where it broke, the bottom how it got there.
            meta.at(stack_path.clone()).original_count = Some(frames.len() as u64);
            let keep = MAX_FRAMES / 2;
            frames.drain(keep..frames.len() - keep);
        }
        for (i, frame) in frames.iter_mut().enumerate() {
            if let Some(frame) = frame.as_object_mut() {
                context_lines(frame, &stack_path, i, meta);
            }
        }
    }
    let cause_path = child(path, "cause");
    if let Some(cause) = error.get_mut("cause").and_then(Json::as_object_mut) {
        if depth == MAX_CAUSE_DEPTH || *budget == 0 {
            meta.at(cause_path).removed_causes = Some(tree_size(cause) as u64);
            error.insert("cause", Json::Null);
        } else {
            *budget -= 1;
            error_tree(cause, &cause_path, depth + 1, budget, meta);
        }
    }
    if let Some(Json::Array(members)) = error.get_mut("exceptions") {
        let members_path = child(path, "exceptions");
        let keep = members.len().min(MAX_GROUP_MEMBERS).min(*budget);
        if keep < members.len() {
            meta.at(members_path.clone()).original_count = Some(members.len() as u64);
            members.truncate(keep);
        }
        *budget -= keep;
        for (i, member) in members.iter_mut().enumerate() {
            if let Some(member) = member.as_object_mut() {
                error_tree(member, &index(&members_path, i), 0, budget, meta);
            }
        }
    }
}

/// How many errors `error` holds, itself included (validation has bounded
/// the nesting: the JSON parser's limit).
fn tree_size(error: &Object<'_>) -> usize {
    let cause = error.get("cause").and_then(Json::as_object).map_or(0, tree_size);
    let members = match error.get("exceptions") {
        Some(Json::Array(members)) => members.iter().filter_map(Json::as_object).map(tree_size).sum(),
        _ => 0,
    };
    1 + cause + members
}

/// `frame` is element `i` of the stack at `stack_path`; its path is only
/// spelled out when something is trimmed.
fn context_lines(frame: &mut Object<'_>, stack_path: &str, i: usize, meta: &mut Meta) {
    // The lines nearest the failing line matter most: the end of preContext, the start of postContext.
    if let Some(Json::Array(pre)) = frame.get_mut("preContext") {
        if pre.len() > MAX_CONTEXT_LINES {
            meta.at(child(&index(stack_path, i), "preContext")).original_count = Some(pre.len() as u64);
            pre.drain(..pre.len() - MAX_CONTEXT_LINES);
        }
    }
    if let Some(Json::Array(post)) = frame.get_mut("postContext") {
        if post.len() > MAX_CONTEXT_LINES {
            meta.at(child(&index(stack_path, i), "postContext")).original_count = Some(post.len() as u64);
            post.truncate(MAX_CONTEXT_LINES);
        }
    }
}

fn truncate_bytes(obj: &mut Object<'_>, parent: &str, key: &str, meta: &mut Meta) {
    if let Some(Json::String(text)) = obj.get_mut(key) {
        if text.len() > MESSAGE_MAX_BYTES {
            meta.at(child(parent, key)).original_length = Some(text.len() as u64);
            let mut cut = MESSAGE_MAX_BYTES;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.to_mut().truncate(cut);
        }
    }
}

/// `at` when it falls where a timestamp is taken as sent, else the receive
/// time: a device clock years off would pin an issue's last-seen time, or
/// land in no partition.
pub(crate) fn effective_time(at: OffsetDateTime, received_at: OffsetDateTime) -> OffsetDateTime {
    let earliest = received_at.checked_sub(Limits::TIMESTAMP_MAX_AGE).unwrap_or(received_at);
    let latest = received_at.checked_add(Limits::TIMESTAMP_MAX_AHEAD).unwrap_or(received_at);
    if (earliest..=latest).contains(&at) { at } else { received_at }
}

/// Puts the receive time in place of the time at `key` (validated as RFC
/// 3339 before) when [`effective_time`] says so; `_meta` keeps what was sent.
fn clamp_time(obj: &mut Object<'_>, parent: &str, key: &str, received_at: OffsetDateTime, meta: &mut Meta) {
    let Some(sent) = obj.get(key).and_then(Json::as_str) else { return };
    let Ok(at) = OffsetDateTime::parse(sent, &Rfc3339) else { return };
    if effective_time(at, received_at) == at {
        return;
    }
    meta.at(child(parent, key)).original_value = Some(sent.into());
    let text = received_at.format(&Rfc3339).expect("a receive time formats as RFC 3339");
    if let Some(value) = obj.get_mut(key) {
        *value = Json::String(Cow::Owned(text));
    }
}

/// Names and ids that become columns and keys (`user.id` keys the issue's
/// user count, `device.os` a column): at most [`Limits::NAME_MAX_CHARS`].
fn truncate_names(obj: &mut Object<'_>, parent: &str, keys: &[&str], meta: &mut Meta) {
    for &key in keys {
        if let Some(Json::String(text)) = obj.get_mut(key) {
            if let Some(short) = truncate_chars(text, Limits::NAME_MAX_CHARS) {
                meta.at(child(parent, key)).original_length = Some(text.chars().count() as u64);
                *text = Cow::Owned(short);
            }
        }
    }
}

fn truncate_chars(text: &str, max: usize) -> Option<String> {
    let count = text.chars().count();
    (count > max).then(|| text.chars().take(max).collect())
}

/// Tags (and span tags): at most 50 keys, keys of 64 and values of 200 characters.
fn tags(obj: &mut Object<'_>, key: &str, meta: &mut Meta) {
    let Some(Json::Object(tags)) = obj.get_mut(key) else { return };
    let original_count = tags.len();
    let needs_work = original_count > MAX_TAGS
        || tags.iter().any(|(k, v)| {
            k.chars().count() > TAG_KEY_MAX_CHARS || v.as_str().is_some_and(|v| v.chars().count() > TAG_VALUE_MAX_CHARS)
        });
    if !needs_work {
        return;
    }
    if original_count > MAX_TAGS {
        meta.at(key).original_count = Some(original_count as u64);
    }
    let mut trimmed = Object::default();
    for (name, value) in tags.take_entries().into_iter().take(MAX_TAGS) {
        let name = match truncate_chars(&name, TAG_KEY_MAX_CHARS) {
            Some(short) => {
                meta.at(child(key, &short)).original_key_length = Some(name.chars().count() as u64);
                Cow::Owned(short)
            }
            None => name,
        };
        let value = match value {
            Json::String(text) => match truncate_chars(&text, TAG_VALUE_MAX_CHARS) {
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
