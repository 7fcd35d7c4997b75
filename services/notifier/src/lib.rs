//! `notifier`: consumes the notify stream (processing.md, "Notifier").
//!
//! This build knows one mode: with `SENTORI_SMTP_HOST` unset, email is off,
//! which it logs once, and announcements are acknowledged without sending.
//! SMTP delivery with its delivery log is tracked as its own piece of work;
//! until it lands, a configured SMTP host is refused at start rather than
//! silently ignored.

use std::net::SocketAddr;
use std::time::Duration;

use sentori_config::{ConfigErrors, Env, StoreConfig};
use sentori_queue::{Consumer, ConsumerConfig, Keys, Stream};
use sentori_runtime::{Readiness, Shutdown};
use sentori_store::PoolSettings;

pub const GROUP: &str = "notifier";

#[derive(Debug, Clone)]
pub struct NotifierConfig {
    pub addr: SocketAddr,
    pub store: StoreConfig,
}

impl NotifierConfig {
    pub fn from_env(mut env: Env) -> Result<Self, ConfigErrors> {
        let addr = env.addr_or("SENTORI_NOTIFIER_ADDR", "0.0.0.0:8083");
        let store = StoreConfig::read(&mut env);
        if env.get("SENTORI_SMTP_HOST").is_some() {
            env.invalid("SENTORI_SMTP_HOST", "email delivery is not available in this build yet; unset it to run without email");
        }
        env.finish()?;
        Ok(Self { addr, store })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] sentori_store::StoreError),
    #[error("connecting to Valkey failed: {0}")]
    Valkey(#[from] redis::RedisError),
    #[error("joining the consumer group failed: {0}")]
    Queue(#[from] sentori_queue::QueueError),
    #[error("serving health checks failed: {0}")]
    Serve(#[from] std::io::Error),
}

pub struct Notifier {
    config: NotifierConfig,
    consumer: Consumer,
    readiness: Readiness,
}

impl Notifier {
    pub async fn start(config: NotifierConfig) -> Result<Self, StartError> {
        let pool = sentori_store::connect_and_migrate(&config.store.database_url, &PoolSettings::default()).await?;
        let conn = sentori_queue::connect(&config.store.valkey_url, Duration::from_secs(2)).await?;
        let keys = Keys::new(config.store.valkey_namespace.clone());
        let consumer = Consumer::join(&config.store.valkey_url, keys, ConsumerConfig::new(Stream::Notify, GROUP)).await?;
        Ok(Self { config, consumer, readiness: Readiness { postgres: Some(pool), valkey: Some(conn) } })
    }

    pub async fn run(mut self, shutdown: Shutdown) -> Result<(), StartError> {
        let listener = tokio::net::TcpListener::bind(self.config.addr).await?;
        let health = tokio::spawn(sentori_runtime::serve_on(listener, sentori_runtime::health_routes(self.readiness.clone()), shutdown.clone()));
        tracing::info!("SENTORI_SMTP_HOST is not set: email is off; announcements are acknowledged without sending");
        while !shutdown.is_cancelled() {
            let batch = tokio::select! {
                _ = shutdown.cancelled() => break,
                batch = self.consumer.next_batch() => batch,
            };
            match batch {
                Ok(batch) => {
                    let ids: Vec<String> = batch.into_iter().map(|d| d.id).collect();
                    if let Err(err) = self.consumer.ack(&ids).await {
                        tracing::warn!(error = %err, "acknowledging announcements failed");
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "reading the notify stream failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        let _ = health.await;
        Ok(())
    }
}
