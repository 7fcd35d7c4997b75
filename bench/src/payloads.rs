//! Realistic SDK payloads for the benchmarks.

use bytes::Bytes;
use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::{Value, json};

const FUNCTIONS: [&str; 8] = ["render", "commit", "fetchCart", "applyCoupon", "onPress", "navigate", "parse", "reduce"];
const FILES: [&str; 6] = ["src/cart.ts", "src/api/client.ts", "src/screens/Checkout.tsx", "src/store.ts", "src/util/date.ts", "src/App.tsx"];

/// One error event like a mobile or web SDK sends: 10 frames, 20
/// breadcrumbs, tags, device and user. `issue` picks one of the distinct
/// bugs (its error type and top frames), and `anr` makes it a hang.
pub fn event(issue: usize, anr: bool) -> Value {
    let mut rng = rand::rng();
    let frames: Vec<Value> = (0..10)
        .map(|i| {
            let function = FUNCTIONS[(issue + i) % FUNCTIONS.len()];
            json!({
                "file": FILES[(issue / 7 + i) % FILES.len()],
                "line": 10 + (issue * 13 + i * 7) % 400,
                "column": 1 + i * 3,
                "function": format!("{function}{}", if i < 2 { issue.to_string() } else { String::new() }),
                "inApp": i < 6
            })
        })
        .collect();
    let breadcrumbs: Vec<Value> = (0..20)
        .map(|i| {
            let kind = ["nav", "net", "log", "user"][i % 4];
            json!({"timestamp": "2026-11-26T10:00:00Z", "type": kind, "data": {"n": i, "url": "/api/items?page=2"}})
        })
        .collect();
    json!({
        "id": uuid::Uuid::now_v7(),
        "timestamp": time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap(),
        "kind": if anr { "anr" } else { "error" },
        "platform": "javascript",
        "release": format!("shop@1.{}.0+{}", issue % 5, issue % 3),
        "environment": *["prod", "staging"].choose(&mut rng).unwrap(),
        "device": {"os": "android", "osVersion": "14", "model": "Pixel 8", "locale": "en-GB", "installId": format!("i-{}", rng.random_range(0..5000))},
        "app": {"version": "1.2.0", "build": "456", "framework": {"name": "react-native", "version": "0.76"}},
        "user": {"id": format!("user-{}", rng.random_range(0..2000))},
        "tags": {"screen": "checkout", "region": "eu-west", "plan": "pro"},
        "breadcrumbs": breadcrumbs,
        "error": {
            "type": format!("Error{}", issue % 40),
            "message": format!("Request {} failed with status {}", rng.random_range(0..100000), 500 + issue % 4),
            "stack": frames
        }
    })
}

/// `count` encoded events over `issues` distinct bugs, 5 % of them ANRs.
pub fn events(count: usize, issues: usize) -> Vec<Value> {
    let mut rng = rand::rng();
    (0..count).map(|_| event(rng.random_range(0..issues), rng.random_bool(0.05))).collect()
}

/// `count` OTLP `ExportTraceServiceRequest`s as protobuf, each one trace of
/// `spans` spans as an instrumented backend exports them: a server span,
/// then HTTP client, database and internal children with the usual attributes.
pub fn otlp_requests(count: usize, spans: usize) -> Vec<Bytes> {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value as Any};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span::SpanKind};
    use prost::Message;

    let kv = |key: &str, value: Any| KeyValue { key: key.to_owned(), value: Some(AnyValue { value: Some(value) }) };
    let text = |key: &str, value: &str| kv(key, Any::StringValue(value.to_owned()));
    let mut rng = rand::rng();
    let now = time::OffsetDateTime::now_utc().unix_timestamp_nanos() as u64;
    (0..count)
        .map(|_| {
            let trace_id: [u8; 16] = rng.random();
            let root_id: [u8; 8] = rng.random();
            let start = now - 5_000_000_000;
            let spans = (0..spans)
                .map(|i| {
                    let id: [u8; 8] = if i == 0 { root_id } else { rng.random() };
                    let (kind, attributes) = match i % 4 {
                        0 => (SpanKind::Server, vec![
                            text("http.request.method", "GET"), text("http.route", "/api/cart/{id}"),
                            kv("http.response.status_code", Any::IntValue(200)), text("url.path", "/api/cart/42"),
                        ]),
                        1 => (SpanKind::Client, vec![
                            text("db.system", "postgresql"), text("db.namespace", "shop"),
                            text("db.query.text", "SELECT id, sku, qty FROM cart_items WHERE cart_id = $1"),
                        ]),
                        2 => (SpanKind::Client, vec![
                            text("http.request.method", "POST"), text("server.address", "payments.internal"),
                            kv("http.response.status_code", Any::IntValue(201)),
                        ]),
                        _ => (SpanKind::Internal, vec![text("code.function", "render_cart"), kv("items", Any::IntValue(3))]),
                    };
                    Span {
                        trace_id: trace_id.to_vec(),
                        span_id: id.to_vec(),
                        parent_span_id: if i == 0 { Vec::new() } else { root_id.to_vec() },
                        name: format!("span {i}"),
                        kind: kind as i32,
                        start_time_unix_nano: start + i as u64 * 1_000_000,
                        end_time_unix_nano: start + i as u64 * 1_000_000 + 800_000,
                        attributes,
                        status: (i % 50 == 49).then(|| Status { code: 2, message: "timeout".into() }),
                        ..Span::default()
                    }
                })
                .collect();
            let resource = Resource {
                attributes: vec![
                    text("service.name", "cart-api"), text("service.version", "2.3.1"),
                    text("deployment.environment.name", "prod"), text("telemetry.sdk.language", "go"),
                    text("host.name", "cart-api-7f9c"),
                ],
                ..Resource::default()
            };
            let scope = InstrumentationScope { name: "net/http".into(), version: "0.52.0".into(), ..InstrumentationScope::default() };
            let request = ExportTraceServiceRequest {
                resource_spans: vec![ResourceSpans {
                    resource: Some(resource),
                    scope_spans: vec![ScopeSpans { scope: Some(scope), spans, ..ScopeSpans::default() }],
                    ..ResourceSpans::default()
                }],
            };
            Bytes::from(request.encode_to_vec())
        })
        .collect()
}

pub fn encoded(values: &[Value]) -> Vec<Bytes> {
    values.iter().map(|v| Bytes::from(serde_json::to_vec(v).expect("JSON"))).collect()
}

/// Where [`id_first`] bodies hold their id's 36 characters.
pub const ID_AT: usize = r#"{"id":""#.len();

/// Events encoded with their `id` first, at [`ID_AT`], so the load
/// generator can give each request a new one (`Target::fresh_ids`).
pub fn id_first(values: &[Value]) -> Vec<Bytes> {
    values
        .iter()
        .map(|v| {
            let mut rest = v.clone();
            let id = rest.as_object_mut().and_then(|o| o.remove("id")).and_then(|id| id.as_str().map(str::to_owned));
            let id = id.expect("an event with a string id");
            let rest = serde_json::to_string(&rest).expect("JSON");
            let body = format!("{{\"id\":\"{id}\",{}", &rest[1..]);
            assert_eq!(&body[ID_AT..ID_AT + 36], id, "a hyphenated UUID");
            Bytes::from(body)
        })
        .collect()
}

/// [`event`] as a Sentry SDK sends it: one envelope with one `event` item
/// (exception values oldest first, frames oldest call first, epoch time).
pub fn sentry_envelope(issue: usize) -> Bytes {
    let mut rng = rand::rng();
    let frames: Vec<Value> = (0..10)
        .rev()
        .map(|i| {
            let function = FUNCTIONS[(issue + i) % FUNCTIONS.len()];
            json!({
                "filename": FILES[(issue / 7 + i) % FILES.len()],
                "lineno": 10 + (issue * 13 + i * 7) % 400,
                "colno": 1 + i * 3,
                "function": format!("{function}{}", if i < 2 { issue.to_string() } else { String::new() }),
                "in_app": i < 6
            })
        })
        .collect();
    let breadcrumbs: Vec<Value> = (0..20)
        .map(|i| {
            let kind = ["navigation", "http", "default", "user"][i % 4];
            json!({"timestamp": 1_796_205_600.0 + i as f64, "type": kind, "data": {"n": i, "url": "/api/items?page=2"}})
        })
        .collect();
    let event_id = uuid::Uuid::new_v4().simple().to_string();
    let event = json!({
        "event_id": event_id,
        "timestamp": time::OffsetDateTime::now_utc().unix_timestamp() as f64,
        "platform": "javascript",
        "level": "error",
        "release": format!("shop@1.{}.0+{}", issue % 5, issue % 3),
        "environment": *["prod", "staging"].choose(&mut rng).unwrap(),
        "contexts": {"os": {"name": "Android", "version": "14"}, "device": {"model": "Pixel 8"},
                     "app": {"app_version": "1.2.0", "app_build": "456"}},
        "user": {"id": format!("user-{}", rng.random_range(0..2000))},
        "tags": {"screen": "checkout", "region": "eu-west", "plan": "pro"},
        "breadcrumbs": {"values": breadcrumbs},
        "exception": {"values": [{
            "type": format!("Error{}", issue % 40),
            "value": format!("Request {} failed with status {}", rng.random_range(0..100000), 500 + issue % 4),
            "mechanism": {"type": "generic", "handled": true},
            "stacktrace": {"frames": frames}
        }]}
    })
    .to_string();
    let envelope = format!(
        "{{\"event_id\":\"{event_id}\",\"sdk\":{{\"name\":\"sentry.javascript.react-native\",\"version\":\"6.0.0\"}}}}\n\
         {{\"type\":\"event\",\"length\":{}}}\n{event}\n",
        event.len()
    );
    Bytes::from(envelope)
}

/// `count` envelopes over `issues` distinct bugs.
pub fn sentry_envelopes(count: usize, issues: usize) -> Vec<Bytes> {
    let mut rng = rand::rng();
    (0..count).map(|_| sentry_envelope(rng.random_range(0..issues))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_first_bodies_are_the_same_events_with_the_id_where_the_generator_rewrites_it() {
        let events = events(3, 2);
        for (body, event) in id_first(&events).iter().zip(&events) {
            assert!(body.starts_with(br#"{"id":""#));
            assert_eq!(&serde_json::from_slice::<Value>(body).unwrap(), event);
        }
    }

    #[test]
    fn a_sentry_envelope_holds_one_event_item_of_its_stated_length() {
        let envelope = sentry_envelope(7);
        let text = std::str::from_utf8(&envelope).unwrap();
        let mut lines = text.splitn(3, '\n');
        let header: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        let item: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
        let payload = lines.next().unwrap().strip_suffix('\n').unwrap();
        assert_eq!(item["type"], "event");
        assert_eq!(item["length"].as_u64().unwrap() as usize, payload.len());
        let event: Value = serde_json::from_str(payload).unwrap();
        assert_eq!(event["event_id"], header["event_id"]);
        assert_eq!(event["exception"]["values"][0]["stacktrace"]["frames"].as_array().unwrap().len(), 10);
    }
}
