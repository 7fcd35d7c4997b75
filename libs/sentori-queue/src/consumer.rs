//! Reading a stream through a consumer group.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use redis::streams::{StreamId, StreamPendingCountReply, StreamReadReply};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::producer::ENVELOPE_FIELD;
use crate::partitions;
use crate::{DecodeError, Envelope, Keys, QueueError, Stream, Valkey};

#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    pub stream: Stream,
    pub group: String,
    /// Unique per process, so a restarted consumer is a new one and the old
    /// one's pending entries are claimed like any dead consumer's.
    pub consumer: String,
    pub batch_size: usize,
    /// How long one read waits for new entries. On a stream of several
    /// partitions, which cannot be waited on in one command, the consumer
    /// instead looks again after [`PARTITION_POLL`] (or `block`, if shorter).
    pub block: Duration,
    /// An entry pending this long belongs to a consumer presumed dead.
    pub claim_idle: Duration,
    /// Deliveries after which an entry is a poison message.
    pub max_deliveries: u64,
}

impl ConsumerConfig {
    pub fn new(stream: Stream, group: &str) -> Self {
        Self {
            stream,
            group: group.to_owned(),
            consumer: format!("{}-{}-{}", hostname(), std::process::id(), uuid::Uuid::new_v4().simple()),
            batch_size: 500,
            block: Duration::from_secs(2),
            claim_idle: Duration::from_secs(30),
            max_deliveries: 5,
        }
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok().map(|s| s.trim().to_owned()))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "sentori".to_owned())
}

/// How often a consumer of a stream with several partitions looks for new
/// entries when every partition was empty: the latency an idle system adds.
pub const PARTITION_POLL: Duration = Duration::from_millis(50);

/// Where an entry is: its partition and its id in that partition's stream.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntryId {
    pub partition: u16,
    pub id: String,
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.partition, self.id)
    }
}

/// One entry handed to a consumer.
#[derive(Debug)]
pub struct Delivery {
    pub id: EntryId,
    pub envelope: Result<Envelope, DecodeError>,
    /// How many times this entry has been delivered, this time included.
    pub deliveries: u64,
    raw: Vec<u8>,
}

pub struct Consumer {
    conn: Valkey,
    keys: Keys,
    config: ConsumerConfig,
    /// Partitions read, refreshed at every claim check (a producer may have
    /// started writing more).
    partitions: u16,
    next_claim_check: Instant,
    /// The pause before the next read after a failed one; doubles while reads fail.
    read_retry: Duration,
}

/// The pauses after failed reads: from the first to the longest.
const READ_RETRY_FIRST: Duration = Duration::from_millis(100);
const READ_RETRY_MAX: Duration = Duration::from_secs(5);

impl Consumer {
    /// Joins (creating when needed) the consumer group on every partition. A
    /// new group starts at the beginning of its partition, so nothing
    /// appended before it existed is skipped.
    pub async fn join(url: &str, keys: Keys, config: ConsumerConfig) -> Result<Self, QueueError> {
        let conn = crate::connect(url, config.block + Duration::from_secs(10)).await?;
        let mut consumer = Self { conn, keys, config, partitions: 0, next_claim_check: Instant::now(), read_retry: READ_RETRY_FIRST };
        consumer.refresh_partitions().await?;
        Ok(consumer)
    }

    pub fn config(&self) -> &ConsumerConfig {
        &self.config
    }

    /// The partitions this consumer reads.
    pub fn partitions(&self) -> u16 {
        self.partitions
    }

    async fn refresh_partitions(&mut self) -> Result<(), QueueError> {
        let in_use = partitions::in_use(&mut self.conn, &self.keys, self.config.stream).await?;
        for partition in self.partitions..in_use {
            self.ensure_group(partition).await?;
        }
        if in_use > self.partitions {
            if self.partitions > 0 {
                tracing::info!(stream = self.config.stream.name(), partitions = in_use, "reading more partitions");
            }
            self.partitions = in_use;
        }
        Ok(())
    }

    async fn ensure_group(&mut self, partition: u16) -> Result<(), QueueError> {
        let created: redis::RedisResult<String> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.keys.partition(self.config.stream, partition))
            .arg(&self.config.group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut self.conn)
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(err) if err.code() == Some("BUSYGROUP") => Ok(()),
            Err(err) => Err(err.into()),
        }
    }

    /// The consumer loop's read: the next batch, or `None` once `shutdown`
    /// is cancelled. A failed read is logged and retried after a pause that
    /// grows while reads keep failing; that turn's batch is empty, so the
    /// caller's periodic work (retries, digests) still runs while Valkey is away.
    pub async fn next_batch_until(&mut self, shutdown: &CancellationToken) -> Option<Vec<Delivery>> {
        let batch = tokio::select! {
            _ = shutdown.cancelled() => return None,
            batch = self.next_batch() => batch,
        };
        match batch {
            Ok(batch) => {
                self.read_retry = READ_RETRY_FIRST;
                Some(batch)
            }
            Err(err) => {
                tracing::warn!(stream = self.config.stream.name(), error = %err, "reading the stream failed; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return None,
                    _ = tokio::time::sleep(self.read_retry) => {}
                }
                self.read_retry = (self.read_retry * 2).min(READ_RETRY_MAX);
                Some(Vec::new())
            }
        }
    }

    /// The next batch: first entries abandoned by dead consumers, else new ones
    /// (waiting up to `block`). Entries over `max_deliveries` go to the
    /// dead-letter stream instead of being returned.
    pub async fn next_batch(&mut self) -> Result<Vec<Delivery>, QueueError> {
        if Instant::now() >= self.next_claim_check {
            self.next_claim_check = Instant::now() + self.config.claim_idle / 2;
            self.refresh_partitions().await?;
            let claimed = self.claim_abandoned().await?;
            if !claimed.is_empty() {
                return Ok(claimed);
            }
        }
        if self.partitions == 1 {
            return self.read(0, self.config.batch_size, Some(self.config.block)).await;
        }
        // Every partition at once, each for its share of a batch, so a busy
        // partition cannot crowd the others out; a cluster connection sends
        // each read to its partition's node concurrently.
        let share = self.config.batch_size.div_ceil(usize::from(self.partitions));
        let reads = (0..self.partitions).map(|partition| {
            let mut reader = PartitionReader { conn: self.conn.clone(), keys: &self.keys, config: &self.config };
            async move { reader.read(partition, share, None).await }
        });
        let mut batch = Vec::new();
        let mut failure = None;
        for result in futures::future::join_all(reads).await {
            match result {
                Ok(entries) => batch.extend(entries),
                Err(ReadError::NoGroup(partition)) => self.ensure_group(partition).await?,
                Err(ReadError::Queue(err)) => failure = Some(err),
            }
        }
        // What was read is pending on this consumer: hand it over even when
        // another partition failed, rather than leave it to a claim.
        if batch.is_empty() {
            if let Some(err) = failure {
                return Err(err);
            }
            tokio::time::sleep(PARTITION_POLL.min(self.config.block)).await;
        }
        Ok(batch)
    }

    async fn read(&mut self, partition: u16, count: usize, block: Option<Duration>) -> Result<Vec<Delivery>, QueueError> {
        let mut reader = PartitionReader { conn: self.conn.clone(), keys: &self.keys, config: &self.config };
        match reader.read(partition, count, block).await {
            Ok(entries) => Ok(entries),
            Err(ReadError::NoGroup(partition)) => {
                // The stream was deleted under us (an operator's FLUSHALL): recreate and go on.
                self.ensure_group(partition).await?;
                Ok(Vec::new())
            }
            Err(ReadError::Queue(err)) => Err(err),
        }
    }

    async fn claim_abandoned(&mut self) -> Result<Vec<Delivery>, QueueError> {
        let mut out = Vec::new();
        for partition in 0..self.partitions {
            if out.len() >= self.config.batch_size {
                break;
            }
            let wanted = self.config.batch_size - out.len();
            out.extend(self.claim_abandoned_in(partition, wanted).await?);
        }
        if !out.is_empty() {
            tracing::info!(stream = self.config.stream.name(), claimed = out.len(), "claimed entries abandoned by another consumer");
        }
        Ok(out)
    }

    async fn claim_abandoned_in(&mut self, partition: u16, count: usize) -> Result<Vec<Delivery>, QueueError> {
        let key = self.keys.partition(self.config.stream, partition);
        let idle_ms = self.config.claim_idle.as_millis() as u64;
        let pending: StreamPendingCountReply = redis::cmd("XPENDING")
            .arg(&key)
            .arg(&self.config.group)
            .arg("IDLE")
            .arg(idle_ms)
            .arg("-")
            .arg("+")
            .arg(count)
            .query_async(&mut self.conn)
            .await?;
        if pending.ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = pending.ids.iter().map(|p| p.id.as_str()).collect();
        let claimed: redis::streams::StreamClaimReply = redis::cmd("XCLAIM")
            .arg(&key)
            .arg(&self.config.group)
            .arg(&self.config.consumer)
            .arg(idle_ms)
            .arg(&ids)
            .query_async(&mut self.conn)
            .await?;
        let mut out = Vec::with_capacity(claimed.ids.len());
        for entry in claimed.ids {
            // XCLAIM counted this delivery too.
            let deliveries = pending.ids.iter().find(|p| p.id == entry.id).map_or(1, |p| p.times_delivered as u64 + 1);
            let delivery = delivery(partition, entry, deliveries);
            if delivery.deliveries > self.config.max_deliveries {
                let reason = format!("delivered {} times without being processed", delivery.deliveries - 1);
                tracing::error!(stream = self.config.stream.name(), id = %delivery.id, %reason, "moving entry to the dead-letter stream");
                self.dead_letter(&delivery, &reason).await?;
            } else {
                out.push(delivery);
            }
        }
        Ok(out)
    }

    /// Acknowledges and deletes processed entries: the stream then holds only
    /// unprocessed work, so its length is the backlog. Atomic per partition;
    /// the partitions are acknowledged at once, as they were read.
    pub async fn ack(&mut self, ids: &[EntryId]) -> Result<(), QueueError> {
        let acks = by_partition(ids).into_iter().map(|(partition, ids)| {
            let key = self.keys.partition(self.config.stream, partition);
            let mut pipe = redis::pipe();
            pipe.atomic();
            pipe.cmd("XACK").arg(&key).arg(&self.config.group).arg(&ids).ignore();
            pipe.cmd("XDEL").arg(&key).arg(&ids).ignore();
            let mut conn = self.conn.clone();
            async move { pipe.query_async::<()>(&mut conn).await }
        });
        for result in futures::future::join_all(acks).await {
            result?;
        }
        Ok(())
    }

    /// Moves one entry, with the reason, to its partition's dead-letter
    /// stream, atomically with its acknowledgement: it is never in neither place.
    pub async fn dead_letter(&mut self, delivery: &Delivery, reason: &str) -> Result<(), QueueError> {
        let partition = delivery.id.partition;
        let key = self.keys.partition(self.config.stream, partition);
        let mut pipe = redis::pipe();
        pipe.atomic();
        self.push_dead_letter(&mut pipe, partition, &delivery.raw, reason, &delivery.id.id, delivery.deliveries);
        pipe.cmd("XACK").arg(&key).arg(&self.config.group).arg(&delivery.id.id).ignore();
        pipe.cmd("XDEL").arg(&key).arg(&delivery.id.id).ignore();
        pipe.query_async::<()>(&mut self.conn).await?;
        Ok(())
    }

    /// Puts work this consumer derived from its entries, and could not do,
    /// on the (first partition's) dead-letter stream in the same shape as a
    /// dead entry (`original_id` says what it was, since it never had a stream id).
    pub async fn dead_letter_derived(&mut self, envelope: &Envelope, reason: &str, original_id: &str, attempts: u64) -> Result<(), QueueError> {
        let bytes = envelope.encode()?;
        let mut pipe = redis::pipe();
        self.push_dead_letter(&mut pipe, 0, &bytes, reason, original_id, attempts);
        pipe.query_async::<()>(&mut self.conn).await?;
        Ok(())
    }

    fn push_dead_letter(&self, pipe: &mut redis::Pipeline, partition: u16, envelope: &[u8], reason: &str, original_id: &str, deliveries: u64) {
        pipe.cmd("XADD")
            .arg(self.keys.partition_dead_letters(self.config.stream, partition))
            .arg("*")
            .arg(ENVELOPE_FIELD)
            .arg(envelope)
            .arg("error")
            .arg(reason)
            .arg("originalId")
            .arg(original_id)
            .arg("deliveries")
            .arg(deliveries)
            .ignore();
    }

    /// Entries this consumer holds on purpose (waiting for a retry) stay
    /// pending; resetting their idle time (`XCLAIM … JUSTID`, which does not
    /// count as a delivery) keeps other consumers from claiming them as a
    /// dead consumer's.
    pub async fn keep_alive(&mut self, ids: &[&EntryId]) -> Result<(), QueueError> {
        let ids: Vec<EntryId> = ids.iter().map(|id| (*id).clone()).collect();
        for (partition, ids) in by_partition(&ids) {
            redis::cmd("XCLAIM")
                .arg(self.keys.partition(self.config.stream, partition))
                .arg(&self.config.group)
                .arg(&self.config.consumer)
                .arg(0)
                .arg(&ids)
                .arg("JUSTID")
                .query_async::<redis::Value>(&mut self.conn)
                .await?;
        }
        Ok(())
    }
}

fn by_partition(ids: &[EntryId]) -> BTreeMap<u16, Vec<&str>> {
    let mut grouped: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    for id in ids {
        grouped.entry(id.partition).or_default().push(&id.id);
    }
    grouped
}

enum ReadError {
    /// The partition has no consumer group (it was deleted under us).
    NoGroup(u16),
    Queue(QueueError),
}

/// One read of one partition, on its own clone of the connection so the
/// partitions can be read at once.
struct PartitionReader<'a> {
    conn: Valkey,
    keys: &'a Keys,
    config: &'a ConsumerConfig,
}

impl PartitionReader<'_> {
    async fn read(&mut self, partition: u16, count: usize, block: Option<Duration>) -> Result<Vec<Delivery>, ReadError> {
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP").arg(&self.config.group).arg(&self.config.consumer).arg("COUNT").arg(count);
        if let Some(block) = block {
            cmd.arg("BLOCK").arg(block.as_millis() as u64);
        }
        cmd.arg("STREAMS").arg(self.keys.partition(self.config.stream, partition)).arg(">");
        let reply: Option<StreamReadReply> = match cmd.query_async(&mut self.conn).await {
            Err(err) if err.code() == Some("NOGROUP") => return Err(ReadError::NoGroup(partition)),
            other => other.map_err(|e| ReadError::Queue(e.into()))?,
        };
        let entries: Vec<StreamId> = reply.map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect()).unwrap_or_default();
        Ok(entries.into_iter().map(|entry| delivery(partition, entry, 1)).collect())
    }
}

fn delivery(partition: u16, entry: StreamId, deliveries: u64) -> Delivery {
    let raw: Option<Vec<u8>> = entry.get(ENVELOPE_FIELD);
    let envelope = match &raw {
        Some(bytes) => Envelope::decode(bytes),
        None => Err(DecodeError::MissingField),
    };
    Delivery { id: EntryId { partition, id: entry.id }, envelope, deliveries, raw: raw.unwrap_or_default() }
}
