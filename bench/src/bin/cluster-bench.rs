//! `make bench`: Sentori on a three-primary Valkey Cluster (a replica each,
//! every stream in 16 partitions), against the single node in the same run.
//!
//! - The processor's sustained rate with one and with two processor
//!   processes on the cluster, and with one on the single node (one
//!   partition, as processor-bench runs it), rounds interleaved. On two
//!   cores a second process cannot double anything; the figure shows
//!   whether partitions and their polling hold a processor back.
//! - Ingest's `/v1/events` against the bare handler (bare-ingest.rs),
//!   alternately, on the single node, on the cluster, and on the cluster
//!   with every append waiting for a replica (`SENTORI_VALKEY_WAIT_REPLICAS=1`):
//!   `single_node_ingest_vs_bare_ratio`, `cluster_ingest_vs_bare_ratio`,
//!   `cluster_wait_replica_ingest_vs_bare_ratio`.
//! - The CPU microseconds each kind of process spends per event, from
//!   `/proc`: what the capacity model in docs/self-hosting.md is made of.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sentori_bench::{CpuMeter, Measure, Target, max_throughput, median, payloads, queue_events, report, run_load_generator, seconds, wait_drained};
use sentori_queue::{Keys, Producer, Stream};
use sentori_testkit::{ServiceProcess, TestStack, ValkeyCluster};

const SHARDS: u16 = 16;

/// Where the streams are for one run.
#[derive(Clone, Copy, PartialEq)]
enum Streams {
    SingleNode,
    Cluster,
    /// The cluster, with every append waiting for a replica (`SENTORI_VALKEY_WAIT_REPLICAS=1`).
    ClusterWaitingForReplica,
}

fn main() {
    run_load_generator(run());
}

async fn run() {
    let count: usize = std::env::var("BENCH_EVENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(30_000);
    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(2);
    let cluster = ValkeyCluster::start(3).await;
    let events = payloads::events(count, 300);

    if rounds > 0 {
        processor_rates(&cluster, rounds, &events).await;
    }
    ingest_ratio(&cluster, Streams::SingleNode).await;
    ingest_ratio(&cluster, Streams::Cluster).await;
    ingest_ratio(&cluster, Streams::ClusterWaitingForReplica).await;
}

impl Streams {
    /// `SENTORI_VALKEY_URL` and `SENTORI_STREAM_SHARDS` of a run.
    fn settings(self, stack: &TestStack, cluster: &ValkeyCluster) -> (String, u16) {
        match self {
            Streams::SingleNode => (stack.valkey_url.clone(), 1),
            Streams::Cluster | Streams::ClusterWaitingForReplica => (cluster.url(), SHARDS),
        }
    }

    fn env(self, stack: &TestStack, cluster: &ValkeyCluster) -> Vec<(String, String)> {
        let (url, shards) = self.settings(stack, cluster);
        let mut env = stack.service_env();
        env.retain(|(k, _)| k != "SENTORI_VALKEY_URL");
        env.push(("SENTORI_VALKEY_URL".into(), url));
        env.push(("SENTORI_STREAM_SHARDS".into(), shards.to_string()));
        env.push(("RUST_LOG".into(), "error".into()));
        if self == Streams::ClusterWaitingForReplica {
            env.push(("SENTORI_VALKEY_WAIT_REPLICAS".into(), "1".into()));
        }
        env
    }

    fn name(self) -> &'static str {
        match self {
            Streams::SingleNode => "single_node",
            Streams::Cluster => "cluster",
            Streams::ClusterWaitingForReplica => "cluster_wait_replica",
        }
    }
}

/// The processor's sustained rate on the single node and on the cluster
/// with one and with two processes, `rounds` times interleaved.
async fn processor_rates(cluster: &ValkeyCluster, rounds: usize, events: &[serde_json::Value]) {
    let (mut single, mut one, mut two) = (Vec::new(), Vec::new(), Vec::new());
    let (mut single_cpu, mut one_cpu) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (rate, cpu) = processor_rate(cluster, Streams::SingleNode, 1, events).await;
        single.push(rate);
        single_cpu = cpu;
        let (rate, cpu) = processor_rate(cluster, Streams::Cluster, 1, events).await;
        one.push(rate);
        one_cpu = cpu;
        two.push(processor_rate(cluster, Streams::Cluster, 2, events).await.0);
    }
    eprintln!("processor events/s by round: single node {single:?}, cluster one process {one:?}, two processes {two:?}");
    let (single, one, two) = (median(&single), median(&one), median(&two));
    report("single_node_processor_events_per_s", single, "events/s");
    report("cluster_processor_events_per_s_one_process", one, "events/s");
    report("cluster_processor_events_per_s_two_processes", two, "events/s");
    report("cluster_vs_single_node_processor_ratio", one / single, "ratio");
    report("cluster_two_vs_one_processor_ratio", two / one, "ratio");
    // The last round's CPU per stored event, by process kind.
    report_cpu("single_node_processing", &single_cpu);
    report_cpu("cluster_processing", &one_cpu);
}

/// Queues `events` onto a fresh namespace, starts `processes` processors
/// and times them from the first acknowledgement until every partition is
/// empty; every event must then be stored once.
async fn processor_rate(cluster: &ValkeyCluster, streams: Streams, processes: usize, events: &[serde_json::Value]) -> (f64, Vec<(&'static str, f64)>) {
    let stack = TestStack::new().await;
    let pool = stack.pool().await;
    let (url, shards) = streams.settings(&stack, cluster);
    let producer = Producer::new(sentori_queue::connect(&url, Duration::from_secs(30)).await.expect("Valkey"), Keys::with_shards(stack.namespace.clone(), shards));
    queue_events(&producer, events).await;
    let count = events.len() as u64;
    assert_eq!(producer.length(Stream::Events).await.expect("stream length"), count, "every event is queued");

    let env = streams.env(&stack, cluster);
    let cpu = CpuMeter::start(&["processor", "valkey-server", "postgres"]);
    let started = Instant::now();
    let mut processors = Vec::new();
    for _ in 0..processes {
        processors.push(ServiceProcess::start("processor", "SENTORI_PROCESSOR_ADDR", &env).await);
    }
    let pids: Vec<u32> = processors.iter().map(ServiceProcess::pid).collect();
    let drain = wait_drained(&producer, count, started, &pids).await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&pool).await.expect("count");
    assert_eq!(stored as u64, count, "every queued event is stored exactly once");
    let cpu = cpu.per_unit(count as f64);
    drop((processors, pool));
    stack.remove().await;
    (drain.rate, cpu)
}

/// Ingest's `/v1/events` on `streams` against the bare handler, alternately.
async fn ingest_ratio(cluster: &ValkeyCluster, streams: Streams) {
    let stack = TestStack::new().await;
    let mut env = streams.env(&stack, cluster);
    env.push(("SENTORI_RATE_LIMIT_PER_MIN".into(), "1000000000".into()));
    env.push(("SENTORI_MAX_BACKLOG".into(), "100000000".into()));
    let ingest = ServiceProcess::start("ingest", "SENTORI_INGEST_ADDR", &env).await;
    let bare = ServiceProcess::start("bare-ingest", "BARE_ADDR", &[]).await;
    let (url, shards) = streams.settings(&stack, cluster);
    let keys = Keys::with_shards(stack.namespace.clone(), shards);
    let trimmer = sentori_bench::spawn_stream_trimmer(sentori_queue::connect(&url, Duration::from_secs(5)).await.expect("Valkey"), keys);

    let connections: usize = std::env::var("BENCH_CONNECTIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(32);
    let measure = Measure { connections, run: seconds("BENCH_SECONDS", 10), pairs: 3 };
    let bodies = Arc::new(payloads::encoded(&payloads::events(2000, 300)));
    let json = "application/json";
    let subject = Target { url: ingest.url("/v1/events"), token: stack.dev_token.clone(), bodies: bodies.clone(), content_type: json, fresh_ids: false };
    let baseline = Target { url: bare.url("/v1/events"), token: String::new(), bodies, content_type: json, fresh_ids: false };
    let name = streams.name();
    let names = [format!("{name}_bare_events_per_s"), format!("{name}_ingest_events_per_s"), format!("{name}_ingest_vs_bare_ratio")];
    measure.ratio(&baseline, &subject, 1.0, names.each_ref().map(String::as_str), "req/s").await;
    // Where a request's CPU goes, in a run of its own (the ratio's runs
    // interleave the baseline's).
    let cpu = CpuMeter::start(&["ingest", "valkey-server"]);
    let rate = max_throughput(&subject, measure.connections, measure.run).await;
    report_cpu(&format!("{name}_ingest"), &cpu.per_unit(rate * measure.run.as_secs_f64()));
    trimmer.abort();
    drop(ingest);
    stack.remove().await;
}

/// `bench: <prefix>_<process>_cpu_us_per_event` for each process kind.
fn report_cpu(prefix: &str, per_event: &[(&str, f64)]) {
    for (name, us) in per_event {
        report(&format!("{prefix}_{}_cpu_us_per_event", name.replace('-', "_")), *us, "us");
    }
}
