//! Structural validation of SDK payloads.
//!
//! Only structure rejects (protocol.md, "Limits: reject or trim"): a missing
//! required field or a wrong JSON type. The shapes and their limits are the
//! model's (`sentori_model::incoming`); [`crate::check`] reads a payload
//! into one and names every wrong field. Oversized content is trimmed
//! afterwards by [`crate::trim`], which records what it cut in `_meta`.

use sentori_model::incoming::{DeployIn, EventIn, SessionIn, SpanIn};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::FieldError;
use crate::check::check;
use crate::json::Json;
use crate::trim;

pub use sentori_model::Limits;

/// An event that passed validation, trimmed, with its typed keys.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedEvent<'a> {
    pub id: Uuid,
    pub timestamp: OffsetDateTime,
    pub kind: String,
    /// The full payload as stored: unknown fields kept, `_meta` added when trimmed.
    pub payload: Json<'a>,
    /// Whether `payload` differs from what the client sent (see `trim`).
    pub changed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedSpan<'a> {
    pub id: Uuid,
    pub trace_id: Uuid,
    pub payload: Json<'a>,
    /// Whether `payload` differs from what the client sent (see `trim`).
    pub changed: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedSession<'a> {
    pub id: Uuid,
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
pub fn validate_event(mut payload: Json<'_>, received_at: OffsetDateTime) -> Result<ValidatedEvent<'_>, Vec<FieldError>> {
    let (id, timestamp, kind) = {
        let (event, mut errors) = check::<EventIn>(&payload);
        let Some(event) = event else { return Err(errors) };
        errors.extend(event.required_by_kind().into_iter().map(|field| FieldError::new(field.to_owned(), "required")));
        errors.truncate(Limits::MAX_REPORTED_ERRORS);
        match (event.id.valid(), event.timestamp.valid(), event.kind.valid()) {
            (Some(id), Some(timestamp), Some(kind)) if errors.is_empty() => (id.0, timestamp.0, kind.to_owned()),
            _ => return Err(errors),
        }
    };
    let changed = trim::event(&mut payload, received_at);
    Ok(ValidatedEvent { id, timestamp: trim::effective_time(timestamp, received_at), kind, payload, changed })
}

/// Validates one Span received at `received_at` (its 64 KiB size limit is
/// the caller's: it knows the encoded size).
pub fn validate_span(mut payload: Json<'_>, received_at: OffsetDateTime) -> Result<ValidatedSpan<'_>, Vec<FieldError>> {
    let (id, trace_id) = {
        let (span, errors) = check::<SpanIn>(&payload);
        match span.map(|span| (span.id.valid(), span.trace_id.valid())) {
            Some((Some(id), Some(trace_id))) if errors.is_empty() => (id.0, trace_id.0),
            _ => return Err(errors),
        }
    };
    let changed = trim::span(&mut payload, received_at);
    Ok(ValidatedSpan { id, trace_id, payload, changed })
}

/// Validates one Session received at `received_at`; `durationMs` beyond 7 days is capped.
pub fn validate_session(mut payload: Json<'_>, received_at: OffsetDateTime) -> Result<ValidatedSession<'_>, Vec<FieldError>> {
    let id = {
        let (session, errors) = check::<SessionIn>(&payload);
        match session.and_then(|session| session.id.valid()) {
            Some(id) if errors.is_empty() => id.0,
            _ => return Err(errors),
        }
    };
    let changed = trim::session(&mut payload, received_at);
    Ok(ValidatedSession { id, payload, changed })
}

/// Validates one Deploy received at `received_at`; a `deployedAt` outside
/// the accepted window is replaced by the receive time, as for events.
pub fn validate_deploy(payload: Json<'_>, received_at: OffsetDateTime) -> Result<ValidatedDeploy, Vec<FieldError>> {
    let (deploy, errors) = check::<DeployIn>(&payload);
    match deploy {
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
