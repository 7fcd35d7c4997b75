//! The Valkey streams between Sentori's services (architecture.md).
//!
//! One stream per kind of work; an entry is one versioned MessagePack
//! [`Envelope`]. Producers append atomically; consumers read through a
//! consumer group, acknowledge only after their effect is durable, claim what
//! dead consumers left pending, and move entries that keep failing to the
//! stream's `:dead` twin.

mod connection;
mod consumer;
mod dead_letters;
mod envelope;
mod keys;
mod partitions;
mod producer;

pub use connection::{Valkey, ValkeyTarget, connect, ping};
pub use consumer::{Consumer, ConsumerConfig, Delivery, EntryId, PARTITION_POLL};
pub use dead_letters::{DeadLetter, DeadLetters};
pub use envelope::{DecodeError, Envelope, ItemKind, Payload, SCHEMA_VERSION};
pub use keys::{Keys, MAX_SHARDS, Stream};
pub use partitions::PartitionKey;
pub use producer::{Producer, StreamStats};

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("Valkey: {0}")]
    Valkey(#[from] redis::RedisError),
    #[error("encoding an envelope failed: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
    /// Written to the primary, which may still lose it: the caller must
    /// not report it accepted (a retry may then queue it twice, which
    /// processing absorbs).
    #[error("only {acknowledged} of {wanted} Valkey replicas acknowledged the append in time")]
    NotReplicated { wanted: u8, acknowledged: i64 },
}
