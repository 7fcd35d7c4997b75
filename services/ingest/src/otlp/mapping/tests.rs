use super::*;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList};
use opentelemetry_proto::tonic::trace::v1::Status;

const TRACE: [u8; 16] = [0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c];
const SPAN: [u8; 8] = [0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74];
const PARENT: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];
const START: u64 = 1_795_000_000_123_456_789;

fn kv(key: &str, value: Any) -> KeyValue {
    KeyValue { key: key.to_owned(), value: Some(AnyValue { value: Some(value) }) }
}

fn text(key: &str, value: &str) -> KeyValue {
    kv(key, Any::StringValue(value.to_owned()))
}

fn context() -> Context {
    let resource = Resource {
        attributes: vec![
            text("service.name", "checkout"),
            text("service.version", "2.1.0"),
            text("deployment.environment.name", "staging"),
            text("telemetry.sdk.language", "python"),
            text("telemetry.sdk.name", "opentelemetry"),
            text("telemetry.sdk.version", "1.30.0"),
            text("os.type", "linux"),
            text("shared", "from the resource"),
        ],
        ..Resource::default()
    };
    let scope = InstrumentationScope {
        name: "shop.orders".into(),
        version: "0.3".into(),
        attributes: vec![text("shared", "from the scope"), text("scope.only", "s")],
        ..InstrumentationScope::default()
    };
    Context::new(Some(&resource), Some(&scope))
}

fn otlp_span() -> OtlpSpan {
    OtlpSpan {
        trace_id: TRACE.to_vec(),
        span_id: SPAN.to_vec(),
        parent_span_id: PARENT.to_vec(),
        name: "GET /cart".into(),
        kind: SpanKind::Server as i32,
        start_time_unix_nano: START,
        end_time_unix_nano: START + 12_600_000,
        attributes: vec![kv("http.request.method", Any::StringValue("GET".into())), text("shared", "from the span")],
        ..OtlpSpan::default()
    }
}

#[test]
fn ids_times_and_kind_map_to_the_sentori_span() {
    let mapped = map_span(&context(), &otlp_span()).unwrap();
    let span = mapped.span;
    assert_eq!(span.trace_id, ids::trace_id(TRACE));
    assert_eq!(span.id, ids::span_id(SPAN));
    assert_eq!(span.parent_span_id, Some(ids::span_id(PARENT)));
    assert_eq!(span.trace_id.simple().to_string(), "5b8efff798038103d269b633813fc60c", "the W3C id is readable back");
    assert_eq!(span.started_at, OffsetDateTime::from_unix_timestamp_nanos(i128::from(START)).unwrap());
    assert_eq!(span.duration_ms, 13, "12.6 ms rounds to 13");
    assert_eq!((span.op.as_str(), span.name.as_str(), &span.status), ("http.server", "GET /cart", &SpanStatus::Ok));
    let data = span.data.unwrap();
    assert_eq!(data["otel.kind"], "server");
    assert_eq!(data["otel.scope.name"], "shop.orders");
    assert_eq!(data["shared"], "from the span", "span attributes win over scope and resource ones");
    assert_eq!(data["scope.only"], "s");
    assert!(mapped.exceptions.is_empty());
}

#[test]
fn service_and_other_well_known_attributes_become_tags() {
    let span = map_span(&context(), &otlp_span()).unwrap().span;
    assert_eq!(span.tags["service.name"], "checkout");
    assert_eq!(span.tags["service.version"], "2.1.0");
    assert_eq!(span.tags["deployment.environment.name"], "staging");
    assert_eq!(span.tags["http.request.method"], "GET");
    let data = span.data.unwrap();
    assert!(!data.contains_key("service.name"), "a tag is not repeated in data");
    assert!(!data.contains_key("http.request.method"));
}

#[test]
fn every_attribute_value_type_is_kept_typed_in_data() {
    let mut otlp = otlp_span();
    otlp.attributes = vec![
        text("s", "x"),
        kv("b", Any::BoolValue(false)),
        kv("i", Any::IntValue(i64::MAX)),
        kv("d", Any::DoubleValue(0.25)),
        kv("bytes", Any::BytesValue(vec![0, 255])),
        kv("array", Any::ArrayValue(ArrayValue { values: vec![AnyValue { value: Some(Any::BoolValue(true)) }] })),
        kv("kvlist", Any::KvlistValue(KeyValueList { values: vec![kv("k", Any::IntValue(-1))] })),
        KeyValue { key: "empty".into(), value: Some(AnyValue { value: None }) },
        // A structured value under a tag key is data, not a tag.
        kv("http.route", Any::ArrayValue(ArrayValue::default())),
    ];
    let span = map_span(&context(), &otlp).unwrap().span;
    let data = Value::Object(span.data.unwrap());
    assert_eq!(data["s"], "x");
    assert_eq!(data["b"], false);
    assert_eq!(data["i"], i64::MAX);
    assert_eq!(data["d"], 0.25);
    assert_eq!(data["bytes"], "AP8=");
    assert_eq!(data["array"], json!([true]));
    assert_eq!(data["kvlist"], json!({"k": -1}));
    assert_eq!(data["empty"], Value::Null);
    assert_eq!(data["http.route"], json!([]));
    assert!(!span.tags.contains_key("http.route"));
}

#[test]
fn malformed_ids_and_times_reject_the_span() {
    let cases: [(fn(&mut OtlpSpan), Rejection); 7] = [
        (|s| s.trace_id = vec![1; 15], Rejection::TraceId(15)),
        (|s| s.trace_id = vec![0; 16], Rejection::TraceId(16)),
        (|s| s.span_id.clear(), Rejection::SpanId(0)),
        (|s| s.span_id = vec![0; 8], Rejection::SpanId(8)),
        (|s| s.parent_span_id = vec![1; 9], Rejection::ParentSpanId(9)),
        (|s| s.start_time_unix_nano = 0, Rejection::StartTime),
        (|s| s.end_time_unix_nano = START - 1, Rejection::EndTime),
    ];
    for (break_it, expected) in cases {
        let mut otlp = otlp_span();
        break_it(&mut otlp);
        assert_eq!(map_span(&context(), &otlp).unwrap_err(), expected);
    }
    let mut root = otlp_span();
    root.parent_span_id.clear();
    assert_eq!(map_span(&context(), &root).unwrap().span.parent_span_id, None, "an empty parent is a root");
}

#[test]
fn status_error_and_its_message_are_kept() {
    let mut otlp = otlp_span();
    otlp.status = Some(Status { code: StatusCode::Error as i32, message: "payment declined".into() });
    let span = map_span(&context(), &otlp).unwrap().span;
    assert_eq!(span.status, SpanStatus::Error);
    assert_eq!(span.data.unwrap()["otel.status.message"], "payment declined");
    otlp.status = Some(Status { code: StatusCode::Ok as i32, message: String::new() });
    assert_eq!(map_span(&context(), &otlp).unwrap().span.status, SpanStatus::Ok);
}

#[test]
fn op_follows_the_semantic_conventions_then_the_kind() {
    let op = |kind: SpanKind, key: &str| {
        let mut otlp = otlp_span();
        otlp.kind = kind as i32;
        otlp.attributes = if key.is_empty() { vec![] } else { vec![text(key, "x")] };
        map_span(&context(), &otlp).unwrap().span.op
    };
    assert_eq!(op(SpanKind::Client, "http.request.method"), "http.client");
    assert_eq!(op(SpanKind::Server, "http.method"), "http.server");
    assert_eq!(op(SpanKind::Client, "db.system"), "db.query");
    assert_eq!(op(SpanKind::Server, "rpc.system"), "rpc.server");
    assert_eq!(op(SpanKind::Producer, "messaging.system"), "queue.publish");
    assert_eq!(op(SpanKind::Consumer, "messaging.system"), "queue.process");
    assert_eq!(op(SpanKind::Internal, ""), "otel.internal");
    assert_eq!(op(SpanKind::Unspecified, ""), "otel.internal");
    assert_eq!(op(SpanKind::Producer, ""), "otel.producer");
}

#[test]
fn events_and_links_are_kept_in_data() {
    let mut otlp = otlp_span();
    otlp.events = vec![span::Event { time_unix_nano: START + 1_000, name: "cache.miss".into(), attributes: vec![text("key", "cart:1")], dropped_attributes_count: 0 }];
    otlp.links = vec![
        span::Link { trace_id: TRACE.to_vec(), span_id: PARENT.to_vec(), trace_state: "a=1".into(), attributes: vec![], dropped_attributes_count: 0, flags: 0 },
        span::Link { trace_id: vec![0xab; 3], span_id: vec![], ..span::Link::default() },
    ];
    let data = span_data(&otlp);
    assert_eq!(data["otel.events"][0]["name"], "cache.miss");
    assert_eq!(data["otel.events"][0]["attributes"]["key"], "cart:1");
    assert_eq!(data["otel.events"][0]["time"], "2026-11-18T11:06:40.123457789Z");
    assert_eq!(data["otel.links"][0]["spanId"], ids::span_id(PARENT).to_string());
    assert_eq!(data["otel.links"][0]["traceState"], "a=1");
    assert_eq!(data["otel.links"][1]["traceId"], "ababab", "a malformed link is kept as it came");
}

fn span_data(otlp: &OtlpSpan) -> Value {
    Value::Object(map_span(&context(), otlp).unwrap().span.data.unwrap())
}

#[test]
fn long_names_are_cut_and_empty_ones_named() {
    let mut otlp = otlp_span();
    otlp.name = "n".repeat(500);
    assert_eq!(map_span(&context(), &otlp).unwrap().span.name.len(), Limits::SPAN_NAME_MAX_CHARS);
    otlp.name.clear();
    assert_eq!(map_span(&context(), &otlp).unwrap().span.name, "(unnamed)");
}

#[test]
fn data_over_its_limit_is_squeezed_not_rejected() {
    let mut otlp = otlp_span();
    otlp.attributes = (0..40).map(|i| text(&format!("big.{i}"), &"x".repeat(2_000))).collect();
    otlp.attributes.push(text("small", "kept"));
    let data = span_data(&otlp);
    assert!(serde_json::to_vec(&data).unwrap().len() <= Limits::SPAN_DATA_MAX_BYTES);
    assert_eq!(data["small"], "kept");
    assert!(data["otel.truncated"].as_array().is_some_and(|dropped| !dropped.is_empty()));
    let cut = data.as_object().unwrap().iter().find(|(k, _)| k.starts_with("big.")).unwrap().1;
    assert_eq!(cut.as_str().unwrap().chars().count(), SQUEEZED_STRING_CHARS + 1, "long strings cut first");
}

#[test]
fn an_exception_event_becomes_an_error_event_in_the_span() {
    let mut otlp = otlp_span();
    otlp.events = vec![
        span::Event { name: "log".into(), ..span::Event::default() },
        span::Event {
            time_unix_nano: START + 5_000_000,
            name: "exception".into(),
            attributes: vec![
                text("exception.type", "ValueError"),
                text("exception.message", "declined"),
                text("exception.stacktrace", "Traceback (most recent call last):\n  File \"/app/shop.py\", line 10, in pay\n    raise ValueError()\nValueError: declined"),
                kv("exception.escaped", Any::BoolValue(true)),
            ],
            dropped_attributes_count: 0,
        },
    ];
    let mapped = map_span(&context(), &otlp).unwrap();
    let [event] = &mapped.exceptions[..] else { panic!("one exception, got {:?}", mapped.exceptions) };
    assert_eq!(event.trace_id, Some(mapped.span.trace_id));
    assert_eq!(event.span_id, Some(mapped.span.id));
    assert_eq!(event.kind, EventKind::Error);
    let error = event.error.as_ref().unwrap();
    assert_eq!((error.error_type.as_str(), error.message.as_deref()), ("ValueError", Some("declined")));
    assert_eq!((error.stack[0].file.as_str(), error.stack[0].line, error.stack[0].function.as_deref()), ("/app/shop.py", 10, Some("pay")));
    assert_eq!(event.release, "checkout@2.1.0");
    assert_eq!(event.environment, "staging");
    assert_eq!(event.platform, "python");
    assert_eq!((event.device.os.as_str(), event.device.os_version.as_str()), ("linux", "unknown"));
    assert_eq!(event.app.version, "2.1.0");
    assert_eq!(event.tags["service.name"], "checkout");
    assert_eq!(event.timestamp, OffsetDateTime::from_unix_timestamp_nanos(i128::from(START + 5_000_000)).unwrap());
    let again = map_span(&context(), &otlp).unwrap();
    assert_eq!(again.exceptions[0].id, event.id, "a retried export names the same event");
}

#[test]
fn an_exception_without_a_resource_gets_the_documented_defaults() {
    let mut otlp = otlp_span();
    otlp.events = vec![span::Event { name: "exception".into(), attributes: vec![text("exception.stacktrace", "opaque")], ..span::Event::default() }];
    let mapped = map_span(&Context::new(None, None), &otlp).unwrap();
    let event = &mapped.exceptions[0];
    assert_eq!(event.release, format!("{DEFAULT_SERVICE}@{DEFAULT_VERSION}"));
    assert_eq!((event.environment.as_str(), event.platform.as_str()), (DEFAULT_ENVIRONMENT, DEFAULT_PLATFORM));
    assert_eq!(event.timestamp, mapped.span.started_at, "no event time: the span's start");
    let error = event.error.as_ref().unwrap();
    assert_eq!(error.error_type, "Error");
    assert!(error.stack.is_empty());
    assert_eq!(error.extra["stacktrace"], "opaque", "text with no frames is kept as it came");
}
