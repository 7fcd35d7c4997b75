//! The `/v1/*` handlers: thin steps of authenticate, limit, read, validate, append.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use sentori_protocol::json::{self, Json};
use serde_json::json;
use sentori_protocol::{ErrorBody, FieldError, Validated};
use sentori_queue::{Envelope, ItemKind, PartitionKey, Payload, Stream};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::auth::{Caller, QueryToken, Sender, authenticate};
use crate::body::{self, JSON_LIMIT, SPAN_LIMIT};
use crate::error::IngestError;
use crate::rate_limit::Decision;
use crate::AppState;
use sentori_store::quotas::Category;

/// How one kind of item travels: its stream, validator and limits.
pub(crate) struct ItemRoute {
    pub(crate) kind: ItemKind,
    stream: Stream,
    /// The key of the array in a batch body.
    batch_key: &'static str,
    max_batch: usize,
    single_limit: usize,
    query_token: QueryToken,
    /// The monthly quota its items count against, if any.
    pub(crate) quota: Option<Category>,
    pub(crate) validate: for<'a> fn(Json<'a>, OffsetDateTime) -> Result<Validated<'a>, Vec<FieldError>>,
}

pub(crate) const EVENTS: ItemRoute = ItemRoute {
    kind: ItemKind::Event,
    stream: Stream::Events,
    batch_key: "events",
    max_batch: 100,
    single_limit: JSON_LIMIT,
    query_token: QueryToken::Allowed,
    quota: Some(Category::Events),
    validate: sentori_protocol::validate_event,
};

pub(crate) const SPANS: ItemRoute = ItemRoute {
    kind: ItemKind::Span,
    stream: Stream::Spans,
    batch_key: "spans",
    max_batch: 200,
    single_limit: SPAN_LIMIT,
    query_token: QueryToken::Refused,
    quota: Some(Category::Spans),
    validate: sentori_protocol::validate_span,
};

pub(crate) const SESSIONS: ItemRoute = ItemRoute {
    kind: ItemKind::Session,
    stream: Stream::Sessions,
    batch_key: "sessions",
    max_batch: 0,
    single_limit: JSON_LIMIT,
    query_token: QueryToken::Allowed,
    quota: None,
    validate: sentori_protocol::validate_session,
};

/// Authentication and the rate limit, common to every route.
pub(crate) async fn admit(state: &AppState, sender: &Sender, query_token: QueryToken) -> Result<Caller, IngestError> {
    let caller = authenticate(state, sender, query_token).await?;
    rate_limit(state, &caller).await?;
    Ok(caller)
}

pub(crate) async fn rate_limit(state: &AppState, caller: &Caller) -> Result<(), IngestError> {
    match state.limiter.check(caller.token.project_id, &caller.rate_key).await? {
        Decision::Allowed => Ok(()),
        Decision::Limited { retry_after_ms } => Err(IngestError::RateLimited { retry_after_ms }),
    }
}

/// [`admit`], with `read` (reading and checking the body) run while the
/// rate limit's round trip to Valkey is in flight, so a request waits for
/// the slower of the two instead of both. A limited caller still gets
/// `429`, whatever its body.
pub(crate) async fn admit_reading<T>(
    state: &AppState,
    sender: &Sender,
    query_token: QueryToken,
    read: impl Future<Output = Result<T, IngestError>>,
) -> Result<(Caller, T), IngestError> {
    let caller = authenticate(state, sender, query_token).await?;
    let (limited, body) = tokio::join!(rate_limit(state, &caller), read);
    limited?;
    Ok((caller, body?))
}

/// The receive time of a request's items, to the microsecond the envelope keeps.
pub(crate) fn received_now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000).unwrap_or(now)
}

/// The `Sentori-Sdk` header, which every entry of the request carries.
pub(crate) fn sdk_of(headers: &HeaderMap) -> Option<String> {
    headers.get("sentori-sdk").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

pub(crate) fn envelope(caller: &Caller, kind: ItemKind, sdk: Option<String>, received_at: OffsetDateTime, payload: Payload) -> Envelope {
    Envelope::new(kind, caller.token.project_id, caller.token.org_id, received_at).with_payload_text(payload).with_sdk(sdk)
}

/// Spans one stream entry carries at most ([`ItemKind::Spans`]): an
/// exporter's request becomes one or a few entries, and a processor batch
/// of entries stays a bounded amount of memory (500 entries of at most
/// 100 spans of at most 64 KiB).
pub(crate) const SPANS_PER_ENTRY: usize = 100;

/// The stream entries for one request's items: spans packed
/// [`SPANS_PER_ENTRY`] to an entry, anything else one to an entry.
fn entries(route: &ItemRoute, caller: &Caller, sdk: Option<String>, received_at: OffsetDateTime, payloads: Vec<Payload>) -> Vec<Envelope> {
    if route.kind == ItemKind::Span && payloads.len() > 1 {
        return payloads
            .chunks(SPANS_PER_ENTRY)
            .map(|chunk| envelope(caller, ItemKind::Spans, sdk.clone(), received_at, Payload::array(chunk)))
            .collect();
    }
    payloads.into_iter().map(|payload| envelope(caller, route.kind, sdk.clone(), received_at, payload)).collect()
}

/// What to queue for a validated body: the body as it came when validation
/// changed nothing, which saves encoding the tree again (the processor
/// parses the text it needs either way), else the validated tree. Parsing
/// replaces a U+0000 (`json::has_nul_escape`), so such a body is re-encoded.
pub(crate) fn queued_payload(item: &Validated, body: &[u8]) -> Payload {
    match (rewritten(item, body), std::str::from_utf8(body)) {
        (None, Ok(text)) => Payload::from_json_text(text.to_owned()),
        (rewritten, _) => Payload::from_json_text(rewritten.unwrap_or_else(|| item.payload.to_json_string())),
    }
}

/// The validated tree encoded again when the body as it came is not what
/// to queue: validation trimmed it, or parsing replaced a U+0000 escape.
fn rewritten(item: &Validated, body: &[u8]) -> Option<String> {
    (item.changed || json::has_nul_escape(body)).then(|| item.payload.to_json_string())
}

/// Why an item mapped from another protocol cannot be queued.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unqueueable {
    #[error("the item could not be encoded: {0}")]
    Encoding(String),
    #[error("larger than {0} bytes encoded")]
    TooLarge(usize),
    #[error("{}", .0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join(", "))]
    Invalid(Vec<FieldError>),
}

/// An item of another protocol, mapped into the typed model, as `/v1` would
/// queue the same body: encoded once, held to the route's size limit, then
/// validated and trimmed by the same code, so no rule lives in a mapping.
pub(crate) fn queue_mapped(route: &ItemRoute, item: &impl serde::Serialize, received_at: OffsetDateTime) -> Result<(Uuid, Payload), Unqueueable> {
    queue_text(route, encode_mapped(route, item)?, received_at)
}

/// [`queue_mapped`] for a span: when the full path would leave it as it is
/// ([`sentori_protocol::span_untouched`], the common case) its text is
/// queued without being parsed back and walked.
pub(crate) fn queue_mapped_span(span: &sentori_model::Span, received_at: OffsetDateTime) -> Result<(Uuid, Payload), Unqueueable> {
    let text = encode_mapped(&SPANS, span)?;
    if sentori_protocol::span_untouched(span, &text, received_at) {
        return Ok((span.id, Payload::from_json_text(text)));
    }
    queue_text(&SPANS, text, received_at)
}

fn encode_mapped(route: &ItemRoute, item: &impl serde::Serialize) -> Result<String, Unqueueable> {
    let text = serde_json::to_string(item).map_err(|e| Unqueueable::Encoding(e.to_string()))?;
    if text.len() > route.single_limit {
        return Err(Unqueueable::TooLarge(route.single_limit));
    }
    Ok(text)
}

fn queue_text(route: &ItemRoute, text: String, received_at: OffsetDateTime) -> Result<(Uuid, Payload), Unqueueable> {
    let (id, rewritten) = {
        let tree = json::parse(text.as_bytes()).map_err(|e| Unqueueable::Encoding(e.to_string()))?;
        let item = (route.validate)(tree, received_at).map_err(Unqueueable::Invalid)?;
        (item.id, rewritten(&item, text.as_bytes()))
    };
    Ok((id, Payload::from_json_text(rewritten.unwrap_or(text))))
}

async fn append(state: &AppState, stream: Stream, key: PartitionKey, envelopes: &[Envelope]) -> Result<(), IngestError> {
    if !state.backlog.has_room(stream, state.producer.partition_of(key)) {
        return Err(IngestError::Backlogged);
    }
    state.producer.append(stream, key, envelopes).await?;
    Ok(())
}

/// Takes quota for `items` (all of them, or as many as are left: the rest,
/// at the end, are refused), queues them, and gives the units back if
/// appending fails. Answers how many were accepted and how many refused.
/// The project and the first item's id pick the stream partition, so a
/// retried request lands where its first try did.
pub(crate) async fn charge_and_append(
    state: &AppState,
    route: &ItemRoute,
    caller: &Caller,
    sdk: Option<String>,
    received_at: OffsetDateTime,
    mut items: Vec<(Uuid, Payload)>,
) -> Result<(usize, usize), IngestError> {
    let grant = match route.quota {
        Some(category) => Some(state.quotas.take(&caller.token, category, items.len()).await?),
        None => None,
    };
    let refused = grant.as_ref().map_or(0, |grant| items.len().saturating_sub(grant.granted));
    items.truncate(items.len() - refused);
    let accepted = items.len();
    let Some(&(first_id, _)) = items.first() else { return Ok((0, refused)) };
    let key = PartitionKey::of(caller.token.project_id, first_id);
    let payloads = items.into_iter().map(|(_, payload)| payload).collect();
    if let Err(err) = append(state, route.stream, key, &entries(route, caller, sdk, received_at, payloads)).await {
        if let Some(grant) = grant {
            state.quotas.refund(grant).await;
        }
        return Err(err);
    }
    Ok((accepted, refused))
}

async fn accept_one(state: AppState, route: &ItemRoute, sender: Sender, body: Body) -> Result<Response, IngestError> {
    let headers = &sender.headers;
    let received_at = received_now();
    let read = async {
        let bytes = body::read_decoded(headers, body, route.single_limit).await?;
        let item = (route.validate)(body::parse_json(&bytes)?, received_at).map_err(IngestError::ValidationFailed)?;
        Ok((item.id, queued_payload(&item, &bytes)))
    };
    let (caller, (id, payload)) = admit_reading(&state, &sender, route.query_token, read).await?;
    charge_and_append(&state, route, &caller, sdk_of(headers), received_at, vec![(id, payload)]).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(json!({"id": id}))).into_response())
}

async fn accept_batch(state: AppState, route: &ItemRoute, sender: Sender, body: Body) -> Result<Response, IngestError> {
    let headers = &sender.headers;
    let (caller, bytes) =
        admit_reading(&state, &sender, QueryToken::Refused, body::read_decoded(headers, body, JSON_LIMIT)).await?;
    let items = match body::parse_json(&bytes)? {
        Json::Object(mut obj) => match obj.remove(route.batch_key) {
            Some(Json::Array(items)) => items,
            Some(_) => return Err(invalid(route.batch_key, "must be an array")),
            None => return Err(invalid(route.batch_key, "required")),
        },
        _ => return Err(invalid("$", "must be a JSON object")),
    };
    if items.len() > route.max_batch {
        return Err(IngestError::TooManyItems { count: items.len(), max: route.max_batch });
    }
    let received_at = received_now();
    let mut payloads = Vec::with_capacity(items.len());
    let mut indexes = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        match (route.validate)(item, received_at) {
            Ok(item) => {
                payloads.push((item.id, Payload::from_json_text(item.payload.to_json_string())));
                indexes.push(index);
            }
            Err(details) => errors.push(json!({"index": index, "error": "validationFailed", "details": details})),
        }
    }
    let (accepted, refused) = charge_and_append(&state, route, &caller, sdk_of(headers), received_at, payloads).await?;
    for &index in &indexes[accepted..accepted + refused] {
        errors.push(json!({"index": index, "error": "quotaExceeded", "message": "the monthly quota is used up"}));
    }
    errors.sort_by_key(|e| e["index"].as_u64());
    let body = json!({"accepted": accepted, "rejected": errors.len(), "errors": errors});
    Ok((StatusCode::ACCEPTED, axum::Json(body)).into_response())
}

pub(crate) fn invalid(field: &str, message: &str) -> IngestError {
    IngestError::ValidationFailed(vec![FieldError::new(field, message)])
}

pub async fn post_event(State(state): State<AppState>, sender: Sender, body: Body) -> Result<Response, IngestError> {
    accept_one(state, &EVENTS, sender, body).await
}

pub async fn post_events_batch(State(state): State<AppState>, sender: Sender, body: Body) -> Result<Response, IngestError> {
    accept_batch(state, &EVENTS, sender, body).await
}

pub async fn post_span(State(state): State<AppState>, sender: Sender, body: Body) -> Result<Response, IngestError> {
    accept_one(state, &SPANS, sender, body).await
}

pub async fn post_spans_batch(State(state): State<AppState>, sender: Sender, body: Body) -> Result<Response, IngestError> {
    accept_batch(state, &SPANS, sender, body).await
}

pub async fn post_session(State(state): State<AppState>, sender: Sender, body: Body) -> Result<Response, IngestError> {
    accept_one(state, &SESSIONS, sender, body).await
}

/// A deploy upserts its release. The release id is derived from the project
/// and the release name, so ingest can answer with it before the processor
/// has written the row, and every writer of that release agrees on it.
pub async fn post_deploy(State(state): State<AppState>, sender: Sender, body: Body) -> Result<Response, IngestError> {
    let caller = admit(&state, &sender, QueryToken::Refused).await?;
    let received_at = received_now();
    let bytes = body::read_decoded(&sender.headers, body, JSON_LIMIT).await?;
    let deploy = sentori_protocol::validate_deploy(body::parse_json(&bytes)?, received_at).map_err(IngestError::ValidationFailed)?;
    let deploy_at = deploy.deployed_at.unwrap_or(received_at);
    let deploy_at_text = deploy_at.format(&Rfc3339).unwrap_or_default();
    let release_id = sentori_protocol::release_id(caller.token.project_id, &deploy.release);
    let payload = json!({
        "release": deploy.release,
        "environment": deploy.environment,
        "deployedAt": deploy_at_text,
    });
    let envelope = envelope(&caller, ItemKind::Deploy, sdk_of(&sender.headers), received_at, Payload::from_value(&payload));
    append(&state, Stream::Deploys, PartitionKey::of(caller.token.project_id, release_id), &[envelope]).await?;
    let body = json!({"release": deploy.release, "deployAt": deploy_at_text, "releaseId": release_id});
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// Unknown `/v1/*` paths answer in the protocol's error shape too.
pub async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, axum::Json(ErrorBody::new("notFound", "No such endpoint"))).into_response()
}

pub async fn method_not_allowed() -> Response {
    (StatusCode::METHOD_NOT_ALLOWED, axum::Json(ErrorBody::new("methodNotAllowed", "Use POST"))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validated(body: &str) -> Validated<'_> {
        let received_at = time::macros::datetime!(2026-11-26 12:00 UTC);
        (EVENTS.validate)(body::parse_json(body.as_bytes()).unwrap(), received_at).unwrap()
    }

    const EVENT: &str = r#"{ "id": "0193a0a0-0000-7000-8000-000000000001", "timestamp": "2026-11-26T10:00:00Z",
        "kind": "error", "platform": "javascript", "release": "1.0", "environment": "prod",
        "device": {"os": "android", "osVersion": "14", "model": "Pixel 8", "locale": "en-GB", "installId": "i-1"},
        "app": {"version": "1.2.0", "build": "456"},
        "error": {"type": "E", "message": "m", "stack": []}, "fromTheFuture": 1.50 }"#;

    #[test]
    fn an_unchanged_body_is_queued_as_the_text_it_came_in() {
        let item = validated(EVENT);
        assert!(!item.changed);
        assert_eq!(queued_payload(&item, EVENT.as_bytes()).as_str(), EVENT);
    }

    #[test]
    fn a_trimmed_body_is_queued_as_the_validated_tree() {
        let body = EVENT.replace(r#""fromTheFuture""#, r#""_meta": {"forged": true}, "fromTheFuture""#);
        let item = validated(&body);
        assert!(item.changed, "a client's _meta is removed");
        let queued = queued_payload(&item, body.as_bytes()).value().unwrap();
        assert_eq!(queued, serde_json::to_value(&item.payload).unwrap());
        assert!(queued.get("_meta").is_none());
    }

    #[test]
    fn a_nul_in_any_string_is_queued_as_the_replacement_character() {
        let body = EVENT.replace(r#""message": "m""#, r#""message": "a\u0000b", "x\u0000": "\u0000""#);
        let item = validated(&body);
        let queued = queued_payload(&item, body.as_bytes());
        assert!(!queued.as_str().contains("\\u0000"), "{}", queued.as_str());
        let queued = queued.value().unwrap();
        assert_eq!(queued["error"]["message"], "a\u{FFFD}b");
        assert_eq!(queued["error"]["x\u{FFFD}"], "\u{FFFD}", "keys and values alike");
    }
}
