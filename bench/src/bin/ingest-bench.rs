//! `make bench`: ingest against a bare axum handler, in the same run.
//!
//! 1. Maximum throughput of single-event `POST /v1/events` for ingest and
//!    for the bare handler (closed loop, same concurrency): their ratio.
//!    The same for Sentry envelopes holding one such event
//!    (`POST /api/1/envelope/`) against the bare handler's envelope route:
//!    `envelope_vs_bare_ratio`.
//! 2. An open-loop load at half of ingest's maximum: p50/p99/p999 latency
//!    and ingest's memory.
//! 3. OTLP/HTTP protobuf, 100 spans a request, through `/v1/traces` and
//!    through the bare handler decoding the same protobuf: spans/s and their ratio.
//!
//! Each throughput ratio is measured in pairs, baseline then subject,
//! `BENCH_PAIRS` times (at least three) alternately, so both see the box in
//! the same states; the median of the pairs' ratios is reported, with the
//! lowest and highest as `<name>_min` and `<name>_max`. bare-ingest.rs says
//! what the baseline does.
//!
//! Ingest runs as its real release binary against the test stack's Valkey
//! and PostgreSQL; the load generator shares the machine with it.

use std::sync::Arc;
use std::time::Duration;

use sentori_bench::{Measure, Target, memory_mb, open_loop, payloads, report, run_load_generator, seconds};
use sentori_testkit::{ServiceProcess, TestStack};

/// Sent before each open-loop measurement and not recorded.
const WARMUP: Duration = Duration::from_secs(2);
/// Connections of the open loop: at half of ingest's rate each is due
/// every 30-40 ms, so only a stall that long makes a request wait for one.
const OPEN_LOOP_CONNECTIONS: usize = 128;

fn main() {
    run_load_generator(run());
}

async fn run() {
    let run = seconds("BENCH_SECONDS", 10);
    let connections: usize = std::env::var("BENCH_CONNECTIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(32);
    let stack = TestStack::new().await;
    let mut env = stack.service_env();
    env.push(("SENTORI_RATE_LIMIT_PER_MIN".into(), "1000000000".into()));
    env.push(("SENTORI_MAX_BACKLOG".into(), "100000000".into()));
    env.push(("RUST_LOG".into(), "error".into()));
    // Tuning under test reaches ingest; the rest of its environment is the stack's.
    env.extend(std::env::vars().filter(|(name, _)| name.starts_with("SENTORI_INGEST_") || name == "TOKIO_WORKER_THREADS"));
    let ingest = ServiceProcess::start("ingest", "SENTORI_INGEST_ADDR", &env).await;
    let bare = ServiceProcess::start("bare-ingest", "BARE_ADDR", &[]).await;

    let consumer = sentori_bench::spawn_stream_trimmer(sentori_queue::connect(&stack.valkey_url, Duration::from_secs(5)).await.expect("Valkey"), stack.keys());
    let mut valkey = stack.valkey().await;
    let rewrites_before = start_with_a_rewritten_aof(&mut valkey).await;

    let pairs = std::env::var("BENCH_PAIRS").ok().and_then(|v| v.parse().ok()).unwrap_or(3usize).max(3);
    let measure = Measure { connections, run, pairs };
    let bodies = Arc::new(payloads::encoded(&payloads::events(2000, 300)));
    let json = "application/json";
    let ingest_target = Target { url: ingest.url("/v1/events"), token: stack.dev_token.clone(), bodies: bodies.clone(), content_type: json, fresh_ids: false };
    let bare_target = Target { url: bare.url("/v1/events"), token: String::new(), bodies, content_type: json, fresh_ids: false };
    let ingest_rate = measure.ratio(&bare_target, &ingest_target, 1.0, ["bare_events_per_s", "ingest_events_per_s", "ingest_vs_bare_ratio"], "req/s").await;

    let envelopes = Arc::new(payloads::sentry_envelopes(2000, 300));
    let envelope = "application/x-sentry-envelope";
    let path = "/api/1/envelope/";
    let envelope_target = Target { url: ingest.url(path), token: stack.dev_token.clone(), bodies: envelopes.clone(), content_type: envelope, fresh_ids: false };
    let bare_envelope = Target { url: bare.url(path), token: String::new(), bodies: envelopes, content_type: envelope, fresh_ids: false };
    let names = ["bare_envelope_events_per_s", "envelope_events_per_s", "envelope_vs_bare_ratio"];
    measure.ratio(&bare_envelope, &envelope_target, 1.0, names, "req/s").await;

    let half = ingest_rate / 2.0;
    eprintln!("open loop at {half:.0} req/s for {run:?}");
    let result = open_loop(&ingest_target, half, OPEN_LOOP_CONNECTIONS, WARMUP, run).await;
    let (rss, peak) = memory_mb(ingest.pid());
    let h = &result.histogram_us;
    report("ingest_p50_half_load_ms", h.value_at_quantile(0.50) as f64 / 1000.0, "ms");
    report("ingest_p99_half_load_ms", h.value_at_quantile(0.99) as f64 / 1000.0, "ms");
    report("ingest_p999_half_load_ms", h.value_at_quantile(0.999) as f64 / 1000.0, "ms");
    report("open_loop_send_delay_p99_ms", result.send_delay_us.value_at_quantile(0.99) as f64 / 1000.0, "ms");
    report("ingest_rss_mb", rss, "MiB");
    report("ingest_peak_rss_mb", peak, "MiB");
    if result.failed > 0 {
        eprintln!("  {} of {} open-loop requests failed", result.failed, result.sent);
    }
    let baseline = open_loop(&bare_target, half, OPEN_LOOP_CONNECTIONS, WARMUP, run).await;
    report("bare_p50_same_load_ms", baseline.histogram_us.value_at_quantile(0.50) as f64 / 1000.0, "ms");
    report("bare_p99_same_load_ms", baseline.histogram_us.value_at_quantile(0.99) as f64 / 1000.0, "ms");
    // A rewrite during the run stalls Valkey (docs/performance.md): say
    // whether this run's figures include one.
    otlp_throughput(&stack, &ingest, &bare, &measure).await;
    let rewrites = aof_status(&mut valkey).await.rewrites - rewrites_before;
    report("valkey_aof_rewrites_during_run", rewrites as f64, "count");
    drop(ingest);
    consumer.abort();
    stack.remove().await;
}

/// OTLP/HTTP protobuf with 100 spans a request: spans per second through
/// ingest's `/v1/traces` (map, validate, quota, queue) against the bare
/// handler decoding the same protobuf (issue 19: the ratio is at least 0.5).
async fn otlp_throughput(stack: &TestStack, ingest: &ServiceProcess, bare: &ServiceProcess, measure: &Measure) {
    const SPANS_PER_REQUEST: usize = 100;
    let bodies = Arc::new(payloads::otlp_requests(200, SPANS_PER_REQUEST));
    let protobuf = "application/x-protobuf";
    let ingest_target = Target { url: ingest.url("/v1/traces"), token: stack.dev_token.clone(), bodies: bodies.clone(), content_type: protobuf, fresh_ids: false };
    let bare_target = Target { url: bare.url("/v1/traces"), token: String::new(), bodies, content_type: protobuf, fresh_ids: false };
    let names = ["bare_otlp_spans_per_s", "ingest_otlp_spans_per_s", "otlp_vs_bare_ratio"];
    measure.ratio(&bare_target, &ingest_target, SPANS_PER_REQUEST as f64, names, "spans/s").await;
}

struct AofStatus {
    rewrites: u64,
    rewriting: bool,
}

async fn aof_status(valkey: &mut redis::aio::MultiplexedConnection) -> AofStatus {
    let info: String = redis::cmd("INFO").arg("persistence").query_async(valkey).await.expect("INFO persistence");
    let field = |name: &str| {
        info.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(':')?.trim().parse::<u64>().ok()).unwrap_or(0)
    };
    AofStatus { rewrites: field("aof_rewrites"), rewriting: field("aof_rewrite_in_progress") == 1 || field("aof_rewrite_scheduled") == 1 }
}

/// The stack's append-only file carries whatever earlier benchmarks and
/// tests wrote (processor-bench alone adds hundreds of MB), so whether
/// Valkey rewrites it during this run, and stalls, would depend on what
/// ran before. Rewriting it first starts every run from the same small
/// file; a run then writes about half of the 1 GB rewrite threshold.
/// Returns the rewrite count afterwards.
async fn start_with_a_rewritten_aof(valkey: &mut redis::aio::MultiplexedConnection) -> u64 {
    let before = aof_status(valkey).await.rewrites;
    let _: redis::RedisResult<String> = redis::cmd("BGREWRITEAOF").query_async(valkey).await;
    for _ in 0..600 {
        let status = aof_status(valkey).await;
        if status.rewrites > before && !status.rewriting {
            return status.rewrites;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("  the AOF rewrite did not finish within a minute; measuring anyway");
    aof_status(valkey).await.rewrites
}
