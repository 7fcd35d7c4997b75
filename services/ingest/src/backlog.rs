//! Back-pressure: past a configured number of unprocessed entries, ingest
//! refuses new work with `503` rather than letting the streams grow without
//! bound. Stream lengths are sampled in the background so the hot path pays
//! no extra round trip.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sentori_queue::{Producer, Stream};
use sentori_runtime::Shutdown;

const INGEST_STREAMS: [Stream; 4] = [Stream::Events, Stream::Spans, Stream::Sessions, Stream::Deploys];

#[derive(Clone)]
pub struct BacklogGauge {
    lengths: Arc<[AtomicU64; 4]>,
    max: u64,
}

impl BacklogGauge {
    pub fn new(max: u64) -> Self {
        Self { lengths: Arc::new(Default::default()), max }
    }

    fn slot(stream: Stream) -> usize {
        INGEST_STREAMS.iter().position(|s| *s == stream).expect("ingest writes only its own streams")
    }

    /// Whether `stream` can take more work.
    pub fn has_room(&self, stream: Stream) -> bool {
        self.lengths[Self::slot(stream)].load(Ordering::Relaxed) < self.max
    }

    /// Samples every stream now (also used at start, before serving).
    pub async fn refresh(&self, producer: &Producer) {
        for stream in INGEST_STREAMS {
            match producer.length(stream).await {
                Ok(length) => self.lengths[Self::slot(stream)].store(length, Ordering::Relaxed),
                Err(err) => tracing::debug!(error = %err, "sampling the stream length failed"),
            }
        }
    }

    pub fn spawn_sampler(&self, producer: Producer, shutdown: Shutdown) {
        let gauge = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => gauge.refresh(&producer).await,
                }
            }
        });
    }
}
