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

/// Each partition of a stream holds its share of `SENTORI_MAX_BACKLOG`: a
/// partition that falls behind (its shard slow or failing over) refuses
/// new work while the others go on taking theirs.
#[derive(Clone)]
pub struct BacklogGauge {
    /// Per stream (in [`INGEST_STREAMS`] order), per partition this ingest writes.
    lengths: Arc<[Box<[AtomicU64]>; 4]>,
    max_per_partition: u64,
}

impl BacklogGauge {
    pub fn new(max: u64, partitions: u16) -> Self {
        let partitions = usize::from(partitions.max(1));
        let lengths = Arc::new(std::array::from_fn(|_| (0..partitions).map(|_| AtomicU64::new(0)).collect()));
        Self { lengths, max_per_partition: max.div_ceil(partitions as u64) }
    }

    fn slot(stream: Stream) -> usize {
        INGEST_STREAMS.iter().position(|s| *s == stream).expect("ingest writes only its own streams")
    }

    /// Whether `partition` of `stream` can take more work.
    pub fn has_room(&self, stream: Stream, partition: u16) -> bool {
        self.lengths[Self::slot(stream)].get(usize::from(partition)).is_none_or(|length| length.load(Ordering::Relaxed) < self.max_per_partition)
    }

    /// Samples every stream now (also used at start, before serving).
    pub async fn refresh(&self, producer: &Producer) {
        for stream in INGEST_STREAMS {
            match producer.partition_lengths(stream).await {
                Ok(lengths) => {
                    for (gauge, length) in self.lengths[Self::slot(stream)].iter().zip(lengths) {
                        gauge.store(length, Ordering::Relaxed);
                    }
                }
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
