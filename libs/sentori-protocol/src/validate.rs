//! Structural validation of SDK payloads.
//!
//! Only structure rejects (protocol.md, "Limits: reject or trim"): a missing
//! required field or a wrong JSON type. Oversized content is trimmed
//! afterwards by [`crate::trim`], which records what it cut in `_meta`.

use crate::json::{Json, Object};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::FieldError;
use crate::path::{child, index};
use crate::trim;

/// Size limits that reject rather than trim.
#[derive(Debug, Clone, Copy)]
pub struct Limits;

impl Limits {
    pub const RELEASE_MAX_CHARS: usize = 200;
    pub const ENVIRONMENT_MAX_CHARS: usize = 64;
    pub const SPAN_OP_MAX_CHARS: usize = 64;
    pub const SPAN_NAME_MAX_CHARS: usize = 200;
    pub const SPAN_MAX_DURATION_MS: i64 = 86_400_000;
    pub const SPAN_DATA_MAX_BYTES: usize = 16 * 1024;
    pub const SESSION_MAX_DURATION_MS: i64 = 7 * 24 * 3_600_000;
    /// How far before its receive time an item's own time may be (trim: the receive time replaces it).
    pub const TIMESTAMP_MAX_AGE: time::Duration = time::Duration::days(90);
    /// How far after its receive time an item's own time may be (trim, likewise).
    pub const TIMESTAMP_MAX_AHEAD: time::Duration = time::Duration::days(1);
    /// Names and ids that become columns or keys: `user.id`, `device.installId`, `error.type`… (trim).
    pub const NAME_MAX_CHARS: usize = 200;
    /// Reporting stops here: a payload this broken gains nothing from a longer list.
    pub const MAX_REPORTED_ERRORS: usize = 50;
}

/// An event that passed validation, trimmed, with its typed keys.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedEvent<'a> {
    pub id: Uuid,
    pub timestamp: OffsetDateTime,
    pub kind: String,
    /// The full payload as stored: unknown fields kept, `_meta` added when trimmed.
    pub payload: Json<'a>,
    /// Whether `payload` differs from what the client sent (see `trim`).
    pub changed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedSpan<'a> {
    pub id: Uuid,
    pub trace_id: Uuid,
    pub payload: Json<'a>,
    /// Whether `payload` differs from what the client sent (see `trim`).
    pub changed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedSession<'a> {
    pub id: Uuid,
    pub payload: Json<'a>,
    /// Whether `payload` differs from what the client sent (see `trim`).
    pub changed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedDeploy {
    pub release: String,
    pub environment: Option<String>,
    pub deployed_at: Option<OffsetDateTime>,
}

/// Whether a field must be present.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Required,
    Optional,
}
use Need::{Optional, Required};

/// Collects field errors while walking one payload.
#[derive(Default)]
struct Checker {
    errors: Vec<FieldError>,
}

impl Checker {
    fn fail(&mut self, field: String, message: impl Into<String>) {
        if self.errors.len() < Limits::MAX_REPORTED_ERRORS {
            self.errors.push(FieldError::new(field, message));
        }
    }

    /// The value at `key`; `null` counts as absent (protocol: null and absent mean the same).
    fn value<'v>(&mut self, obj: &'v Object<'v>, parent: &str, key: &str, need: Need) -> Option<&'v Json<'v>> {
        match obj.get(key) {
            Some(Json::Null) | None => {
                if need == Required {
                    self.fail(child(parent, key), "required");
                }
                None
            }
            Some(value) => Some(value),
        }
    }

    fn typed<'v, T>(
        &mut self,
        obj: &'v Object<'v>,
        parent: &str,
        key: &str,
        need: Need,
        expected: &str,
        extract: impl FnOnce(&'v Json<'v>) -> Option<T>,
    ) -> Option<T> {
        let value = self.value(obj, parent, key, need)?;
        let extracted = extract(value);
        if extracted.is_none() {
            self.fail(child(parent, key), format!("must be {expected}"));
        }
        extracted
    }

    fn string<'v>(&mut self, obj: &'v Object<'v>, parent: &str, key: &str, need: Need) -> Option<&'v str> {
        self.typed(obj, parent, key, need, "a string", Json::as_str)
    }

    /// A string of `1..=max` characters.
    fn bounded_string<'v>(
        &mut self,
        obj: &'v Object<'v>,
        parent: &str,
        key: &str,
        need: Need,
        max: usize,
    ) -> Option<&'v str> {
        let value = self.string(obj, parent, key, need)?;
        let chars = value.chars().count();
        if chars == 0 {
            self.fail(child(parent, key), "must not be empty");
            return None;
        }
        if chars > max {
            self.fail(child(parent, key), format!("must be at most {max} characters"));
            return None;
        }
        Some(value)
    }

    fn uuid(&mut self, obj: &Object<'_>, parent: &str, key: &str, need: Need) -> Option<Uuid> {
        self.typed(obj, parent, key, need, "a UUID string", |v| v.as_str().and_then(|s| Uuid::parse_str(s).ok()))
    }

    fn timestamp(&mut self, obj: &Object<'_>, parent: &str, key: &str, need: Need) -> Option<OffsetDateTime> {
        self.typed(obj, parent, key, need, "an RFC 3339 timestamp", |v| {
            v.as_str().and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
        })
    }

    fn integer(&mut self, obj: &Object<'_>, parent: &str, key: &str, need: Need) -> Option<i64> {
        self.typed(obj, parent, key, need, "an integer", Json::as_i64)
    }

    fn integer_in(
        &mut self,
        obj: &Object<'_>,
        parent: &str,
        key: &str,
        need: Need,
        range: std::ops::RangeInclusive<i64>,
    ) -> Option<i64> {
        let value = self.integer(obj, parent, key, need)?;
        if !range.contains(&value) {
            self.fail(child(parent, key), format!("must be between {} and {}", range.start(), range.end()));
            return None;
        }
        Some(value)
    }

    fn boolean(&mut self, obj: &Object<'_>, parent: &str, key: &str, need: Need) -> Option<bool> {
        self.typed(obj, parent, key, need, "true or false", Json::as_bool)
    }

    fn object<'v>(
        &mut self,
        obj: &'v Object<'v>,
        parent: &str,
        key: &str,
        need: Need,
    ) -> Option<&'v Object<'v>> {
        self.typed(obj, parent, key, need, "an object", Json::as_object)
    }

    fn array<'v>(&mut self, obj: &'v Object<'v>, parent: &str, key: &str, need: Need) -> Option<&'v Vec<Json<'v>>> {
        self.typed(obj, parent, key, need, "an array", Json::as_array)
    }

    /// An object whose values are all strings (tags, flags).
    fn string_map(&mut self, obj: &Object<'_>, parent: &str, key: &str) {
        let Some(map) = self.object(obj, parent, key, Optional) else { return };
        let path = child(parent, key);
        for (name, value) in map {
            if !value.is_string() {
                self.fail(child(&path, name), "must be a string");
            }
        }
    }

    /// An array whose elements are all strings.
    fn string_array(&mut self, obj: &Object<'_>, parent: &str, key: &str) {
        let Some(items) = self.array(obj, parent, key, Optional) else { return };
        let path = child(parent, key);
        for (i, item) in items.iter().enumerate() {
            if !item.is_string() {
                self.fail(index(&path, i), "must be a string");
            }
        }
    }

    /// Each element of an optional array must be an object; yields them with their paths.
    fn objects<'v>(
        &mut self,
        obj: &'v Object<'v>,
        parent: &str,
        key: &str,
    ) -> Vec<(String, &'v Object<'v>)> {
        let Some(items) = self.array(obj, parent, key, Optional) else { return Vec::new() };
        let path = child(parent, key);
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item.as_object() {
                Some(map) => out.push((index(&path, i), map)),
                None => self.fail(index(&path, i), "must be an object"),
            }
        }
        out
    }

    fn root<'v>(&mut self, payload: &'v Json<'v>) -> Option<&'v Object<'v>> {
        let obj = payload.as_object();
        if obj.is_none() {
            self.fail("$".to_owned(), "must be a JSON object");
        }
        obj
    }

    fn finish<T>(self, value: Option<T>) -> Result<T, Vec<FieldError>> {
        match value {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ => Err(self.errors),
        }
    }

    fn release_and_environment(&mut self, obj: &Object<'_>, environment: Need) {
        self.bounded_string(obj, "", "release", Required, Limits::RELEASE_MAX_CHARS);
        self.bounded_string(obj, "", "environment", environment, Limits::ENVIRONMENT_MAX_CHARS);
    }

    // --- event parts -------------------------------------------------------

    fn device(&mut self, obj: &Object<'_>) {
        let Some(device) = self.object(obj, "", "device", Required) else { return };
        self.string(device, "device", "os", Required);
        self.string(device, "device", "osVersion", Required);
        for key in ["model", "locale", "networkType", "installId"] {
            self.string(device, "device", key, Optional);
        }
    }

    fn app(&mut self, obj: &Object<'_>) {
        let Some(app) = self.object(obj, "", "app", Required) else { return };
        self.string(app, "app", "version", Required);
        self.string(app, "app", "build", Optional);
        if let Some(framework) = self.object(app, "app", "framework", Optional) {
            self.string(framework, "app.framework", "name", Optional);
            self.string(framework, "app.framework", "version", Optional);
        }
    }

    fn user(&mut self, obj: &Object<'_>) {
        let Some(user) = self.object(obj, "", "user", Optional) else { return };
        self.string(user, "user", "id", Optional);
        self.string(user, "user", "name", Optional);
        self.boolean(user, "user", "anonymous", Optional);
        self.string_array(user, "user", "linkHashes");
    }

    /// An error, its causes and, for an exception group, its members; depth
    /// and count are not limited here (trimming cuts them; the JSON parser's
    /// nesting limit bounds the recursion).
    fn error(&mut self, error: &Object<'_>, path: &str) {
        self.string(error, path, "type", Required);
        self.string(error, path, "message", Optional);
        for (frame_path, frame) in self.objects(error, path, "stack") {
            self.frame(frame, &frame_path);
        }
        if let Some(cause) = self.object(error, path, "cause", Optional) {
            self.error(cause, &child(path, "cause"));
        }
        for (member_path, member) in self.objects(error, path, "exceptions") {
            self.error(member, &member_path);
        }
    }

    fn frame(&mut self, frame: &Object<'_>, path: &str) {
        self.string(frame, path, "file", Required);
        self.integer_in(frame, path, "line", Required, 1..=i64::MAX);
        self.integer_in(frame, path, "column", Optional, 0..=i64::MAX);
        for key in ["function", "absolutePath", "contextLine", "debugId", "arch"] {
            self.string(frame, path, key, Optional);
        }
        self.boolean(frame, path, "inApp", Optional);
        self.string_array(frame, path, "preContext");
        self.string_array(frame, path, "postContext");
        for key in ["instructionAddress", "imageAddress"] {
            self.typed(frame, path, key, Optional, "an integer or a \"0x…\" string", |v| match v {
                Json::Number(_) => v.as_u64().map(|_| ()),
                Json::String(s) => s
                    .strip_prefix("0x")
                    .or_else(|| s.strip_prefix("0X"))
                    .filter(|hex| !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()))
                    .map(|_| ()),
                _ => None,
            });
        }
    }

    fn breadcrumbs(&mut self, obj: &Object<'_>) {
        for (path, crumb) in self.objects(obj, "", "breadcrumbs") {
            self.timestamp(crumb, &path, "timestamp", Optional);
            self.string(crumb, &path, "type", Optional);
        }
    }

    fn attachments(&mut self, obj: &Object<'_>) {
        for (path, attachment) in self.objects(obj, "", "attachments") {
            self.string(attachment, &path, "ref", Required);
            self.string(attachment, &path, "kind", Required);
            self.string(attachment, &path, "mediaType", Optional);
            self.integer_in(attachment, &path, "sizeBytes", Optional, 0..=i64::MAX);
            self.string(attachment, &path, "source", Optional);
        }
    }
}

/// Validates and trims one Event received at `received_at`.
pub fn validate_event(mut payload: Json<'_>, received_at: OffsetDateTime) -> Result<ValidatedEvent<'_>, Vec<FieldError>> {
    let mut check = Checker::default();
    let typed = check.root(&payload).and_then(|obj| {
        let id = check.uuid(obj, "", "id", Required);
        let timestamp = check.timestamp(obj, "", "timestamp", Required);
        let kind = check.string(obj, "", "kind", Required);
        check.string(obj, "", "platform", Required);
        check.release_and_environment(obj, Required);
        check.device(obj);
        check.app(obj);
        check.user(obj);
        if kind == Some("message") {
            check.string(obj, "", "message", Required);
            check.string(obj, "", "level", Required);
        } else {
            check.string(obj, "", "message", Optional);
            check.string(obj, "", "level", Optional);
            if kind.is_some() {
                if let Some(error) = check.object(obj, "", "error", Required) {
                    check.error(error, "error");
                }
            }
        }
        check.string_map(obj, "", "tags");
        check.string_map(obj, "", "flags");
        check.breadcrumbs(obj);
        check.string_array(obj, "", "fingerprint");
        check.uuid(obj, "", "traceId", Optional);
        check.uuid(obj, "", "spanId", Optional);
        check.attachments(obj);
        Some((id?, timestamp?, kind?.to_owned()))
    });
    let (id, timestamp, kind) = check.finish(typed)?;
    let changed = trim::event(&mut payload, received_at);
    Ok(ValidatedEvent { id, timestamp: trim::effective_time(timestamp, received_at), kind, payload, changed })
}

/// Validates one Span received at `received_at` (its 64 KiB size limit is
/// the caller's: it knows the encoded size).
pub fn validate_span(mut payload: Json<'_>, received_at: OffsetDateTime) -> Result<ValidatedSpan<'_>, Vec<FieldError>> {
    let mut check = Checker::default();
    let typed = check.root(&payload).and_then(|obj| {
        let id = check.uuid(obj, "", "id", Required);
        let trace_id = check.uuid(obj, "", "traceId", Required);
        if !obj.contains_key("parentSpanId") {
            check.fail("parentSpanId".to_owned(), "required (null for a root span)");
        }
        check.uuid(obj, "", "parentSpanId", Optional);
        check.bounded_string(obj, "", "op", Required, Limits::SPAN_OP_MAX_CHARS);
        check.bounded_string(obj, "", "name", Required, Limits::SPAN_NAME_MAX_CHARS);
        check.timestamp(obj, "", "startedAt", Required);
        check.integer_in(obj, "", "durationMs", Required, 0..=Limits::SPAN_MAX_DURATION_MS);
        check.string(obj, "", "status", Required);
        check.string_map(obj, "", "tags");
        check.string(obj, "", "traceparent", Optional);
        if let Some(data) = check.object(obj, "", "data", Optional) {
            let encoded = serde_json::to_vec(data).map(|v| v.len()).unwrap_or(usize::MAX);
            if encoded > Limits::SPAN_DATA_MAX_BYTES {
                check.fail("data".to_owned(), format!("must be at most {} bytes encoded", Limits::SPAN_DATA_MAX_BYTES));
            }
        }
        Some((id?, trace_id?))
    });
    let (id, trace_id) = check.finish(typed)?;
    let changed = trim::span(&mut payload, received_at);
    Ok(ValidatedSpan { id, trace_id, payload, changed })
}

/// Validates one Session received at `received_at`; `durationMs` beyond 7 days is capped.
pub fn validate_session(mut payload: Json<'_>, received_at: OffsetDateTime) -> Result<ValidatedSession<'_>, Vec<FieldError>> {
    let mut check = Checker::default();
    let typed = check.root(&payload).and_then(|obj| {
        let id = check.uuid(obj, "", "id", Required);
        check.string(obj, "", "userId", Optional);
        check.release_and_environment(obj, Required);
        check.string(obj, "", "status", Required);
        check.timestamp(obj, "", "startedAt", Required);
        check.integer_in(obj, "", "durationMs", Required, 0..=i64::MAX);
        id
    });
    let id = check.finish(typed)?;
    let changed = trim::session(&mut payload, received_at);
    Ok(ValidatedSession { id, payload, changed })
}

/// Validates one Deploy received at `received_at`; a `deployedAt` outside
/// the accepted window is replaced by the receive time, as for events.
pub fn validate_deploy(payload: Json<'_>, received_at: OffsetDateTime) -> Result<ValidatedDeploy, Vec<FieldError>> {
    let mut check = Checker::default();
    let typed = check.root(&payload).map(|obj| {
        check.release_and_environment(obj, Optional);
        let deployed_at = check.timestamp(obj, "", "deployedAt", Optional);
        let release = obj.get("release").and_then(Json::as_str).map(str::to_owned);
        let environment = obj.get("environment").and_then(Json::as_str).map(str::to_owned);
        (release, environment, deployed_at)
    });
    let (release, environment, deployed_at) = check.finish(typed)?;
    let deployed_at = deployed_at.map(|at| trim::effective_time(at, received_at));
    Ok(ValidatedDeploy { release: release.unwrap_or_default(), environment, deployed_at })
}

#[cfg(test)]
mod tests;
