//! `POST /v1/traces` (protocol.md, "OTLP") over HTTP, against a real Valkey
//! and PostgreSQL: answers in OTLP's own shape, refusals per span, and the
//! same limits as `/v1/spans`.

use std::io::Write;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span};
use prost::Message;
use reqwest::StatusCode;
use sentori_protocol::DEV_PROJECT_ID;
use sentori_queue::{ItemKind, Stream};
use serde_json::{Value, json};

use crate::common;
use common::{Harness, start};

impl Harness {
    fn traces(&self, token: &str) -> reqwest::RequestBuilder {
        self.client.post(format!("{}/v1/traces", self.base)).bearer_auth(token)
    }
}

fn now_nanos() -> u64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as u64
}

fn otlp_span(id: u8, parent: Option<u8>) -> Span {
    let start = now_nanos() - 1_000_000_000;
    Span {
        trace_id: vec![9; 16],
        span_id: vec![id; 8],
        parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
        name: format!("work {id}"),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 2_000_000,
        ..Span::default()
    }
}

fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans, ..ScopeSpans::default() }],
            ..ResourceSpans::default()
        }],
    }
}

async fn export_response(response: reqwest::Response) -> ExportTraceServiceResponse {
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
    ExportTraceServiceResponse::decode(response.bytes().await.unwrap()).expect("an OTLP answer")
}

#[tokio::test]
async fn protobuf_spans_are_queued_and_a_bad_one_is_refused_in_partial_success() {
    let h = start(&[]).await;
    let mut bad = otlp_span(3, None);
    bad.span_id = vec![1, 2, 3];
    let body = request(vec![otlp_span(1, None), otlp_span(2, Some(1)), bad]).encode_to_vec();
    let response = h.traces(&h.stack.dev_token).header("content-type", "application/x-protobuf").body(body).send().await.unwrap();
    let answer = export_response(response).await;
    let partial = answer.partial_success.expect("a refused span is reported");
    assert_eq!(partial.rejected_spans, 1);
    assert!(partial.error_message.contains("spanId must be 8 bytes"), "{}", partial.error_message);

    let queued = h.queued(Stream::Spans).await;
    assert_eq!(queued.len(), 1, "one entry holds the request's spans");
    assert!(queued[0].kind == ItemKind::Spans && queued[0].project_id == DEV_PROJECT_ID);
    let spans = queued[0].items().unwrap();
    assert_eq!(spans.len(), 2);
    let child = spans.into_iter().find(|p| p["name"] == "work 2").unwrap();
    assert_eq!(child["parentSpanId"], sentori_model::ids::span_id([1; 8]).to_string());
    assert_eq!(child["traceId"], sentori_model::ids::trace_id([9; 16]).to_string());
    assert_eq!(child["op"], "otel.server");
}

#[tokio::test]
async fn json_with_gzip_and_the_sentori_token_header_answers_in_json() {
    let h = start(&[]).await;
    let start_ns = now_nanos() - 1_000_000;
    let body = json!({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "checkout",
         "startTimeUnixNano": start_ns, "endTimeUnixNano": (start_ns + 1_000_000).to_string(), "kind": 1,
         "status": {"code": 2, "message": "failed"},
         "events": [{"name": "exception", "timeUnixNano": start_ns.to_string(), "attributes": [
             {"key": "exception.type", "value": {"stringValue": "IOError"}},
             {"key": "exception.message", "value": {"stringValue": "disk full"}}]}]},
        {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "zz", "name": "broken"}
    ]}]}]});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.to_string().as_bytes()).unwrap();
    let response = h
        .client
        .post(format!("{}/v1/traces", h.base))
        .header("x-sentori-token", &h.stack.dev_token)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(gz.finish().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["partialSuccess"]["rejectedSpans"], "1", "{answer}");
    assert!(answer["partialSuccess"]["errorMessage"].as_str().unwrap().contains("\"zz\""), "{answer}");

    let span = h.queued_items(Stream::Spans).await.remove(0);
    assert_eq!((span["status"].as_str(), span["data"]["otel.status.message"].as_str()), (Some("error"), Some("failed")));
    let events = h.queued(Stream::Events).await;
    assert_eq!(events.len(), 1, "the exception event is an error event");
    let event = events[0].payload.value().unwrap();
    assert_eq!((event["error"]["type"].as_str(), event["spanId"].as_str()), (Some("IOError"), span["id"].as_str()));
}

#[tokio::test]
async fn undecodable_bodies_are_400_and_other_content_types_415() {
    let h = start(&[]).await;
    let send = |content_type: &'static str, body: &'static [u8]| {
        h.traces(&h.stack.dev_token).header("content-type", content_type).body(body).send()
    };
    let response = send("application/x-protobuf", b"\xff\xff\xff\xff").await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalidProtobuf");
    let response = send("application/json", b"{not json").await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "invalidJson");
    let response = send("text/xml", b"<spans/>").await.unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let response = h.client.post(format!("{}/v1/traces", h.base)).body(request(vec![]).encode_to_vec()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "a token is required");
    assert!(h.queued(Stream::Spans).await.is_empty());
}

#[tokio::test]
async fn the_monthly_span_quota_counts_each_span_then_answers_429() {
    let h = start(&[("SENTORI_SPAN_LIMIT_MONTHLY", "3")]).await;
    let token = h.public_token("otel").await;
    let send = |spans: Vec<Span>| h.traces(&token).body(request(spans).encode_to_vec()).send();
    let answer = export_response(send(vec![otlp_span(1, None), otlp_span(2, None)]).await.unwrap()).await;
    assert_eq!(answer.partial_success, None, "everything fitted");
    let answer = export_response(send(vec![otlp_span(3, None), otlp_span(4, None)]).await.unwrap()).await;
    let partial = answer.partial_success.unwrap();
    assert_eq!(partial.rejected_spans, 1, "one span was left in the month");
    assert!(partial.error_message.contains("quota"), "{}", partial.error_message);
    let refused = send(vec![otlp_span(5, None)]).await.unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(refused.json::<Value>().await.unwrap()["error"], "quotaExceeded");
    assert_eq!(h.queued_items(Stream::Spans).await.len(), 3);
}

#[tokio::test]
async fn a_full_span_backlog_answers_503_with_retry_after() {
    let h = start(&[("SENTORI_MAX_BACKLOG", "2")]).await;
    let send = || h.traces(&h.stack.dev_token).body(request(vec![otlp_span(1, None), otlp_span(2, None)]).encode_to_vec()).send();
    assert_eq!(send().await.unwrap().status(), StatusCode::OK);
    let response = sentori_testkit::eventually("ingest to refuse spans", Duration::from_secs(10), || async {
        let response = send().await.unwrap();
        (response.status() == StatusCode::SERVICE_UNAVAILABLE).then_some(response)
    })
    .await;
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "unavailable");
}

#[tokio::test]
async fn attribute_values_of_every_type_reach_the_queue_typed() {
    let h = start(&[]).await;
    let value = |v| Some(AnyValue { value: Some(v) });
    let mut span = otlp_span(7, None);
    span.attributes = vec![
        KeyValue { key: "http.request.method".into(), value: value(any_value::Value::StringValue("GET".into())) },
        KeyValue { key: "n".into(), value: value(any_value::Value::IntValue(-3)) },
        KeyValue { key: "list".into(), value: value(any_value::Value::ArrayValue(Default::default())) },
    ];
    span.kind = span::SpanKind::Client as i32;
    export_response(h.traces(&h.stack.dev_token).body(request(vec![span]).encode_to_vec()).send().await.unwrap()).await;
    let queued = h.queued_items(Stream::Spans).await.remove(0);
    assert_eq!(queued["op"], "http.client");
    assert_eq!(queued["tags"]["http.request.method"], "GET");
    assert_eq!(queued["data"]["n"], -3);
    assert_eq!(queued["data"]["list"], json!([]));
}
