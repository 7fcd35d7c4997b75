//! The baseline for the ingest benchmark: a bare axum handler that parses
//! the same JSON and answers `202`, with nothing else (no token, limits,
//! validation or queue). Ingest's throughput is reported as a ratio of this.
//! `/v1/traces` likewise decodes the OTLP protobuf and answers OTLP's `200`.

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;

async fn accept(body: Bytes) -> (StatusCode, String) {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(value) => {
            let id = value["id"].as_str().unwrap_or_default().to_owned();
            (StatusCode::ACCEPTED, sentori_bench::accepted_body(&id))
        }
        Err(_) => (StatusCode::BAD_REQUEST, String::new()),
    }
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
        .route("/v1/traces", post(traces))
        .route("/healthz", axum::routing::get(|| async { "ok" }));
    axum::serve(listener, app).await.expect("serving");
}
