//! The protocol's size limits that reject (protocol.md, "Limits: reject or
//! trim"), and the time window a client's clock is trusted within. The
//! incoming shapes ([`crate::incoming`]) declare them on their fields.

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
