//! The processor's configuration (operations.md).

use std::net::SocketAddr;
use std::time::Duration;

use sentori_config::{ConfigErrors, Env, StoreConfig};

#[derive(Debug, Clone)]
pub struct ProcessorConfig {
    /// Health checks only: the processor serves no API.
    pub addr: SocketAddr,
    pub store: StoreConfig,
    /// Entries read per batch (one transaction each).
    pub batch_size: usize,
    /// Event batches handled at once by this process, each by its own
    /// consumer: while one batch waits on PostgreSQL, the next is decoded,
    /// symbolicated and grouped, and PostgreSQL can use a second core.
    pub event_workers: usize,
    /// An entry pending this long is taken over from a consumer presumed dead.
    pub claim_idle: Duration,
    /// Deliveries after which an entry is moved to the dead-letter stream.
    pub max_deliveries: u64,
    /// `SENTORI_DATA_DIR`: source maps are read from its `artifacts/`.
    pub data_dir: std::path::PathBuf,
    /// Budget of the parsed source-map cache, in bytes of map files.
    pub sourcemap_cache_bytes: u64,
}

impl ProcessorConfig {
    pub fn from_env(mut env: Env) -> Result<Self, ConfigErrors> {
        let addr = env.addr_or("SENTORI_PROCESSOR_ADDR", "0.0.0.0:8082");
        let store = StoreConfig::read(&mut env);
        let batch_size = env.parsed_or("SENTORI_PROCESSOR_BATCH_SIZE", 500usize);
        if batch_size == 0 {
            env.invalid("SENTORI_PROCESSOR_BATCH_SIZE", "must be at least 1");
        }
        let event_workers = env.parsed_or("SENTORI_PROCESSOR_EVENT_WORKERS", 2usize);
        if event_workers == 0 {
            env.invalid("SENTORI_PROCESSOR_EVENT_WORKERS", "must be at least 1");
        }
        let claim_idle = Duration::from_millis(env.parsed_or("SENTORI_CLAIM_IDLE_MS", 30_000u64));
        let max_deliveries = env.parsed_or("SENTORI_MAX_DELIVERIES", 5u64);
        let data_dir = env.optional("SENTORI_DATA_DIR").unwrap_or_else(|| "/data".into()).into();
        let sourcemap_cache_bytes = env.parsed_or("SENTORI_SOURCEMAP_CACHE_BYTES", 512u64 * 1024 * 1024);
        env.finish()?;
        Ok(Self { addr, store, batch_size, event_workers, claim_idle, max_deliveries, data_dir, sourcemap_cache_bytes })
    }
}
