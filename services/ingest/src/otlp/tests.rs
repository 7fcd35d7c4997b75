use super::*;
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span};
use proptest::prelude::*;

fn received_at() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn span(id: u8, parent: Option<u8>) -> Span {
    let start = (received_at().unix_timestamp_nanos() - 60_000_000_000) as u64;
    Span {
        trace_id: vec![7; 16],
        span_id: vec![id; 8],
        parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
        name: format!("span {id}"),
        start_time_unix_nano: start,
        end_time_unix_nano: start + 5_000_000,
        ..Span::default()
    }
}

fn request(spans: Vec<Span>) -> ExportTraceServiceRequest {
    let service = KeyValue {
        key: "service.name".into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue("api".into())) }),
    };
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource { attributes: vec![service], ..Resource::default() }),
            scope_spans: vec![ScopeSpans { spans, ..ScopeSpans::default() }],
            ..ResourceSpans::default()
        }],
    }
}

fn prepared(spans: Vec<Span>) -> Prepared {
    let bytes = request(spans).encode_to_vec();
    prepare(decode::decode(Format::Protobuf, &bytes).unwrap(), received_at())
}

#[test]
fn good_spans_are_queued_as_validated_sentori_spans() {
    let out = prepared(vec![span(1, None), span(2, Some(1))]);
    assert_eq!((out.spans.len(), out.rejected, out.events.len()), (2, 0, 0));
    let child = out.spans[1].1.value().unwrap();
    assert_eq!(child["parentSpanId"], sentori_model::ids::span_id([1; 8]).to_string());
    assert_eq!(child["tags"]["service.name"], "api");
    assert_eq!(child["durationMs"], 5);
}

#[test]
fn a_malformed_span_is_refused_alone_with_its_reason() {
    let mut bad_id = span(3, None);
    bad_id.trace_id = vec![1, 2, 3];
    let mut too_long = span(4, None);
    too_long.end_time_unix_nano = too_long.start_time_unix_nano + 90_000_000_000_000;
    let out = prepared(vec![span(1, None), bad_id, too_long]);
    assert_eq!((out.spans.len(), out.rejected), (1, 2));
    assert!(out.reasons[0].contains("0303030303030303") && out.reasons[0].contains("traceId"), "{:?}", out.reasons);
    assert!(out.reasons[1].contains("durationMs"), "the /v1/spans validator's own message: {:?}", out.reasons);
}

#[test]
fn an_exception_event_is_queued_as_a_validated_error_event() {
    let mut failing = span(5, None);
    let attribute = |key: &str, value: &str| KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.into())) }),
    };
    failing.events = vec![span::Event {
        name: "exception".into(),
        time_unix_nano: failing.start_time_unix_nano + 1,
        attributes: vec![attribute("exception.type", "KeyError"), attribute("exception.message", "cart")],
        dropped_attributes_count: 0,
    }];
    let out = prepared(vec![failing]);
    assert_eq!((out.spans.len(), out.events.len(), out.events_rejected), (1, 1, 0));
    let event = out.events[0].1.value().unwrap();
    assert_eq!(event["error"]["type"], "KeyError");
    assert_eq!(event["spanId"], sentori_model::ids::span_id([5; 8]).to_string());
    assert_eq!(event["release"], "api@unknown");
}

#[test]
fn spans_over_the_request_maximum_are_refused_in_partial_success() {
    let spans = (0..MAX_SPANS + 3).map(|i| span((i % 250 + 1) as u8, None)).collect();
    let out = prepared(spans);
    assert_eq!((out.spans.len(), out.rejected), (MAX_SPANS, 3));
    assert_eq!(out.reasons.len(), 1, "one line per distinct reason");
}

#[test]
fn the_answer_is_an_export_response_in_the_request_encoding() {
    let out = prepared(vec![span(1, None), Span::default()]);
    let response = answer(Format::Protobuf, &out);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/x-protobuf");
    let decoded = ExportTraceServiceResponse::decode(body_of(response).as_slice()).unwrap();
    assert_eq!(decoded.partial_success.unwrap().rejected_spans, 1);
    let json = answer(Format::Json, &out);
    assert_eq!(json.headers()[header::CONTENT_TYPE], "application/json");
    let json: serde_json::Value = serde_json::from_slice(&body_of(json)).unwrap();
    assert_eq!(json["partialSuccess"]["rejectedSpans"], "1", "int64 as a decimal string, as the OTLP JSON mapping writes it");
    assert!(json["partialSuccess"]["errorMessage"].as_str().unwrap().contains("traceId"));
    let all_accepted = answer(Format::Json, &prepared(vec![span(1, None)]));
    assert!(all_accepted.status().is_success());
    assert_eq!(body_of(all_accepted), b"{}", "no partialSuccess when nothing was refused");
}

fn body_of(response: Response) -> Vec<u8> {
    let bytes = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
        .unwrap();
    bytes.to_vec()
}

#[test]
fn reasons_are_bounded_whatever_a_decoder_quotes_back() {
    let huge = "x".repeat(100_000);
    let body = format!(r#"{{"resourceSpans": [{{"scopeSpans": [{{"spans": [{{"spanId": "{huge}", "name": 7}}]}}]}}]}}"#);
    let out = prepare(decode::decode(Format::Json, body.as_bytes()).unwrap(), received_at());
    assert_eq!(out.rejected, 1);
    assert!(out.reasons[0].chars().count() <= MAX_REASON_CHARS + 1, "{}", out.reasons[0].len());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Whatever the bytes, decoding and mapping end in a 4xx or an answer: never a panic, never a 5xx.
    #[test]
    fn arbitrary_protobuf_never_panics_or_fails_as_a_server_error(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        match decode::decode(Format::Protobuf, &bytes) {
            Ok(decoded) => {
                let out = prepare(decoded, received_at());
                prop_assert!(answer(Format::Protobuf, &out).status().is_success());
            }
            Err(err) => prop_assert!(err.into_response().status().is_client_error()),
        }
    }

    /// Valid messages with arbitrary field values: every span is either queued or refused with a reason.
    #[test]
    fn arbitrary_spans_are_queued_or_refused_never_lost(
        trace in proptest::collection::vec(any::<u8>(), 0..20),
        id in proptest::collection::vec(any::<u8>(), 0..10),
        parent in proptest::collection::vec(any::<u8>(), 0..10),
        name in ".{0,300}",
        kind in any::<i32>(),
        start in any::<u64>(),
        end in any::<u64>(),
    ) {
        let otlp = Span { trace_id: trace, span_id: id, parent_span_id: parent, name, kind, start_time_unix_nano: start,
                          end_time_unix_nano: end, ..Span::default() };
        let out = prepared(vec![otlp]);
        prop_assert_eq!(out.spans.len() + out.rejected, 1);
        prop_assert_eq!(out.reasons.len(), out.rejected);
    }

    /// Random JSON-ish bytes through the JSON path: a 4xx or an answer.
    #[test]
    fn arbitrary_json_never_panics(text in r#"\{"resourceSpans": ?\[.{0,200}"#) {
        match decode::decode(Format::Json, text.as_bytes()) {
            Ok(decoded) => { prepare(decoded, received_at()); }
            Err(err) => prop_assert!(err.into_response().status().is_client_error()),
        }
    }
}
