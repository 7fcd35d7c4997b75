//! Reading a stream through a consumer group.

use std::time::Duration;

use redis::streams::{StreamId, StreamPendingCountReply, StreamReadReply};
use tokio::time::Instant;

use crate::producer::ENVELOPE_FIELD;
use crate::{DecodeError, Envelope, Keys, QueueError, Stream, Valkey};

#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    pub stream: Stream,
    pub group: String,
    /// Unique per process, so a restarted consumer is a new one and the old
    /// one's pending entries are claimed like any dead consumer's.
    pub consumer: String,
    pub batch_size: usize,
    /// How long one read waits for new entries.
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

/// One entry handed to a consumer.
#[derive(Debug)]
pub struct Delivery {
    pub id: String,
    pub envelope: Result<Envelope, DecodeError>,
    /// How many times this entry has been delivered, this time included.
    pub deliveries: u64,
    raw: Vec<u8>,
}

pub struct Consumer {
    conn: Valkey,
    keys: Keys,
    config: ConsumerConfig,
    next_claim_check: Instant,
}

impl Consumer {
    /// Joins (creating when needed) the consumer group. A new group starts at
    /// the beginning of the stream, so nothing appended before it existed is skipped.
    pub async fn join(url: &str, keys: Keys, config: ConsumerConfig) -> Result<Self, QueueError> {
        let conn = crate::connect(url, config.block + Duration::from_secs(10)).await?;
        let mut consumer = Self { conn, keys, config, next_claim_check: Instant::now() };
        consumer.ensure_group().await?;
        Ok(consumer)
    }

    pub fn config(&self) -> &ConsumerConfig {
        &self.config
    }

    async fn ensure_group(&mut self) -> Result<(), QueueError> {
        let created: redis::RedisResult<String> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(self.keys.stream(self.config.stream))
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

    /// The next batch: first entries abandoned by dead consumers, else new ones
    /// (waiting up to `block`). Entries over `max_deliveries` go to the
    /// dead-letter stream instead of being returned.
    pub async fn next_batch(&mut self) -> Result<Vec<Delivery>, QueueError> {
        if Instant::now() >= self.next_claim_check {
            self.next_claim_check = Instant::now() + self.config.claim_idle / 2;
            let claimed = self.claim_abandoned().await?;
            if !claimed.is_empty() {
                return Ok(claimed);
            }
        }
        let key = self.keys.stream(self.config.stream);
        let reply: redis::RedisResult<Option<StreamReadReply>> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(&self.config.group)
            .arg(&self.config.consumer)
            .arg("COUNT")
            .arg(self.config.batch_size)
            .arg("BLOCK")
            .arg(self.config.block.as_millis() as u64)
            .arg("STREAMS")
            .arg(&key)
            .arg(">")
            .query_async(&mut self.conn)
            .await;
        let reply = match reply {
            Err(err) if err.code() == Some("NOGROUP") => {
                // The stream was deleted under us (an operator's FLUSHALL): recreate and go on.
                self.ensure_group().await?;
                return Ok(Vec::new());
            }
            other => other?,
        };
        let entries: Vec<StreamId> = reply.map(|r| r.keys.into_iter().flat_map(|k| k.ids).collect()).unwrap_or_default();
        Ok(entries.into_iter().map(|entry| delivery(entry, 1)).collect())
    }

    async fn claim_abandoned(&mut self) -> Result<Vec<Delivery>, QueueError> {
        let key = self.keys.stream(self.config.stream);
        let idle_ms = self.config.claim_idle.as_millis() as u64;
        let pending: StreamPendingCountReply = redis::cmd("XPENDING")
            .arg(&key)
            .arg(&self.config.group)
            .arg("IDLE")
            .arg(idle_ms)
            .arg("-")
            .arg("+")
            .arg(self.config.batch_size)
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
            let delivery = delivery(entry, deliveries);
            if delivery.deliveries > self.config.max_deliveries {
                let reason = format!("delivered {} times without being processed", delivery.deliveries - 1);
                tracing::error!(stream = self.config.stream.name(), id = %delivery.id, %reason, "moving entry to the dead-letter stream");
                self.dead_letter(&delivery, &reason).await?;
            } else {
                out.push(delivery);
            }
        }
        tracing::info!(stream = self.config.stream.name(), claimed = out.len(), "claimed entries abandoned by another consumer");
        Ok(out)
    }

    /// Acknowledges and deletes processed entries: the stream then holds only
    /// unprocessed work, so its length is the backlog.
    pub async fn ack(&mut self, ids: &[String]) -> Result<(), QueueError> {
        if ids.is_empty() {
            return Ok(());
        }
        let key = self.keys.stream(self.config.stream);
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.cmd("XACK").arg(&key).arg(&self.config.group).arg(ids).ignore();
        pipe.cmd("XDEL").arg(&key).arg(ids).ignore();
        pipe.query_async::<()>(&mut self.conn).await?;
        Ok(())
    }

    /// Moves one entry, with the reason, to the dead-letter stream, atomically
    /// with its acknowledgement: it is never in neither place.
    pub async fn dead_letter(&mut self, delivery: &Delivery, reason: &str) -> Result<(), QueueError> {
        let key = self.keys.stream(self.config.stream);
        let mut pipe = redis::pipe();
        pipe.atomic();
        self.push_dead_letter(&mut pipe, &delivery.raw, reason, &delivery.id, delivery.deliveries);
        pipe.cmd("XACK").arg(&key).arg(&self.config.group).arg(&delivery.id).ignore();
        pipe.cmd("XDEL").arg(&key).arg(&delivery.id).ignore();
        pipe.query_async::<()>(&mut self.conn).await?;
        Ok(())
    }

    /// Puts work this consumer derived from its entries, and could not do,
    /// on the dead-letter stream in the same shape as a dead entry
    /// (`original_id` says what it was, since it never had a stream id).
    pub async fn dead_letter_derived(&mut self, envelope: &Envelope, reason: &str, original_id: &str, attempts: u64) -> Result<(), QueueError> {
        let bytes = envelope.encode()?;
        let mut pipe = redis::pipe();
        self.push_dead_letter(&mut pipe, &bytes, reason, original_id, attempts);
        pipe.query_async::<()>(&mut self.conn).await?;
        Ok(())
    }

    fn push_dead_letter(&self, pipe: &mut redis::Pipeline, envelope: &[u8], reason: &str, original_id: &str, deliveries: u64) {
        pipe.cmd("XADD")
            .arg(self.keys.dead_letters(self.config.stream))
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
    pub async fn keep_alive(&mut self, ids: &[&str]) -> Result<(), QueueError> {
        if ids.is_empty() {
            return Ok(());
        }
        redis::cmd("XCLAIM")
            .arg(self.keys.stream(self.config.stream))
            .arg(&self.config.group)
            .arg(&self.config.consumer)
            .arg(0)
            .arg(ids)
            .arg("JUSTID")
            .query_async::<redis::Value>(&mut self.conn)
            .await?;
        Ok(())
    }
}

fn delivery(entry: StreamId, deliveries: u64) -> Delivery {
    let raw: Option<Vec<u8>> = entry.get(ENVELOPE_FIELD);
    let envelope = match &raw {
        Some(bytes) => Envelope::decode(bytes),
        None => Err(DecodeError::MissingField),
    };
    Delivery { id: entry.id, envelope, deliveries, raw: raw.unwrap_or_default() }
}
