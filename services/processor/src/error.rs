//! Why processing a batch failed, and whether trying again can help.

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("PostgreSQL: {0}")]
    Database(#[from] sqlx::Error),
    #[error("Valkey: {0}")]
    Queue(#[from] sentori_queue::QueueError),
    #[error("the payload cannot be processed: {0}")]
    Payload(String),
    /// An operator deleted or merged an issue the batch had looked up: the
    /// whole batch is tried again, and finds where its events go now.
    #[error("an issue changed under the batch: {0}")]
    IssueVanished(String),
    /// A bug reached by the data: it isolates the entry like a bad payload.
    #[error("handling the entry {0}")]
    Panicked(#[from] sentori_runtime::panic::Panicked),
}

impl From<serde_json::Error> for ProcessError {
    /// A payload that is not the JSON ingest queued is a property of the entry.
    fn from(err: serde_json::Error) -> Self {
        ProcessError::Payload(format!("the payload is not valid JSON: {err}"))
    }
}

/// A field of a parsed payload that does not read as its type, by its path
/// (`device.os`, `error.stack[0].inApp`).
pub type UnreadableField = serde_path_to_error::Error<serde_json::Error>;

impl From<UnreadableField> for ProcessError {
    fn from(err: UnreadableField) -> Self {
        ProcessError::Payload(format!("{}: {}", err.path(), err.inner()))
    }
}

/// Reads `T` from a parsed payload, borrowing its strings. Only a failed
/// read is read again, for the path of the field that is wrong: tracking
/// the path on every read would cost each payload what only a bad one needs.
pub fn read_tree<'a, T: serde::Deserialize<'a>>(tree: &'a serde_json::Value) -> Result<T, UnreadableField> {
    T::deserialize(tree).or_else(|_| serde_path_to_error::deserialize(tree))
}

impl ProcessError {
    /// Transient failures (the database is down, a deadlock, a serialisation
    /// conflict) are retried without acknowledging; anything else is a
    /// property of the data and isolates the entry that causes it.
    pub fn is_transient(&self) -> bool {
        match self {
            ProcessError::Database(err) => match err {
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_) => true,
                sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                    // 08: connection exceptions; 40001/40P01: serialisation and deadlock;
                    // 53: insufficient resources; 57P0x: the server is shutting down;
                    // 25006: the server refuses writes (a standby after a failover, or
                    // default_transaction_read_only): no entry is to blame, and
                    // isolating would move every one to the dead-letter stream.
                    code.starts_with("08")
                        || code.starts_with("53")
                        || code.starts_with("57P")
                        || code == "40001"
                        || code == "40P01"
                        || code == "25006"
                }),
                _ => false,
            },
            ProcessError::Queue(_) | ProcessError::IssueVanished(_) => true,
            ProcessError::Payload(_) | ProcessError::Panicked(_) => false,
        }
    }
}
