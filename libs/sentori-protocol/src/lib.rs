//! The SDK-facing wire contract (`protocol.md`), kept apart from any processing.
//!
//! Payloads are validated as JSON trees ([`json::Json`], borrowing from the
//! request body) rather than deserialised into structs: the protocol
//! promises that unknown fields survive into the stored payload, and
//! walking the tree lets every error name the exact wire path
//! (`error.stack[3].line`).

pub mod error_body;
pub mod json;
pub mod token;
pub mod validate;

mod path;
mod trim;

pub use error_body::{ErrorBody, FieldError};
pub use token::{TokenKind, hash_token};
pub use trim::span_untouched;
pub use validate::{
    Limits, ValidatedDeploy, ValidatedEvent, ValidatedSession, ValidatedSpan, validate_deploy, validate_event,
    validate_session, validate_span,
};

/// The built-in dev project of protocol.md, reachable with `SENTORI_DEV_TOKEN`.
pub const DEV_PROJECT_ID: uuid::Uuid = uuid::uuid!("019508a0-0000-7000-8000-000000000000");
/// The org that owns the dev project.
pub const DEV_ORG_ID: uuid::Uuid = uuid::uuid!("019508a0-0001-7000-8000-000000000000");
/// The dev project's number, the last segment of its Sentry DSN (the
/// `project_numbers` migration always gives it 1).
pub const DEV_PROJECT_NUMBER: i64 = 1;

/// The id of a project's release: derived from the project and the release
/// name, so every service (and ingest, before any row exists) agrees on it.
pub fn release_id(project_id: uuid::Uuid, release: &str) -> uuid::Uuid {
    uuid::Uuid::new_v5(&project_id, release.as_bytes())
}
