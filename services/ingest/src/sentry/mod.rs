//! Sentry SDKs, unchanged: `POST /api/<project number>/envelope/` and the
//! legacy `/store/` (protocol.md, "Sentry ingest").
//!
//! Everything here is translation. Items become Sentori's model types, are
//! serialised, and then go through the very validation, trimming, quota and
//! queue path of `/v1` ([`crate::routes`]), so limits and idempotency are
//! the same whichever protocol an SDK speaks.

mod attachment;
mod envelope;
mod event;
mod exception_tree;
mod key;
mod limits;
mod session;
mod transaction;
mod values;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_ENCODING;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Serialize;
use serde_json::{Map, Value, json};
use sentori_protocol::FieldError;
use sentori_queue::Payload;
use sentori_store::quotas::Category;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Caller, Sender, authenticate_token};
use crate::body::{self, JSON_LIMIT};
use crate::error::IngestError;
use crate::routes::{self, EVENTS, ItemRoute, SESSIONS, SPANS, Unqueueable};

pub use envelope::{SplitError, split};

/// The largest decoded envelope: an event at the `/v1` limit plus a
/// transaction, sessions and the attachments that are dropped (see
/// protocol.md). Each event or transaction is still held to `JSON_LIMIT`.
pub const ENVELOPE_LIMIT: usize = 8 * 1024 * 1024;

/// The Sentry routes, CORS included (on errors too).
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/{*rest}", post(post_api))
        .layer(axum::middleware::from_fn_with_state(crate::cors::SENTRY, crate::cors::cors))
        .with_state(state);
    sentori_runtime::instrument_http(api, "ingest")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Envelope,
    Store,
}

/// `<number>/envelope` or `<number>/store`, however many slashes.
fn parse_path(rest: &str) -> Option<(i64, Endpoint)> {
    let mut segments = rest.split('/').filter(|s| !s.is_empty());
    let number: i64 = segments.next()?.parse().ok().filter(|n| *n >= 1)?;
    let endpoint = match segments.next()? {
        "envelope" => Endpoint::Envelope,
        "store" => Endpoint::Store,
        _ => return None,
    };
    segments.next().is_none().then_some((number, endpoint))
}

async fn post_api(State(state): State<AppState>, Path(rest): Path<String>, sender: Sender, body: Body) -> Response {
    match accept(&state, &rest, sender, body).await {
        Ok(response) => response,
        Err(failure) => limits::error_response(failure),
    }
}

/// Why a whole request failed; a quota names the categories it stops.
pub enum Failure {
    Ingest(IngestError),
    Quota { reset_at: OffsetDateTime, categories: Vec<Category> },
}

impl From<IngestError> for Failure {
    fn from(err: IngestError) -> Self {
        Failure::Ingest(err)
    }
}

async fn accept(state: &AppState, rest: &str, mut sender: Sender, body: Body) -> Result<Response, Failure> {
    let (number, endpoint) = parse_path(rest).ok_or(IngestError::NoSuchProject)?;
    // Old SDKs send junk (or empty) Content-Encoding values for plain bodies.
    let known = sender.headers.get(CONTENT_ENCODING).and_then(|v| v.to_str().ok()).is_some_and(|e| {
        matches!(e.trim().to_ascii_lowercase().as_str(), "gzip" | "x-gzip" | "deflate" | "br" | "zstd")
    });
    if !known {
        sender.headers.remove(CONTENT_ENCODING);
    }
    let query = sender.uri.query().map(str::to_owned);
    let presented = key::from_request(query.as_deref(), &sender.headers);
    let limit = match endpoint {
        Endpoint::Envelope => ENVELOPE_LIMIT,
        Endpoint::Store => JSON_LIMIT,
    };
    let read = body::read_decoded(&sender.headers, body, limit);
    let (caller, bytes) = match presented {
        Some(presented) => {
            let caller = authenticate_token(state, sender.client, presented.key, presented.from_query).await?;
            check_project(&caller, number)?;
            let (limited, bytes) = tokio::join!(routes::rate_limit(state, &caller), read);
            limited?;
            (caller, bytes?)
        }
        None => {
            let bytes = read.await?;
            let dsn = match endpoint {
                Endpoint::Envelope => envelope_dsn(&bytes),
                Endpoint::Store => None,
            };
            let Some((key, _)) = dsn else {
                return Err(IngestError::Unauthorized {
                    hint: "send the DSN's key as ?sentry_key=, X-Sentry-Auth: Sentry sentry_key=… or Authorization: Bearer",
                }
                .into());
            };
            let caller = authenticate_token(state, sender.client, key, false).await?;
            check_project(&caller, number)?;
            routes::rate_limit(state, &caller).await?;
            (caller, bytes)
        }
    };
    let received_at = routes::received_now();
    let sdk = key::client(query.as_deref(), &sender.headers);
    let mut batch = Batch::default();
    match endpoint {
        Endpoint::Envelope => {
            let envelope = envelope::split(&bytes).map_err(|e| IngestError::InvalidJson(e.to_string()))?;
            let header_event_id = envelope.header.get("event_id").and_then(event::event_id);
            batch.sdk = sdk.or_else(|| sdk_of(envelope.header.get("sdk")));
            batch.response_id = header_event_id;
            for (index, item) in envelope.items.iter().enumerate() {
                if item.item_type == "attachment" {
                    batch.add_attachment(&item.header, item.payload, header_event_id);
                    continue;
                }
                batch.add_item(index, &item.item_type, item.payload, header_event_id, received_at);
            }
            if let Some(why) = envelope.broken {
                tracing::debug!(why, "an envelope was cut short");
                batch.failures.push(FieldError::new(format!("items[{}]", envelope.items.len()), why));
            }
        }
        Endpoint::Store => {
            let bytes = body::legacy_store_body(bytes, JSON_LIMIT)?;
            batch.sdk = sdk;
            let item_type = match serde_json::from_slice::<Value>(&bytes) {
                Ok(value) if value["type"] == "transaction" => "transaction",
                _ => "event",
            };
            batch.add_item(0, item_type, &bytes, None, received_at);
        }
    }
    batch.commit(state, &caller, received_at).await
}

fn check_project(caller: &Caller, number: i64) -> Result<(), IngestError> {
    if caller.token.project_number == number { Ok(()) } else { Err(IngestError::WrongProject) }
}

/// The envelope header's `dsn`: its key and project number.
fn envelope_dsn(bytes: &[u8]) -> Option<(String, Option<i64>)> {
    let envelope = envelope::split(bytes).ok()?;
    key::from_dsn(envelope.header.get("dsn")?.as_str()?)
}

fn sdk_of(sdk: Option<&Value>) -> Option<String> {
    let sdk = sdk?;
    let name = values::text_at(sdk, "name")?;
    Some(match values::text_at(sdk, "version") {
        Some(version) => format!("{name}/{version}"),
        None => name,
    })
}

/// What an envelope's items became, before any of it is queued.
#[derive(Default)]
struct Batch {
    events: Vec<(Uuid, Payload)>,
    spans: Vec<(Uuid, Payload)>,
    sessions: Vec<(Uuid, Payload)>,
    /// `attachment` items Sentori can show, stored with the envelope's event.
    attachments: Vec<PendingAttachment>,
    /// Why items were refused, by item (`items[2]…`).
    failures: Vec<FieldError>,
    sdk: Option<String>,
    /// The envelope's `event_id`, else the first event's or transaction's id.
    response_id: Option<Uuid>,
}

struct PendingAttachment {
    event_id: Uuid,
    kind: &'static str,
    media_type: String,
    bytes: Vec<u8>,
}

/// Item types kept as metric labels; any other is counted as `other`.
const KNOWN_TYPES: &[&str] = &[
    "event", "transaction", "span", "session", "sessions", "attachment", "client_report", "check_in", "profile",
    "profile_chunk", "replay_event", "replay_recording", "replay_video", "feedback", "user_report", "statsd",
    "metric_buckets", "log", "otel_log", "otel_span", "security", "raw_security", "nel", "form_data",
];

fn count(item_type: &str, outcome: &'static str) {
    let label = KNOWN_TYPES.iter().find(|t| **t == item_type).copied().unwrap_or("other");
    metrics::counter!("sentori_sentry_items_total", "type" => label, "outcome" => outcome).increment(1);
}

impl Batch {
    fn fail(&mut self, index: usize, message: impl Into<String>) {
        self.failures.push(FieldError::new(format!("items[{index}]"), message));
    }

    /// An attachment of the envelope's event, when it is a kind Sentori keeps.
    fn add_attachment(&mut self, header: &serde_json::Map<String, Value>, payload: &[u8], event_id: Option<Uuid>) {
        match (attachment::kind_of(header), event_id) {
            (Some((kind, media_type)), Some(event_id)) => {
                self.attachments.push(PendingAttachment { event_id, kind, media_type, bytes: payload.to_vec() });
            }
            _ => count("attachment", "dropped"),
        }
    }

    fn add_item(&mut self, index: usize, item_type: &str, payload: &[u8], header_event_id: Option<Uuid>, at: OffsetDateTime) {
        let before = self.failures.len();
        match item_type {
            "event" | "transaction" | "span" | "session" | "sessions" => {
                self.map_item(index, item_type, payload, header_event_id, at)
            }
            // Accepted and dropped (protocol.md, "Sentry ingest").
            _ => {
                count(item_type, "dropped");
                return;
            }
        }
        count(item_type, if self.failures.len() > before { "invalid" } else { "accepted" });
    }

    fn map_item(&mut self, index: usize, item_type: &str, payload: &[u8], header_event_id: Option<Uuid>, at: OffsetDateTime) {
        if payload.len() > JSON_LIMIT {
            return self.fail(index, format!("the item is larger than {JSON_LIMIT} bytes"));
        }
        let value: Value = match serde_json::from_slice(payload) {
            Ok(value @ Value::Object(_)) => value,
            Ok(_) => return self.fail(index, "the payload must be a JSON object"),
            Err(err) => return self.fail(index, format!("the payload is not valid JSON: {err}")),
        };
        match item_type {
            "event" if value["type"] != "transaction" => {
                let Value::Object(map) = value else { unreachable!("checked above") };
                let mapped = event::map_event(map, header_event_id, at);
                self.queue(index, &EVENTS, &mapped, at);
            }
            "event" | "transaction" => match transaction::map_transaction(&value, at) {
                Ok(spans) => {
                    if self.response_id.is_none() {
                        self.response_id = value.get("event_id").and_then(event::event_id).or(header_event_id);
                    }
                    for span in &spans {
                        self.queue_span(index, span, at);
                    }
                }
                Err(err) => self.fail(index, err.to_string()),
            },
            "span" => {
                for span in transaction::map_span_item(&value, at) {
                    match span {
                        Some(span) => self.queue_span(index, &span, at),
                        None => self.fail(index, "a span needs trace_id (32 hex) and span_id (16 hex)"),
                    }
                }
            }
            "session" => {
                if let Some(session) = session::map_session(&value, at) {
                    self.queue(index, &SESSIONS, &session, at);
                }
            }
            _ => {
                let (sessions, dropped) = session::map_aggregates(&value, at);
                if dropped > 0 {
                    tracing::debug!(dropped, "session aggregates past the cap were dropped");
                }
                for session in &sessions {
                    self.queue(index, &SESSIONS, session, at);
                }
            }
        }
    }

    /// Validates a mapped item exactly as `/v1` validates a body, and keeps it for queueing.
    fn queue<T: Serialize>(&mut self, index: usize, route: &ItemRoute, item: &T, at: OffsetDateTime) {
        self.keep(index, route, routes::queue_mapped(route, item, at));
    }

    fn queue_span(&mut self, index: usize, span: &sentori_model::Span, at: OffsetDateTime) {
        self.keep(index, &SPANS, routes::queue_mapped_span(span, at));
    }

    fn keep(&mut self, index: usize, route: &ItemRoute, queued: Result<(Uuid, Payload), Unqueueable>) {
        match queued {
            Ok((id, payload)) => {
                let target = match route.quota {
                    Some(Category::Events) => &mut self.events,
                    Some(Category::Spans) => &mut self.spans,
                    None => &mut self.sessions,
                };
                if route.quota == Some(Category::Events) && self.response_id.is_none() {
                    self.response_id = Some(id);
                }
                target.push((id, payload));
            }
            Err(Unqueueable::Invalid(details)) => {
                for detail in details {
                    self.fail(index, format!("{}: {}", detail.field, detail.message));
                }
            }
            Err(other) => self.fail(index, other.to_string()),
        }
    }

    /// Queues what was mapped, each kind against its own quota. A quota
    /// that is used up stops only its categories; the answer says which.
    async fn commit(mut self, state: &AppState, caller: &Caller, at: OffsetDateTime) -> Result<Response, Failure> {
        let mut queued = 0;
        let mut stopped: Vec<(OffsetDateTime, Category)> = Vec::new();
        for (route, items) in [(&EVENTS, self.events), (&SPANS, self.spans), (&SESSIONS, self.sessions)] {
            if items.is_empty() {
                continue;
            }
            match routes::charge_and_append(state, route, caller, self.sdk.clone(), at, items).await {
                Ok((accepted, refused)) => {
                    queued += accepted;
                    if refused > 0
                        && let Some(category) = route.quota
                    {
                        stopped.push((limits::next_month(), category));
                    }
                }
                Err(IngestError::QuotaExceeded { reset_at }) => {
                    stopped.push((reset_at, route.quota.unwrap_or(Category::Events)));
                }
                Err(err) => return Err(err.into()),
            }
        }
        let attachments = std::mem::take(&mut self.attachments);
        store_attachments(state, caller, attachments).await;
        if queued == 0 && !stopped.is_empty() {
            let reset_at = stopped.iter().map(|(at, _)| *at).min().unwrap_or_else(limits::next_month);
            return Err(Failure::Quota { reset_at, categories: stopped.into_iter().map(|(_, c)| c).collect() });
        }
        if queued == 0 && !self.failures.is_empty() {
            return Err(IngestError::ValidationFailed(self.failures).into());
        }
        if !self.failures.is_empty() {
            tracing::debug!(failures = ?self.failures, "some envelope items were refused");
        }
        let body = match self.response_id {
            Some(id) => json!({"id": id.simple().to_string()}),
            None => Value::Object(Map::new()),
        };
        let mut response = (StatusCode::OK, axum::Json(body)).into_response();
        if let Some(header) = limits::quota_header(&stopped) {
            response.headers_mut().insert(limits::RATE_LIMITS, header);
        }
        Ok(response)
    }
}

/// Stores attachments as `/v1` uploads are stored (per-event caps, daily
/// bytes quota). An attachment never fails its envelope: one that cannot be
/// stored (no storage configured, over a limit) is counted and dropped.
async fn store_attachments(state: &AppState, caller: &Caller, attachments: Vec<PendingAttachment>) {
    for pending in attachments {
        let Some(store) = state.attachments.as_ref() else {
            count("attachment", "dropped");
            continue;
        };
        let stored = async {
            let blob = crate::attachments::stage(store, &pending.bytes).await?;
            let attachment = crate::attachments::Attachment {
                event_id: pending.event_id,
                kind: pending.kind,
                media_type: &pending.media_type,
                source: None,
                captured_at: None,
            };
            crate::attachments::store_attachment(state, caller, store, blob, attachment).await
        };
        match stored.await {
            Ok(_) => count("attachment", "accepted"),
            Err(err) => {
                tracing::debug!(error = %err, "a Sentry attachment was not stored");
                count("attachment", "invalid");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_a_project_number_and_an_endpoint_however_many_slashes() {
        assert_eq!(parse_path("3/envelope").map(|(n, _)| n), Some(3));
        assert!(parse_path("3//store//").is_some_and(|(_, e)| e == Endpoint::Store));
        assert!(parse_path("/12/envelope/").is_some_and(|(n, e)| n == 12 && e == Endpoint::Envelope));
        for bad in ["0/envelope", "-1/store", "x/envelope", "3/events", "3", "3/envelope/more", ""] {
            assert!(parse_path(bad).is_none(), "{bad}");
        }
    }
}

#[cfg(test)]
mod arbitrary {
    //! Splitting and mapping never panic, whatever the bytes; the HTTP-level
    //! property (never a 5xx) is in tests/sentry.rs.

    use super::*;
    use proptest::prelude::*;

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
            "[a-z0-9_. %(){}:-]{0,12}".prop_map(Value::String),
            Just(json!("0af7651916cd43dd8448eb211c80319c")),
            Just(json!("b7ad6b7169203331")),
            Just(json!("2026-12-02T10:00:00Z")),
        ]
    }

    /// JSON trees whose keys are the ones the mapping reads, at any depth.
    fn tree() -> impl Strategy<Value = Value> {
        const KEYS: &[&str] = &[
            "exception", "values", "stacktrace", "frames", "mechanism", "handled", "type", "value", "lineno", "colno",
            "filename", "abs_path", "in_app", "pre_context", "message", "logentry", "params", "formatted", "tags",
            "contexts", "trace", "trace_id", "span_id", "parent_span_id", "os", "name", "version", "app", "runtime",
            "breadcrumbs", "user", "id", "timestamp", "start_timestamp", "spans", "sid", "status", "started",
            "duration", "aggregates", "exited", "crashed", "attrs", "release", "environment", "fingerprint", "data",
        ];
        scalar().prop_recursive(5, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(KEYS), inner), 0..6)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_split_without_panicking(body in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = split(&body);
        }

        #[test]
        fn arbitrary_payloads_map_without_panicking(
            payload in tree(),
            item_type in prop::sample::select(vec!["event", "transaction", "span", "session", "sessions"]),
        ) {
            let mut batch = Batch::default();
            let text = payload.to_string();
            batch.add_item(0, item_type, text.as_bytes(), None, routes::received_now());
            // Whatever was kept passed the /v1 validation.
            for (_, payload) in batch.events.iter().chain(&batch.spans).chain(&batch.sessions) {
                prop_assert!(payload.value().is_ok());
            }
        }
    }
}
