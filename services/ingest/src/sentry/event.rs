//! A Sentry event (the `event` item, or a `/store/` body) as a Sentori
//! [`Event`]. The table in protocol.md ("Sentry ingest") is the contract;
//! what has no Sentori field is kept in the event's extra fields, under the
//! Sentry name, so it is stored and shown rather than dropped.

use serde_json::{Map, Value, json};
use sentori_model::{App, Breadcrumb, Device, Error, Event, EventKind, Frame, Framework, Level, Meta, Tags, User, ids};
use time::OffsetDateTime;
use uuid::Uuid;

use super::exception_tree;
use super::values::{text, text_at, timestamp, truncate, u64_at};

/// Defaults for what Sentori requires and a Sentry event may not say.
pub const DEFAULT_RELEASE: &str = "unknown";
pub const DEFAULT_ENVIRONMENT: &str = "production";
pub const UNKNOWN: &str = "unknown";

/// The event's own fields that the mapping consumes; every other top-level
/// field is kept as an extra field.
const CONSUMED: &[&str] = &[
    "event_id", "timestamp", "platform", "release", "environment", "level", "message", "logentry", "exception",
    "threads", "tags", "breadcrumbs", "fingerprint", "user", "contexts", "type", "start_timestamp", "spans",
];

/// How many `exception.values` are read, the newest kept (the raised error
/// and the values nearest it). Trimming keeps far fewer (protocol.md); this
/// bounds the mapping's work and how deep the mapped JSON nests, which must
/// stay within the JSON parser's limit for the event to be validated.
const MAX_EXCEPTION_VALUES: usize = 100;

/// Sentry event ids are 32 hex digits (UUID simple form); hyphenated is accepted too.
pub fn event_id(value: &Value) -> Option<Uuid> {
    value.as_str().and_then(|text| Uuid::try_parse(text.trim()).ok()).filter(|id| !id.is_nil())
}

pub fn map_event(mut event: Map<String, Value>, header_event_id: Option<Uuid>, received_at: OffsetDateTime) -> Event {
    let root = Value::Object(std::mem::take(&mut event));
    let id = root.get("event_id").and_then(event_id).or(header_event_id).unwrap_or_else(Uuid::now_v7);
    let contexts = root.get("contexts").filter(|c| c.is_object()).cloned().unwrap_or(Value::Null);
    let error = root.get("exception").and_then(exception_error);
    let unhandled = root.get("exception").is_some_and(any_unhandled);
    let message = message(&root);
    // A message captured with a stack (`attachStacktrace`) arrives as a
    // synthetic exception: it is still a message, its stack kept.
    let synthetic = root.get("exception").is_some_and(all_synthetic);
    let kind = if error.is_some() && !(synthetic && message.is_some()) { EventKind::Error } else { EventKind::Message };
    let mut level = root.get("level").and_then(Value::as_str).map(level);
    if unhandled {
        // An exception nothing caught: Sentori's crash level.
        level = Some(Level::Fatal);
    }
    if kind == EventKind::Message && level.is_none() {
        level = Some(Level::Info);
    }
    let trace = &contexts["trace"];
    let mut extra = Map::new();
    if let Value::Object(fields) = &root {
        for (key, value) in fields {
            if !CONSUMED.contains(&key.as_str()) && !value.is_null() {
                extra.insert(key.clone(), value.clone());
            }
        }
    }
    if contexts.is_object() {
        extra.insert("contexts".into(), contexts.clone());
    }
    if unhandled {
        extra.insert("handled".into(), Value::Bool(false));
    }
    if let Some(threads) = root.get("threads").filter(|t| !t.is_null()) {
        extra.insert("threads".into(), threads.clone());
    }
    Event {
        id,
        timestamp: root.get("timestamp").and_then(timestamp).unwrap_or(received_at),
        kind: kind.clone(),
        platform: text_at(&root, "platform").unwrap_or_else(|| "other".into()),
        release: release(&root),
        environment: environment(&root),
        device: device(&root, &contexts),
        app: app(&root, &contexts),
        user: root.get("user").and_then(user),
        level,
        message: match kind {
            EventKind::Message => Some(message.unwrap_or_else(|| "<no message>".into())),
            _ => message,
        },
        error,
        tags: root.get("tags").map(tags).unwrap_or_default(),
        flags: Tags::new(),
        breadcrumbs: root.get("breadcrumbs").map(breadcrumbs).unwrap_or_default(),
        fingerprint: root.get("fingerprint").map(fingerprint).unwrap_or_default(),
        trace_id: text_at(trace, "trace_id").and_then(|t| ids::parse_trace_id(&t)),
        span_id: text_at(trace, "span_id").and_then(|s| ids::parse_span_id(&s)),
        attachments: Vec::new(),
        meta: Meta::default(),
        symbolication: None,
        extra,
    }
}

pub fn release(root: &Value) -> String {
    text_at(root, "release").map_or_else(|| DEFAULT_RELEASE.into(), |r| truncate(r, sentori_protocol::Limits::RELEASE_MAX_CHARS))
}

pub fn environment(root: &Value) -> String {
    text_at(root, "environment")
        .map_or_else(|| DEFAULT_ENVIRONMENT.into(), |e| truncate(e, sentori_protocol::Limits::ENVIRONMENT_MAX_CHARS))
}

fn level(text: &str) -> Level {
    match text.to_ascii_lowercase().as_str() {
        "fatal" | "critical" => Level::Fatal,
        "error" => Level::Error,
        "warning" | "warn" => Level::Warning,
        "info" | "log" => Level::Info,
        "debug" | "trace" => Level::Debug,
        _ => Level::Error,
    }
}

/// `logentry` (or `message`): a string, or `{formatted, message, params}`
/// with params as a list (`%s`) or an object (`%(name)s`).
fn message(root: &Value) -> Option<String> {
    for key in ["logentry", "message"] {
        match root.get(key) {
            Some(Value::String(text)) if !text.is_empty() => return Some(text.clone()),
            Some(entry @ Value::Object(_)) => {
                if let Some(formatted) = text_at(entry, "formatted") {
                    return Some(formatted);
                }
                if let Some(template) = text_at(entry, "message") {
                    return Some(format_params(&template, entry.get("params")));
                }
            }
            _ => {}
        }
    }
    None
}

fn format_params(template: &str, params: Option<&Value>) -> String {
    match params {
        Some(Value::Array(params)) => {
            let mut out = String::with_capacity(template.len());
            let mut params = params.iter();
            let mut rest = template;
            while let Some(at) = rest.find('%') {
                out.push_str(&rest[..at]);
                let spec = rest[at + 1..].chars().next();
                match spec {
                    Some('%') => out.push('%'),
                    Some('s' | 'd' | 'i' | 'f' | 'r') => match params.next() {
                        Some(param) => out.push_str(&text(param).unwrap_or_else(|| param.to_string())),
                        None => out.push_str(&rest[at..at + 2]),
                    },
                    _ => {
                        out.push('%');
                        rest = &rest[at + 1..];
                        continue;
                    }
                }
                rest = &rest[at + 2..];
            }
            out.push_str(rest);
            out
        }
        Some(Value::Object(params)) => params.iter().fold(template.to_owned(), |out, (name, param)| {
            let value = text(param).unwrap_or_else(|| param.to_string());
            out.replace(&format!("%({name})s"), &value).replace(&format!("{{{name}}}"), &value)
        }),
        _ => template.to_owned(),
    }
}

fn exception_values(exception: &Value) -> Vec<&Value> {
    let values = match exception {
        Value::Array(values) => values,
        other => match other.get("values") {
            Some(Value::Array(values)) => values,
            _ => return Vec::new(),
        },
    };
    values.iter().filter(|v| v.is_object()).collect()
}

fn all_synthetic(exception: &Value) -> bool {
    let values = exception_values(exception);
    !values.is_empty() && values.iter().all(|v| v["mechanism"]["synthetic"] == Value::Bool(true))
}

fn any_unhandled(exception: &Value) -> bool {
    exception_values(exception).iter().any(|v| v["mechanism"]["handled"] == Value::Bool(false))
}

/// The raised error with its causes and, for an exception group, its
/// members: the tree that `mechanism.exception_id`/`parent_id` describe,
/// else the linear chain. Only the newest [`MAX_EXCEPTION_VALUES`] values
/// are read.
fn exception_error(exception: &Value) -> Option<Error> {
    let values = exception_values(exception);
    let newest = &values[values.len().saturating_sub(MAX_EXCEPTION_VALUES)..];
    exception_tree::tree(newest).or_else(|| exception_chain(newest))
}

/// `exception.values` is oldest first: the last value is the one raised and
/// each earlier one the cause of the value after it.
fn exception_chain(values: &[&Value]) -> Option<Error> {
    values.iter().fold(None, |cause, value| {
        let mut error = single_error(value);
        error.cause = cause.map(Box::new);
        Some(error)
    })
}

pub(super) fn single_error(value: &Value) -> Error {
    let error_type = text_at(value, "type").or_else(|| text_at(value, "module")).unwrap_or_else(|| "Error".into());
    let mut extra = Map::new();
    for key in ["module", "mechanism", "thread_id"] {
        if let Some(v) = value.get(key).filter(|v| !v.is_null()) {
            extra.insert(key.into(), v.clone());
        }
    }
    let stacktrace = value.get("stacktrace").or_else(|| value.get("raw_stacktrace"));
    let mut stack: Vec<Frame> = match stacktrace.and_then(|s| s.get("frames")) {
        Some(Value::Array(frames)) => frames.iter().filter(|f| f.is_object()).map(frame).collect(),
        _ => Vec::new(),
    };
    // Sentry lists frames oldest call first; Sentori's stack is the raising frame first.
    stack.reverse();
    if let Some(registers) = stacktrace.and_then(|s| s.get("registers")).filter(|r| !r.is_null()) {
        extra.insert("registers".into(), registers.clone());
    }
    Error {
        error_type: truncate(error_type, sentori_protocol::Limits::NAME_MAX_CHARS),
        message: text_at(value, "value"),
        stack,
        cause: None,
        exceptions: Vec::new(),
        extra,
    }
}

fn frame(value: &Value) -> Frame {
    let file = text_at(value, "filename")
        .or_else(|| text_at(value, "abs_path"))
        .or_else(|| text_at(value, "module"))
        .or_else(|| text_at(value, "package"))
        .unwrap_or_else(|| "<unknown>".into());
    let mut extra = Map::new();
    for key in ["module", "package", "vars", "platform", "symbol", "symbol_addr", "raw_function", "lang", "data"] {
        if let Some(v) = value.get(key).filter(|v| !v.is_null()) {
            extra.insert(key.into(), v.clone());
        }
    }
    // Sentori frames need a 1-based line; a native frame often has none.
    let line = u64_at(value, "lineno").filter(|l| *l >= 1);
    if line.is_none() {
        extra.insert("lineUnknown".into(), Value::Bool(true));
    }
    let lines = |key: &str| -> Vec<String> {
        match value.get(key) {
            Some(Value::Array(lines)) => lines.iter().map(|l| text(l).unwrap_or_default()).collect(),
            _ => Vec::new(),
        }
    };
    let address = |key: &str| value.get(key).filter(|v| v.is_string() || v.is_u64()).cloned();
    Frame {
        file,
        line: line.unwrap_or(1),
        column: u64_at(value, "colno").filter(|c| *c >= 1),
        function: text_at(value, "function"),
        in_app: value["in_app"].as_bool().unwrap_or(false),
        absolute_path: text_at(value, "abs_path"),
        pre_context: lines("pre_context"),
        context_line: value.get("context_line").and_then(text),
        post_context: lines("post_context"),
        debug_id: None,
        arch: None,
        instruction_address: address("instruction_addr"),
        image_address: address("image_addr"),
        extra,
        ..Frame::default()
    }
}

/// Tags as an object or a list of `[key, value]` pairs; values of any
/// scalar type are kept as text.
pub fn tags(value: &Value) -> Tags {
    let pairs: Box<dyn Iterator<Item = (String, &Value)>> = match value {
        Value::Object(map) => Box::new(map.iter().map(|(k, v)| (k.clone(), v))),
        Value::Array(items) => Box::new(items.iter().filter_map(|pair| match pair {
            Value::Array(kv) if kv.len() == 2 => Some((text(&kv[0])?, &kv[1])),
            _ => None,
        })),
        _ => return Tags::new(),
    };
    pairs.filter(|(k, _)| !k.is_empty()).filter_map(|(k, v)| Some((k, text(v)?))).collect()
}

fn breadcrumbs(value: &Value) -> Vec<Breadcrumb> {
    let items = match value {
        Value::Array(items) => items,
        other => match other.get("values") {
            Some(Value::Array(items)) => items,
            _ => return Vec::new(),
        },
    };
    items.iter().filter(|b| b.is_object()).map(breadcrumb).collect()
}

fn breadcrumb(value: &Value) -> Breadcrumb {
    let sentry_type = value["type"].as_str().unwrap_or("default");
    let category = value["category"].as_str().unwrap_or("");
    let kind = match (sentry_type, category) {
        ("navigation", _) | (_, "navigation") => "nav",
        ("http", _) | (_, "fetch" | "xhr" | "httplib" | "http") => "net",
        ("user" | "ui", _) | (_, "ui.click" | "ui.input") => "user",
        (_, "console" | "log" | "logging") | ("debug" | "info" | "error", _) => "log",
        _ => "custom",
    };
    let mut extra = Map::new();
    for key in ["category", "message", "level", "type"] {
        if let Some(v) = value.get(key).filter(|v| !v.is_null()) {
            let name = if key == "type" { "sentryType" } else { key };
            extra.insert(name.into(), v.clone());
        }
    }
    Breadcrumb {
        timestamp: value.get("timestamp").and_then(timestamp),
        kind: Some(kind.into()),
        data: value.get("data").filter(|d| !d.is_null()).cloned(),
        extra,
    }
}

fn fingerprint(value: &Value) -> Vec<String> {
    match value {
        Value::Array(parts) => parts.iter().map(|p| text(p).unwrap_or_else(|| p.to_string())).collect(),
        Value::String(one) => vec![one.clone()],
        _ => Vec::new(),
    }
}

fn user(value: &Value) -> Option<User> {
    let Value::Object(fields) = value else { return None };
    let mut extra = Map::new();
    for (key, v) in fields {
        if !matches!(key.as_str(), "id" | "username") && !v.is_null() {
            extra.insert(key.clone(), v.clone());
        }
    }
    Some(User {
        id: text_at(value, "id"),
        anonymous: None,
        name: text_at(value, "username"),
        link_hashes: Vec::new(),
        extra,
    })
}

/// `contexts.os` (or the browser for a web page) as the device. A server SDK
/// sends no `device` context; its OS is the server's (`contexts.os`), and
/// without one `os` is `other` and `osVersion` `unknown`.
fn device(root: &Value, contexts: &Value) -> Device {
    let os = &contexts["os"];
    let device = &contexts["device"];
    let os_name = text_at(os, "name").unwrap_or_default();
    // Browser SDKs send no browser context (Sentry derives it from the
    // User-Agent); the SDK's name or the page's request says it is a page.
    let browser = contexts.get("browser").is_some_and(Value::is_object)
        || root["sdk"]["name"].as_str().is_some_and(|name| name.contains("browser"))
        || root["request"]["headers"].get("User-Agent").is_some();
    let platform = root["platform"].as_str().unwrap_or("");
    let family = match os_name.to_ascii_lowercase().as_str() {
        "ios" | "ipados" => "ios".to_owned(),
        "android" => "android".to_owned(),
        _ if browser && platform == "javascript" => "web".to_owned(),
        "" => "other".to_owned(),
        other => other.to_owned(),
    };
    let mut extra = Map::new();
    if let Some(b) = contexts.get("browser").filter(|b| b.is_object()) {
        extra.insert("browser".into(), b.clone());
    }
    Device {
        os: truncate(family, 200),
        os_version: text_at(os, "version").or_else(|| text_at(os, "kernel_version")).unwrap_or_else(|| UNKNOWN.into()),
        model: text_at(device, "model").or_else(|| text_at(device, "family")),
        locale: text_at(device, "locale").or_else(|| text_at(&contexts["culture"], "locale")),
        network_type: text_at(device, "connection_type"),
        install_id: None,
        extra,
    }
}

/// `contexts.app` for mobile apps; else the version part of the release
/// (`name@1.2.3+45` → `1.2.3`), else `unknown`. `contexts.runtime` (or the
/// SDK) is the framework.
fn app(root: &Value, contexts: &Value) -> App {
    let app = &contexts["app"];
    let release = text_at(root, "release");
    let from_release = release.as_deref().map(|r| {
        let version = r.rsplit_once('@').map_or(r, |(_, v)| v);
        version.split('+').next().unwrap_or(version).to_owned()
    });
    let runtime = &contexts["runtime"];
    let framework = match text_at(runtime, "name") {
        Some(name) => Some(Framework { name: Some(name), version: text_at(runtime, "version"), extra: Map::new() }),
        None => text_at(&root["sdk"], "name")
            .map(|name| Framework { name: Some(name), version: text_at(&root["sdk"], "version"), extra: Map::new() }),
    };
    let mut extra = Map::new();
    if let Some(dist) = text_at(root, "dist") {
        extra.insert("dist".into(), json!(dist));
    }
    App {
        version: text_at(app, "app_version").or(from_release).filter(|v| !v.is_empty()).unwrap_or_else(|| UNKNOWN.into()),
        build: text_at(app, "app_build").or_else(|| text_at(root, "dist")),
        framework,
        extra,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-12-02 10:00 UTC);

    fn mapped(value: Value) -> Event {
        map_event(value.as_object().unwrap().clone(), None, AT)
    }

    /// The mapped event passes the same validation as a /v1 event.
    fn validates(event: &Event) {
        let text = serde_json::to_string(event).unwrap();
        let tree = sentori_protocol::json::parse(text.as_bytes()).unwrap();
        if let Err(errors) = sentori_protocol::validate_event(tree, AT) {
            panic!("{errors:?}\n{text}");
        }
    }

    #[test]
    fn an_exception_with_a_cause_becomes_the_raised_error_with_its_cause_and_frames_reversed() {
        let event = mapped(json!({
            "event_id": "9ec79c33ec9942ab8353589fcb2e04dc", "timestamp": 1796205600.5, "platform": "python",
            "level": "error", "release": "shop@1.2.3+45", "environment": "staging",
            "exception": {"values": [
                {"type": "KeyError", "value": "'sku'", "mechanism": {"type": "chained", "handled": true},
                 "stacktrace": {"frames": [{"filename": "lib.py", "function": "lookup", "lineno": 3, "in_app": false}]}},
                {"type": "ValueError", "value": "no price", "module": "builtins",
                 "mechanism": {"type": "excepthook", "handled": false},
                 "stacktrace": {"frames": [
                    {"filename": "app/main.py", "abs_path": "/srv/app/main.py", "function": "main", "module": "app.main",
                     "lineno": 10, "colno": 4, "in_app": true, "context_line": "    price()",
                     "pre_context": ["def main():"], "post_context": [""], "vars": {"x": "1"}},
                    {"filename": "app/price.py", "function": "price", "lineno": 20, "in_app": true,
                     "instruction_addr": "0x1000"}]}}
            ]}
        }));
        assert_eq!(event.id, Uuid::parse_str("9ec79c33-ec99-42ab-8353-589fcb2e04dc").unwrap());
        assert_eq!(event.timestamp, datetime!(2026-12-02 10:00:00.5 UTC));
        assert_eq!(event.kind, EventKind::Error);
        assert_eq!(event.level, Some(Level::Fatal), "handled: false is a crash");
        assert_eq!(event.extra["handled"], false);
        let error = event.error.as_ref().unwrap();
        assert_eq!(error.error_type, "ValueError");
        assert_eq!(error.message.as_deref(), Some("no price"));
        assert_eq!(error.stack[0].function.as_deref(), Some("price"), "the raising frame first");
        assert_eq!(error.stack[0].instruction_address, Some(json!("0x1000")));
        let main = &error.stack[1];
        assert_eq!((main.file.as_str(), main.line, main.column), ("app/main.py", 10, Some(4)));
        assert_eq!(main.absolute_path.as_deref(), Some("/srv/app/main.py"));
        assert!(main.in_app);
        assert_eq!(main.context_line.as_deref(), Some("    price()"));
        assert_eq!(main.pre_context, ["def main():"]);
        assert_eq!(main.extra["vars"], json!({"x": "1"}));
        assert_eq!(main.extra["module"], "app.main");
        let cause = error.cause.as_ref().unwrap();
        assert_eq!((cause.error_type.as_str(), cause.message.as_deref()), ("KeyError", Some("'sku'")));
        assert!(cause.cause.is_none());
        assert_eq!(event.app.version, "1.2.3");
        assert_eq!((event.release.as_str(), event.environment.as_str()), ("shop@1.2.3+45", "staging"));
        validates(&event);
    }

    /// One exception value as the SDKs send it in a group.
    fn value(error_type: &str, mechanism: Value) -> Value {
        json!({"type": error_type, "value": format!("{error_type} happened"), "mechanism": mechanism,
               "stacktrace": {"frames": [{"filename": "app.py", "function": error_type.to_lowercase(), "lineno": 7}]}})
    }

    fn types(errors: &[Error]) -> Vec<&str> {
        errors.iter().map(|e| e.error_type.as_str()).collect()
    }

    #[test]
    fn a_python_exception_group_keeps_its_tree_with_nested_groups_and_causes() {
        // What sentry-python 2.x sends for
        //   try: 1/0
        //   except ZeroDivisionError:
        //       raise ExceptionGroup("two", [ValueError(), ExceptionGroup("nested", [TypeError() from KeyError(), OSError()])])
        // reversed (oldest first), and with its `parent_id: 0` on every `__cause__`.
        let event = mapped(json!({"exception": {"values": [
            value("OSError", json!({"type": "chained", "exception_id": 6, "source": "exceptions[1]", "parent_id": 3})),
            value("KeyError", json!({"type": "chained", "exception_id": 5, "source": "__cause__", "parent_id": 0})),
            value("TypeError", json!({"type": "chained", "exception_id": 4, "source": "exceptions[0]", "parent_id": 3})),
            value("ExceptionGroup", json!({"type": "chained", "exception_id": 3, "source": "exceptions[1]", "parent_id": 0,
                                           "is_exception_group": true})),
            value("ValueError", json!({"type": "chained", "exception_id": 2, "source": "exceptions[0]", "parent_id": 0})),
            value("ZeroDivisionError", json!({"type": "chained", "exception_id": 1, "source": "__context__", "parent_id": 0})),
            value("ExceptionGroup", json!({"type": "generic", "handled": false, "exception_id": 0, "is_exception_group": true}))
        ]}}));
        let top = event.error.as_ref().unwrap();
        assert_eq!(top.error_type, "ExceptionGroup", "the value without a parent is the raised error");
        assert_eq!(top.cause.as_ref().unwrap().error_type, "ZeroDivisionError");
        assert!(top.cause.as_ref().unwrap().exceptions.is_empty());
        assert_eq!(types(&top.exceptions), ["ValueError", "ExceptionGroup"], "members in the group's order");
        let nested = &top.exceptions[1];
        assert_eq!(types(&nested.exceptions), ["TypeError", "OSError"]);
        let type_error = &nested.exceptions[0];
        let cause = type_error.cause.as_ref().unwrap();
        assert_eq!(cause.error_type, "KeyError", "the cause goes to the exception numbered before it");
        assert_eq!(type_error.stack[0].function.as_deref(), Some("typeerror"), "members keep their own stack");
        assert_eq!(type_error.extra["mechanism"]["source"], "exceptions[0]", "the mechanism is kept whole");
        assert_eq!(top.tree().count(), 7, "every value is in the tree, once");
        assert_eq!(event.level, Some(Level::Fatal));
        validates(&event);
    }

    #[test]
    fn a_javascript_aggregate_error_keeps_its_errors_and_their_causes() {
        // @sentry/node's linkedErrors: newest values prepended, causes under `cause`, members under `errors[i]`.
        let event = mapped(json!({"exception": {"values": [
            value("Error", json!({"type": "chained", "source": "cause", "exception_id": 4, "parent_id": 3})),
            value("RangeError", json!({"type": "chained", "source": "errors[0]", "exception_id": 3, "parent_id": 2,})),
            value("AggregateError", json!({"type": "chained", "source": "errors[1]", "exception_id": 2, "parent_id": 0,
                                           "is_exception_group": true})),
            value("TypeError", json!({"type": "chained", "source": "errors[0]", "exception_id": 1, "parent_id": 0})),
            value("AggregateError", json!({"type": "generic", "exception_id": 0, "is_exception_group": true}))
        ]}}));
        let top = event.error.as_ref().unwrap();
        assert!(top.cause.is_none());
        assert_eq!(types(&top.exceptions), ["TypeError", "AggregateError"]);
        let range = &top.exceptions[1].exceptions[0];
        assert_eq!(range.error_type, "RangeError");
        assert_eq!(range.cause.as_ref().unwrap().error_type, "Error");
        validates(&event);

        // `Error.cause` alone carries ids too, and is the same chain as without them.
        let with_ids = mapped(json!({"exception": {"values": [
            value("RangeError", json!({"type": "chained", "source": "cause", "exception_id": 1, "parent_id": 0})),
            value("Error", json!({"type": "generic", "exception_id": 0}))
        ]}}));
        let without = mapped(json!({"exception": {"values": [value("RangeError", json!({})), value("Error", json!({}))]}}));
        let (with_ids, without) = (with_ids.error.unwrap(), without.error.unwrap());
        assert_eq!(types(&with_ids.chain().cloned().collect::<Vec<_>>()), types(&without.chain().cloned().collect::<Vec<_>>()));
        assert!(with_ids.exceptions.is_empty());
    }

    #[test]
    fn ids_that_make_no_tree_fall_back_to_the_linear_chain() {
        let root = || value("Group", json!({"exception_id": 0, "is_exception_group": true}));
        let member =
            |id: Value, parent: Value| value("Member", json!({"exception_id": id, "parent_id": parent, "source": "errors[0]"}));
        let inconsistent = [
            ("a duplicate id", vec![member(json!(0), json!(0)), root()]),
            ("a dangling parent", vec![member(json!(1), json!(9)), root()]),
            ("a cycle beside the root", vec![member(json!(1), json!(2)), member(json!(2), json!(1)), root()]),
            ("a value parenting itself", vec![member(json!(1), json!(1)), root()]),
            ("two roots", vec![root(), value("Other", json!({"exception_id": 1}))]),
            ("no root", vec![member(json!(1), json!(0)), member(json!(0), json!(1))]),
            ("a value without an id", vec![value("Plain", json!({})), root()]),
            ("an id that is not a number", vec![member(json!("1"), json!(0)), root()]),
            ("a parent id that is not a number", vec![member(json!(1), json!("0")), root()]),
            ("two causes for one error", vec![
                value("A", json!({"exception_id": 1, "parent_id": 0, "source": "cause"})),
                value("B", json!({"exception_id": 2, "parent_id": 0, "source": "cause"})), root()]),
        ];
        for (what, values) in inconsistent {
            let count = values.len();
            let event = mapped(json!({"exception": {"values": values}}));
            let error = event.error.as_ref().unwrap();
            assert!(error.tree().all(|e| e.exceptions.is_empty()), "{what}: no group");
            assert_eq!(error.chain().count(), count, "{what}: every value in the linear chain");
            validates(&event);
        }
    }

    #[test]
    fn very_deep_or_wide_trees_are_bounded() {
        // Groups each the only member of the one before, oldest value first.
        let nested_groups = |levels: u64| -> Vec<Value> {
            (0..levels)
                .rev()
                .map(|id| match id {
                    0 => value("Group", json!({"exception_id": 0})),
                    _ => value("Group", json!({"exception_id": id, "parent_id": id - 1, "source": "exceptions[0]"})),
                })
                .collect()
        };
        // A group nested deeper than a tree may go: the linear chain, of the newest values only.
        let event = mapped(json!({"exception": {"values": nested_groups(5000)}}));
        let error = event.error.as_ref().unwrap();
        assert!(error.exceptions.is_empty());
        assert_eq!(error.chain().count(), MAX_EXCEPTION_VALUES);
        validates(&event);

        let event = mapped(json!({"exception": {"values": nested_groups(exception_tree::MAX_DEPTH as u64)}}));
        let groups_with_members = event.error.as_ref().unwrap().tree().filter(|e| !e.exceptions.is_empty()).count();
        assert_eq!(groups_with_members, exception_tree::MAX_DEPTH - 1);
        validates(&event);

        let wide: Vec<Value> = (1..5000u64)
            .rev()
            .map(|id| value("Member", json!({"exception_id": id, "parent_id": 0, "source": format!("exceptions[{id}]")})))
            .chain([value("Group", json!({"exception_id": 0}))])
            .collect();
        let event = mapped(json!({"exception": {"values": wide}}));
        let error = event.error.as_ref().unwrap();
        assert_eq!(error.exceptions.len(), MAX_EXCEPTION_VALUES - 1, "the newest values: the group and its first members");
        assert_eq!(error.exceptions[0].extra["mechanism"]["exception_id"], 1);
        validates(&event);
    }

    #[test]
    fn messages_come_as_strings_or_log_entries_with_list_or_named_params() {
        let event = mapped(json!({"message": "plain", "level": "log"}));
        assert_eq!((event.kind.clone(), event.message.as_deref(), event.level.clone()), (EventKind::Message, Some("plain"), Some(Level::Info)));
        validates(&event);
        let event = mapped(json!({"logentry": {"message": "%s of %d%%", "params": ["3", 4]}, "level": "warning"}));
        assert_eq!(event.message.as_deref(), Some("3 of 4%"));
        assert_eq!(event.level, Some(Level::Warning));
        let event = mapped(json!({"logentry": {"message": "hi %(name)s", "params": {"name": "bob"}}}));
        assert_eq!(event.message.as_deref(), Some("hi bob"));
        assert_eq!(event.level, Some(Level::Info));
        let event = mapped(json!({"logentry": {"message": "raw", "formatted": "done"}}));
        assert_eq!(event.message.as_deref(), Some("done"));
        let event = mapped(json!({}));
        assert_eq!(event.message.as_deref(), Some("<no message>"));
        validates(&event);
        let synthetic = mapped(json!({"message": "slow", "level": "warning", "exception": {"values": [{"value": "slow",
            "mechanism": {"type": "generic", "synthetic": true, "handled": true},
            "stacktrace": {"frames": [{"filename": "app.mjs", "function": "?", "lineno": 44, "in_app": true}]}}]}}));
        assert_eq!((synthetic.kind.clone(), synthetic.message.as_deref()), (EventKind::Message, Some("slow")));
        assert_eq!(synthetic.error.as_ref().unwrap().stack[0].line, 44, "the stack is kept");
        validates(&synthetic);
    }

    #[test]
    fn tags_come_as_objects_or_pairs_and_any_scalar_is_text() {
        let event = mapped(json!({"message": "m", "tags": {"a": "x", "n": 3, "b": true, "skip": {"o": 1}}}));
        assert_eq!(event.tags, Tags::from([("a".into(), "x".into()), ("n".into(), "3".into()), ("b".into(), "true".into())]));
        let event = mapped(json!({"message": "m", "tags": [["a", "x"], ["n", 1.5], ["bad"], "worse"]}));
        assert_eq!(event.tags, Tags::from([("a".into(), "x".into()), ("n".into(), "1.5".into())]));
    }

    #[test]
    fn contexts_fill_device_app_and_the_trace() {
        let event = mapped(json!({
            "message": "m", "platform": "cocoa", "dist": "45",
            "contexts": {"os": {"name": "iOS", "version": "18.1"}, "device": {"model": "iPhone16,1", "locale": "en_GB"},
                         "app": {"app_version": "2.0", "app_build": "99"},
                         "trace": {"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331"}},
            "user": {"id": 42, "username": "ann", "email": "a@example.com"},
            "sdk": {"name": "sentry.cocoa", "version": "8.40.0"},
            "breadcrumbs": {"values": [{"type": "navigation", "timestamp": 1796205599.0, "data": {"to": "/x"}},
                                        {"category": "console", "message": "hi", "level": "info"}]},
            "fingerprint": ["{{ default }}", 7]
        }));
        assert_eq!((event.device.os.as_str(), event.device.os_version.as_str()), ("ios", "18.1"));
        assert_eq!(event.device.model.as_deref(), Some("iPhone16,1"));
        assert_eq!((event.app.version.as_str(), event.app.build.as_deref()), ("2.0", Some("99")));
        assert_eq!(event.trace_id.unwrap().simple().to_string(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(event.span_id, ids::parse_span_id("b7ad6b7169203331"));
        let user = event.user.as_ref().unwrap();
        assert_eq!((user.id.as_deref(), user.name.as_deref()), (Some("42"), Some("ann")));
        assert_eq!(event.breadcrumbs[0].kind.as_deref(), Some("nav"));
        assert_eq!(event.breadcrumbs[1].kind.as_deref(), Some("log"));
        assert_eq!(event.breadcrumbs[1].extra["message"], "hi");
        assert_eq!(event.fingerprint, ["{{ default }}", "7"]);
        assert_eq!(event.extra["sdk"]["name"], "sentry.cocoa");
        assert_eq!(event.extra["dist"], "45");
        validates(&event);
    }

    #[test]
    fn a_server_sdk_without_device_context_gets_the_documented_defaults() {
        let event = mapped(json!({"message": "m", "platform": "python",
            "contexts": {"runtime": {"name": "CPython", "version": "3.12.1"}}, "breadcrumbs": [{"message": "bare list"}]}));
        assert_eq!((event.device.os.as_str(), event.device.os_version.as_str()), ("other", "unknown"));
        assert_eq!((event.release.as_str(), event.environment.as_str(), event.app.version.as_str()), ("unknown", "production", "unknown"));
        let framework = event.app.framework.as_ref().unwrap();
        assert_eq!((framework.name.as_deref(), framework.version.as_deref()), (Some("CPython"), Some("3.12.1")));
        assert_eq!(event.breadcrumbs.len(), 1);
        let event = mapped(json!({"message": "m", "platform": "javascript", "contexts": {"browser": {"name": "Chrome"}}}));
        assert_eq!(event.device.os, "web");
        let event = mapped(json!({"message": "m", "platform": "javascript", "sdk": {"name": "sentry.javascript.browser"}}));
        assert_eq!(event.device.os, "web");
        let event = mapped(json!({"message": "m", "platform": "javascript", "request": {"headers": {"User-Agent": "Mozilla/5.0"}}}));
        assert_eq!(event.device.os, "web");
        let event = mapped(json!({"message": "m", "platform": "node", "sdk": {"name": "sentry.javascript.node"}}));
        assert_eq!(event.device.os, "other");
    }

    #[test]
    fn frames_without_a_line_or_file_still_validate() {
        let event = mapped(json!({"exception": [{"type": "SIGSEGV", "stacktrace": {"frames": [
            {"instruction_addr": "0x10", "image_addr": 4096}, {"package": "/usr/lib/libc.so", "lineno": 0}]}}]}));
        let error = event.error.as_ref().unwrap();
        assert_eq!(error.stack[1].file, "<unknown>");
        assert_eq!(error.stack[1].extra["lineUnknown"], true);
        assert_eq!(error.stack[0].file, "/usr/lib/libc.so");
        validates(&event);
    }
}
