//! The ingest contract of protocol.md, against a real Valkey and PostgreSQL,
//! with ingest started in-process from its library.

use std::io::Write;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sentori_protocol::TokenKind;
use sentori_protocol::DEV_PROJECT_ID;
use sentori_queue::{PartitionKey, Stream};
use serde_json::{Value, json};

use crate::common;
use common::{Harness, event, start};

impl Harness {
    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(format!("{}{path}", self.base)).bearer_auth(&self.stack.dev_token)
    }
}

fn span() -> Value {
    json!({
        "id": uuid::Uuid::now_v7(), "traceId": uuid::Uuid::now_v7(), "parentSpanId": null,
        "op": "http.client", "name": "GET /", "startedAt": "2026-11-26T10:00:00Z", "durationMs": 5, "status": "ok"
    })
}

async fn error_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    (status, response.json().await.expect("every error is JSON"))
}

#[tokio::test]
async fn an_event_is_queued_with_unknown_fields_kept() {
    let h = start(&[]).await;
    let mut body = event();
    body["fromTheFuture"] = json!({"x": 1});
    let response = h.post("/v1/events").header("Sentori-Sdk", "sentori.js/9.0").json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert_eq!(response.json::<Value>().await.unwrap()["id"], body["id"]);
    let queued = h.queued(Stream::Events).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].payload.value().unwrap()["fromTheFuture"], json!({"x": 1}));
    assert_eq!(queued[0].sdk.as_deref(), Some("sentori.js/9.0"));
    assert_eq!(queued[0].project_id, sentori_protocol::DEV_PROJECT_ID);
}

#[tokio::test]
async fn malformed_json_is_invalid_json() {
    let h = start(&[]).await;
    let (status, body) = error_of(h.post("/v1/events").body("{\"id\": ").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalidJson");
    assert!(body["message"].as_str().unwrap().contains("line 1"), "{body}");
}

#[tokio::test]
async fn missing_fields_are_named_by_wire_path() {
    let h = start(&[]).await;
    let mut body = event();
    body["error"]["stack"] = json!([{"file": "a.js", "line": 1}, {"file": "a.js", "line": 2}, {"file": "a.js", "line": 3}, {"file": "a.js"}]);
    body["device"].as_object_mut().unwrap().remove("os");
    let (status, body) = error_of(h.post("/v1/events").json(&body).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "validationFailed");
    assert_eq!(body["message"], "2 fields are invalid");
    let fields: Vec<&str> = body["details"].as_array().unwrap().iter().map(|d| d["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["device.os", "error.stack[3].line"]);
    assert!(h.queued_items(Stream::Events).await.is_empty(), "nothing rejected is stored");
}

#[tokio::test]
async fn batches_reject_only_their_bad_items() {
    let h = start(&[]).await;
    let mut bad = event();
    bad["error"].as_object_mut().unwrap().remove("type");
    let good = event();
    let body = json!({"events": [good.clone(), bad, good.clone()]});
    let response = h.post("/v1/events:batch").json(&body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let result: Value = response.json().await.unwrap();
    assert_eq!(result["accepted"], 2, "a duplicate counts as accepted");
    assert_eq!(result["rejected"], 1);
    assert_eq!(result["errors"][0]["index"], 1);
    assert_eq!(result["errors"][0]["error"], "validationFailed");
    assert_eq!(result["errors"][0]["details"][0]["field"], "error.type");
    assert_eq!(h.queued_items(Stream::Events).await.len(), 2);

    let too_many = json!({"events": vec![event(); 101]});
    let (status, body) = error_of(h.post("/v1/events:batch").json(&too_many).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("tooManyItems")));
    let spans = json!({"spans": vec![span(); 201]});
    let (status, body) = error_of(h.post("/v1/spans:batch").json(&spans).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("tooManyItems")));
    let spans = json!({"spans": vec![span(); 200]});
    assert_eq!(h.post("/v1/spans:batch").json(&spans).send().await.unwrap().status(), StatusCode::ACCEPTED);
    let entries = h.queued(Stream::Spans).await;
    assert_eq!(entries.len(), 2, "packed 100 spans to an entry");
    assert_eq!(entries.iter().map(|e| e.items().unwrap().len()).collect::<Vec<_>>(), [100, 100]);
}

#[tokio::test]
async fn tokens_are_checked_with_a_hint() {
    let h = start(&[]).await;
    let url = format!("{}/v1/events", h.base);
    for (auth, hint) in [
        (None, "send Authorization"),
        (Some("Bearer not-a-token"), "not of the form"),
        (Some("Bearer st_pk_0000000000000000000000000z"), "unknown or revoked"),
    ] {
        let mut request = h.client.post(&url).json(&event());
        if let Some(auth) = auth {
            request = request.header("Authorization", auth);
        }
        let (status, body) = error_of(request.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["error"], "unauthorized");
        assert!(body["hint"].as_str().unwrap().contains(hint), "{body}");
    }
}

#[tokio::test]
async fn a_revoked_token_stops_working_within_the_cache_expiry() {
    let h = start(&[("SENTORI_TOKEN_CACHE_SECS", "1")]).await;
    let pool = h.stack.pool().await;
    let (token_id, token) = sentori_store::tokens::create_token(
        &pool,
        sentori_protocol::DEV_PROJECT_ID,
        sentori_protocol::TokenKind::Public,
        "sdk",
    )
    .await
    .unwrap();
    let send = || h.client.post(format!("{}/v1/events", h.base)).bearer_auth(&token).json(&event()).send();
    assert_eq!(send().await.unwrap().status(), StatusCode::ACCEPTED);
    sqlx::query("UPDATE tokens SET revoked_at = now() WHERE id = $1").bind(token_id).execute(&pool).await.unwrap();
    sentori_testkit::eventually("the revoked token to be refused", std::time::Duration::from_secs(10), || async {
        (send().await.unwrap().status() == StatusCode::UNAUTHORIZED).then_some(())
    })
    .await;
}

#[tokio::test]
async fn beacons_authenticate_by_query_with_a_public_token_and_any_content_type() {
    let h = start(&[]).await;
    let pool = h.stack.pool().await;
    let project = sentori_protocol::DEV_PROJECT_ID;
    let (_, public) = sentori_store::tokens::create_token(&pool, project, TokenKind::Public, "web").await.unwrap();
    let (_, admin) = sentori_store::tokens::create_token(&pool, project, TokenKind::Admin, "ci").await.unwrap();
    let beacon = |token: &str| {
        let url = format!("{}/v1/events?token={token}", h.base);
        h.client.post(url).header("Content-Type", "text/plain;charset=UTF-8").body(event().to_string()).send()
    };
    assert_eq!(beacon(&public).await.unwrap().status(), StatusCode::ACCEPTED);
    // A query string lands in logs and browser history: no secret token there.
    for secret in [&admin, &h.stack.dev_token] {
        let (status, body) = error_of(beacon(secret).await.unwrap()).await;
        assert_eq!((status, body["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
        assert!(body["hint"].as_str().unwrap().contains("only public tokens"), "{body}");
    }
    // Spans are not a beacon route.
    let url = format!("{}/v1/spans?token={public}", h.base);
    assert_eq!(h.client.post(&url).json(&span()).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn compressed_bodies_are_decoded() {
    let h = start(&[]).await;
    let body = event().to_string();
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    zlib.write_all(body.as_bytes()).unwrap();
    let mut br = Vec::new();
    brotli::CompressorWriter::new(&mut br, 4096, 5, 22).write_all(body.as_bytes()).unwrap();
    let encodings = [
        ("gzip", gzip(body.as_bytes())),
        ("deflate", zlib.finish().unwrap()),
        ("br", br),
        ("zstd", zstd::encode_all(body.as_bytes(), 3).unwrap()),
    ];
    for (encoding, bytes) in encodings {
        let response = h.post("/v1/events").header("Content-Encoding", encoding).body(bytes).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{encoding}");
    }
    let (status, body) = error_of(h.post("/v1/events").header("Content-Encoding", "lzma").body("x").send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, Some("unsupportedEncoding")));
}

#[tokio::test]
async fn size_limits_apply_to_the_decoded_body() {
    let h = start(&[]).await;
    // 64 MiB of zeros gzip to about 64 KiB: refused without being inflated.
    let bomb = gzip(&vec![b' '; 64 * 1024 * 1024]);
    assert!(bomb.len() < 1024 * 1024);
    let (status, body) = error_of(h.post("/v1/events").header("Content-Encoding", "gzip").body(bomb).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payloadTooLarge")));

    let mut big = event();
    big["padding"] = json!("x".repeat(1024 * 1024));
    let (status, _) = error_of(h.post("/v1/events").json(&big).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    let mut big_span = span();
    big_span["tags"] = json!({"note": "y".repeat(70 * 1024)});
    let (status, _) = error_of(h.post("/v1/spans").json(&big_span).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "a single span is limited to 64 KiB");
}

#[tokio::test]
async fn the_rate_limit_admits_exactly_the_limit_then_answers_429() {
    const LIMIT: usize = 20;
    let h = start(&[("SENTORI_RATE_LIMIT_PER_MIN", "20")]).await;
    // The whole budget may be spent at once, and it refills by one request
    // per interval: requests until the first 429, however slowly they go,
    // are at least the limit and at most the limit plus the intervals that
    // passed meanwhile (exactly the limit when they take under 3 s).
    let interval = Duration::from_secs(60) / LIMIT as u32;
    let started = Instant::now();
    let mut accepted = 0;
    let limited = loop {
        let response = h.post("/v1/events").json(&event()).send().await.unwrap();
        match response.status() {
            StatusCode::ACCEPTED => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => break response,
            other => panic!("request {} answered {other}", accepted + 1),
        }
        assert!(accepted <= 10 * LIMIT, "no 429 after {accepted} requests");
    };
    let refilled = (started.elapsed().as_micros() / interval.as_micros()) as usize;
    assert!((LIMIT..=LIMIT + refilled).contains(&accepted), "{accepted} accepted, {refilled} intervals passed");
    let retry_after: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"], "rateLimited");
    assert!(body["retryAfterMs"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn a_full_backlog_answers_503_with_retry_after() {
    let h = start(&[("SENTORI_MAX_BACKLOG", "3")]).await;
    for _ in 0..3 {
        assert_eq!(h.post("/v1/events").json(&event()).send().await.unwrap().status(), StatusCode::ACCEPTED);
    }
    // No processor runs: the backlog stays at 3, which the sampler notices.
    let response = sentori_testkit::eventually("ingest to refuse work", std::time::Duration::from_secs(10), || async {
        let response = h.post("/v1/events").json(&event()).send().await.unwrap();
        (response.status() == StatusCode::SERVICE_UNAVAILABLE).then_some(response)
    })
    .await;
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unavailable");
    // Spans have their own stream and still flow.
    assert_eq!(h.post("/v1/spans").json(&span()).send().await.unwrap().status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn a_partition_past_its_share_of_the_backlog_refuses_while_the_others_take_work() {
    let h = start(&[("SENTORI_MAX_BACKLOG", "4"), ("SENTORI_STREAM_SHARDS", "2")]).await;
    let with_id = |id: uuid::Uuid| {
        let mut event = event();
        event["id"] = json!(id);
        event
    };
    // Ids that land in each partition of the dev project's events.
    let ids = |partition: u16| {
        std::iter::repeat_with(uuid::Uuid::now_v7).filter(move |id| PartitionKey::of(DEV_PROJECT_ID, *id).partition(2) == partition)
    };
    for id in ids(0).take(2) {
        assert_eq!(h.post("/v1/events").json(&with_id(id)).send().await.unwrap().status(), StatusCode::ACCEPTED);
    }
    // Partition 0 holds its share (2 of 4): it refuses, once the sampler sees it…
    let mut first = ids(0);
    sentori_testkit::eventually("partition 0 to refuse work", Duration::from_secs(10), || {
        let request = h.post("/v1/events").json(&with_id(first.next().unwrap()));
        async move { (request.send().await.unwrap().status() == StatusCode::SERVICE_UNAVAILABLE).then_some(()) }
    })
    .await;
    // …and partition 1 still takes its share.
    for id in ids(1).take(2) {
        assert_eq!(h.post("/v1/events").json(&with_id(id)).send().await.unwrap().status(), StatusCode::ACCEPTED);
    }
}

#[tokio::test]
async fn cors_preflight_and_trailing_slashes() {
    let h = start(&[]).await;
    let response = h
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/v1/events", h.base))
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(response.headers()["access-control-allow-headers"].to_str().unwrap().contains("Sentori-Sdk"));
    assert!(response.headers().contains_key("access-control-max-age"));
    assert_eq!(h.post("/v1/events/").json(&event()).send().await.unwrap().status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn sessions_and_deploys() {
    let h = start(&[]).await;
    let session = json!({"id": uuid::Uuid::now_v7(), "release": "app@1", "environment": "prod", "status": "crashed",
                         "startedAt": "2026-11-26T10:00:00Z", "durationMs": 1000});
    assert_eq!(h.post("/v1/sessions").json(&session).send().await.unwrap().status(), StatusCode::ACCEPTED);
    let response = h.post("/v1/deploys").json(&json!({"release": "app@1", "environment": "prod"})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["release"], "app@1");
    assert_eq!(body["releaseId"], sentori_protocol::release_id(sentori_protocol::DEV_PROJECT_ID, "app@1").to_string());
    assert!(body["deployAt"].as_str().unwrap().ends_with('Z'));
    let (status, body) = error_of(h.post("/v1/deploys").json(&json!({})).send().await.unwrap()).await;
    assert_eq!((status, body["details"][0]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("release")));
}

/// A new org with `event_limit`, one project in it, and a public token.
async fn org_with_limit(h: &Harness, event_limit: Option<i64>) -> (uuid::Uuid, String) {
    let pool = h.stack.pool().await;
    let org = uuid::Uuid::now_v7();
    let project = uuid::Uuid::now_v7();
    sqlx::query("INSERT INTO orgs (id, name, monthly_event_limit) VALUES ($1, 'acme', $2)")
        .bind(org)
        .bind(event_limit)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO projects (id, org_id, name) VALUES ($1, $2, 'shop')").bind(project).bind(org).execute(&pool).await.unwrap();
    let (_, token) =
        sentori_store::tokens::create_token(&pool, project, sentori_protocol::TokenKind::Public, "sdk").await.unwrap();
    (org, token)
}

#[tokio::test]
async fn the_event_quota_admits_what_is_left_and_then_answers_429() {
    let h = start(&[]).await;
    let (_, token) = org_with_limit(&h, Some(5)).await;
    let batch = json!({"events": vec![event(); 8]});
    let response = h.client.post(format!("{}/v1/events:batch", h.base)).bearer_auth(&token).json(&batch).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let result: Value = response.json().await.unwrap();
    assert_eq!(result["accepted"], 5);
    assert_eq!(result["rejected"], 3);
    let refused: Vec<(u64, &str)> =
        result["errors"].as_array().unwrap().iter().map(|e| (e["index"].as_u64().unwrap(), e["error"].as_str().unwrap())).collect();
    assert_eq!(refused, vec![(5, "quotaExceeded"), (6, "quotaExceeded"), (7, "quotaExceeded")]);

    let response = h.client.post(format!("{}/v1/events", h.base)).bearer_auth(&token).json(&event()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "quotaExceeded");
    let reset_at = body["resetAt"].as_str().unwrap();
    assert!(reset_at.contains("-01T00:00:00"), "the next month's start: {reset_at}");
    assert_eq!(h.queued_items(Stream::Events).await.len(), 5);
}

#[tokio::test]
async fn parallel_requests_never_overshoot_the_quota() {
    let h = start(&[]).await;
    let (_, token) = org_with_limit(&h, Some(50)).await;
    let requests = (0..20).map(|_| {
        let batch = json!({"events": vec![event(); 5]});
        h.client.post(format!("{}/v1/events:batch", h.base)).bearer_auth(&token).json(&batch).send()
    });
    let mut accepted = 0;
    for response in futures_join(requests).await {
        let response = response.unwrap();
        if response.status() == StatusCode::ACCEPTED {
            accepted += response.json::<Value>().await.unwrap()["accepted"].as_u64().unwrap();
        } else {
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        }
    }
    assert_eq!(accepted, 50);
    assert_eq!(h.queued_items(Stream::Events).await.len(), 50);
}

async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
    F: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn the_span_quota_counts_spans_and_spares_the_dev_token() {
    let h = start(&[("SENTORI_SPAN_LIMIT_MONTHLY", "3")]).await;
    let (_, token) = org_with_limit(&h, None).await;
    let batch = json!({"spans": vec![span(); 4]});
    let result: Value =
        h.client.post(format!("{}/v1/spans:batch", h.base)).bearer_auth(&token).json(&batch).send().await.unwrap().json().await.unwrap();
    assert_eq!((result["accepted"].as_u64(), result["rejected"].as_u64()), (Some(3), Some(1)));
    // Events of an org without an event limit are not limited.
    for _ in 0..5 {
        let response = h.client.post(format!("{}/v1/events", h.base)).bearer_auth(&token).json(&event()).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    // The dev token is exempt from quotas.
    let result: Value = h.post("/v1/spans:batch").json(&batch).send().await.unwrap().json().await.unwrap();
    assert_eq!(result["accepted"], 4);
}

#[tokio::test]
async fn a_lost_counter_is_seeded_from_the_durable_usage() {
    let h = start(&[]).await;
    let (org, token) = org_with_limit(&h, Some(10)).await;
    // As if the processor had stored 10 events this month and Valkey then lost its counters.
    let pool = h.stack.pool().await;
    sqlx::query("INSERT INTO quota_usage (org_id, month, category, used) VALUES ($1, date_trunc('month', now() AT TIME ZONE 'UTC')::date, 'events', 10)")
        .bind(org)
        .execute(&pool)
        .await
        .unwrap();
    let response = h.client.post(format!("{}/v1/events", h.base)).bearer_auth(&token).json(&event()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.json::<Value>().await.unwrap()["error"], "quotaExceeded");
}
