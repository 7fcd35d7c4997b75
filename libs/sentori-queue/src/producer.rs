//! Appending to streams, and reading their depth.

use serde::Serialize;

use crate::{Envelope, Keys, QueueError, Stream, Valkey};

/// The stream entry field that holds the encoded envelope.
pub(crate) const ENVELOPE_FIELD: &str = "envelope";

#[derive(Clone)]
pub struct Producer {
    conn: Valkey,
    keys: Keys,
}

/// A stream's depth as the operator sees it on `/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamStats {
    pub name: String,
    /// Entries not yet processed (consumers delete what they acknowledge).
    pub length: u64,
    /// Entries delivered to a consumer and not yet acknowledged.
    pub pending: u64,
    pub dead_letters: u64,
    /// How long the oldest pending entry has waited since its last delivery.
    pub oldest_pending_age_ms: Option<u64>,
}

impl Producer {
    pub fn new(conn: Valkey, keys: Keys) -> Self {
        Self { conn, keys }
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Appends every envelope or none (MULTI/EXEC), so a batch request is
    /// either queued whole or answered with an error.
    pub async fn append(&self, stream: Stream, envelopes: &[Envelope]) -> Result<Vec<String>, QueueError> {
        if envelopes.is_empty() {
            return Ok(Vec::new());
        }
        let key = self.keys.stream(stream);
        if let [envelope] = envelopes {
            // One XADD is atomic by itself; MULTI/EXEC would only add work.
            let id: String =
                redis::cmd("XADD").arg(&key).arg("*").arg(ENVELOPE_FIELD).arg(envelope.encode()?).query_async(&mut self.conn.clone()).await?;
            return Ok(vec![id]);
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        for envelope in envelopes {
            pipe.cmd("XADD").arg(&key).arg("*").arg(ENVELOPE_FIELD).arg(envelope.encode()?);
        }
        let ids: Vec<String> = pipe.query_async(&mut self.conn.clone()).await?;
        Ok(ids)
    }

    /// Entries in the stream: everything accepted and not yet processed.
    pub async fn length(&self, stream: Stream) -> Result<u64, QueueError> {
        let len: u64 = redis::cmd("XLEN").arg(self.keys.stream(stream)).query_async(&mut self.conn.clone()).await?;
        Ok(len)
    }

    pub async fn stats(&self, stream: Stream, group: &str) -> Result<StreamStats, QueueError> {
        let key = self.keys.stream(stream);
        let mut pipe = redis::pipe();
        pipe.cmd("XLEN").arg(&key);
        pipe.cmd("XLEN").arg(self.keys.dead_letters(stream));
        let (length, dead_letters): (u64, u64) = pipe.query_async(&mut self.conn.clone()).await?;
        let (pending, oldest_pending_age_ms) = if length == 0 {
            (0, None)
        } else {
            let oldest: redis::RedisResult<redis::streams::StreamPendingCountReply> = redis::cmd("XPENDING")
                .arg(&key)
                .arg(group)
                .arg("-")
                .arg("+")
                .arg(1)
                .query_async(&mut self.conn.clone())
                .await;
            let summary: redis::RedisResult<redis::Value> =
                redis::cmd("XPENDING").arg(&key).arg(group).query_async(&mut self.conn.clone()).await;
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
        Ok(StreamStats { name: stream.name().to_owned(), length, pending, dead_letters, oldest_pending_age_ms })
    }
}
