//! `notifier`: consumes the notify stream (processing.md, "Notifier").
//!
//! Each announcement (`new` or `regressed`) becomes one email per recipient
//! of the project whose switch matches, decided by the delivery log (see
//! [`deliver`]). An announcement that cannot be sent now (SMTP down, a 4xx)
//! is retried with exponential backoff while the loop goes on with the rest
//! of the stream; after `SENTORI_SMTP_MAX_ATTEMPTS` attempts, or at once on
//! a permanent refusal, it moves to the dead-letter stream. With
//! `SENTORI_SMTP_HOST` unset, email is off: logged once, and announcements
//! are acknowledged without sending.

pub mod deliver;
pub mod mail;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use lettre::message::Mailbox;
use sentori_config::{ConfigErrors, Env, StoreConfig};
use sentori_model::DeadDigest;
use sentori_queue::{Consumer, ConsumerConfig, Delivery, EntryId, Envelope, ItemKind, Stream};
use sentori_runtime::panic::catch_panic;
use sentori_runtime::{Readiness, Shutdown};
use sentori_store::PoolSettings;
use tokio::time::Instant;
use uuid::Uuid;

use deliver::{Announcement, Deliverer, DigestPolicy, Failure};
use mail::{Mailer, SmtpConfig, TlsMode};

pub const GROUP: &str = "notifier";

/// How failed sends are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts before an announcement goes to the dead-letter stream.
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles per attempt up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The wait after `attempts` failed attempts.
    pub fn delay(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(20));
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }
}

const MAX_RETRY_DELAY_MS: u64 = 86_400_000;

#[derive(Debug, Clone)]
pub struct NotifierConfig {
    pub addr: SocketAddr,
    pub store: StoreConfig,
    /// `None`: email is off.
    pub smtp: Option<SmtpConfig>,
    pub public_url: String,
    pub retry: RetryPolicy,
    pub digest: DigestPolicy,
    /// An announcement pending this long belongs to a consumer presumed dead
    /// (`SENTORI_CLAIM_IDLE_MS`, as for the processor).
    pub claim_idle: Duration,
    /// Deliveries after which an entry whose consumers keep dying is dead-lettered.
    pub max_deliveries: u64,
}

impl NotifierConfig {
    pub fn from_env(mut env: Env) -> Result<Self, ConfigErrors> {
        let addr = env.addr_or("SENTORI_NOTIFIER_ADDR", "0.0.0.0:8083");
        let store = StoreConfig::read(&mut env);
        let tls: TlsMode = env.parsed_or("SENTORI_SMTP_TLS", TlsMode::StartTls);
        // 587 is the submission port with STARTTLS (operations.md); TLS from
        // the first byte is conventionally served on 465.
        let default_port = if tls == TlsMode::Tls { 465 } else { 587 };
        let port: u16 = env.parsed_or("SENTORI_SMTP_PORT", default_port);
        let from_raw = env.optional("SENTORI_SMTP_FROM").unwrap_or_else(|| "sentori@localhost".into());
        let from: Option<Mailbox> = match from_raw.parse() {
            Ok(mailbox) => Some(mailbox),
            Err(err) => {
                env.invalid("SENTORI_SMTP_FROM", format!("not an email address ({err}): {from_raw:?}"));
                None
            }
        };
        let credentials = match (env.optional("SENTORI_SMTP_USER"), env.optional("SENTORI_SMTP_PASS")) {
            (Some(user), Some(pass)) => Some((user, pass)),
            (None, None) => None,
            (Some(_), None) => {
                env.invalid("SENTORI_SMTP_PASS", "is required when SENTORI_SMTP_USER is set");
                None
            }
            (None, Some(_)) => {
                env.invalid("SENTORI_SMTP_USER", "is required when SENTORI_SMTP_PASS is set");
                None
            }
        };
        let extra_roots_pem = env.optional("SENTORI_SMTP_CA_FILE").and_then(|path| match read_certificates(&path) {
            Ok(pem) => Some(pem),
            Err(reason) => {
                env.invalid("SENTORI_SMTP_CA_FILE", format!("{reason}: {path:?}"));
                None
            }
        });
        let smtp = match (env.optional("SENTORI_SMTP_HOST"), from) {
            (Some(host), Some(from)) => Some(SmtpConfig { host, port, credentials, from, tls, extra_roots_pem }),
            _ => None,
        };
        let public_url = env.optional("SENTORI_PUBLIC_URL").unwrap_or_else(|| "http://localhost:8000".into());
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            env.invalid("SENTORI_PUBLIC_URL", format!("must start with http:// or https:// (got {public_url:?})"));
        }
        let max_attempts: u32 = env.parsed_or("SENTORI_SMTP_MAX_ATTEMPTS", 12);
        if max_attempts == 0 {
            env.invalid("SENTORI_SMTP_MAX_ATTEMPTS", "must be at least 1");
        }
        let base_ms: u64 = env.parsed_or("SENTORI_SMTP_RETRY_BASE_MS", 1_000);
        let max_ms: u64 = env.parsed_or("SENTORI_SMTP_RETRY_MAX_MS", 300_000);
        // A retry is due at now + delay: a day keeps that far from what an Instant can hold.
        for (name, ms) in [("SENTORI_SMTP_RETRY_BASE_MS", base_ms), ("SENTORI_SMTP_RETRY_MAX_MS", max_ms)] {
            if ms > MAX_RETRY_DELAY_MS {
                env.invalid(name, format!("must be at most {MAX_RETRY_DELAY_MS} (a day)"));
            }
        }
        let threshold: i64 = env.parsed_or("SENTORI_NOTIFY_DIGEST_THRESHOLD", 5);
        if threshold < 1 {
            env.invalid("SENTORI_NOTIFY_DIGEST_THRESHOLD", "must be at least 1");
        }
        let window_secs: u64 = env.parsed_or("SENTORI_NOTIFY_DIGEST_WINDOW_SECS", 60);
        if window_secs == 0 {
            env.invalid("SENTORI_NOTIFY_DIGEST_WINDOW_SECS", "must be at least 1");
        }
        let claim_idle_ms: u64 = env.parsed_or("SENTORI_CLAIM_IDLE_MS", 30_000);
        if claim_idle_ms < 1_000 {
            env.invalid("SENTORI_CLAIM_IDLE_MS", "must be at least 1000");
        }
        let max_deliveries: u64 = env.parsed_or("SENTORI_MAX_DELIVERIES", 5);
        env.finish()?;
        Ok(Self {
            addr,
            claim_idle: Duration::from_millis(claim_idle_ms),
            max_deliveries,
            store,
            smtp,
            public_url: public_url.trim_end_matches('/').to_owned(),
            retry: RetryPolicy {
                max_attempts,
                base_delay: Duration::from_millis(base_ms),
                max_delay: Duration::from_millis(max_ms.max(base_ms)),
            },
            digest: DigestPolicy { threshold, window: Duration::from_secs(window_secs) },
        })
    }
}

/// A PEM file with at least one certificate lettre can read.
fn read_certificates(path: &str) -> Result<Vec<u8>, String> {
    let pem = std::fs::read(path).map_err(|err| format!("cannot be read ({err})"))?;
    let has_certificate = pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----");
    if !has_certificate || lettre::transport::smtp::client::Certificate::from_pem(&pem).is_err() {
        return Err("holds no PEM certificate".into());
    }
    Ok(pem)
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] sentori_store::StoreError),
    #[error("reading the self-trace project failed: {0}")]
    SelfTrace(#[from] sqlx::Error),
    #[error("connecting to Valkey failed: {0}")]
    Valkey(#[from] redis::RedisError),
    #[error("joining the consumer group failed: {0}")]
    Queue(#[from] sentori_queue::QueueError),
    #[error("SENTORI_SMTP_HOST cannot be used: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("serving health checks failed: {0}")]
    Serve(#[from] std::io::Error),
}

/// An announcement waiting for its next attempt. Its stream entry stays
/// pending (unacknowledged) meanwhile, so a crash loses nothing.
struct Waiting {
    delivery: Delivery,
    attempts: u32,
    due: Instant,
}

/// A digest whose sending failed, waiting for its next attempt.
struct DigestRetry {
    attempts: u32,
    due: Instant,
}

pub struct Notifier {
    config: NotifierConfig,
    consumer: Consumer,
    readiness: Readiness,
    deliverer: Option<Deliverer>,
}

impl Notifier {
    pub async fn start(config: NotifierConfig) -> Result<Self, StartError> {
        let pool = sentori_store::connect_and_migrate(&config.store.database_url, &PoolSettings::default()).await?;
        let (conn, producer) = sentori_runtime::connect_queue(&config.store, Duration::from_secs(2)).await?;
        let keys = producer.keys().clone();
        let mut consumer_config = ConsumerConfig::new(Stream::Notify, GROUP);
        // Announcements are few and each may take an SMTP round trip.
        consumer_config.batch_size = 50;
        consumer_config.claim_idle = config.claim_idle;
        consumer_config.max_deliveries = config.max_deliveries;
        let consumer = Consumer::join(&config.store.valkey_url, keys.clone(), consumer_config).await?;
        let deliverer = match &config.smtp {
            Some(smtp) => Some(Deliverer {
                pool: pool.clone(),
                mailer: Mailer::new(smtp)?,
                public_url: config.public_url.clone(),
                digest: config.digest,
            }),
            None => None,
        };
        sentori_runtime::self_trace::install_if_configured("notifier", config.store.self_trace_project_id, &pool, producer).await?;
        let readiness = Readiness { postgres: Some(pool), valkey: Some(conn.clone()) };
        Ok(Self { config, consumer, readiness, deliverer })
    }

    pub async fn run(mut self, shutdown: Shutdown) -> Result<(), StartError> {
        let listener = tokio::net::TcpListener::bind(self.config.addr).await?;
        let health = tokio::spawn(sentori_runtime::serve_on(listener, sentori_runtime::health_routes(self.readiness.clone()), shutdown.clone()));
        match self.deliverer.clone() {
            None => {
                tracing::info!("SENTORI_SMTP_HOST is not set: email is off; announcements are acknowledged without sending");
                self.acknowledge_all(&shutdown).await;
            }
            Some(deliverer) => {
                if let Some(smtp) = &self.config.smtp {
                    tracing::info!(host = %smtp.host, port = smtp.port, tls = ?smtp.tls, "sending email");
                }
                self.deliver(&deliverer, &shutdown).await;
            }
        }
        let _ = health.await;
        Ok(())
    }

    async fn acknowledge_all(&mut self, shutdown: &Shutdown) {
        while let Some(batch) = self.consumer.next_batch_until(shutdown).await {
            let ids: Vec<EntryId> = batch.into_iter().map(|d| d.id).collect();
            if let Err(err) = self.consumer.ack(&ids).await {
                tracing::warn!(error = %err, "acknowledging announcements failed");
            }
        }
    }

    async fn deliver(&mut self, deliverer: &Deliverer, shutdown: &Shutdown) {
        let mut waiting: Vec<Waiting> = Vec::new();
        let mut digest_retries: HashMap<(Uuid, Uuid), DigestRetry> = HashMap::new();
        let mut next_digest_check = Instant::now();
        while let Some(batch) = self.consumer.next_batch_until(shutdown).await {
            let _span = (!batch.is_empty()).then(|| {
                sentori_runtime::self_trace::WorkSpan::start(
                    "queue.process",
                    "process notify".to_owned(),
                    sentori_runtime::self_trace::SpanKind::Consumer,
                )
            });
            for delivery in batch {
                // Our own waiting entry, claimed back to us: it already has a turn.
                if waiting.iter().any(|w| w.delivery.id == delivery.id) {
                    continue;
                }
                self.attempt(deliverer, delivery, 1, &mut waiting).await;
            }
            let now = Instant::now();
            let (due, later): (Vec<Waiting>, Vec<Waiting>) = std::mem::take(&mut waiting).into_iter().partition(|w| w.due <= now);
            waiting = later;
            for retry in due {
                self.attempt(deliverer, retry.delivery, retry.attempts + 1, &mut waiting).await;
            }
            if Instant::now() >= next_digest_check {
                next_digest_check = Instant::now() + Duration::from_secs(1);
                self.flush_digests(deliverer, &mut digest_retries).await;
            }
            // Every turn of the loop (at most a read's block, 2 s, apart), so a
            // waiting entry never looks abandoned.
            self.keep_alive(&waiting).await;
        }
    }

    /// One attempt at one announcement; on a transient failure it waits in
    /// `waiting` (unacknowledged) for the next.
    async fn attempt(&mut self, deliverer: &Deliverer, delivery: Delivery, attempts: u32, waiting: &mut Vec<Waiting>) {
        let announcement = match &delivery.envelope {
            Ok(envelope) if envelope.kind == ItemKind::Notification => match envelope.payload.value() {
                Ok(payload) => Announcement::from_payload(envelope.project_id, payload),
                Err(err) => Err(format!("the announcement is not valid JSON: {err}")),
            },
            Ok(envelope) => Err(format!("a {:?} entry on the notify stream", envelope.kind)),
            Err(err) => Err(err.to_string()),
        };
        let announcement = match announcement {
            Ok(a) => a,
            Err(reason) => return self.dead_letter(&delivery, &format!("not a valid announcement: {reason}")).await,
        };
        match catch_panic(deliverer.announce(&announcement)).await.unwrap_or_else(|panicked| Err(panicked.into())) {
            Ok(report) => {
                metrics::counter!("sentori_emails_sent_total").increment(report.sent as u64);
                tracing::info!(issue = %announcement.issue_id, reason = announcement.reason.as_str(), occurrence = announcement.occurrence,
                    sent = report.sent, already_sent = report.already_sent, held_for_digest = report.held_for_digest, "announcement handled");
                if let Err(err) = self.consumer.ack(std::slice::from_ref(&delivery.id)).await {
                    // Redelivered later; the delivery log makes that harmless.
                    tracing::warn!(error = %err, "acknowledging an announcement failed");
                }
            }
            Err(Failure::Permanent(msg)) => {
                metrics::counter!("sentori_emails_failed_total", "kind" => "permanent").increment(1);
                tracing::error!(issue = %announcement.issue_id, error = %msg, "an email was refused for good");
                self.dead_letter(&delivery, &format!("refused by the SMTP server: {msg}")).await;
            }
            Err(Failure::Transient(msg)) if attempts >= self.config.retry.max_attempts => {
                metrics::counter!("sentori_emails_failed_total", "kind" => "transient").increment(1);
                tracing::error!(issue = %announcement.issue_id, attempts, error = %msg, "giving up on an announcement");
                self.dead_letter(&delivery, &format!("not sent after {attempts} attempts: {msg}")).await;
            }
            Err(Failure::Transient(msg)) => {
                metrics::counter!("sentori_emails_failed_total", "kind" => "transient").increment(1);
                let delay = self.config.retry.delay(attempts);
                tracing::warn!(issue = %announcement.issue_id, attempts, retry_in_ms = delay.as_millis() as u64, error = %msg, "sending failed; will retry");
                waiting.push(Waiting { delivery, attempts, due: Instant::now() + delay });
            }
        }
    }

    async fn dead_letter(&mut self, delivery: &Delivery, reason: &str) {
        tracing::error!(id = %delivery.id, %reason, "moving an announcement to the dead-letter stream");
        if let Err(err) = self.consumer.dead_letter(delivery, reason).await {
            // It stays pending and comes back; it is never dropped.
            tracing::warn!(error = %err, "moving to the dead-letter stream failed");
        }
    }

    /// Sends the digests whose window has passed; failures back off like
    /// announcements and end on the dead-letter stream.
    async fn flush_digests(&mut self, deliverer: &Deliverer, retries: &mut HashMap<(Uuid, Uuid), DigestRetry>) {
        let due = match deliverer.due_digests().await {
            Ok(due) => due,
            Err(err) => {
                tracing::warn!(error = %err, "looking for due digests failed");
                return;
            }
        };
        for key @ (project_id, recipient_id) in due {
            let attempts = match retries.get(&key) {
                Some(retry) if retry.due > Instant::now() => continue,
                Some(retry) => retry.attempts + 1,
                None => 1,
            };
            match catch_panic(deliverer.send_digest(project_id, recipient_id)).await.unwrap_or_else(|panicked| Err(panicked.into())) {
                Ok(listed) => {
                    retries.remove(&key);
                    if listed > 0 {
                        tracing::info!(%project_id, %recipient_id, issues = listed, "digest sent");
                    }
                }
                Err(Failure::Transient(msg)) if attempts < self.config.retry.max_attempts => {
                    let delay = self.config.retry.delay(attempts);
                    tracing::warn!(%project_id, %recipient_id, attempts, error = %msg, "sending a digest failed; will retry");
                    retries.insert(key, DigestRetry { attempts, due: Instant::now() + delay });
                }
                Err(failure) => {
                    retries.remove(&key);
                    self.dead_letter_digest(deliverer, project_id, recipient_id, &format!("digest not sent after {attempts} attempts: {failure}")).await;
                }
            }
        }
    }

    /// Puts a digest that cannot be sent on the dead-letter stream, in the
    /// same shape as a dead announcement (an envelope, `error`, `originalId`,
    /// `deliveries`), its payload naming the recipient and the held issues.
    async fn dead_letter_digest(&mut self, deliverer: &Deliverer, project_id: Uuid, recipient_id: Uuid, reason: &str) {
        tracing::error!(%project_id, %recipient_id, %reason, "moving a digest to the dead-letter stream");
        let (org_id, held) = match deliverer.abandon_digest(project_id, recipient_id).await {
            Ok(found) => found,
            Err(err) => return tracing::warn!(error = %err, "abandoning a digest failed; it will be retried"),
        };
        let envelope = Envelope::new(ItemKind::Notification, project_id, org_id, time::OffsetDateTime::now_utc())
            .with_payload(serde_json::to_value(DeadDigest::new(recipient_id, held.iter().copied())).expect("a dead digest encodes as JSON"));
        let attempts = u64::from(self.config.retry.max_attempts);
        if let Err(err) = self.consumer.dead_letter_derived(&envelope, reason, "digest", attempts).await {
            tracing::error!(error = %err, ?held, "writing a dead digest to the dead-letter stream failed; its issues are listed here");
        }
    }

    /// Keeps the entries waiting for a retry ours (see `Consumer::keep_alive`).
    async fn keep_alive(&mut self, waiting: &[Waiting]) {
        let ids: Vec<&EntryId> = waiting.iter().map(|w| &w.delivery.id).collect();
        if let Err(err) = self.consumer.keep_alive(&ids).await {
            tracing::warn!(error = %err, "refreshing waiting announcements failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy { max_attempts: 5, base_delay: Duration::from_secs(1), max_delay: Duration::from_secs(10) };
        let delays: Vec<u64> = (1..=6).map(|a| policy.delay(a).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 10, 10]);
        assert_eq!(policy.delay(1000), Duration::from_secs(10));
    }

    #[test]
    fn config_defaults_and_errors_name_the_variable() {
        let base = [("SENTORI_DATABASE_URL", "postgres://x"), ("SENTORI_VALKEY_URL", "redis://y")];
        let config = NotifierConfig::from_env(Env::from_pairs(base)).unwrap();
        assert!(config.smtp.is_none(), "no host: email is off");
        assert_eq!(config.public_url, "http://localhost:8000");
        assert_eq!(config.digest.threshold, 5);

        let mut with_host = base.to_vec();
        with_host.push(("SENTORI_SMTP_HOST", "mail.example"));
        let smtp = NotifierConfig::from_env(Env::from_pairs(with_host.clone())).unwrap().smtp.unwrap();
        assert_eq!((smtp.port, smtp.tls), (587, TlsMode::StartTls));
        assert_eq!(smtp.from.to_string(), "sentori@localhost");

        let mut bad = with_host;
        bad.extend([
            ("SENTORI_SMTP_TLS", "ssl3"),
            ("SENTORI_SMTP_FROM", "not an address"),
            ("SENTORI_SMTP_USER", "me"),
            ("SENTORI_SMTP_CA_FILE", "/nonexistent/ca.pem"),
            ("SENTORI_SMTP_RETRY_MAX_MS", "18446744073709551615"),
        ]);
        let text = NotifierConfig::from_env(Env::from_pairs(bad)).unwrap_err().to_string();
        for name in ["SENTORI_SMTP_TLS", "SENTORI_SMTP_FROM", "SENTORI_SMTP_PASS", "SENTORI_SMTP_CA_FILE", "SENTORI_SMTP_RETRY_MAX_MS"] {
            assert!(text.contains(name), "{name} in {text}");
        }
    }
}
