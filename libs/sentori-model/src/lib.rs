//! The one typed shape of what Sentori stores.
//!
//! Sentori's own `/v1` protocol is these types' JSON form (camelCase keys,
//! RFC 3339 times, UUID ids). Other protocols — Sentry envelopes, OTLP —
//! are mappings *into* these types, so an item from any of them is checked,
//! trimmed, queued and processed exactly like a `/v1` item: the mapping
//! builds a value here, serialises it, and hands it to the same validation.
//!
//! Every struct keeps the fields it does not know in `extra`: the protocol
//! promises that a newer SDK's data is stored and shown, never dropped.

mod announcement;
mod event;
mod fields;
pub mod incoming;
mod limits;
mod meta;
pub mod ids;
mod open_enum;
mod session;
mod span;

pub use announcement::{Announcement, DeadDigest, HeldIssue, Reason};
pub use event::{
    App, AppSummary, AttachmentRef, Breadcrumb, DebugImage, DebugMeta, Device, DeviceSummary, Error, ErrorSummary, Event,
    EventKind, EventSummary, Frame, FrameSourceMap, FrameSummary, Framework, FrameworkSummary, GroupingInput, Level,
    SymbolicationInput, User, UserSummary,
};
pub use fields::field_names;
pub use limits::Limits;
pub use meta::{Meta, MetaEntry, Symbolication};
pub use session::{Deploy, Session, SessionStatus};
pub use span::{Span, SpanStatus, SpanSummary};

/// String-to-string maps: tags and feature flags.
pub type Tags = std::collections::BTreeMap<String, String>;

fn is_false(value: &bool) -> bool {
    !*value
}
