//! HTTP load against one endpoint: a closed loop for maximum throughput and
//! an open loop for latency at a fixed rate.
//!
//! The generator shares the 2-core box with the server it measures, so
//! every microsecond it spends is taken from that server. It is built the
//! way wrk2 is: a fixed set of keep-alive connections, each driven by the
//! one task that owns it, each keeping its latencies in its own histogram.
//! There is no client pool to check connections in and out of, no task
//! spawned per request and no channel per result. (The previous generator,
//! on reqwest with a task per request, used 37 % of a core at 3 400 req/s;
//! docs/performance.md.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http::{Request, Uri, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where a load goes: one URL, one token, bodies sent round-robin.
#[derive(Clone)]
pub struct Target {
    pub url: String,
    pub token: String,
    pub bodies: Arc<Vec<Bytes>>,
    /// `application/json`, or `application/x-protobuf` for OTLP.
    pub content_type: &'static str,
    /// Give each request's body a new id (bodies from
    /// [`crate::payloads::id_first`]), so a processor stores every request
    /// instead of dropping the round-robin's repeats as duplicates.
    pub fresh_ids: bool,
}

impl Target {
    fn body(&self, n: u64) -> Bytes {
        let body = self.bodies[n as usize % self.bodies.len()].clone();
        if !self.fresh_ids {
            return body;
        }
        let mut copy = body.to_vec();
        let at = crate::payloads::ID_AT;
        uuid::Uuid::new_v4().hyphenated().encode_lower(&mut copy[at..at + 36]);
        Bytes::from(copy)
    }
}

/// One keep-alive HTTP/1.1 connection to a target, reopened when it fails.
struct Connection {
    target: Target,
    uri: Uri,
    authorization: String,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Connection {
    fn new(target: &Target) -> Self {
        let uri: Uri = target.url.parse().expect("a target URL");
        Self { target: target.clone(), uri, authorization: format!("Bearer {}", target.token), sender: None }
    }

    async fn open(&self) -> Option<SendRequest<Full<Bytes>>> {
        let authority = self.uri.authority()?.as_str();
        let stream = TcpStream::connect(authority).await.ok()?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.ok()?;
        tokio::spawn(connection);
        Some(sender)
    }

    /// Sends body `n` and reads the answer to the end. A failed request
    /// drops the connection; the next one opens a new connection, and its
    /// handshake is part of that request's latency, as it would be for a client.
    async fn send(&mut self, n: u64) -> bool {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            self.sender = self.open().await;
        }
        let Some(sender) = self.sender.as_mut() else { return false };
        let request = Request::post(self.uri.clone())
            .header(header::HOST, self.uri.authority().map_or("", |a| a.as_str()))
            .header(header::AUTHORIZATION, &self.authorization)
            .header(header::CONTENT_TYPE, self.target.content_type)
            .body(Full::new(self.target.body(n)))
            .expect("a well-formed request");
        let answered = match sender.ready().await {
            Ok(()) => sender.send_request(request).await,
            Err(err) => Err(err),
        };
        let ok = match answered {
            Ok(response) => {
                let accepted = response.status().is_success();
                response.into_body().collect().await.is_ok() && accepted
            }
            Err(_) => false,
        };
        if !ok {
            self.sender = None;
        }
        ok
    }
}

/// Sends as fast as `connections` concurrent clients can for `duration` and
/// returns the rate of accepted (2xx) requests per second.
pub async fn max_throughput(target: &Target, connections: usize, duration: Duration) -> f64 {
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..connections as u64)
        .map(|worker| {
            let mut connection = Connection::new(target);
            tokio::spawn(async move {
                let (mut accepted, mut failed) = (0u64, 0u64);
                let mut n = worker;
                while Instant::now() < deadline {
                    match connection.send(n).await {
                        true => accepted += 1,
                        false => failed += 1,
                    }
                    n += connections as u64;
                }
                (accepted, failed)
            })
        })
        .collect();
    let (mut accepted, mut failed) = (0, 0);
    for worker in workers {
        let (a, f) = worker.await.expect("a load worker");
        accepted += a;
        failed += f;
    }
    let elapsed = started.elapsed().as_secs_f64();
    if failed > 0 {
        eprintln!("  {failed} requests failed during the throughput run");
    }
    accepted as f64 / elapsed
}

/// Latencies of an open-loop load: requests are started on a fixed schedule
/// whatever the server does, and each latency counts from its scheduled
/// start, so a stalled server cannot hide its queueing (no coordinated omission).
pub struct OpenLoopResult {
    pub histogram_us: Histogram<u64>,
    /// How late each request went out, from its due time to the moment the
    /// generator wrote it: the generator's own share of `histogram_us`
    /// (its timer's 1 ms resolution, its scheduling) plus any wait for a
    /// connection still busy with the previous answer.
    pub send_delay_us: Histogram<u64>,
    pub failed: u64,
    pub sent: u64,
}

/// Runs `rate_per_s` requests a second over `connections` connections for
/// `warmup` + `duration`. Request `n` is due at `n / rate` and goes out on
/// connection `n % connections`; a connection still busy when its next
/// request is due sends it late, and the wait counts in that request's
/// latency. With the connections chosen so that each is due every few tens
/// of milliseconds, only a stall that long makes requests wait for a
/// connection at all.
///
/// The first `warmup` of the schedule is sent but not recorded: it opens the
/// connections, whose handshakes would otherwise be counted as the server's latency.
pub async fn open_loop(target: &Target, rate_per_s: f64, connections: usize, warmup: Duration, duration: Duration) -> OpenLoopResult {
    let interval = Duration::from_secs_f64(1.0 / rate_per_s);
    let unrecorded = (rate_per_s * warmup.as_secs_f64()) as u64;
    let total = unrecorded + (rate_per_s * duration.as_secs_f64()) as u64;
    let started = Instant::now();
    let workers: Vec<_> = (0..connections as u64)
        .map(|first| {
            let mut connection = Connection::new(target);
            tokio::spawn(async move {
                let (mut histogram, mut send_delay) = (latency_histogram(), latency_histogram());
                let mut failed = 0;
                for n in (first..total).step_by(connections) {
                    let due = started + interval.mul_f64(n as f64);
                    tokio::time::sleep_until(due.into()).await;
                    let delay = due.elapsed();
                    let ok = connection.send(n).await;
                    if n < unrecorded {
                        continue;
                    }
                    send_delay.saturating_record((delay.as_micros() as u64).max(1));
                    match ok {
                        true => histogram.saturating_record((due.elapsed().as_micros() as u64).max(1)),
                        false => failed += 1,
                    }
                }
                (histogram, send_delay, failed)
            })
        })
        .collect();
    let (mut histogram_us, mut send_delay_us) = (latency_histogram(), latency_histogram());
    let mut failed = 0;
    for worker in workers {
        let (histogram, send_delay, f) = worker.await.expect("a load worker");
        histogram_us.add(histogram).expect("histograms with the same bounds");
        send_delay_us.add(send_delay).expect("histograms with the same bounds");
        failed += f;
    }
    OpenLoopResult { histogram_us, send_delay_us, failed, sent: total - unrecorded }
}

/// Gives the calling thread a higher scheduling priority (nice -10), for
/// the load generator's runtime threads (`on_thread_start`).
///
/// The generator stands in for clients on other machines, whose requests
/// go out on time whatever the server is doing. Sharing two cores with the
/// server at the same priority, its own lateness in sending
/// (`open_loop_send_delay_p99_ms`) would be counted as the server's
/// latency. With the priority, it wakes when its requests are due; the
/// servers still share what CPU it leaves. The servers are started from
/// the main thread, which keeps the default priority, so they do not
/// inherit it. Without the privilege (not root), it says so and goes on.
pub fn raise_thread_priority() {
    // SAFETY: setpriority only reads its integer arguments; on Linux,
    // PRIO_PROCESS with 0 names the calling thread.
    let raised = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, -10) };
    if raised != 0 {
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| eprintln!("  the load generator runs at the default priority: {}", std::io::Error::last_os_error()));
    }
}

fn latency_histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}
