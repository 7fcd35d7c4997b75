//! Load generation for Sentori's benchmarks.
//!
//! Every figure is printed as one line `bench: <name> <value> <unit>` and is
//! measured against a baseline in the same run on the same machine, because
//! absolute numbers on a shared 2-core box mean little on their own.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use serde_json::json;

pub mod payloads;

/// Prints one result line in the format `make bench` promises.
pub fn report(name: &str, value: f64, unit: &str) {
    println!("bench: {name} {value:.3} {unit}");
}

/// Where a load goes: one URL, one token, bodies sent round-robin.
#[derive(Clone)]
pub struct Target {
    pub url: String,
    pub token: String,
    pub bodies: Arc<Vec<Bytes>>,
}

/// Sends as fast as `connections` concurrent clients can for `duration` and
/// returns the rate of accepted (2xx) requests per second.
pub async fn max_throughput(target: &Target, connections: usize, duration: Duration) -> f64 {
    let client = client(connections);
    let accepted = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..connections)
        .map(|worker| {
            let (client, target, accepted, failed) = (client.clone(), target.clone(), accepted.clone(), failed.clone());
            tokio::spawn(async move {
                let mut i = worker;
                while Instant::now() < deadline {
                    let body = target.bodies[i % target.bodies.len()].clone();
                    i += connections;
                    match send(&client, &target, body).await {
                        true => accepted.fetch_add(1, Ordering::Relaxed),
                        false => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();
    for worker in workers {
        let _ = worker.await;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let failures = failed.load(Ordering::Relaxed);
    if failures > 0 {
        eprintln!("  {failures} requests failed during the throughput run");
    }
    accepted.load(Ordering::Relaxed) as f64 / elapsed
}

/// Latencies of an open-loop load: requests are started on a fixed schedule
/// whatever the server does, and each latency counts from its scheduled
/// start, so a stalled server cannot hide its queueing (no coordinated omission).
pub struct OpenLoopResult {
    pub histogram_us: Histogram<u64>,
    pub failed: u64,
    pub sent: u64,
}

///
/// The first `warmup` of the schedule is sent but not recorded: it opens the
/// client's connections, whose handshakes would otherwise be counted as the
/// server's latency.
pub async fn open_loop(target: &Target, rate_per_s: f64, warmup: Duration, duration: Duration) -> OpenLoopResult {
    let client = client(256);
    let interval = Duration::from_secs_f64(1.0 / rate_per_s);
    let unrecorded = (rate_per_s * warmup.as_secs_f64()) as u64;
    let total = unrecorded + (rate_per_s * duration.as_secs_f64()) as u64;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Option<u64>>();
    let started = Instant::now();
    for n in 0..total {
        let scheduled = started + interval.mul_f64(n as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        let (client, target, tx) = (client.clone(), target.clone(), tx.clone());
        let body = target.bodies[n as usize % target.bodies.len()].clone();
        tokio::spawn(async move {
            let ok = send(&client, &target, body).await;
            if n >= unrecorded {
                let _ = tx.send(ok.then(|| scheduled.elapsed().as_micros() as u64));
            }
        });
    }
    drop(tx);
    let mut histogram_us = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds");
    let mut failed = 0;
    while let Some(latency) = rx.recv().await {
        match latency {
            Some(us) => histogram_us.saturating_record(us.max(1)),
            None => failed += 1,
        }
    }
    OpenLoopResult { histogram_us, failed, sent: total - unrecorded }
}

fn client(connections: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// Sends one request and reads its answer to the end: a response dropped
/// unread makes the client close its connection, and the next request would
/// pay (and measure) a new TCP handshake.
async fn send(client: &reqwest::Client, target: &Target, body: Bytes) -> bool {
    let request = client.post(&target.url).bearer_auth(&target.token).header("content-type", "application/json").body(body);
    let Ok(response) = request.send().await else { return false };
    let accepted = response.status().is_success();
    response.bytes().await.is_ok() && accepted
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
