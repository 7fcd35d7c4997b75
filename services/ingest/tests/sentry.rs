//! Sentry ingest (protocol.md, "Sentry ingest") against a real Valkey and
//! PostgreSQL, with ingest started in-process from its library. The
//! official SDKs themselves are exercised in e2e/tests/sentry_sdks.rs.

use std::io::Write;

use proptest::prelude::*;
use reqwest::StatusCode;
use sentori_queue::Stream;
use serde_json::{Value, json};

use crate::common;
use common::{Harness, start};

const EVENT_ID: &str = "9ec79c33ec9942ab8353589fcb2e04dc";
const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";

/// A project of its own org (with `event_limit`), its number and a public token.
async fn project(h: &Harness, event_limit: Option<i64>) -> (i64, String) {
    let pool = h.stack.pool().await;
    let (org, project) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    sqlx::query("INSERT INTO orgs (id, name, monthly_event_limit) VALUES ($1, 'acme', $2)")
        .bind(org)
        .bind(event_limit)
        .execute(&pool)
        .await
        .unwrap();
    let number: i64 = sqlx::query_scalar("INSERT INTO projects (id, org_id, name) VALUES ($1, $2, 'shop') RETURNING number")
        .bind(project)
        .bind(org)
        .fetch_one(&pool)
        .await
        .unwrap();
    let (_, token) = sentori_store::tokens::create_token(&pool, project, sentori_protocol::TokenKind::Public, "sdk").await.unwrap();
    (number, token)
}

fn event_item(message: &str) -> String {
    let payload = json!({"event_id": EVENT_ID, "message": message, "level": "error", "platform": "python",
                         "timestamp": time::OffsetDateTime::now_utc().unix_timestamp() as f64}).to_string();
    format!("{{\"type\":\"event\",\"length\":{}}}\n{payload}\n", payload.len())
}

fn transaction_item(children: usize) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as f64;
    let spans: Vec<Value> = (0..children)
        .map(|i| json!({"span_id": format!("{:016x}", i + 1), "parent_span_id": "b7ad6b7169203331", "op": "db.query",
                        "description": "SELECT 1", "start_timestamp": now - 0.5, "timestamp": now - 0.25}))
        .collect();
    let payload = json!({"type": "transaction", "transaction": "GET /", "start_timestamp": now - 1.0, "timestamp": now,
        "contexts": {"trace": {"trace_id": TRACE_ID, "span_id": "b7ad6b7169203331", "op": "http.server"}}, "spans": spans});
    format!("{{\"type\":\"transaction\"}}\n{payload}\n")
}

fn envelope(items: &[String]) -> String {
    format!("{{\"event_id\":\"{EVENT_ID}\",\"sent_at\":\"2026-12-02T10:00:00Z\"}}\n{}", items.concat())
}

impl Harness {
    fn api(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(format!("{}{path}", self.base))
    }
}

fn sentry_auth(key: &str) -> String {
    format!("Sentry sentry_key={key}, sentry_version=7, sentry_client=sentry.test/1.0")
}

#[tokio::test]
async fn keys_are_read_in_order_and_must_belong_to_the_project_in_the_path() {
    let h = start(&[]).await;
    let (number, token) = project(&h, None).await;
    let (other_number, other_token) = project(&h, None).await;
    let body = envelope(&[event_item("hello")]);
    let path = format!("/api/{number}/envelope/");

    let by_query = h.api(&format!("{path}?sentry_version=7&sentry_key={token}")).body(body.clone()).send().await.unwrap();
    assert_eq!(by_query.status(), StatusCode::OK);
    assert_eq!(by_query.json::<Value>().await.unwrap(), json!({"id": EVENT_ID}));
    let by_header = h.api(&path).header("X-Sentry-Auth", sentry_auth(&token)).body(body.clone()).send().await.unwrap();
    assert_eq!(by_header.status(), StatusCode::OK);
    let by_bearer = h.api(&path).bearer_auth(&token).body(body.clone()).send().await.unwrap();
    assert_eq!(by_bearer.status(), StatusCode::OK);
    let with_dsn = format!("{{\"dsn\":\"http://{token}@ingest.example/{number}\"}}\n{}", event_item("via dsn"));
    assert_eq!(h.api(&path).body(with_dsn).send().await.unwrap().status(), StatusCode::OK);

    // The query parameter comes first: a bad one is not rescued by a good header.
    let bad_query = h.api(&format!("{path}?sentry_key=st_pk_00000000000000000000000000"))
        .header("X-Sentry-Auth", sentry_auth(&token)).body(body.clone()).send().await.unwrap();
    assert_eq!(bad_query.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(h.api(&path).body(body.clone()).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    // Another project's key, or the dev token in a URL.
    let wrong = h.api(&path).header("X-Sentry-Auth", sentry_auth(&other_token)).body(body.clone()).send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert_eq!(wrong.json::<Value>().await.unwrap()["error"], "forbidden");
    let dev_in_url = h.api(&format!("/api/1/envelope/?sentry_key={}", h.stack.dev_token)).body(body.clone()).send().await.unwrap();
    assert_eq!(dev_in_url.status(), StatusCode::UNAUTHORIZED);
    let dev = h.api("/api/1/envelope").header("X-Sentry-Auth", sentry_auth(&h.stack.dev_token)).body(body.clone()).send().await.unwrap();
    assert_eq!(dev.status(), StatusCode::OK, "the dev project is number 1");
    // Paths: any slashes, but a number ≥ 1 and a known endpoint.
    let slashes = h.api(&format!("/api/{other_number}//envelope//")).bearer_auth(&other_token).body(body.clone()).send().await.unwrap();
    assert_eq!(slashes.status(), StatusCode::OK);
    for bad in ["/api/0/envelope/", "/api/x/envelope/", &format!("/api/{number}/events/")] {
        let response = h.api(bad).bearer_auth(&token).body(body.clone()).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    // Retries of one event id are queued again; the processor stores the id once.
    assert!(h.queued(Stream::Events).await.iter().all(|e| e.payload.as_str().contains("9ec79c33-ec99-42ab-8353-589fcb2e04dc")));
}

#[tokio::test]
async fn cors_is_on_every_answer_and_preflights_are_answered() {
    let h = start(&[]).await;
    let preflight = h.client.request(reqwest::Method::OPTIONS, format!("{}/api/1/envelope/", h.base)).send().await.unwrap();
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    let allowed = preflight.headers()["access-control-allow-headers"].to_str().unwrap();
    assert!(allowed.contains("X-Sentry-Auth"), "{allowed}");
    let refused = h.api("/api/1/envelope/").body("{}\n").send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(refused.headers()["access-control-allow-origin"], "*");
    assert!(refused.headers()["access-control-expose-headers"].to_str().unwrap().contains("X-Sentry-Rate-Limits"));
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn bodies_are_decoded_and_junk_encodings_read_as_identity() {
    let h = start(&[]).await;
    let (number, token) = project(&h, None).await;
    let body = envelope(&[event_item("compressed")]);
    let path = format!("/api/{number}/envelope/");
    let send = |encoding: &'static str, bytes: Vec<u8>| {
        h.api(&path).header("X-Sentry-Auth", sentry_auth(&token)).header("Content-Encoding", encoding).body(bytes).send()
    };
    let mut brotli_bytes = Vec::new();
    brotli::BrotliCompress(&mut body.as_bytes(), &mut brotli_bytes, &Default::default()).unwrap();
    for (encoding, bytes) in [
        ("gzip", gzip(body.as_bytes())),
        ("deflate", raw_deflate(body.as_bytes())),
        ("zstd", zstd::encode_all(body.as_bytes(), 3).unwrap()),
        ("br", brotli_bytes),
        ("", body.as_bytes().to_vec()),
        ("utf-8", body.as_bytes().to_vec()),
    ] {
        let response = send(encoding, bytes).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "Content-Encoding: {encoding:?}");
    }
    let bomb = gzip(&vec![b' '; 9 * 1024 * 1024]);
    assert_eq!(send("gzip", bomb).await.unwrap().status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn every_item_type_is_accepted_and_one_bad_item_fails_alone() {
    let h = start(&[]).await;
    let (number, token) = project(&h, None).await;
    let path = format!("/api/{number}/envelope/");
    let session = json!({"sid": "7c7b6e3c-8f8a-4a6e-9c1d-2f1e0b9a8c7d", "status": "exited", "errors": 0,
        "started": "2026-12-02T09:59:00Z", "duration": 3.5, "attrs": {"release": "shop@1.0", "environment": "prod"}});
    let body = envelope(&[
        event_item("one good event"),
        transaction_item(2),
        format!("{{\"type\":\"session\"}}\n{session}\n"),
        "{\"type\":\"sessions\"}\n{\"attrs\":{\"release\":\"shop@1.0\"},\"aggregates\":[{\"started\":\"2026-12-02T09:00:00Z\",\"exited\":2}]}\n".into(),
        "{\"type\":\"client_report\"}\n{\"discarded_events\":[]}\n".into(),
        "{\"type\":\"attachment\",\"length\":5,\"filename\":\"a.txt\"}\nab\ncd\n".into(),
        "{\"type\":\"brand_new_type\"}\n{}\n".into(),
        "{\"type\":\"event\"}\nnot json\n".into(),
        "{\"type\":\"transaction\"}\n{\"contexts\":{}}\n".into(),
    ]);
    let response = h.api(&path).bearer_auth(&token).body(body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap()["id"], EVENT_ID);
    assert_eq!(h.queued(Stream::Events).await.len(), 1);
    assert_eq!(h.queued_items(Stream::Spans).await.len(), 3, "the transaction and its two children");
    assert_eq!(h.queued(Stream::Sessions).await.len(), 3, "one session and two from aggregates");
    let event = h.queued(Stream::Events).await.remove(0).payload.value().unwrap();
    assert_eq!(event["message"], "one good event");
    assert_eq!(event["kind"], "message");

    // Nothing usable: 400 naming the items.
    let bad = h.api(&path).bearer_auth(&token).body("{}\n{\"type\":\"event\"}\n[1]\n").send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let error: Value = bad.json().await.unwrap();
    assert_eq!((error["error"].as_str(), error["details"][0]["field"].as_str()), (Some("validationFailed"), Some("items[0]")));
    let empty = h.api(&path).bearer_auth(&token).body("").send().await.unwrap();
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);
    assert_eq!(empty.json::<Value>().await.unwrap()["error"], "invalidJson");
    // Only dropped items: still a success, without an id.
    let dropped = h.api(&path).bearer_auth(&token).body("{}\n{\"type\":\"client_report\"}\n{}\n").send().await.unwrap();
    assert_eq!(dropped.status(), StatusCode::OK);
    assert_eq!(dropped.json::<Value>().await.unwrap(), json!({}));
}

#[tokio::test]
async fn the_store_endpoint_takes_a_bare_event() {
    let h = start(&[]).await;
    let (number, token) = project(&h, None).await;
    let event = json!({"event_id": EVENT_ID, "exception": {"values": [{"type": "TypeError", "value": "x is undefined",
        "stacktrace": {"frames": [{"filename": "app:///main.js", "function": "run", "lineno": 3, "colno": 7, "in_app": true}]}}]},
        "platform": "javascript", "release": "web@2.0.0"});
    let response = h.api(&format!("/api/{number}/store?sentry_key={token}")).json(&event).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"id": EVENT_ID}));
    let queued = h.queued(Stream::Events).await.remove(0);
    assert_eq!(queued.sdk, None);
    let payload = queued.payload.value().unwrap();
    assert_eq!(payload["error"]["stack"][0]["file"], "app:///main.js");
    assert_eq!(payload["release"], "web@2.0.0");
}

fn rate_limits(response: &reqwest::Response) -> String {
    response.headers().get("x-sentry-rate-limits").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

#[tokio::test]
async fn quotas_and_rate_limits_say_which_categories_to_stop() {
    let h = start(&[("SENTORI_SPAN_LIMIT_MONTHLY", "2")]).await;
    let (number, token) = project(&h, Some(1)).await;
    let path = format!("/api/{number}/envelope/");
    let send = |items: Vec<String>| h.api(&path).bearer_auth(&token).body(envelope(&items)).send();

    assert_eq!(send(vec![event_item("first")]).await.unwrap().status(), StatusCode::OK);
    let over = send(vec![event_item("second")]).await.unwrap();
    assert_eq!(over.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(over.headers().contains_key("retry-after"));
    let header = rate_limits(&over);
    assert!(header.ends_with(":error;default:organization:quota_exceeded"), "{header}");
    assert!(header.split(':').next().unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(over.json::<Value>().await.unwrap()["error"], "quotaExceeded");

    // Three spans against a budget of two: what fits is stored, the answer says spans are stopped.
    let partly = send(vec![transaction_item(2)]).await.unwrap();
    assert_eq!(partly.status(), StatusCode::OK);
    assert!(rate_limits(&partly).ends_with(":transaction;span:organization:quota_exceeded"), "{}", rate_limits(&partly));
    // A used-up event quota does not stop a transaction's spans, and the reverse.
    let both = send(vec![event_item("third"), transaction_item(0)]).await.unwrap();
    assert_eq!(both.status(), StatusCode::TOO_MANY_REQUESTS);
    let header = rate_limits(&both);
    assert!(header.contains(":error;default:organization:quota_exceeded") && header.contains(":transaction;span:"), "{header}");

    let h = start(&[("SENTORI_RATE_LIMIT_PER_MIN", "1")]).await;
    let (number, token) = project(&h, None).await;
    let path = format!("/api/{number}/envelope/");
    assert_eq!(h.api(&path).bearer_auth(&token).body(envelope(&[])).send().await.unwrap().status(), StatusCode::OK);
    let limited = h.api(&path).bearer_auth(&token).body(envelope(&[])).send().await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let header = rate_limits(&limited);
    let (seconds, rest) = header.split_once(':').unwrap();
    assert!(seconds.parse::<u64>().unwrap() >= 1);
    assert_eq!(rest, ":key");
    assert_eq!(limited.headers()["access-control-allow-origin"], "*");
}

/// Arbitrary envelopes: pieces of real ones, junk bytes and lengths that
/// lie. Ingest never answers 5xx and never panics (a panic would be a 500
/// or a dropped connection).
fn arbitrary_envelope() -> impl Strategy<Value = Vec<u8>> {
    let item = prop_oneof![
        Just(event_item("p").into_bytes()),
        Just(transaction_item(1).into_bytes()),
        Just(b"{\"type\":\"session\"}\n{\"sid\":\"7c7b6e3c-8f8a-4a6e-9c1d-2f1e0b9a8c7d\",\"status\":\"crashed\"}\n".to_vec()),
        Just(b"{\"type\":\"sessions\"}\n{\"aggregates\":[{\"exited\":99999999999}]}\n".to_vec()),
        Just(b"{\"type\":\"event\",\"length\":99}\n{}".to_vec()),
        Just(b"{\"type\":\"event\"}\n{\"exception\":{\"values\":[{\"stacktrace\":{\"frames\":[1,{},null]}}]},\"tags\":[[1,2],[null]],\"timestamp\":-1e308}\n".to_vec()),
        Just(b"{\"type\":\"transaction\"}\n{\"contexts\":{\"trace\":{\"trace_id\":\"0af7651916cd43dd8448eb211c80319c\"}},\"spans\":[{\"span_id\":\"zz\"},7]}\n".to_vec()),
        prop::collection::vec(any::<u8>(), 0..64),
        "[ -~\n]{0,64}".prop_map(String::into_bytes),
    ];
    (prop_oneof![Just(b"{}\n".to_vec()), Just(b"{\"dsn\":7}\n".to_vec()), prop::collection::vec(any::<u8>(), 0..16)],
     prop::collection::vec(item, 0..6))
        .prop_map(|(header, items)| header.into_iter().chain(items.into_iter().flatten()).collect())
}

#[test]
fn arbitrary_envelopes_never_get_a_5xx() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let h = runtime.block_on(start(&[("SENTORI_RATE_LIMIT_PER_MIN", "100000")]));
    let (number, token) = runtime.block_on(project(&h, None));
    let url = format!("{}/api/{number}/envelope/", h.base);
    proptest!(ProptestConfig::with_cases(200), |(body in arbitrary_envelope())| {
        let status = runtime.block_on(async {
            h.client.post(&url).bearer_auth(&token).body(body.clone()).send().await.unwrap().status()
        });
        prop_assert!(!status.is_server_error(), "{status} for {:?}", String::from_utf8_lossy(&body));
    });
}

#[tokio::test]
async fn attachments_sentori_can_show_are_stored_with_the_envelopes_event() {
    let dir = std::env::temp_dir().join(format!("sentori-sentry-attachments-{}", uuid::Uuid::new_v4().simple()));
    let dir_text = dir.display().to_string();
    let h = start(&[("SENTORI_ATTACHMENT_DIR", dir_text.as_str()), ("SENTORI_ATTACHMENT_MAX_BYTES", "1000")]).await;
    let (number, token) = project(&h, None).await;
    let png = b"\x89PNG\r\n\x1a\n fake but stored as sent";
    let mut body = envelope(&[event_item("with attachments")]).into_bytes();
    body.extend_from_slice(format!("{{\"type\":\"attachment\",\"length\":{},\"filename\":\"screen.png\",\"content_type\":\"image/png\"}}\n", png.len()).as_bytes());
    body.extend_from_slice(png);
    body.extend_from_slice(b"\n{\"type\":\"attachment\",\"length\":4,\"filename\":\"app.log\"}\nlog\n\n");
    body.extend_from_slice(b"{\"type\":\"attachment\",\"length\":3,\"attachment_type\":\"event.minidump\",\"filename\":\"c.dmp\"}\nMDM\n");
    let too_big = "x".repeat(1001);
    body.extend_from_slice(format!("{{\"type\":\"attachment\",\"length\":1001,\"filename\":\"big.txt\"}}\n{too_big}\n").as_bytes());
    let response = h.api(&format!("/api/{number}/envelope/")).bearer_auth(&token).body(body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(h.queued(Stream::Events).await.len(), 1, "attachments never cost the event");

    let pool = h.stack.pool().await;
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT kind, media_type, size_bytes FROM attachments WHERE event_id = $1 ORDER BY kind",
    )
    .bind(uuid::Uuid::parse_str(EVENT_ID).unwrap())
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows, vec![("logTail".into(), "text/plain".into(), 4), ("screenshot".into(), "image/png".into(), png.len() as i64)]);
    let _ = std::fs::remove_dir_all(dir);
}
