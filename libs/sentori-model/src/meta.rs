//! `_meta`: what the server changed in an item, by wire path.
//!
//! Ingest's trimming writes it (a text cut to its limit, a list cut to its
//! first entries, a time outside the accepted window) and the processor's
//! attachment check adds to it; the dashboard shows it beside the event.
//! Both write through these types, so an entry one of them made is added
//! to, never replaced, by the other.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};


/// The changed paths (`message`, `error.stack`, `tags.screen`,
/// `breadcrumbs`, `attachments`…) and what each was before.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Meta(pub BTreeMap<String, MetaEntry>);

impl Meta {
    /// Its key on an event, span or session.
    pub const FIELD: &'static str = "_meta";

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entry of `path`, made empty if there was none.
    pub fn at(&mut self, path: impl Into<String>) -> &mut MetaEntry {
        self.0.entry(path.into()).or_default()
    }
}

/// What one path was before the server changed it. Each field says what
/// kind of change was made; an entry has one or more.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MetaEntry {
    /// A text cut to its limit: its length before, in the limit's unit
    /// (bytes for a message, characters for names and tag values).
    pub original_length: Option<u64>,
    /// A list or map cut to its first entries: how many it had.
    pub original_count: Option<u64>,
    /// A tag key cut to its limit: its length before, in characters.
    pub original_key_length: Option<u64>,
    /// A value replaced (a time outside the accepted window, a duration past
    /// the limit): as it was sent.
    pub original_value: Option<Value>,
    /// How many errors a cause chain lost past the depth limit.
    pub removed_causes: Option<u64>,
    /// Attachment refs dropped because they named no upload of this event.
    pub dropped_refs: Option<u64>,
    /// Kinds of change a newer version wrote, kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What symbolication found for an event's release (server-set): whether
/// it had a source map, so the dashboard can say why frames stayed raw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Symbolication {
    pub release_has_map: bool,
}

impl Symbolication {
    /// Its key on an event.
    pub const FIELD: &'static str = "symbolication";
}
