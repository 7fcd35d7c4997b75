//! What an operator does with the dead-letter streams: look, and replay.

use redis::streams::StreamRangeReply;
use serde::Serialize;

use crate::producer::ENVELOPE_FIELD;
use crate::{Keys, QueueError, Stream, Valkey};

/// One dead entry, as the operator sees it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeadLetter {
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

    /// The oldest `limit` dead entries of a stream.
    pub async fn list(&mut self, stream: Stream, limit: usize) -> Result<Vec<DeadLetter>, QueueError> {
        let reply: StreamRangeReply = redis::cmd("XRANGE")
            .arg(self.keys.dead_letters(stream))
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(limit)
            .query_async(&mut self.conn)
            .await?;
        Ok(reply
            .ids
            .into_iter()
            .map(|entry| DeadLetter {
                original_id: entry.get("originalId"),
                error: entry.get("error"),
                deliveries: entry.get("deliveries"),
                size_bytes: entry.get::<Vec<u8>>(ENVELOPE_FIELD).map_or(0, |b| b.len()),
                id: entry.id,
            })
            .collect())
    }

    /// Moves up to `limit` dead entries back onto their stream, oldest first,
    /// each in one transaction (append and delete together, so an entry is
    /// never in both places or neither). Returns how many moved.
    pub async fn replay(&mut self, stream: Stream, limit: usize) -> Result<usize, QueueError> {
        let dead_key = self.keys.dead_letters(stream);
        let reply: StreamRangeReply =
            redis::cmd("XRANGE").arg(&dead_key).arg("-").arg("+").arg("COUNT").arg(limit).query_async(&mut self.conn).await?;
        let mut moved = 0;
        for entry in reply.ids {
            let Some(envelope) = entry.get::<Vec<u8>>(ENVELOPE_FIELD) else { continue };
            let mut pipe = redis::pipe();
            pipe.atomic();
            pipe.cmd("XADD").arg(self.keys.stream(stream)).arg("*").arg(ENVELOPE_FIELD).arg(envelope).ignore();
            pipe.cmd("XDEL").arg(&dead_key).arg(&entry.id).ignore();
            pipe.query_async::<()>(&mut self.conn).await?;
            moved += 1;
        }
        Ok(moved)
    }
}
