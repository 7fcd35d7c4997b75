//! An event: an error, ANR, near-crash or message, with where it happened.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::open_enum::open_enum;
use crate::{Meta, Symbolication, Tags, is_false};

open_enum! {
    /// What kind of report an event is; an unknown kind groups like `error`.
    EventKind {
        Error = "error",
        /// The app stopped responding.
        Anr = "anr",
        /// Close to a crash (a watchdog, memory pressure) without one.
        NearCrash = "nearCrash",
        Message = "message",
    }
}

open_enum! {
    Level {
        Fatal = "fatal",
        Error = "error",
        Warning = "warning",
        Info = "info",
        Debug = "debug",
    }
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// The idempotency key: one id in one project is stored once.
    pub id: Uuid,
    /// When it happened on the device.
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    pub kind: EventKind,
    pub platform: String,
    pub release: String,
    pub environment: String,
    pub device: Device,
    pub app: App,
    pub user: Option<User>,
    pub level: Option<Level>,
    pub message: Option<String>,
    pub error: Option<Error>,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::HashMap<String, String>))]
    pub tags: Tags,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = std::collections::HashMap<String, String>))]
    pub flags: Tags,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breadcrumbs: Vec<Breadcrumb>,
    /// Overrides grouping; `{{ default }}` stands for the default fingerprint.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fingerprint: Vec<String>,
    pub trace_id: Option<Uuid>,
    pub span_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentRef>,
    /// What the server changed, by wire path (server-set).
    #[serde(rename = "_meta", default, skip_serializing_if = "Meta::is_empty", deserialize_with = "or_default")]
    pub meta: Meta,
    /// Set by the processor on an event with an error (server-set).
    #[serde(default, deserialize_with = "or_absent")]
    pub symbolication: Option<Symbolication>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What an event is filed by (its issue's columns, the event's own
/// columns, the affected user), read from its parsed tree without copying
/// its strings ([`Event`] owns them). Lenient where an event queued by an
/// older ingest may lack a field: no kind reads `error`, no platform,
/// release or environment empty.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventSummary<'a> {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    #[serde(default = "kind_error")]
    pub kind: EventKind,
    #[serde(default)]
    pub level: Option<Level>,
    #[serde(default)]
    pub platform: &'a str,
    #[serde(default)]
    pub release: &'a str,
    #[serde(default)]
    pub environment: &'a str,
    #[serde(default, borrow)]
    pub user: Option<UserSummary<'a>>,
    #[serde(default, borrow)]
    pub device: Option<DeviceSummary<'a>>,
    #[serde(default, borrow)]
    pub app: Option<AppSummary<'a>>,
    #[serde(default, borrow)]
    pub tags: BTreeMap<&'a str, &'a str>,
    #[serde(default)]
    pub trace_id: Option<Uuid>,
    #[serde(default)]
    pub span_id: Option<Uuid>,
}

/// What grouping reads of an event (after symbolication), borrowed from
/// its parsed tree: the kind, the message, the error's top frames and a
/// custom fingerprint.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct GroupingInput<'a> {
    #[serde(default = "kind_error")]
    pub kind: EventKind,
    #[serde(default, borrow)]
    pub message: Option<&'a str>,
    #[serde(default, borrow)]
    pub error: Option<ErrorSummary<'a>>,
    /// Parts that are not text are taken as their JSON text.
    #[serde(default)]
    pub fingerprint: Option<Vec<Value>>,
}

/// An error's type, message and stack, borrowed; its causes are not read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ErrorSummary<'a> {
    #[serde(rename = "type", default, borrow)]
    pub error_type: Option<&'a str>,
    #[serde(default, borrow)]
    pub message: Option<&'a str>,
    #[serde(default, borrow)]
    pub stack: Vec<FrameSummary<'a>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FrameSummary<'a> {
    #[serde(default, borrow)]
    pub file: Option<&'a str>,
    #[serde(default, borrow)]
    pub absolute_path: Option<&'a str>,
    #[serde(default)]
    pub line: Option<u64>,
    #[serde(default)]
    pub column: Option<u64>,
    #[serde(default, borrow)]
    pub function: Option<&'a str>,
    #[serde(default)]
    pub in_app: bool,
    /// Where a frame a source map resolved was in the bundle: set by
    /// symbolication, so a frame without it was not mapped.
    #[serde(default, borrow)]
    pub raw_file: Option<&'a str>,
}

/// What symbolication reads of an event, borrowed: whether it has an
/// error, its release, and the scripts its SDK listed with their debug ids.
#[derive(Debug, Default, Deserialize)]
pub struct SymbolicationInput<'a> {
    #[serde(default, borrow)]
    pub release: Option<&'a str>,
    #[serde(default)]
    pub error: Option<serde::de::IgnoredAny>,
    /// Sentry's `debug_meta`, which ingest keeps as the SDK sent it.
    #[serde(default, deserialize_with = "or_absent")]
    pub debug_meta: Option<DebugMeta>,
}

#[derive(Debug, Default, Deserialize)]
pub struct DebugMeta {
    /// An image of another shape is passed over; the others still count.
    #[serde(default, deserialize_with = "each_readable")]
    pub images: Vec<DebugImage>,
}

/// A loaded module or script and the debug id it was built with (Sentry's
/// snake_case keys: `type`, `code_file`, `debug_id`).
#[derive(Debug, Default, Deserialize)]
pub struct DebugImage {
    #[serde(rename = "type", default)]
    pub image_type: Option<String>,
    #[serde(default)]
    pub code_file: Option<String>,
    #[serde(default)]
    pub debug_id: Option<String>,
}

/// As [`or_absent`], for a field whose absence is its default.
fn or_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned + Default,
{
    or_absent(deserializer).map(Option::unwrap_or_default)
}

fn each_readable<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let items = Vec::<Value>::deserialize(deserializer)?;
    Ok(items.into_iter().filter_map(|item| T::deserialize(item).ok()).collect())
}

fn kind_error() -> EventKind {
    EventKind::Error
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UserSummary<'a> {
    #[serde(default)]
    pub id: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSummary<'a> {
    #[serde(default)]
    pub os: Option<&'a str>,
    #[serde(default)]
    pub os_version: Option<&'a str>,
    #[serde(default)]
    pub model: Option<&'a str>,
    #[serde(default)]
    pub install_id: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AppSummary<'a> {
    #[serde(default, borrow)]
    pub framework: Option<FrameworkSummary<'a>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct FrameworkSummary<'a> {
    #[serde(default)]
    pub name: Option<&'a str>,
    #[serde(default)]
    pub version: Option<&'a str>,
}

impl<'a> EventSummary<'a> {
    /// An event without a level is `info` when it is a message, else `error`.
    pub fn level(&self) -> Level {
        self.level.clone().unwrap_or(if self.kind == EventKind::Message { Level::Info } else { Level::Error })
    }

    /// Who was affected, as issue user counts key them: the user id, else
    /// the app install (so anonymous users still count once each).
    pub fn user_key(&self) -> Option<String> {
        let user = self.user.as_ref().and_then(|user| user.id).map(|id| format!("user:{id}"));
        user.or_else(|| self.device.as_ref()?.install_id.map(|id| format!("install:{id}")))
    }

    /// The runtime the dashboard shows: the app's framework and version,
    /// else the `browser` or `runtime` tag.
    pub fn runtime(&self) -> Option<String> {
        let framework = self.app.as_ref().and_then(|app| app.framework.as_ref());
        let framework = framework
            .map(|f| [f.name, f.version].into_iter().flatten().map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" "))
            .filter(|f| !f.is_empty());
        framework.or_else(|| self.tags.get("browser").or_else(|| self.tags.get("runtime")).map(|tag| (*tag).to_owned()))
    }
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// `ios`, `android`, `web` or `other`; anything else is stored as sent.
    pub os: String,
    pub os_version: String,
    pub model: Option<String>,
    pub locale: Option<String>,
    pub network_type: Option<String>,
    pub install_id: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct App {
    pub version: String,
    pub build: Option<String>,
    pub framework: Option<Framework>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The app's framework or runtime (`react-native`, `node`, `python`…).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Framework {
    pub name: Option<String>,
    pub version: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Who was affected. SDKs never collect personal data on their own.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: Option<String>,
    pub anonymous: Option<bool>,
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link_hashes: Vec<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An error and, through `cause`, the errors that led to it; an exception
/// group (Python's `ExceptionGroup`, JavaScript's `AggregateError`) also
/// holds its member errors in `exceptions`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Error {
    #[serde(rename = "type")]
    pub error_type: String,
    pub message: Option<String>,
    /// Top of the stack (the raising frame) first.
    #[serde(default)]
    pub stack: Vec<Frame>,
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub cause: Option<Box<Error>>,
    /// The errors an exception group holds, in the group's order; each may
    /// have causes and members of its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub exceptions: Vec<Error>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Error {
    /// This error and its causes, outermost first.
    pub fn chain(&self) -> impl Iterator<Item = &Error> {
        std::iter::successors(Some(self), |error| error.cause.as_deref())
    }

    /// Every error of the tree — this one, its causes, the members of its
    /// groups and theirs — each before the errors below it.
    pub fn tree(&self) -> impl Iterator<Item = &Error> {
        let mut pending = vec![self];
        std::iter::from_fn(move || {
            let error = pending.pop()?;
            // Reversed onto the stack so the cause comes first, then the members in order.
            pending.extend(error.exceptions.iter().rev());
            pending.extend(error.cause.as_deref());
            Some(error)
        })
    }
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Frame {
    pub file: String,
    /// 1-based.
    pub line: u64,
    /// 1-based.
    pub column: Option<u64>,
    pub function: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub in_app: bool,
    pub absolute_path: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pre_context: Vec<String>,
    pub context_line: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_context: Vec<String>,
    pub debug_id: Option<String>,
    pub arch: Option<String>,
    /// An integer or a `"0x…"` string, kept as sent for native symbolication.
    pub instruction_address: Option<Value>,
    pub image_address: Option<Value>,
    /// Where a frame a source map resolved stood in the bundle. The `raw*`
    /// fields and `sourceMap` are written by the processor's symbolication;
    /// a value of another shape, which only a client could have sent, reads
    /// as absent rather than making the whole event unreadable.
    #[serde(default, deserialize_with = "or_absent")]
    pub raw_file: Option<String>,
    #[serde(default, deserialize_with = "or_absent")]
    pub raw_line: Option<u64>,
    #[serde(default, deserialize_with = "or_absent")]
    pub raw_column: Option<u64>,
    /// The name the client reported, when the map named the function otherwise.
    #[serde(default, deserialize_with = "or_absent")]
    pub raw_function: Option<String>,
    #[serde(default, deserialize_with = "or_absent")]
    pub source_map: Option<FrameSourceMap>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The source map that resolved a frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum FrameSourceMap {
    /// A file of an uploaded bundle, found through the event's debug ids;
    /// `name` is the map's URL in its bundle (`~/app.js.map`).
    DebugId {
        #[serde(rename = "debugId")]
        debug_id: Uuid,
        name: String,
    },
    /// The release's artifact of that name.
    Release { name: String },
}

/// Reads a field whose shape Sentori does not check at ingest (one only
/// the server writes, or one kept as a client sent it): a value of another
/// shape is absent.
fn or_absent<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    Ok(T::deserialize(value).ok())
}

#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Breadcrumb {
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub timestamp: Option<OffsetDateTime>,
    /// `nav`, `net`, `log`, `user` or `custom`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub data: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A reference to an attachment uploaded before the event.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AttachmentRef {
    #[serde(rename = "ref")]
    pub reference: String,
    pub kind: String,
    pub media_type: Option<String>,
    pub size_bytes: Option<u64>,
    pub source: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
