//! The baseline for the ingest benchmark: the floor of ingest's work. The
//! same allocator (mimalloc) and HTTP stack (axum on hyper, tokio's
//! multi-threaded runtime), the body read whole, and the cheapest parse that
//! still reads every byte, then the same answer. Nothing else: no token,
//! limits, validation or queue. Ingest's throughput is reported as a ratio
//! of this.
//!
//! - `/v1/events`: the JSON parsed with serde_json into a struct holding
//!   only the borrowed `id` (every other value is scanned and skipped, no
//!   tree is built), answered `202 {"id": …}`.
//! - `/api/1/envelope/`: every JSON value of the envelope (header, item
//!   headers, payloads) scanned the same way, answered `200 {"id": …}` with
//!   the header's `event_id`.
//! - `/v1/traces`: the OTLP protobuf decoded into the same generated types
//!   ingest uses (decoding is the cheapest full read of protobuf), answered
//!   with an empty `ExportTraceServiceResponse`.

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;
use serde::de::IgnoredAny;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Deserialize)]
struct WithId<'a> {
    #[serde(borrow)]
    id: Option<&'a str>,
}

#[derive(Deserialize)]
struct WithEventId<'a> {
    #[serde(borrow)]
    event_id: Option<&'a str>,
}

async fn accept(body: Bytes) -> (StatusCode, String) {
    match serde_json::from_slice::<WithId>(&body) {
        Ok(event) => (StatusCode::ACCEPTED, sentori_bench::accepted_body(event.id.unwrap_or_default())),
        Err(_) => (StatusCode::BAD_REQUEST, String::new()),
    }
}

async fn envelope(body: Bytes) -> (StatusCode, String) {
    let Some(header_end) = body.iter().position(|&b| b == b'\n') else {
        return (StatusCode::BAD_REQUEST, String::new());
    };
    let Ok(header) = serde_json::from_slice::<WithEventId>(&body[..header_end]) else {
        return (StatusCode::BAD_REQUEST, String::new());
    };
    // Item headers and payloads are whitespace-separated JSON values.
    for value in serde_json::Deserializer::from_slice(&body[header_end..]).into_iter::<IgnoredAny>() {
        if value.is_err() {
            return (StatusCode::BAD_REQUEST, String::new());
        }
    }
    (StatusCode::OK, sentori_bench::accepted_body(header.event_id.unwrap_or_default()))
}

async fn traces(body: Bytes) -> (StatusCode, Vec<u8>) {
    use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
    use prost::Message;
    match ExportTraceServiceRequest::decode(body) {
        Ok(request) => {
            let spans: usize = request.resource_spans.iter().flat_map(|r| &r.scope_spans).map(|s| s.spans.len()).sum();
            std::hint::black_box(spans);
            (StatusCode::OK, ExportTraceServiceResponse::default().encode_to_vec())
        }
        Err(_) => (StatusCode::BAD_REQUEST, Vec::new()),
    }
}

#[tokio::main]
async fn main() {
    let addr = std::env::var("BARE_ADDR").unwrap_or_else(|_| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("binding the bare server");
    println!("{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/v1/events", post(accept))
        .route("/api/1/envelope/", post(envelope))
        .route("/v1/traces", post(traces))
        .route("/healthz", axum::routing::get(|| async { "ok" }));
    axum::serve(listener, app).await.expect("serving");
}
