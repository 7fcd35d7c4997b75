//! Stream depth as Prometheus gauges, so operators can alert on a growing
//! backlog or any dead letter (deploy/prometheus/alerts.yml).

use std::time::Duration;

use sentori_queue::{Producer, Stream};
use sentori_runtime::Shutdown;

const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// The consumer group that works each stream.
fn group(stream: Stream) -> &'static str {
    match stream {
        Stream::Notify => "notifier",
        _ => crate::GROUP,
    }
}

pub fn spawn(producer: Producer, shutdown: Shutdown) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SAMPLE_EVERY);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {
                    for stream in Stream::ALL {
                        match producer.stats(stream, group(stream)).await {
                            Ok(stats) => {
                                let name = stream.name();
                                metrics::gauge!("sentori_stream_length", "stream" => name).set(stats.length as f64);
                                metrics::gauge!("sentori_stream_pending", "stream" => name).set(stats.pending as f64);
                                metrics::gauge!("sentori_stream_dead_letters", "stream" => name).set(stats.dead_letters as f64);
                            }
                            Err(err) => tracing::debug!(error = %err, "sampling stream depth failed"),
                        }
                    }
                }
            }
        }
    });
}
