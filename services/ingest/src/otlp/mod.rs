//! `POST /v1/traces`: OpenTelemetry traces over OTLP/HTTP (protocol.md, "OTLP").
//!
//! Each OTLP span is mapped to a Sentori span ([`mapping`]) and then takes
//! exactly the path a `/v1/spans` item takes: the same validation and
//! trimming, the same monthly span quota, the same stream. An `exception`
//! span event also becomes an error event on the events path. The answer
//! is OTLP's own: `ExportTraceServiceResponse`, whose `partial_success`
//! counts and explains the spans that were refused.

mod attributes;
pub mod decode;
pub mod mapping;
mod stack;

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTracePartialSuccess, ExportTraceServiceResponse};
use prost::Message;
use sentori_queue::Payload;
use serde_json::json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{QueryToken, Sender};
use crate::body;
use crate::error::IngestError;
use crate::routes::{self, EVENTS, SPANS};
use decode::{Decoded, Format};

/// An OTLP request's decoded size. Exporters batch up to 512 spans by
/// default and OTLP spans carry many attributes, so this is above the
/// 1 MiB of Sentori's own JSON routes; every span is still held to 64 KiB.
pub const OTLP_LIMIT: usize = 4 * 1024 * 1024;
/// Spans read from one request; the rest are refused in `partial_success`.
pub const MAX_SPANS: usize = 2_000;
/// How many distinct reasons `error_message` lists, each of at most `MAX_REASON_CHARS`.
const MAX_REASONS: usize = 5;
const MAX_REASON_CHARS: usize = 300;

/// What a request becomes before anything is queued: pure, so it can be tested and fuzzed.
#[derive(Debug, Default)]
pub struct Prepared {
    /// Each with its item's id, which picks the stream partition.
    pub spans: Vec<(Uuid, Payload)>,
    pub events: Vec<(Uuid, Payload)>,
    /// Spans refused, with one line per reason.
    pub rejected: usize,
    pub reasons: Vec<String>,
    /// Exception events that could not become error events (their span is kept).
    pub events_rejected: usize,
}

impl Prepared {
    fn refuse(&mut self, reason: String) {
        self.rejected += 1;
        self.note(reason);
    }

    fn note(&mut self, reason: String) {
        // A decoder's message may quote a whole value back.
        let reason = if reason.chars().count() > MAX_REASON_CHARS {
            reason.chars().take(MAX_REASON_CHARS).chain(std::iter::once('…')).collect()
        } else {
            reason
        };
        if self.reasons.len() < MAX_REASONS && !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
    }
}

/// Maps, validates and encodes every span of `decoded`.
pub fn prepare(decoded: Decoded, received_at: OffsetDateTime) -> Prepared {
    let mut out = Prepared::default();
    for reason in decoded.unreadable {
        out.refuse(reason);
    }
    let mut seen = 0usize;
    for resource_spans in &decoded.request.resource_spans {
        for scope_spans in &resource_spans.scope_spans {
            let context = mapping::Context::new(resource_spans.resource.as_ref(), scope_spans.scope.as_ref());
            for otlp in &scope_spans.spans {
                seen += 1;
                if seen > MAX_SPANS {
                    out.refuse(format!("more than {MAX_SPANS} spans in one request"));
                    continue;
                }
                let label = hex(&otlp.span_id);
                let mapped = match mapping::map_span(&context, otlp) {
                    Ok(mapped) => mapped,
                    Err(why) => {
                        out.refuse(format!("span {label}: {why}"));
                        continue;
                    }
                };
                match routes::queue_mapped_span(&mapped.span, received_at) {
                    Ok(queued) => out.spans.push(queued),
                    Err(why) => {
                        out.refuse(format!("span {label}: {why}"));
                        continue;
                    }
                }
                for event in &mapped.exceptions {
                    match routes::queue_mapped(&EVENTS, event, received_at) {
                        Ok(queued) => out.events.push(queued),
                        Err(why) => {
                            out.events_rejected += 1;
                            out.note(format!("exception event of span {label} not stored: {why}"));
                        }
                    }
                }
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

pub async fn post_traces(State(state): State<AppState>, sender: Sender, body: Body) -> Result<Response, IngestError> {
    let headers = &sender.headers;
    let format = Format::of(headers)?;
    let received_at = routes::received_now();
    let read = async {
        let bytes = body::read_decoded(headers, body, OTLP_LIMIT).await?;
        decode::decode(format, &bytes)
    };
    let (caller, decoded) = routes::admit_reading(&state, &sender, QueryToken::Refused, read).await?;
    let mut prepared = prepare(decoded, received_at);
    let sdk = routes::sdk_of(headers);
    if !prepared.spans.is_empty() {
        let spans = std::mem::take(&mut prepared.spans);
        let (_, refused) = routes::charge_and_append(&state, &SPANS, &caller, sdk.clone(), received_at, spans).await?;
        for _ in 0..refused {
            prepared.refuse("the monthly span quota is used up".to_owned());
        }
    }
    if !prepared.events.is_empty() {
        let events = std::mem::take(&mut prepared.events);
        let count = events.len();
        // The spans are queued: an event quota that is used up must not
        // turn the answer into a 429 that makes the exporter send them again.
        let refused = match routes::charge_and_append(&state, &EVENTS, &caller, sdk, received_at, events).await {
            Ok((_, refused)) => refused,
            Err(IngestError::QuotaExceeded { .. }) => count,
            Err(other) => return Err(other),
        };
        if refused > 0 {
            prepared.events_rejected += refused;
            prepared.note("the monthly event quota is used up: exception events not stored".to_owned());
        }
    }
    Ok(answer(format, &prepared))
}

/// `200` with an `ExportTraceServiceResponse` in the request's encoding;
/// `partial_success` only when something was refused, as OTLP asks.
fn answer(format: Format, prepared: &Prepared) -> Response {
    let partial_success = (prepared.rejected > 0 || !prepared.reasons.is_empty()).then(|| ExportTracePartialSuccess {
        rejected_spans: prepared.rejected as i64,
        error_message: prepared.reasons.join("; "),
    });
    let body = match format {
        Format::Protobuf => ExportTraceServiceResponse { partial_success }.encode_to_vec(),
        // Written by hand: the generated types' serde writes int64 as a JSON
        // number and an unset message as `null`, where the OTLP JSON mapping
        // has a decimal string and an absent field.
        Format::Json => {
            let body = match partial_success {
                Some(p) => json!({"partialSuccess": {"rejectedSpans": p.rejected_spans.to_string(), "errorMessage": p.error_message}}),
                None => json!({}),
            };
            body.to_string().into_bytes()
        }
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, format.content_type())], body).into_response()
}

#[cfg(test)]
mod tests;
