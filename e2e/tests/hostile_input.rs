//! What an attacker with a public token can send, through the real ingest
//! and processor: nothing stops processing, and nothing costs an honest
//! entry its place in the store (docs/security.md).
//!
//! Every request here is answered either with a 4xx (nothing queued) or a
//! 2xx, and everything answered 2xx must end up stored. Entries queued by an
//! older ingest, before times were range-checked, are appended to the
//! streams directly: the processor must survive them too.

use std::collections::BTreeSet;
use std::time::Duration;

use redis::AsyncCommands;
use redis::streams::StreamRangeReply;
use serde_json::{Value, json};
use sentori_protocol::{DEV_ORG_ID, DEV_PROJECT_ID};
use sentori_queue::{Envelope, ItemKind, PartitionKey, Payload, Producer, Stream};
use sentori_testkit::{TestStack, eventually, post_event_batches};
use sqlx::PgPool;
use uuid::Uuid;

const PATIENCE: Duration = Duration::from_secs(90);

fn now() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap()
}

fn honest_event(error_type: &str) -> Value {
    json!({
        "id": Uuid::now_v7(), "timestamp": now(), "kind": "error", "platform": "javascript",
        "release": "shop@1.0.0+1", "environment": "prod",
        "device": {"os": "web", "osVersion": "120"}, "app": {"version": "1.0.0"},
        "user": {"id": "u-1"},
        "error": {"type": error_type, "message": "an honest failure",
                  "stack": [{"file": "app.js", "line": 3, "function": "checkout", "inApp": true}]}
    })
}

fn honest_span(trace_id: Uuid) -> Value {
    json!({"id": Uuid::now_v7(), "traceId": trace_id, "parentSpanId": null, "op": "http.server",
           "name": "GET /", "startedAt": now(), "durationMs": 12, "status": "ok"})
}

fn honest_session() -> Value {
    json!({"id": Uuid::now_v7(), "release": "shop@1.0.0+1", "environment": "prod",
           "status": "ok", "startedAt": now(), "durationMs": 1000})
}

/// Events an attacker shapes, each a variation of an honest one.
fn hostile_events() -> Vec<(&'static str, Value)> {
    let with = |name: &'static str, change: &dyn Fn(&mut Value)| {
        let mut event = honest_event("HostileError");
        change(&mut event);
        (name, event)
    };
    let huge = "x".repeat(10_000);
    let deep_frames: Vec<Value> =
        (0..10_000).map(|i| json!({"file": format!("f{i}.js"), "line": i + 1, "function": format!("fn{i}")})).collect();
    // serde_json refuses nesting past 128 levels; this stays just under it.
    let mut nested = json!("bottom");
    for _ in 0..120 {
        nested = json!([nested]);
    }
    vec![
        with("far-future timestamp", &|e| e["timestamp"] = json!("9999-12-31T23:59:59Z")),
        with("year-one timestamp", &|e| e["timestamp"] = json!("0001-01-01T00:00:00Z")),
        with("timestamp whose UTC is past year 9999", &|e| e["timestamp"] = json!("9999-12-31T23:59:59-23:59")),
        with("oversize user id", &|e| e["user"]["id"] = json!(huge)),
        with("oversize install id", &|e| {
            e["user"] = Value::Null;
            e["device"]["installId"] = json!(huge);
        }),
        with("oversize error type and names", &|e| {
            e["error"]["type"] = json!(huge);
            e["device"]["model"] = json!(huge);
            e["app"]["build"] = json!(huge);
        }),
        with("NUL in strings and keys", &|e| {
            e["error"]["message"] = json!("a\u{0}b");
            e["user"]["id"] = json!("\u{0}");
            e["tags"] = json!({"k\u{0}": "v\u{0}"});
        }),
        with("10 000 frames", &|e| e["error"]["stack"] = json!(deep_frames)),
        with("nesting near the parser's limit", &|e| e["extra"] = nested.clone()),
        with("huge tag map", &|e| {
            let long = "t".repeat(1_000);
            e["tags"] = Value::Object((0..300).map(|i| (format!("k{i}{long}"), json!(long))).collect())
        }),
    ]
}

/// Bodies that must be refused whole: nothing of them is queued.
fn refused_bodies() -> Vec<(&'static str, String)> {
    let event = honest_event("RefusedError");
    let text = event.to_string();
    let mut deeper = String::from("\"bottom\"");
    for _ in 0..200 {
        deeper = format!("[{deeper}]");
    }
    vec![
        ("non-finite number", text.replacen("\"line\":3", "\"line\":1e999", 1)),
        ("NaN timestamp", text.replacen(&event["timestamp"].to_string(), "\"NaN\"", 1)),
        ("lone surrogate", text.replacen("an honest failure", "\\ud800", 1)),
        ("nesting past the parser's limit", text.replacen("\"kind\"", &format!("\"extra\":{deeper},\"kind\""), 1)),
        ("oversize release", text.replacen("shop@1.0.0+1", &"r".repeat(5_000), 1)),
    ]
}

async fn post(client: &reqwest::Client, url: String, token: &str, body: String) -> (u16, Value) {
    let response = client.post(url).bearer_auth(token).header("content-type", "application/json").body(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

/// What an ingest without range checks queued: appended to the streams as is.
async fn queue_unchecked(stack: &TestStack) -> BTreeSet<String> {
    let conn = sentori_queue::connect(&stack.valkey_url, Duration::from_secs(2)).await.unwrap();
    let producer = Producer::new(conn, stack.keys());
    let raw = |kind: ItemKind, payload: Value| {
        Envelope::new(kind, DEV_PROJECT_ID, DEV_ORG_ID, time::OffsetDateTime::now_utc())
            .with_payload_text(Payload::from_json_text(payload.to_string()))
    };
    let mut event = honest_event("UncheckedError");
    event["timestamp"] = json!("9999-12-31T23:59:59-23:59");
    event["user"]["id"] = json!("u".repeat(20_000));
    let mut span = honest_span(Uuid::now_v7());
    span["startedAt"] = json!("9999-12-31T23:59:59Z");
    span["durationMs"] = json!(86_400_000);
    let mut session = honest_session();
    session["startedAt"] = json!("0001-01-01T00:00:00Z");
    session["durationMs"] = json!(i64::MAX);
    let mut ids = BTreeSet::new();
    ids.extend(producer.append(Stream::Events, PartitionKey::any(), &[raw(ItemKind::Event, event)]).await.unwrap());
    ids.extend(producer.append(Stream::Spans, PartitionKey::any(), &[raw(ItemKind::Span, span)]).await.unwrap());
    ids.extend(producer.append(Stream::Sessions, PartitionKey::any(), &[raw(ItemKind::Session, session)]).await.unwrap());
    ids
}

async fn ids_in(pool: &PgPool, table: &str) -> BTreeSet<Uuid> {
    let ids: Vec<Uuid> = sqlx::query_scalar(&format!("SELECT id FROM {table}")).fetch_all(pool).await.unwrap();
    ids.into_iter().collect()
}

fn id_of(item: &Value) -> Uuid {
    item["id"].as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_never_stops_processing_nor_costs_an_honest_entry() {
    let stack = TestStack::new().await;
    let pool = stack.pool().await;
    let mut ingest = stack.start("ingest").await;
    let mut processor = stack.start("processor").await;
    let processor_pid = processor.pid();
    let client = reqwest::Client::new();
    let token = stack.dev_token.clone();

    let mut must_store = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let honest: Vec<Value> = (0..20).map(|_| honest_event("HonestError")).collect();
    must_store.0.extend(honest.iter().map(id_of));
    post_event_batches(&client, &ingest.url(""), &token, &honest).await;

    for (name, event) in hostile_events() {
        let (status, body) = post(&client, ingest.url("/v1/events"), &token, event.to_string()).await;
        assert_eq!(status, 202, "{name}: accepted (trimmed, not refused): {body}");
        must_store.0.insert(id_of(&event));
    }
    for (name, body) in refused_bodies() {
        let (status, answer) = post(&client, ingest.url("/v1/events"), &token, body).await;
        assert_eq!(status, 400, "{name}: refused whole: {answer}");
    }

    // The span that stopped every project's processing, and its neighbours.
    let trace_id = Uuid::now_v7();
    let mut killer = honest_span(trace_id);
    killer["startedAt"] = json!("9999-12-31T23:59:59Z");
    killer["durationMs"] = json!(86_400_000);
    let mut year_one = honest_span(trace_id);
    year_one["startedAt"] = json!("0001-01-01T00:00:00Z");
    let spans = vec![honest_span(trace_id), killer, year_one, honest_span(trace_id)];
    let (status, body) = post(&client, ingest.url("/v1/spans:batch"), &token, json!({"spans": spans}).to_string()).await;
    assert_eq!((status, body["accepted"].as_u64()), (202, Some(4)), "{body}");
    must_store.1.extend(spans.iter().map(id_of));
    let mut overlong = honest_span(trace_id);
    overlong["durationMs"] = json!(86_400_001);
    assert_eq!(post(&client, ingest.url("/v1/spans"), &token, overlong.to_string()).await.0, 400);

    let mut session = honest_session();
    session["startedAt"] = json!("0001-01-01T00:00:00Z");
    session["durationMs"] = json!(i64::MAX);
    session["userId"] = json!("s".repeat(50_000));
    assert_eq!(post(&client, ingest.url("/v1/sessions"), &token, session.to_string()).await.0, 202);
    must_store.2.insert(id_of(&session));
    let (status, body) = post(&client, ingest.url("/v1/deploys"), &token, json!({"release": "shop@9", "deployedAt": "9999-01-01T00:00:00Z"}).to_string()).await;
    assert_eq!(status, 201, "{body}");
    assert!(body["deployAt"].as_str().unwrap().starts_with(&now()[..4]), "a deploy time past the window is the receive time: {body}");

    let unchecked = queue_unchecked(&stack).await;

    let after: Vec<Value> = (0..20).map(|_| honest_event("HonestError")).collect();
    must_store.0.extend(after.iter().map(id_of));
    post_event_batches(&client, &ingest.url(""), &token, &after).await;
    let last = honest_event("AfterTheAttackError");
    must_store.0.insert(id_of(&last));
    post_event_batches(&client, &ingest.url(""), &token, &[last]).await;

    eventually("the honest event sent last to become an issue", PATIENCE, || {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM issues WHERE type = 'AfterTheAttackError'")
                .fetch_one(&pool)
                .await
                .ok()
                .filter(|n| *n == 1)
        }
    })
    .await;
    for stream in [Stream::Events, Stream::Spans, Stream::Sessions, Stream::Deploys] {
        stack.wait_drained(stream, PATIENCE).await;
    }
    assert!(processor.try_exit_status().is_none(), "the processor is still running");
    assert_eq!(processor.pid(), processor_pid, "the processor was never restarted");
    assert!(ingest.try_exit_status().is_none(), "ingest is still running");

    let (events, spans, sessions) = (ids_in(&pool, "events").await, ids_in(&pool, "spans").await, ids_in(&pool, "sessions").await);
    assert!(must_store.0.is_subset(&events), "every accepted event is stored: missing {:?}", must_store.0.difference(&events));
    assert!(must_store.1.is_subset(&spans), "every accepted span is stored: missing {:?}", must_store.1.difference(&spans));
    assert!(must_store.2.is_subset(&sessions), "every accepted session is stored");

    // Only the entries queued without checks may be dead letters.
    let mut valkey = stack.valkey().await;
    for stream in [Stream::Events, Stream::Spans, Stream::Sessions, Stream::Deploys] {
        let dead: StreamRangeReply = valkey.xrange_all(stack.keys().dead_letters(stream)).await.unwrap();
        for entry in dead.ids {
            let origin: String = entry.get("originalId").unwrap();
            let error: String = entry.get("error").unwrap_or_default();
            assert!(unchecked.contains(&origin), "an entry ingest accepted was dead-lettered ({stream:?}): {error}");
        }
    }
    let honest_count: i64 = sqlx::query_scalar("SELECT event_count FROM issues WHERE type = 'HonestError'").fetch_one(&pool).await.unwrap();
    assert_eq!(honest_count, 40, "every honest event counts once");
}
