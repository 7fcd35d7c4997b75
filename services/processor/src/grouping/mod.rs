//! Grouping: which issue an event belongs to (processing.md).

mod normalize;

use std::sync::LazyLock;

use regex::Regex;
use sentori_model::{ErrorSummary, EventKind, FrameSummary, GroupingInput};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{UnreadableField, read_tree};

pub use normalize::normalize_message;

/// How many frames from the top take part in the default fingerprint.
const FINGERPRINT_FRAMES: usize = 5;
const TITLE_MAX_CHARS: usize = 200;

/// What grouping decided for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping {
    /// 32 hex characters: the first 128 bits of SHA-256 over the components.
    pub fingerprint: String,
    /// The components hashed, stored on the issue to explain the grouping.
    pub components: Vec<String>,
    pub title: String,
    /// The top in-app frame (else the top frame) as `function (file)`.
    pub culprit: Option<String>,
    /// The error type, for kinds with an error.
    pub error_type: Option<String>,
}

/// Groups one validated (and symbolicated) event payload; an error names
/// the field grouping could not read.
pub fn group(event: &Value) -> Result<Grouping, UnreadableField> {
    read_tree::<GroupingInput>(event).map(|input| group_input(&input))
}

fn group_input(event: &GroupingInput) -> Grouping {
    let error = event.error.as_ref();
    let default = default_components(event, error);
    let components = match event.fingerprint.as_deref().filter(|parts| !parts.is_empty()) {
        Some(custom) => custom
            .iter()
            .flat_map(|part| match part.as_str() {
                Some("{{ default }}" | "{{default}}") => default.clone(),
                Some(text) => vec![text.to_owned()],
                None => vec![part.to_string()],
            })
            .collect(),
        None => default,
    };
    let frames = error.map_or(&[][..], |e| &e.stack[..]);
    let culprit = frames
        .iter()
        .find(|f| in_app(f))
        .or_else(|| frames.first())
        .map(|f| format!("{} ({})", function(f), f.file.unwrap_or("?")));
    Grouping {
        fingerprint: hash(&components),
        components,
        title: title(event, error),
        culprit,
        error_type: error.and_then(|e| e.error_type).map(str::to_owned),
    }
}

/// Whether an error stands for the event: every kind but a message.
fn error_of<'e, 'a>(event: &GroupingInput, error: Option<&'e ErrorSummary<'a>>) -> Option<&'e ErrorSummary<'a>> {
    error.filter(|_| event.kind != EventKind::Message)
}

fn default_components(event: &GroupingInput, error: Option<&ErrorSummary>) -> Vec<String> {
    let mut components = Vec::new();
    // A main-thread hang never merges with a crash of the same type.
    if event.kind == EventKind::Anr {
        components.push("kind:anr".to_owned());
    }
    match error_of(event, error) {
        Some(error) => {
            components.push(format!("type:{}", error.error_type.unwrap_or("Error")));
            let frames = &error.stack;
            let in_app: Vec<&FrameSummary> = frames.iter().filter(|f| in_app(f)).take(FINGERPRINT_FRAMES).collect();
            if !in_app.is_empty() {
                components.extend(in_app.iter().map(|f| frame_component(f)));
            } else {
                components.extend(frames.iter().take(FINGERPRINT_FRAMES).map(frame_component));
                components.push(format!("message:{}", normalize_message(error.message.unwrap_or(""))));
            }
        }
        None => components.push(format!("message:{}", normalize_message(event.message.unwrap_or("")))),
    }
    components
}

/// What the SDK marked in-app, less the runtime's own code, which SDKs do
/// not always recognise: Node's core modules (`node:fs`, and
/// `internal/…` in older stacks), installed packages, and the pseudo-files
/// V8 names for built-ins (`native`, `<anonymous>`, `index 0` in
/// `at async Promise.all (index 0)`).
fn in_app(frame: &FrameSummary) -> bool {
    frame.in_app && !is_runtime_file(frame.file.unwrap_or(""))
}

fn is_runtime_file(file: &str) -> bool {
    file.starts_with("node:")
        || file.starts_with("internal/")
        || file.starts_with("node_modules/")
        || file.contains("/node_modules/")
        || matches!(file, "native" | "<anonymous>")
        || file.strip_prefix("index ").is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The frame's function, without the `async ` that V8 puts before a
/// function awaited further up (`at async handler (…)`): the same function
/// awaited or not is one place in the code.
fn function<'a>(frame: &FrameSummary<'a>) -> &'a str {
    let name = frame.function.unwrap_or("");
    let name = name.strip_prefix("async ").unwrap_or(name).trim();
    if name.is_empty() { "<anonymous>" } else { name }
}

/// A name a minifier gave (`a`, `Xe`) in a frame no source map resolved
/// (mapped frames keep their bundle position in `rawFile`): the next build
/// renames it, so it must not split one bug into an issue per build.
fn is_minified_name(frame: &FrameSummary, name: &str) -> bool {
    frame.raw_file.is_none()
        && name.len() <= 2
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'$' || b == b'_')
}

/// Line and column are not part of the key: they move with every release.
fn frame_component(frame: &FrameSummary) -> String {
    let name = function(frame);
    let name = if is_minified_name(frame, name) { "?" } else { name };
    format!("frame:{} {}", name, normalize_file(frame.file.unwrap_or("")))
}

static CONTENT_HASH: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[.-][0-9a-fA-F]{8,}(\.)").unwrap());
static URL_ORIGIN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*").unwrap());

/// Keeps directory and extension; drops the origin, `webpack://` and
/// `app:///` prefixes, query strings and build content hashes, so the same
/// file of two builds or two hosts compares equal.
pub fn normalize_file(file: &str) -> String {
    let file = file.split(['?', '#']).next().unwrap_or("");
    let file = file
        .strip_prefix("webpack://")
        .or_else(|| file.strip_prefix("app:///"))
        .map(|rest| rest.trim_start_matches('/').to_owned())
        .unwrap_or_else(|| URL_ORIGIN.replace(file, "").into_owned());
    let file = file.strip_prefix("~/").unwrap_or(&file);
    CONTENT_HASH.replace_all(file, "$1").into_owned()
}

fn title(event: &GroupingInput, error: Option<&ErrorSummary>) -> String {
    let text = match error_of(event, error) {
        Some(error) => {
            let error_type = error.error_type.unwrap_or("Error");
            match error.message.map(first_line).filter(|m| !m.is_empty()) {
                Some(message) => format!("{error_type}: {message}"),
                None => error_type.to_owned(),
            }
        }
        None => first_line(event.message.unwrap_or("")).to_owned(),
    };
    let text = if text.is_empty() { "<no message>".to_owned() } else { text };
    text.chars().take(TITLE_MAX_CHARS).collect()
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}

fn hash(components: &[String]) -> String {
    let mut hasher = Sha256::new();
    for component in components {
        // Length-prefixed, so ["ab", "c"] and ["a", "bc"] differ.
        hasher.update((component.len() as u64).to_be_bytes());
        hasher.update(component.as_bytes());
    }
    hex::encode(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests;
