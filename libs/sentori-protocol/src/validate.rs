//! Structural validation of SDK payloads.
//!
//! Only structure rejects (protocol.md, "Limits: reject or trim"): a missing
//! required field or a wrong JSON type. The shapes and their limits are the
//! model's (`sentori_model::incoming`); [`crate::check`] reads a payload
//! into one, names every wrong field and plans what oversized content to
//! cut, which [`crate::trim`] then cuts, recording it in `_meta`.

use sentori_model::incoming::{DeployIn, EventIn, SessionIn, SpanIn, Trimmed};
use sentori_model::{Meta, Symbolication};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::FieldError;
use crate::check::{Checked, check};
use crate::json::Json;
use crate::trim;

pub use sentori_model::Limits;

/// An event, span or session that passed validation, trimmed.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated<'a> {
    pub id: Uuid,
    /// The full payload as stored: unknown fields kept, `_meta` added when trimmed.
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

/// Validates and trims one Event received at `received_at`.
pub fn validate_event(mut payload: Json<'_>, received_at: OffsetDateTime) -> Result<Validated<'_>, Vec<FieldError>> {
    let (id, cuts) = {
        let Checked { value, mut errors, cuts } = check::<EventIn>(&payload, Some(received_at));
        let Some(event) = value else { return Err(errors) };
        errors.extend(event.required_by_kind().into_iter().map(|field| FieldError::new(field.to_owned(), "required")));
        errors.truncate(Limits::MAX_REPORTED_ERRORS);
        let timestamp = event.timestamp.valid().and_then(Trimmed::into_inner);
        match (event.id.valid(), timestamp, event.kind.valid().and_then(Trimmed::into_inner)) {
            (Some(id), Some(_), Some(_)) if errors.is_empty() => (id.0, cuts),
            _ => return Err(errors),
        }
    };
    // Server-set fields: a client's value would mislead the dashboard.
    let changed = trim::apply(&mut payload, &[Symbolication::FIELD, Meta::FIELD], cuts);
    Ok(Validated { id, payload, changed })
}

/// Validates and trims one Span received at `received_at` (its 64 KiB size
/// limit is the caller's: it knows the encoded size).
pub fn validate_span(mut payload: Json<'_>, received_at: OffsetDateTime) -> Result<Validated<'_>, Vec<FieldError>> {
    let (id, cuts) = {
        let Checked { value, errors, cuts } = check::<SpanIn>(&payload, Some(received_at));
        match value.map(|span| (span.id.valid(), span.trace_id.valid())) {
            Some((Some(id), Some(_))) if errors.is_empty() => (id.0, cuts),
            _ => return Err(errors),
        }
    };
    let changed = trim::apply(&mut payload, &[Meta::FIELD], cuts);
    Ok(Validated { id, payload, changed })
}

/// Validates and trims one Session received at `received_at`; `durationMs`
/// beyond 7 days is capped.
pub fn validate_session(mut payload: Json<'_>, received_at: OffsetDateTime) -> Result<Validated<'_>, Vec<FieldError>> {
    let (id, cuts) = {
        let Checked { value, errors, cuts } = check::<SessionIn>(&payload, Some(received_at));
        match value.and_then(|session| session.id.valid()) {
            Some(id) if errors.is_empty() => (id.0, cuts),
            _ => return Err(errors),
        }
    };
    let changed = trim::apply(&mut payload, &[Meta::FIELD], cuts);
    Ok(Validated { id, payload, changed })
}

/// Validates one Deploy received at `received_at`; a `deployedAt` outside
/// the accepted window is replaced by the receive time, as for events.
pub fn validate_deploy(payload: Json<'_>, received_at: OffsetDateTime) -> Result<ValidatedDeploy, Vec<FieldError>> {
    let Checked { value, errors, .. } = check::<DeployIn>(&payload, None);
    match value {
        Some(deploy) if errors.is_empty() => Ok(ValidatedDeploy {
            release: deploy.release.valid().map(|release| release.0.to_owned()).unwrap_or_default(),
            environment: deploy.environment.valid().map(|environment| environment.0.to_owned()),
            deployed_at: deploy.deployed_at.valid().map(|at| trim::effective_time(at.0, received_at)),
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests;
