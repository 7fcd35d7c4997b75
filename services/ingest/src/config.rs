//! Ingest's configuration (operations.md).

use std::net::SocketAddr;
use std::time::Duration;

use sentori_config::{ConfigErrors, Env, StoreConfig};

#[derive(Debug, Clone)]
pub struct IngestConfig {
    pub addr: SocketAddr,
    pub store: StoreConfig,
    /// The bootstrap admin token of the dev project.
    pub dev_token: String,
    /// `SENTORI_RATE_LIMIT_PER_MIN`: requests per token per minute.
    pub rate_limit_per_min: u32,
    /// `SENTORI_SPAN_LIMIT_MONTHLY`: spans per org per UTC month; `None` (0) is unlimited.
    pub span_limit_monthly: Option<i64>,
    /// `SENTORI_MAX_BACKLOG`: unprocessed entries in a stream past which ingest
    /// answers 503 instead of letting Valkey grow without bound.
    pub max_backlog: u64,
    /// `SENTORI_ATTACHMENT_DIR`: where attachment blobs are stored; unset
    /// means uploads answer `503 attachmentsDisabled`.
    pub attachment_dir: Option<std::path::PathBuf>,
    /// `SENTORI_ATTACHMENT_MAX_BYTES` (default 2 MiB).
    pub attachment_max_bytes: u64,
    /// How long a resolved token is trusted before it is looked up again
    /// (bounds how long a revoked token keeps working).
    pub token_cache_ttl: Duration,
    /// `SENTORI_TOKEN_LOOKUPS_PER_MIN_PER_CLIENT`: token lookups (tokens not
    /// in the cache) one client address may cause per minute.
    pub token_lookups_per_min_per_client: u32,
    /// `SENTORI_ATTACHMENT_BYTES_DAILY`: attachment bytes per project per UTC
    /// day (default 1 GiB); `None` (0) is unlimited.
    pub attachment_bytes_daily: Option<u64>,
    /// `SENTORI_TRUSTED_PROXIES`: peers whose `X-Real-IP` / `X-Forwarded-For`
    /// name the client.
    pub trusted_proxies: Vec<sentori_runtime::client_addr::IpNet>,
}

impl IngestConfig {
    pub fn from_env(mut env: Env) -> Result<Self, ConfigErrors> {
        let addr = env.addr_or("SENTORI_INGEST_ADDR", "0.0.0.0:8080");
        let store = StoreConfig::read(&mut env);
        let dev_token = env.secret("SENTORI_DEV_TOKEN", sentori_config::DEV_TOKEN_MIN_BYTES);
        let rate_limit_per_min = env.parsed_or("SENTORI_RATE_LIMIT_PER_MIN", 1000u32);
        if rate_limit_per_min == 0 {
            env.invalid("SENTORI_RATE_LIMIT_PER_MIN", "must be at least 1");
        }
        let span_limit_monthly = Some(env.parsed_or("SENTORI_SPAN_LIMIT_MONTHLY", 10_000_000i64)).filter(|n| *n > 0);
        let max_backlog = env.parsed_or("SENTORI_MAX_BACKLOG", 1_000_000u64);
        let attachment_dir = env.optional("SENTORI_ATTACHMENT_DIR").map(Into::into);
        let attachment_max_bytes = env.parsed_or("SENTORI_ATTACHMENT_MAX_BYTES", 2 * 1024 * 1024u64);
        let token_cache_ttl = Duration::from_secs(env.parsed_or("SENTORI_TOKEN_CACHE_SECS", 30u64).min(30));
        let token_lookups_per_min_per_client = env.parsed_or("SENTORI_TOKEN_LOOKUPS_PER_MIN_PER_CLIENT", 60u32);
        if token_lookups_per_min_per_client == 0 {
            env.invalid("SENTORI_TOKEN_LOOKUPS_PER_MIN_PER_CLIENT", "must be at least 1");
        }
        let attachment_bytes_daily = Some(env.parsed_or("SENTORI_ATTACHMENT_BYTES_DAILY", 1u64 << 30)).filter(|n| *n > 0);
        let trusted_proxies = sentori_runtime::client_addr::trusted_proxies(&mut env);
        env.finish()?;
        Ok(Self {
            addr,
            store,
            dev_token,
            rate_limit_per_min,
            span_limit_monthly,
            max_backlog,
            attachment_dir,
            attachment_max_bytes,
            token_cache_ttl,
            token_lookups_per_min_per_client,
            attachment_bytes_daily,
            trusted_proxies,
        })
    }
}

#[cfg(test)]
mod tests {
    use sentori_config::ConfigError;

    use super::*;

    #[test]
    fn a_placeholder_or_short_dev_token_stops_the_start() {
        let config = |token: &str| {
            IngestConfig::from_env(Env::from_pairs([
                ("SENTORI_DATABASE_URL", "postgres://x"),
                ("SENTORI_VALKEY_URL", "redis://y"),
                ("SENTORI_DEV_TOKEN", token),
            ]))
        };
        let errors = config("CHANGE-ME").unwrap_err().0;
        assert_eq!(errors, vec![ConfigError::Placeholder { name: "SENTORI_DEV_TOKEN".into() }]);
        let errors = config("too-short").unwrap_err().0;
        assert!(matches!(&errors[..], [ConfigError::Invalid { name, .. }] if name == "SENTORI_DEV_TOKEN"), "{errors:?}");
        assert!(config("dev-0123456789abcdef0123456789abcdef").is_ok());
    }
}
