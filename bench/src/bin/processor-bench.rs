//! `make bench`: the processor, from stream to committed rows, against a
//! raw `COPY` of the same rows into the same table, in the same run.
//!
//! Realistic events (10 frames, 20 breadcrumbs, 300 distinct issues, 5 %
//! ANR) are queued first; then the real release processor is started and
//! timed from its first acknowledged batch until every event is stored
//! (its start-up is reported apart, as the baseline's CSV building is left
//! out of its time). The baseline copies rows of the same size straight
//! into `events` of a second fresh database.
//!
//! The same is done, alternately, with Sentry-shaped events: the bench's
//! Sentry envelopes of the same events are posted to the real ingest, so the
//! stream holds exactly what a Sentry SDK's events become, and the processor
//! is timed on those: `sentry_vs_v1_processor_ratio`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use sentori_bench::{median, payloads, queue_events, report, wait_drained};
use sentori_protocol::DEV_PROJECT_ID;
use sentori_queue::{Keys, Producer, Stream};
use sentori_testkit::{ServiceProcess, TestStack};
use sqlx::PgPool;

/// What the processor is given to store.
enum Input<'a> {
    /// Sentori events, queued straight onto the stream as ingest queues them.
    V1(&'a [serde_json::Value]),
    /// Sentry envelopes, queued by the real ingest.
    Sentry(Arc<Vec<Bytes>>),
}

/// One timed run of the processor over a freshly filled stream.
struct Run {
    rate: f64,
    with_startup: f64,
    first_batch_s: f64,
    rss_mb: f64,
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::var("BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(50_000);
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    let events = payloads::events(count, 300);
    let envelopes = Arc::new(payloads::sentry_envelopes(count, 300));

    let copy_rate = copy_baseline(&events).await;
    report("copy_rows_per_s", copy_rate, "rows/s");

    // Alternating, so both shapes see the box in the same states.
    let (mut v1, mut sentry) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        v1.push(run(count, Input::V1(&events)).await);
        sentry.push(run(count, Input::Sentry(envelopes.clone())).await);
    }
    let first = &v1[0];
    let v1_rate = median(&v1.iter().map(|r| r.rate).collect::<Vec<_>>());
    let sentry_rate = median(&sentry.iter().map(|r| r.rate).collect::<Vec<_>>());
    eprintln!("processor events/s by round: /v1 {:?}, Sentry {:?}", rates(&v1), rates(&sentry));
    report("processor_first_batch_s", first.first_batch_s, "s");
    report("processor_events_per_s_with_startup", first.with_startup, "events/s");
    report("processor_events_per_s", v1_rate, "events/s");
    report("processor_vs_copy_ratio", v1_rate / copy_rate, "ratio");
    report("processor_rss_mb", v1.iter().chain(&sentry).map(|r| r.rss_mb).fold(0.0, f64::max), "MiB");
    report("processor_sentry_events_per_s", sentry_rate, "events/s");
    report("sentry_vs_v1_processor_ratio", sentry_rate / v1_rate, "ratio");
}

fn rates(runs: &[Run]) -> Vec<u64> {
    runs.iter().map(|r| r.rate as u64).collect()
}

/// Fills a fresh stack's events stream with `input`, then starts the
/// processor and times it until the stream is empty.
async fn run(count: usize, input: Input<'_>) -> Run {
    let stack = TestStack::new().await;
    let pool = stack.pool().await;
    let conn = sentori_queue::connect(&stack.valkey_url, Duration::from_secs(30)).await.expect("Valkey");
    let producer = Producer::new(conn, Keys::new(stack.namespace.clone()));
    match input {
        Input::V1(events) => {
            eprintln!("queueing {count} /v1 events");
            queue_events(&producer, events).await;
        }
        Input::Sentry(envelopes) => {
            eprintln!("queueing {count} Sentry events through ingest");
            post_through_ingest(&stack, envelopes).await;
        }
    }
    assert_eq!(producer.length(Stream::Events).await.expect("stream length"), count as u64, "every event is queued");

    let mut env = stack.service_env();
    env.push(("RUST_LOG".into(), "error".into()));
    // Tuning under test (`SENTORI_PROCESSOR_BATCH_SIZE=1000 processor-bench`)
    // reaches the processor; the rest of its environment is the stack's.
    env.extend(std::env::vars().filter(|(name, _)| name.starts_with("SENTORI_PROCESSOR_")));
    let started = Instant::now();
    let processor = ServiceProcess::start("processor", "SENTORI_PROCESSOR_ADDR", &env).await;
    let drain = wait_drained(&producer, count as u64, started, &[processor.pid()]).await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&pool).await.expect("count");
    assert_eq!(stored as usize, count, "every queued event is stored exactly once");
    drop((processor, pool));
    stack.remove().await;
    Run { rate: drain.rate, with_startup: drain.with_startup, first_batch_s: drain.first_batch_s, rss_mb: drain.peak_rss_mb }
}

/// Posts every envelope to a real ingest of `stack` (16 at a time) and
/// stops it; each must be accepted.
async fn post_through_ingest(stack: &TestStack, envelopes: Arc<Vec<Bytes>>) {
    const SENDERS: usize = 16;
    let mut env = stack.service_env();
    env.push(("SENTORI_RATE_LIMIT_PER_MIN".into(), "1000000000".into()));
    env.push(("RUST_LOG".into(), "error".into()));
    let ingest = ServiceProcess::start("ingest", "SENTORI_INGEST_ADDR", &env).await;
    let url = ingest.url("/api/1/envelope/");
    let client = reqwest::Client::new();
    let mut senders = tokio::task::JoinSet::new();
    for sender in 0..SENDERS {
        let (client, url, token, envelopes) = (client.clone(), url.clone(), stack.dev_token.clone(), envelopes.clone());
        senders.spawn(async move {
            for body in envelopes.iter().skip(sender).step_by(SENDERS) {
                loop {
                    let response = client
                        .post(&url)
                        .bearer_auth(&token)
                        .header("content-type", "application/x-sentry-envelope")
                        .body(body.clone())
                        .send()
                        .await
                        .expect("ingest answers");
                    match response.status().as_u16() {
                        200 => break,
                        // Back-pressure (the backlog cap): wait and send again.
                        503 => tokio::time::sleep(Duration::from_millis(50)).await,
                        status => panic!("ingest refused a Sentry envelope: {status} {}", response.text().await.unwrap_or_default()),
                    }
                }
            }
        });
    }
    while let Some(done) = senders.join_next().await {
        done.expect("a sender");
    }
}

/// Rows as the processor writes them, loaded with `COPY … FROM STDIN`.
async fn copy_baseline(events: &[serde_json::Value]) -> f64 {
    let stack = TestStack::new().await;
    let pool: PgPool = stack.pool().await;
    let issues: Vec<uuid::Uuid> = (0..300).map(|_| uuid::Uuid::now_v7()).collect();
    let now = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap();
    let mut csv = String::with_capacity(events.len() * 4096);
    for (i, event) in events.iter().enumerate() {
        let fields = [
            DEV_PROJECT_ID.to_string(),
            event["id"].as_str().unwrap().to_owned(),
            now.clone(),
            event["timestamp"].as_str().unwrap().to_owned(),
            issues[i % issues.len()].to_string(),
            event["kind"].as_str().unwrap().to_owned(),
            "error".to_owned(),
            "javascript".to_owned(),
            event["release"].as_str().unwrap().to_owned(),
            event["environment"].as_str().unwrap().to_owned(),
            event["user"]["id"].as_str().unwrap().to_owned(),
            "bench/1".to_owned(),
            format!("{}: {}", event["error"]["type"].as_str().unwrap(), event["error"]["message"].as_str().unwrap()),
            event["device"]["os"].as_str().unwrap().to_owned(),
            event["device"]["osVersion"].as_str().unwrap().to_owned(),
            event["device"]["model"].as_str().unwrap().to_owned(),
            "react-native 0.76".to_owned(),
            event.to_string(),
        ];
        let quoted: Vec<String> = fields.iter().map(|f| format!("\"{}\"", f.replace('"', "\"\""))).collect();
        csv.push_str(&quoted.join(","));
        csv.push('\n');
    }
    let started = Instant::now();
    let mut conn = pool.acquire().await.expect("connection");
    let mut copy = conn
        .copy_in_raw(
            "COPY events (project_id, id, received_at, timestamp, issue_id, kind, level, platform, release, environment, user_key, sdk,
                          title, os, os_version, device_model, runtime, payload) FROM STDIN WITH (FORMAT csv)",
        )
        .await
        .expect("COPY starts");
    for chunk in csv.as_bytes().chunks(1 << 20) {
        copy.send(chunk).await.expect("COPY data");
    }
    copy.finish().await.expect("COPY finishes");
    let rate = events.len() as f64 / started.elapsed().as_secs_f64();
    drop((conn, pool));
    stack.remove().await;
    rate
}
