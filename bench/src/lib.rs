//! Load generation for Sentori's benchmarks.
//!
//! Every figure is printed as one line `bench: <name> <value> <unit>` and is
//! measured against a baseline in the same run on the same machine, because
//! absolute numbers on a shared 2-core box mean little on their own.

use serde_json::json;

pub mod load;
pub mod payloads;
pub mod sql_replay;

pub use load::{OpenLoopResult, Target, max_throughput, open_loop};

use std::time::Duration;

use std::time::Instant;

use sentori_protocol::{DEV_ORG_ID, DEV_PROJECT_ID};
use sentori_queue::{Envelope, ItemKind, Keys, PartitionKey, Producer, Stream, Valkey};
use sentori_testkit::EVENT_BATCH_MAX;

/// Prints one result line in the format `make bench` promises.
pub fn report(name: &str, value: f64, unit: &str) {
    println!("bench: {name} {value:.3} {unit}");
}

/// A duration in whole seconds from the environment variable `name`.
pub fn seconds(name: &str, default: u64) -> std::time::Duration {
    std::time::Duration::from_secs(std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default))
}

/// Runs a load generator's `main` on a runtime whose threads have the
/// generator's raised priority ([`load::raise_thread_priority`]).
pub fn run_load_generator(main: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(load::raise_thread_priority)
        .build()
        .expect("the load generator's runtime")
        .block_on(main);
}

/// The middle value (the mean of the two middle ones for an even count).
pub fn median(values: &[f64]) -> f64 {
    let mut values = values.to_vec();
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Resident and peak memory of a process, from `/proc/<pid>/status`, in MiB.
pub fn memory_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// A JSON `202 {"id"}` body, the same answer ingest gives.
pub fn accepted_body(id: &str) -> String {
    json!({ "id": id }).to_string()
}

/// How throughput is measured: closed loops of `connections` for `run`.
pub struct Measure {
    pub connections: usize,
    pub run: Duration,
    pub pairs: usize,
}

impl Measure {
    /// Baseline and subject alternately, `pairs` times after a warm-up of
    /// each; reports both medians (times `per_request`, in `unit`) and the
    /// median ratio with its spread. Returns the subject's median in requests/s.
    pub async fn ratio(&self, baseline: &Target, subject: &Target, per_request: f64, names: [&str; 3], unit: &str) -> f64 {
        let [baseline_name, subject_name, ratio_name] = names;
        max_throughput(baseline, self.connections, Duration::from_secs(2)).await;
        max_throughput(subject, self.connections, Duration::from_secs(2)).await;
        eprintln!("{ratio_name}: {} pairs, {} connections, {:?} each", self.pairs, self.connections, self.run);
        let (mut baselines, mut subjects, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..self.pairs {
            let b = max_throughput(baseline, self.connections, self.run).await;
            let s = max_throughput(subject, self.connections, self.run).await;
            eprintln!("  baseline {b:.0} req/s, subject {s:.0} req/s, ratio {:.3}", s / b);
            baselines.push(b);
            subjects.push(s);
            ratios.push(s / b);
        }
        let subject_rate = median(&subjects);
        report(baseline_name, median(&baselines) * per_request, unit);
        report(subject_name, subject_rate * per_request, unit);
        report(ratio_name, median(&ratios), "ratio");
        report(&format!("{ratio_name}_min"), ratios.iter().copied().fold(f64::INFINITY, f64::min), "ratio");
        report(&format!("{ratio_name}_max"), ratios.iter().copied().fold(0.0, f64::max), "ratio");
        subject_rate
    }
}

/// Deletes what ingest queued, as processors keeping up would. Without
/// it the streams would grow by hundreds of megabytes a run, and Valkey
/// would spend the measurement rewriting its append-only file around a
/// backlog no deployment lets build (back-pressure refuses work long
/// before). What the processor costs is measured by processor-bench.
/// Every partition is trimmed, on a node or a cluster.
pub fn spawn_stream_trimmer(mut valkey: Valkey, keys: Keys) -> tokio::task::JoinHandle<()> {
    let partitions: Vec<String> =
        [Stream::Events, Stream::Spans].into_iter().flat_map(|s| (0..keys.shards()).map(move |p| (s, p))).map(|(s, p)| keys.partition(s, p)).collect();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            for partition in &partitions {
                let trimmed: redis::RedisResult<u64> =
                    redis::cmd("XTRIM").arg(partition).arg("MAXLEN").arg("~").arg(1000).query_async(&mut valkey).await;
                if let Err(err) = trimmed {
                    eprintln!("  trimming the stream failed: {err}");
                }
            }
        }
    })
}

/// Queues `events` of the dev project onto the events stream as ingest
/// would: a batch request's worth (100) to an append, so on several
/// partitions they spread as requests do.
pub async fn queue_events(producer: &Producer, events: &[serde_json::Value]) {
    for chunk in events.chunks(EVENT_BATCH_MAX) {
        let envelopes: Vec<Envelope> = chunk
            .iter()
            .map(|e| {
                Envelope::new(ItemKind::Event, DEV_PROJECT_ID, DEV_ORG_ID, time::OffsetDateTime::now_utc())
                    .with_payload(e.clone())
                    .with_sdk(Some("bench/1".into()))
            })
            .collect();
        producer.append(Stream::Events, PartitionKey::any(), &envelopes).await.expect("queueing");
    }
}

/// How processors emptied an events stream of `count` entries.
pub struct Drain {
    /// From `started` (when the processors were started) to the end.
    pub with_startup: f64,
    /// From the first acknowledged batch to the last: the sustained rate,
    /// with the processes' start-up left out.
    pub rate: f64,
    pub first_batch_s: f64,
    pub peak_rss_mb: f64,
}

/// Polls the stream (not `count(*)` of the growing table, which would load
/// PostgreSQL) until processors started at `started` have emptied it,
/// recording the peak memory of `pids`.
pub async fn wait_drained(producer: &Producer, count: u64, started: Instant, pids: &[u32]) -> Drain {
    let mut peak_rss_mb = 0.0f64;
    let mut first_ack: Option<(Instant, u64)> = None;
    let finished = loop {
        let backlog = producer.length(Stream::Events).await.expect("stream length");
        for pid in pids {
            peak_rss_mb = peak_rss_mb.max(memory_mb(*pid).0);
        }
        if first_ack.is_none() && backlog < count {
            first_ack = Some((Instant::now(), backlog));
        }
        if backlog == 0 {
            break Instant::now();
        }
        assert!(started.elapsed() < Duration::from_secs(600), "{backlog} events still queued after 10 minutes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let (first_ack_at, backlog_then) = first_ack.expect("the stream emptied, so something was acknowledged");
    for pid in pids {
        peak_rss_mb = peak_rss_mb.max(memory_mb(*pid).1);
    }
    let with_startup = count as f64 / (finished - started).as_secs_f64();
    // Too few events to see more than one poll: only the whole run is known.
    let rate = if backlog_then == 0 { with_startup } else { backlog_then as f64 / (finished - first_ack_at).as_secs_f64() };
    Drain { with_startup, rate, first_batch_s: (first_ack_at - started).as_secs_f64(), peak_rss_mb }
}

/// CPU time (user and system) that every process named `name` has used so
/// far, in seconds, from `/proc/<pid>/stat`. A process that has exited is
/// not counted: sample before stopping it.
pub fn cpu_seconds_of(name: &str) -> f64 {
    // USER_HZ, the unit of utime and stime, is 100 on every Linux ABI.
    const TICKS_PER_S: f64 = 100.0;
    let mut total = 0.0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // `pid (comm) state …`: the name may hold spaces, so split at the last ')'.
        let Some((head, rest)) = stat.rsplit_once(')') else { continue };
        if head.split_once('(').map(|(_, comm)| comm) != Some(name) {
            continue;
        }
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
        // utime and stime are the 14th and 15th fields; `rest` starts at the 3rd.
        total += (ticks(11) + ticks(12)) / TICKS_PER_S;
    }
    total
}

/// The CPU that processes of the given names use over a piece of work.
pub struct CpuMeter {
    names: &'static [&'static str],
    started: Vec<f64>,
}

impl CpuMeter {
    pub fn start(names: &'static [&'static str]) -> Self {
        Self { names, started: names.iter().map(|n| cpu_seconds_of(n)).collect() }
    }

    /// Microseconds of CPU per unit of work, per name, since [`CpuMeter::start`].
    pub fn per_unit(&self, units: f64) -> Vec<(&'static str, f64)> {
        self.names.iter().zip(&self.started).map(|(name, started)| (*name, (cpu_seconds_of(name) - started) * 1e6 / units)).collect()
    }
}
