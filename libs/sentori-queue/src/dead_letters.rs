//! What an operator does with the dead-letter streams: look, and replay.

use redis::streams::StreamRangeReply;
use serde::Serialize;

use crate::producer::ENVELOPE_FIELD;
use crate::partitions;
use crate::{Keys, QueueError, Stream, Valkey};

/// One dead entry, as the operator sees it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
    pub partition: u16,
    pub id: String,
    pub original_id: Option<String>,
    pub error: Option<String>,
    pub deliveries: Option<u64>,
    pub size_bytes: usize,
}

pub struct DeadLetters {
    conn: Valkey,
    keys: Keys,
}

impl DeadLetters {
    pub fn new(conn: Valkey, keys: Keys) -> Self {
        Self { conn, keys }
    }

    /// The oldest `limit` dead entries of a stream, over its partitions.
    pub async fn list(&mut self, stream: Stream, limit: usize) -> Result<Vec<DeadLetter>, QueueError> {
        let mut all = Vec::new();
        for partition in 0..partitions::in_use(&mut self.conn, &self.keys, stream).await? {
            let reply = self.range(stream, partition, limit).await?;
            all.extend(reply.ids.into_iter().map(|entry| DeadLetter {
                partition,
                original_id: entry.get("originalId"),
                error: entry.get("error"),
                deliveries: entry.get("deliveries"),
                size_bytes: entry.get::<Vec<u8>>(ENVELOPE_FIELD).map_or(0, |b| b.len()),
                id: entry.id,
            }));
        }
        // Stream ids start with their millisecond, so they order partitions' entries by age.
        all.sort_by_key(|dead| stream_id_order(&dead.id));
        all.truncate(limit);
        Ok(all)
    }

    async fn range(&mut self, stream: Stream, partition: u16, limit: usize) -> Result<StreamRangeReply, QueueError> {
        let key = self.keys.partition_dead_letters(stream, partition);
        Ok(redis::cmd("XRANGE").arg(key).arg("-").arg("+").arg("COUNT").arg(limit).query_async(&mut self.conn).await?)
    }

    /// Moves up to `limit` dead entries back onto their partition, oldest
    /// first, each in one transaction (append and delete together, so an
    /// entry is never in both places or neither). Returns how many moved.
    pub async fn replay(&mut self, stream: Stream, limit: usize) -> Result<usize, QueueError> {
        let mut moved = 0;
        for partition in 0..partitions::in_use(&mut self.conn, &self.keys, stream).await? {
            let dead_key = self.keys.partition_dead_letters(stream, partition);
            for entry in self.range(stream, partition, limit - moved).await?.ids {
                let Some(envelope) = entry.get::<Vec<u8>>(ENVELOPE_FIELD) else { continue };
                let mut pipe = redis::pipe();
                pipe.atomic();
                pipe.cmd("XADD").arg(self.keys.partition(stream, partition)).arg("*").arg(ENVELOPE_FIELD).arg(envelope).ignore();
                pipe.cmd("XDEL").arg(&dead_key).arg(&entry.id).ignore();
                pipe.query_async::<()>(&mut self.conn).await?;
                moved += 1;
            }
            if moved >= limit {
                break;
            }
        }
        Ok(moved)
    }
}

fn stream_id_order(id: &str) -> (u64, u64) {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    (ms.parse().unwrap_or(u64::MAX), seq.parse().unwrap_or(0))
}
