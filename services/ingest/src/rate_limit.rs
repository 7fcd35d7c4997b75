//! The per-token rate limit: GCRA in one atomic Valkey round trip.
//!
//! GCRA keeps one "theoretical arrival time" per token. A full budget of
//! `limit` requests can be spent at once, after which requests are admitted
//! at the steady rate; unlike a fixed window, nothing resets at a minute
//! boundary, so a burst straddling one cannot pass twice the limit. Valkey's
//! clock is used so every ingest replica agrees on "now".

use redis::Script;
use sentori_queue::Valkey;
use sentori_queue::Keys;
use uuid::Uuid;

const GCRA: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - now > window then
  return {0, new_tat - now - window}
end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, 0}
"#;

const WINDOW_US: u64 = 60_000_000;

#[derive(Clone)]
pub struct RateLimiter {
    conn: Valkey,
    keys: Keys,
    script: Script,
    interval_us: u64,
}

/// The verdict for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    Limited { retry_after_ms: u64 },
}

impl RateLimiter {
    pub fn new(conn: Valkey, keys: Keys, per_minute: u32) -> Self {
        Self { conn, keys, script: Script::new(GCRA), interval_us: WINDOW_US / u64::from(per_minute.max(1)) }
    }

    /// Counts one request against the token identified by `token_key`
    /// (the token row's project-scoped identity, never the token itself).
    pub async fn check(&self, project_id: Uuid, token_key: &str) -> Result<Decision, redis::RedisError> {
        let key = self.keys.counter(&format!("rl:{project_id}:{token_key}"));
        let (allowed, retry_us): (i64, i64) = self
            .script
            .key(key)
            .arg(self.interval_us)
            .arg(WINDOW_US)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(if allowed == 1 {
            Decision::Allowed
        } else {
            Decision::Limited { retry_after_ms: (retry_us.max(0) as u64).div_ceil(1000).max(1) }
        })
    }
}
