//! The protocol's size limits (protocol.md, "Limits: reject or trim"), and
//! the time window a client's clock is trusted within. The incoming shapes
//! ([`crate::incoming`]) declare them on their fields.

/// Size limits: those that reject, then those that trim.
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
    /// `message` and `error.message` (trim, at a character boundary).
    pub const MESSAGE_MAX_BYTES: usize = 8 * 1024;
    /// The newest are kept: they explain the crash.
    pub const MAX_BREADCRUMBS: usize = 100;
    /// Per stack; half kept at each end.
    pub const MAX_FRAMES: usize = 100;
    /// Causes below the error that starts a chain (a group member starts its own).
    pub const MAX_CAUSE_DEPTH: usize = 10;
    /// Members kept per exception group: the first ones.
    pub const MAX_GROUP_MEMBERS: usize = 50;
    /// Errors kept in one event's tree: the raised error, its causes, group
    /// members and theirs.
    pub const MAX_TREE_ERRORS: usize = 100;
    pub const MAX_TAGS: usize = 50;
    pub const TAG_KEY_MAX_CHARS: usize = 64;
    pub const TAG_VALUE_MAX_CHARS: usize = 200;
    /// `preContext` keeps its last lines, `postContext` its first.
    pub const MAX_CONTEXT_LINES: usize = 10;
    /// Reporting stops here: a payload this broken gains nothing from a longer list.
    pub const MAX_REPORTED_ERRORS: usize = 50;
}

impl Limits {
    /// Whether `text` has more than `max` characters. Bytes bound characters
    /// from above, so most strings are decided without counting.
    pub fn over_chars(text: &str, max: usize) -> bool {
        text.len() > max && text.chars().count() > max
    }
}
