//! The property ingest and the processor promise together: whatever ingest
//! accepts, the processor stores (docs/protocol.md, "Limits: reject or
//! trim").
//!
//! Payloads are generated with proptest from the whole range each field's
//! type allows, well beyond what SDKs send: any RFC 3339 time from year 0
//! to 9999 with any offset, strings of any Unicode (NUL included) and any
//! length the body limit leaves room for, integers at their extremes, deep
//! cause chains, unknown fields of any JSON. Every generated payload is
//! structurally valid, so every one must be accepted; then every one must
//! be stored, and nothing dead-lettered. A failure prints the payloads that
//! were lost.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use redis::AsyncCommands;
use redis::streams::StreamRangeReply;
use serde_json::{Value, json};
use sentori_queue::Stream;
use sentori_testkit::TestStack;
use sqlx::PgPool;
use uuid::Uuid;

const PATIENCE: Duration = Duration::from_secs(120);

/// Any RFC 3339 time the format can spell, with or without fractions and offsets.
fn any_time() -> impl Strategy<Value = String> {
    let offset = prop_oneof![Just("Z".to_owned()), (any::<bool>(), 0..24u8, 0..60u8).prop_map(|(east, h, m)| format!("{}{h:02}:{m:02}", if east { '+' } else { '-' }))];
    let fraction = prop_oneof![Just(String::new()), "[0-9]{1,9}".prop_map(|digits| format!(".{digits}"))];
    let recent = (0..200_000_000i64).prop_map(|seconds_ago| {
        let at = time::OffsetDateTime::now_utc() - time::Duration::seconds(seconds_ago - 100_000_000);
        at.format(&time::format_description::well_known::Rfc3339).unwrap()
    });
    let anywhen = (0..=9999u16, 1..=12u8, 1..=28u8, 0..24u8, 0..60u8, 0..60u8, fraction, offset)
        .prop_map(|(y, mo, d, h, mi, s, f, o)| format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{f}{o}"));
    let edges = prop_oneof![
        Just("9999-12-31T23:59:59.999999999-23:59".to_owned()),
        Just("0000-01-01T00:00:00+23:59".to_owned()),
        Just("1969-12-31T23:59:59Z".to_owned()),
    ];
    prop_oneof![4 => recent, 4 => anywhen, 1 => edges]
}

/// Text of any Unicode, NUL included, short or long.
fn any_text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "\\PC{0,24}",
        1 => prop::collection::vec(any::<char>(), 0..64).prop_map(|chars| chars.into_iter().collect()),
        1 => (any::<char>(), 0..max).prop_map(|(c, n)| std::iter::repeat_n(c, n).collect()),
    ]
}

fn bounded_text(max_chars: usize) -> impl Strategy<Value = String> {
    any_text(max_chars).prop_map(move |text| {
        let text: String = text.chars().take(max_chars).collect();
        if text.is_empty() { "x".to_owned() } else { text }
    })
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()).prop_map(Value::from),
        any_text(300).prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            prop::collection::btree_map(any_text(20), inner, 0..8).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn frame() -> impl Strategy<Value = Value> {
    (any_text(500), 1..=i64::MAX, proptest::option::of(0..=i64::MAX), proptest::option::of(any_text(300)), any::<bool>())
        .prop_map(|(file, line, column, function, in_app)| json!({"file": file, "line": line, "column": column, "function": function, "inApp": in_app}))
}

fn error() -> impl Strategy<Value = Value> {
    let one = (any_text(2_000), proptest::option::of(any_text(10_000)), prop::collection::vec(frame(), 0..120))
        .prop_map(|(error_type, message, stack)| json!({"type": error_type, "message": message, "stack": stack}));
    prop::collection::vec(one, 1..14).prop_map(|chain| {
        chain.into_iter().rev().fold(Value::Null, |cause, mut error| {
            error["cause"] = cause;
            error
        })
    })
}

fn event() -> impl Strategy<Value = Value> {
    let kind = prop_oneof![Just("error".to_owned()), Just("anr".to_owned()), Just("nearCrash".to_owned()), Just("message".to_owned()), any_text(300)];
    let identity = (proptest::option::of(any_text(3_000)), proptest::option::of(any_text(3_000)), any_text(400), any_text(400));
    let extras = (prop::collection::btree_map(any_text(100), any_text(300), 0..60), any_json(), any_time(), bounded_text(200), bounded_text(64));
    (kind, identity, error(), extras).prop_map(|(kind, (user_id, install_id, os, model), error, (tags, extra, timestamp, release, environment))| {
        json!({
            "id": Uuid::new_v4(), "timestamp": timestamp, "kind": kind, "platform": "javascript",
            "release": release, "environment": environment,
            "device": {"os": os, "osVersion": "1", "model": model, "installId": install_id},
            "app": {"version": "1"}, "user": {"id": user_id},
            "message": "m", "level": "error",
            "error": error, "tags": tags, "extra": extra,
            "traceId": Uuid::new_v4(),
        })
    })
}

fn span() -> impl Strategy<Value = Value> {
    (any_time(), 0..=86_400_000i64, bounded_text(64), bounded_text(200), any_text(300), any::<bool>())
        .prop_map(|(started_at, duration, op, name, status, root)| {
            json!({"id": Uuid::new_v4(), "traceId": Uuid::new_v4(), "parentSpanId": if root { Value::Null } else { json!(Uuid::new_v4()) },
                   "op": op, "name": name, "startedAt": started_at, "durationMs": duration, "status": status})
        })
}

fn session() -> impl Strategy<Value = Value> {
    (any_time(), 0..=i64::MAX, any_text(300), proptest::option::of(any_text(3_000)), bounded_text(200), bounded_text(64)).prop_map(
        |(started_at, duration, status, user_id, release, environment)| {
            json!({"id": Uuid::new_v4(), "release": release, "environment": environment, "status": status,
                   "startedAt": started_at, "durationMs": duration, "userId": user_id})
        },
    )
}

fn generate<S: Strategy<Value = Value>>(runner: &mut TestRunner, strategy: S, count: usize) -> Vec<Value> {
    (0..count).map(|_| strategy.new_tree(runner).expect("a value").current()).collect()
}

/// Sends `items` one request each, so one too large for the body limit is
/// refused alone; returns the ids accepted.
async fn send(client: &reqwest::Client, url: &str, token: &str, items: &[Value]) -> BTreeMap<Uuid, Value> {
    let mut accepted = BTreeMap::new();
    for item in items {
        let response = client.post(url).bearer_auth(token).json(item).send().await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        if status == 413 {
            continue;
        }
        assert_eq!(status, 202, "a structurally valid payload is accepted: {body}\n{item}");
        accepted.insert(item["id"].as_str().unwrap().parse().unwrap(), item.clone());
    }
    accepted
}

/// Sends `items` in batches of `size` (ingest packs each batch's spans
/// into shared stream entries); returns the ids accepted.
async fn send_batches(client: &reqwest::Client, url: &str, token: &str, items: &[Value], size: usize) -> BTreeMap<Uuid, Value> {
    let mut accepted = BTreeMap::new();
    for batch in items.chunks(size) {
        let response = client.post(url).bearer_auth(token).json(&json!({"spans": batch})).send().await.unwrap();
        if response.status() == 413 {
            continue;
        }
        assert_eq!(response.status(), 202);
        let body: Value = response.json().await.unwrap();
        let refused: Vec<u64> = body["errors"].as_array().unwrap().iter().filter_map(|e| e["index"].as_u64()).collect();
        for (_, item) in batch.iter().enumerate().filter(|(i, _)| !refused.contains(&(*i as u64))) {
            accepted.insert(item["id"].as_str().unwrap().parse().unwrap(), item.clone());
        }
    }
    accepted
}

async fn assert_stored(pool: &PgPool, table: &str, accepted: &BTreeMap<Uuid, Value>) {
    let stored: Vec<Uuid> = sqlx::query_scalar(&format!("SELECT id FROM {table}")).fetch_all(pool).await.unwrap();
    let lost: Vec<&Value> = accepted.iter().filter(|(id, _)| !stored.contains(id)).map(|(_, item)| item).collect();
    assert!(lost.is_empty(), "{} of {} accepted {table} were not stored, e.g. {}", lost.len(), accepted.len(), lost[0]);
    assert_eq!(stored.len(), accepted.len(), "{table}: nothing stored that was not accepted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whatever_ingest_accepts_the_processor_stores() {
    let stack = TestStack::new().await;
    let pool = stack.pool().await;
    let ingest = stack.start("ingest").await;
    let _processor = stack.start("processor").await;
    let client = reqwest::Client::new();
    let mut runner = TestRunner::default();

    let events = send(&client, &ingest.url("/v1/events"), &stack.dev_token, &generate(&mut runner, event(), 300)).await;
    let mut spans = send(&client, &ingest.url("/v1/spans"), &stack.dev_token, &generate(&mut runner, span(), 300)).await;
    let batched = generate(&mut runner, span(), 300);
    spans.extend(send_batches(&client, &ingest.url("/v1/spans:batch"), &stack.dev_token, &batched, 30).await);
    let sessions = send(&client, &ingest.url("/v1/sessions"), &stack.dev_token, &generate(&mut runner, session(), 100)).await;
    assert!(events.len() >= 250, "most events fit the body limit: {}", events.len());

    for stream in [Stream::Events, Stream::Spans, Stream::Sessions] {
        stack.wait_drained(stream, PATIENCE).await;
    }
    let mut valkey = stack.valkey().await;
    for stream in [Stream::Events, Stream::Spans, Stream::Sessions] {
        let dead: StreamRangeReply = valkey.xrange_all(stack.keys().dead_letters(stream)).await.unwrap();
        let errors: Vec<String> = dead.ids.iter().filter_map(|e| e.get::<String>("error")).collect();
        assert!(errors.is_empty(), "{stream:?}: {} accepted entries were dead-lettered: {errors:?}", errors.len());
    }
    assert_stored(&pool, "events", &events).await;
    assert_stored(&pool, "spans", &spans).await;
    assert_stored(&pool, "sessions", &sessions).await;
}
