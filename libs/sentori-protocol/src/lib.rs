//! The SDK-facing wire contract (`protocol.md`), kept apart from any processing.
//!
//! A payload is parsed once into a JSON tree ([`json::Json`], borrowing
//! from the request body), which is what gets stored: the protocol promises
//! that unknown fields survive. Validation deserialises that tree into the
//! model's incoming shapes with a deserializer that knows each value's wire
//! path, so every error names it (`error.stack[3].line`).

mod check;
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
    Limits, Validated, ValidatedDeploy, validate_deploy, validate_event,
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
