//! Appending to streams, and reading their depth.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

use crate::partitions::{self, PartitionKey};
use crate::{Envelope, Keys, QueueError, Stream, Valkey};

/// The stream entry field that holds the encoded envelope.
pub(crate) const ENVELOPE_FIELD: &str = "envelope";

#[derive(Clone)]
pub struct Producer {
    conn: Valkey,
    keys: Keys,
    /// Per stream (in [`Stream::ALL`] order): whether this process's
    /// partition count is recorded for consumers yet.
    recorded: Arc<[AtomicBool; Stream::ALL.len()]>,
    /// Replicas that must hold an append before it counts as done.
    wait_replicas: u8,
}

/// How long an append waits for its replicas before it fails.
const WAIT_TIMEOUT_MS: u64 = 1000;

/// A stream's depth as the operator sees it on `/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StreamStats {
    /// The stream's key (on `/status`, the key of its first partition).
    pub name: String,
    /// Partitions the figures add up (`SENTORI_STREAM_SHARDS`, or more
    /// while partitions written with a higher setting are drained).
    pub partitions: u16,
    /// Entries not yet processed (consumers delete what they acknowledge).
    pub length: u64,
    /// Entries delivered to a consumer and not yet acknowledged.
    pub pending: u64,
    pub dead_letters: u64,
    /// How long the oldest pending entry has waited since its last delivery.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub oldest_pending_age_ms: Option<u64>,
}

impl Producer {
    pub fn new(conn: Valkey, keys: Keys) -> Self {
        Self { conn, keys, recorded: Arc::default(), wait_replicas: 0 }
    }

    /// Makes every append wait (`WAIT`) until `replicas` replicas of its
    /// node hold it, so a primary that dies right after answering cannot
    /// take the entry with it (`SENTORI_VALKEY_WAIT_REPLICAS`).
    pub fn with_wait_replicas(mut self, replicas: u8) -> Self {
        self.wait_replicas = replicas;
        self
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Appends every envelope or none (MULTI/EXEC), so a batch request is
    /// either queued whole or answered with an error: all of a batch goes
    /// to the one partition its key picks, since a transaction cannot span
    /// cluster slots.
    pub async fn append(&self, stream: Stream, key: PartitionKey, envelopes: &[Envelope]) -> Result<Vec<String>, QueueError> {
        if envelopes.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let recorded = &self.recorded[stream.index()];
        if self.keys.shards() > 1 && !recorded.load(Ordering::Relaxed) {
            partitions::record(&mut conn, &self.keys, stream).await?;
            recorded.store(true, Ordering::Relaxed);
        }
        let key = self.keys.partition(stream, self.partition_of(key));
        if self.wait_replicas > 0 {
            return self.append_replicated(&mut conn, &key, envelopes).await;
        }
        if let [envelope] = envelopes {
            // One XADD is atomic by itself; MULTI/EXEC would only add work.
            let id: String = redis::cmd("XADD").arg(&key).arg("*").arg(ENVELOPE_FIELD).arg(envelope.encode()?).query_async(&mut conn).await?;
            return Ok(vec![id]);
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for envelope in envelopes {
            pipe.cmd("XADD").arg(&key).arg("*").arg(ENVELOPE_FIELD).arg(envelope.encode()?);
        }
        let ids: Vec<String> = pipe.query_async(&mut conn).await?;
        Ok(ids)
    }

    /// MULTI/EXEC and then WAIT, in one pipeline: a pipeline goes to the
    /// node of its keys, and WAIT, which has none, must run on the
    /// connection that wrote (inside MULTI it would not wait).
    async fn append_replicated(&self, conn: &mut Valkey, key: &str, envelopes: &[Envelope]) -> Result<Vec<String>, QueueError> {
        let mut pipe = redis::pipe();
        pipe.cmd("MULTI");
        for envelope in envelopes {
            pipe.cmd("XADD").arg(key).arg("*").arg(ENVELOPE_FIELD).arg(envelope.encode()?);
        }
        pipe.cmd("EXEC");
        pipe.cmd("WAIT").arg(self.wait_replicas).arg(WAIT_TIMEOUT_MS);
        let mut replies: Vec<redis::Value> = pipe.query_async(conn).await?;
        let replicas: i64 = redis::from_redis_value(replies.pop().unwrap_or(redis::Value::Nil)).map_err(redis::RedisError::from)?;
        let ids: Vec<String> = redis::from_redis_value(replies.pop().unwrap_or(redis::Value::Nil)).map_err(redis::RedisError::from)?;
        if replicas < i64::from(self.wait_replicas) {
            return Err(QueueError::NotReplicated { wanted: self.wait_replicas, acknowledged: replicas });
        }
        Ok(ids)
    }

    /// The partition this producer appends an entry of `key` to.
    pub fn partition_of(&self, key: PartitionKey) -> u16 {
        key.partition(self.keys.shards())
    }

    /// Entries in the stream's partitions: everything accepted and not yet processed.
    pub async fn length(&self, stream: Stream) -> Result<u64, QueueError> {
        Ok(self.partition_lengths(stream).await?.iter().sum())
    }

    /// Entries in each partition in use, by partition.
    pub async fn partition_lengths(&self, stream: Stream) -> Result<Vec<u64>, QueueError> {
        let mut conn = self.conn.clone();
        let mut lengths = Vec::new();
        for partition in 0..partitions::in_use(&mut conn, &self.keys, stream).await? {
            lengths.push(redis::cmd("XLEN").arg(self.keys.partition(stream, partition)).query_async(&mut conn).await?);
        }
        Ok(lengths)
    }

    /// The depth of the whole stream, over its partitions.
    pub async fn stats(&self, stream: Stream, group: &str) -> Result<StreamStats, QueueError> {
        let mut conn = self.conn.clone();
        let partitions = partitions::in_use(&mut conn, &self.keys, stream).await?;
        let mut total =
            StreamStats { name: stream.name().to_owned(), partitions, length: 0, pending: 0, dead_letters: 0, oldest_pending_age_ms: None };
        for partition in 0..partitions {
            let one = self.partition_stats(&mut conn, stream, partition, group).await?;
            total.length += one.length;
            total.pending += one.pending;
            total.dead_letters += one.dead_letters;
            total.oldest_pending_age_ms = total.oldest_pending_age_ms.max(one.oldest_pending_age_ms);
        }
        Ok(total)
    }

    async fn partition_stats(&self, conn: &mut Valkey, stream: Stream, partition: u16, group: &str) -> Result<StreamStats, QueueError> {
        let key = self.keys.partition(stream, partition);
        let mut pipe = redis::pipe();
        pipe.cmd("XLEN").arg(&key);
        pipe.cmd("XLEN").arg(self.keys.partition_dead_letters(stream, partition));
        let (length, dead_letters): (u64, u64) = pipe.query_async(conn).await?;
        let (pending, oldest_pending_age_ms) = if length == 0 {
            (0, None)
        } else {
            let oldest: redis::RedisResult<redis::streams::StreamPendingCountReply> =
                redis::cmd("XPENDING").arg(&key).arg(group).arg("-").arg("+").arg(1).query_async(conn).await;
            let summary: redis::RedisResult<redis::Value> = redis::cmd("XPENDING").arg(&key).arg(group).query_async(conn).await;
            let pending = match summary {
                Ok(redis::Value::Array(items)) => match items.first() {
                    Some(redis::Value::Int(n)) => *n as u64,
                    _ => 0,
                },
                // NOGROUP: no consumer has started yet, so nothing is pending.
                _ => 0,
            };
            let age = oldest.ok().and_then(|reply| reply.ids.first().map(|p| p.last_delivered_ms as u64));
            (pending, age)
        };
        Ok(StreamStats { name: key, partitions: 1, length, pending, dead_letters, oldest_pending_age_ms })
    }
}
