//! The Valkey streams between Sentori's services (architecture.md).
//!
//! One stream per kind of work; an entry is one versioned MessagePack
//! [`Envelope`]. Producers append atomically; consumers read through a
//! consumer group, acknowledge only after their effect is durable, claim what
//! dead consumers left pending, and move entries that keep failing to the
//! stream's `:dead` twin.

mod consumer;
mod dead_letters;
mod envelope;
mod keys;
mod producer;

pub use consumer::{Consumer, ConsumerConfig, Delivery};
pub use dead_letters::{DeadLetter, DeadLetters};
pub use envelope::{DecodeError, Envelope, ItemKind, Payload, SCHEMA_VERSION};
pub use keys::{Keys, Stream};
pub use producer::{Producer, StreamStats};

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("Valkey: {0}")]
    Valkey(#[from] redis::RedisError),
    #[error("encoding an envelope failed: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
}

/// Opens a self-healing connection. `response_timeout` must exceed any
/// blocking read made on it.
pub async fn connect(url: &str, response_timeout: Duration) -> Result<ConnectionManager, redis::RedisError> {
    // Nagle's algorithm holds a small command back while an earlier one is
    // unacknowledged, and every request of a service shares this one
    // multiplexed connection: without TCP_NODELAY, commands queue behind
    // each other's ACKs (redis-rs leaves it off by default).
    let info = redis::IntoConnectionInfo::into_connection_info(url)?
        .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
    let client = redis::Client::open(info)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(response_timeout))
        .set_number_of_retries(2)
        .set_max_delay(Duration::from_secs(1));
    ConnectionManager::new_with_config(client, config).await
}

/// A cheap round trip for readiness checks.
pub async fn ping(conn: &mut ConnectionManager) -> Result<(), redis::RedisError> {
    redis::cmd("PING").query_async::<String>(conn).await.map(|_| ())
}
