//! `retention`: the daily housekeeping pass (processing.md, "Retention").
//!
//! One pass, at start and then daily (or once on demand with `--once`):
//! monthly partitions ahead of time, expired partitions dropped, the
//! idempotency keys, traces and attachments (with their blobs) of expired
//! data deleted, and the run recorded in `retention_runs`. A session-level
//! advisory lock makes one replica do the pass; the others skip it.

pub mod pass;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use sentori_config::{ConfigErrors, Env};
use sentori_runtime::{Readiness, Shutdown};
use sentori_store::PoolSettings;
use sqlx::PgPool;
use time::OffsetDateTime;

pub use pass::{LOCK_KEY, PassOptions, PassOutcome, run_pass};

#[derive(Debug, Clone)]
pub struct RetentionConfig {
    pub addr: SocketAddr,
    pub database_url: String,
    pub options: PassOptions,
}

impl RetentionConfig {
    pub fn from_env(mut env: Env) -> Result<Self, ConfigErrors> {
        let addr = env.addr_or("SENTORI_RETENTION_ADDR", "0.0.0.0:8084");
        let database_url = env.required("SENTORI_DATABASE_URL");
        let trace_retention_days: u32 = env.parsed_or("SENTORI_TRACE_RETENTION_DAYS", 14);
        if trace_retention_days == 0 {
            env.invalid("SENTORI_TRACE_RETENTION_DAYS", "must be at least 1 day");
        }
        let attachment_dir = env.optional("SENTORI_ATTACHMENT_DIR").map(PathBuf::from);
        env.finish()?;
        Ok(Self {
            addr,
            database_url,
            options: PassOptions {
                trace_retention_days,
                attachment_dir,
                attachments_per_transaction: pass::ATTACHMENTS_PER_TRANSACTION,
            },
        })
    }
}

/// What the command line asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// The service: a pass at start, then daily, with health checks.
    Service,
    /// One pass with the given "now" (default: the clock), then exit.
    Once { now: Option<OffsetDateTime> },
}

/// `retention [--once [--now <RFC 3339 time>]]`
#[derive(Debug, clap::Parser)]
#[command(
    name = "retention",
    about = "Sentori's housekeeping: creates monthly partitions ahead of time and expires old data, \
             at start and then daily, or once with --once"
)]
pub struct Args {
    /// Run one pass, print its outcome as one JSON line, and exit.
    #[arg(long)]
    once: bool,
    /// The time the pass takes as now, e.g. 2027-06-01T00:00:00Z: rehearses a future pass.
    #[arg(long, requires = "once", value_parser = parse_rfc3339)]
    now: Option<OffsetDateTime>,
}

impl Args {
    pub fn mode(&self) -> Mode {
        if self.once { Mode::Once { now: self.now } } else { Mode::Service }
    }
}

fn parse_rfc3339(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|err| format!("not an RFC 3339 time ({err}), e.g. 2027-06-01T00:00:00Z"))
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] sentori_store::StoreError),
    #[error("serving health checks failed: {0}")]
    Serve(#[from] std::io::Error),
    #[error("the retention pass failed: {0}")]
    Pass(#[from] pass::PassError),
}

pub struct Retention {
    config: RetentionConfig,
    pool: PgPool,
}

const PASS_INTERVAL: Duration = Duration::from_secs(24 * 3600);

impl Retention {
    pub async fn start(config: RetentionConfig) -> Result<Self, StartError> {
        let pool = sentori_store::connect_and_migrate(&config.database_url, &PoolSettings { max_connections: 4, ..PoolSettings::default() }).await?;
        Ok(Self { config, pool })
    }

    /// One pass as of `now`; the outcome is also printed by the binary.
    pub async fn once(&self, now: OffsetDateTime) -> Result<PassOutcome, StartError> {
        Ok(run_pass(&self.pool, now, &self.config.options).await?)
    }

    pub async fn run(self, shutdown: Shutdown) -> Result<(), StartError> {
        let listener = tokio::net::TcpListener::bind(self.config.addr).await?;
        let readiness = Readiness { postgres: Some(self.pool.clone()), valkey: None };
        let health = tokio::spawn(sentori_runtime::serve_on(listener, sentori_runtime::health_routes(readiness), shutdown.clone()));
        let mut tick = tokio::time::interval(PASS_INTERVAL);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {
                    // A failed pass is logged and recorded; tomorrow's pass
                    // redoes whatever is still due, since every step is idempotent.
                    match run_pass(&self.pool, OffsetDateTime::now_utc(), &self.config.options).await {
                        Ok(PassOutcome::Done(summary)) => tracing::info!(?summary, "retention pass done"),
                        Ok(PassOutcome::Skipped) => tracing::info!("another replica holds the retention lock; skipping this pass"),
                        Err(err) => tracing::warn!(error = %err, "the retention pass failed; retrying at the next pass"),
                    }
                }
            }
        }
        let _ = health.await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(list: &[&str]) -> Result<Mode, String> {
        use clap::Parser;
        Args::try_parse_from(std::iter::once("retention").chain(list.iter().copied()))
            .map(|args| args.mode())
            .map_err(|err| err.to_string())
    }

    #[test]
    fn parses_the_command_line() {
        assert_eq!(parse(&[]).unwrap(), Mode::Service);
        assert_eq!(parse(&["--once"]).unwrap(), Mode::Once { now: None });
        let Mode::Once { now: Some(now) } = parse(&["--once", "--now", "2027-06-01T00:00:00Z"]).unwrap() else { panic!("a time") };
        assert_eq!(now, time::macros::datetime!(2027-06-01 00:00 UTC));
        assert!(parse(&["--once", "--now=2027-06-01T00:00:00Z"]).is_ok());
        assert!(parse(&["--once", "--now", "June"]).unwrap_err().contains("--now"));
        assert!(parse(&["--now", "2027-06-01T00:00:00Z"]).unwrap_err().contains("--once"), "--now needs --once");
        assert!(parse(&["--weekly"]).unwrap_err().contains("--weekly"));
    }

    #[test]
    fn config_errors_name_the_variable() {
        let env = Env::from_pairs([("SENTORI_TRACE_RETENTION_DAYS", "0")]);
        let text = RetentionConfig::from_env(env).unwrap_err().to_string();
        assert!(text.contains("SENTORI_DATABASE_URL"), "{text}");
        assert!(text.contains("SENTORI_TRACE_RETENTION_DAYS"), "{text}");
    }
}
