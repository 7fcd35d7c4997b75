//! `make bench`: the pipeline as a user runs it, ingest and processor
//! together on the test stack's PostgreSQL and Valkey, on this one box.
//!
//! Finds the highest rate of single-event `POST /v1/events` (open loop, a
//! new event id per request) at which the events stream's backlog stays
//! flat: steps of `BENCH_STEP_SECONDS` (default 10) from 500 events/s up by
//! half each time until the backlog grows, then two halvings of the gap.
//! At the rate found, `BENCH_SECONDS` (default 30) are measured:
//! `stack_events_per_s` (events stored, over the time they were sent in)
//! and `stack_cpu_us_per_event`: the CPU time of ingest, the processor,
//! PostgreSQL (the postmaster and every backend) and Valkey over the run,
//! divided by the events stored. The load generator's own CPU is not in it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sentori_bench::{Target, open_loop, payloads, report, run_load_generator, seconds};
use sentori_queue::Stream;
use sentori_testkit::{ServiceProcess, TestStack};
use sqlx::PgPool;

const START_RATE: f64 = 500.0;
const CONNECTIONS: usize = 64;
/// Sent before each step and not recorded (it opens the connections).
const WARMUP: Duration = Duration::from_secs(2);

fn main() {
    run_load_generator(run());
}

struct Pipeline {
    stack: TestStack,
    pool: PgPool,
    valkey: redis::aio::MultiplexedConnection,
    ingest: ServiceProcess,
    processor: ServiceProcess,
    target: Target,
}

async fn run() {
    let (step, measured) = (seconds("BENCH_STEP_SECONDS", 10), seconds("BENCH_SECONDS", 30));
    let stack = TestStack::new().await;
    let mut env = stack.service_env();
    env.push(("SENTORI_RATE_LIMIT_PER_MIN".into(), "1000000000".into()));
    env.push(("RUST_LOG".into(), "error".into()));
    let ingest = ServiceProcess::start("ingest", "SENTORI_INGEST_ADDR", &env).await;
    let processor = ServiceProcess::start("processor", "SENTORI_PROCESSOR_ADDR", &env).await;
    let bodies = Arc::new(payloads::id_first(&payloads::events(2000, 300)));
    let target =
        Target { url: ingest.url("/v1/events"), token: stack.dev_token.clone(), bodies, content_type: "application/json", fresh_ids: true };
    let (pool, valkey) = (stack.pool().await, stack.valkey().await);
    let mut pipeline = Pipeline { stack, pool, valkey, ingest, processor, target };

    let (mut low, mut high) = (None, None);
    let mut rate = START_RATE;
    while high.is_none() && rate < 200_000.0 {
        if pipeline.keeps_up(rate, step).await {
            low = Some(rate);
            rate *= 1.5;
        } else {
            high = Some(rate);
        }
    }
    let mut low = low.unwrap_or_else(|| panic!("the pipeline did not keep up with {START_RATE} events/s"));
    if let Some(mut high) = high {
        for _ in 0..2 {
            let middle = (low + high) / 2.0;
            if pipeline.keeps_up(middle, step).await { low = middle } else { high = middle }
        }
    }

    eprintln!("measuring at {low:.0} events/s for {measured:?}");
    pipeline.drain().await;
    let stored_before = pipeline.stored().await;
    let cpu_before = pipeline.cpu_seconds().await;
    let started = Instant::now();
    let result = open_loop(&pipeline.target, low, CONNECTIONS, WARMUP, measured).await;
    let sending = started.elapsed();
    pipeline.drain().await;
    let cpu = pipeline.cpu_seconds().await - cpu_before;
    let stored = (pipeline.stored().await - stored_before) as f64;
    if result.failed > 0 {
        eprintln!("  {} of {} requests failed", result.failed, result.sent);
    }
    report("stack_offered_events_per_s", low, "events/s");
    report("stack_events_per_s", stored / sending.as_secs_f64(), "events/s");
    report("stack_cpu_us_per_event", cpu * 1e6 / stored, "us");
    report("stack_p99_ms", result.histogram_us.value_at_quantile(0.99) as f64 / 1000.0, "ms");
    let Pipeline { stack, pool, ingest, processor, .. } = pipeline;
    drop((ingest, processor, pool));
    stack.remove().await;
}

impl Pipeline {
    /// One step at `rate`: the backlog left at its end is at most one
    /// second of events, and every request was accepted.
    async fn keeps_up(&mut self, rate: f64, step: Duration) -> bool {
        self.drain().await;
        let result = open_loop(&self.target, rate, CONNECTIONS, WARMUP, step).await;
        let backlog = self.backlog().await;
        let flat = result.failed == 0 && backlog as f64 <= rate;
        eprintln!("  {rate:.0} events/s: backlog {backlog} at the end, {} failed: {}", result.failed, if flat { "flat" } else { "growing" });
        flat
    }

    async fn backlog(&mut self) -> u64 {
        let key = self.stack.keys().stream(Stream::Events);
        redis::cmd("XLEN").arg(key).query_async(&mut self.valkey).await.expect("XLEN")
    }

    /// Waits (at most two minutes) for the processor to empty the stream.
    async fn drain(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.backlog().await > 0 {
            assert!(Instant::now() < deadline, "the processor did not drain the stream in two minutes");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn stored(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&self.pool).await.expect("count")
    }

    /// CPU seconds used so far by ingest, the processor, PostgreSQL and Valkey.
    async fn cpu_seconds(&mut self) -> f64 {
        let data_dir: String = sqlx::query_scalar("SHOW data_directory").fetch_one(&self.pool).await.expect("the data directory");
        let pid_file = std::fs::read_to_string(format!("{data_dir}/postmaster.pid")).expect("postmaster.pid");
        let postmaster: u32 = pid_file.lines().next().and_then(|l| l.trim().parse().ok()).expect("the postmaster's pid");
        let info: String = redis::cmd("INFO").arg("server").query_async(&mut self.valkey).await.expect("INFO server");
        let valkey: u32 = info.lines().find_map(|l| l.strip_prefix("process_id:")?.trim().parse().ok()).expect("Valkey's pid");
        let mut ticks = [self.ingest.pid(), self.processor.pid(), valkey].iter().map(|&pid| own_ticks(pid)).sum::<u64>();
        // Backends that exited are in the postmaster's children's time.
        ticks += stat(postmaster).map_or(0, |f| f.utime + f.stime + f.cutime + f.cstime);
        ticks += children_of(postmaster).into_iter().map(own_ticks).sum::<u64>();
        ticks as f64 / clock_ticks_per_second()
    }
}

struct ProcStat {
    ppid: u32,
    utime: u64,
    stime: u64,
    cutime: u64,
    cstime: u64,
}

/// `/proc/<pid>/stat`, read past the command name (which may hold spaces).
fn stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    // After the name: state, ppid (field 4), … utime (14), stime, cutime, cstime.
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok());
    Some(ProcStat { ppid: field(4)? as u32, utime: field(14)?, stime: field(15)?, cutime: field(16)?, cstime: field(17)? })
}

fn own_ticks(pid: u32) -> u64 {
    stat(pid).map_or(0, |f| f.utime + f.stime)
}

fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| stat(pid).is_some_and(|f| f.ppid == parent))
        .collect()
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }) as f64
}
