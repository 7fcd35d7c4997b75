//! Monthly quotas per org (protocol.md, "Rate limits and quotas").
//!
//! Each accepted event or span takes one unit from its org's counter for the
//! UTC month, in one atomic Valkey script, so parallel requests never
//! overshoot. A batch takes what is left and the rest of its items are
//! rejected one by one. The counters' durable copy lives in PostgreSQL
//! (the processor adds what it stores); when a counter is missing after a
//! Valkey restart, it is seeded from there before anything is taken.

use redis::Script;
use sentori_queue::Valkey;
use sentori_queue::Keys;
use sentori_store::ResolvedToken;
use sentori_store::quotas::{self, Category};
use sentori_store::sqlx::PgPool;
use time::OffsetDateTime;

use crate::error::IngestError;

const TAKE: &str = r#"
local current = redis.call('GET', KEYS[1])
if not current then
  local seed = tonumber(ARGV[4])
  if seed < 0 then return {-1, 0} end
  current = seed
  redis.call('SET', KEYS[1], string.format('%d', seed), 'EX', ARGV[3])
else
  current = tonumber(current)
end
local remaining = tonumber(ARGV[2]) - current
if remaining <= 0 then return {0, current} end
local granted = math.min(tonumber(ARGV[1]), remaining)
redis.call('INCRBY', KEYS[1], granted)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {granted, current + granted}
"#;

/// Adds `ARGV[1]` to a counter unless that would pass `ARGV[2]`.
const TAKE_IF_FITS: &str = r#"
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"#;

/// Counters outlive their month a little, then expire.
const COUNTER_TTL_SECS: u64 = 40 * 24 * 3600;
/// Daily counters outlive their day a little, then expire.
const DAILY_COUNTER_TTL_SECS: u64 = 2 * 24 * 3600;

#[derive(Clone)]
pub struct QuotaGate {
    conn: Valkey,
    keys: Keys,
    pool: PgPool,
    script: Script,
    take_if_fits: Script,
    /// `SENTORI_SPAN_LIMIT_MONTHLY`; `None` is unlimited.
    span_limit: Option<i64>,
    /// `SENTORI_ATTACHMENT_BYTES_DAILY`; `None` is unlimited.
    attachment_bytes_daily: Option<u64>,
}

/// Units taken from a quota, to give back if the items are not queued after all.
#[derive(Debug)]
pub struct Grant {
    key: Option<String>,
    pub granted: usize,
}

impl QuotaGate {
    pub fn new(
        conn: Valkey,
        keys: Keys,
        pool: PgPool,
        span_limit: Option<i64>,
        attachment_bytes_daily: Option<u64>,
    ) -> Self {
        let (script, take_if_fits) = (Script::new(TAKE), Script::new(TAKE_IF_FITS));
        Self { conn, keys, pool, script, take_if_fits, span_limit, attachment_bytes_daily }
    }

    /// Takes `bytes` from the project's attachment bytes of the UTC day, all
    /// or nothing: an upload that does not fit is refused whole.
    pub async fn take_attachment_bytes(&self, token: &ResolvedToken, bytes: u64) -> Result<Grant, IngestError> {
        let (Some(limit), false) = (self.attachment_bytes_daily, token.is_dev) else {
            return Ok(Grant { key: None, granted: 0 });
        };
        let now = OffsetDateTime::now_utc();
        let key = self.keys.counter(&format!("quota:{}:{}:attachment-bytes", token.project_id, now.date()));
        let taken: i64 = self
            .take_if_fits
            .key(&key)
            .arg(bytes)
            .arg(limit)
            .arg(DAILY_COUNTER_TTL_SECS)
            .invoke_async(&mut self.conn.clone())
            .await?;
        if taken == 0 {
            return Err(IngestError::AttachmentQuotaExceeded {
                reset_at: (now.date() + time::Duration::DAY).midnight().assume_utc(),
            });
        }
        Ok(Grant { key: Some(key), granted: bytes as usize })
    }

    /// Takes up to `wanted` units. Fails with `quotaExceeded` when none are left.
    pub async fn take(&self, token: &ResolvedToken, category: Category, wanted: usize) -> Result<Grant, IngestError> {
        let limit = match category {
            Category::Events => token.monthly_event_limit,
            Category::Spans => self.span_limit,
        };
        let (Some(limit), false, true) = (limit, token.is_dev, wanted > 0) else {
            return Ok(Grant { key: None, granted: wanted });
        };
        let now = OffsetDateTime::now_utc();
        let month = quotas::month_of(now);
        let key = self.keys.counter(&format!("quota:{}:{}:{}", token.org_id, month, category.as_str()));
        let mut seed = -1i64;
        loop {
            let (granted, _used): (i64, i64) = self
                .script
                .key(&key)
                .arg(wanted)
                .arg(limit)
                .arg(COUNTER_TTL_SECS)
                .arg(seed)
                .invoke_async(&mut self.conn.clone())
                .await?;
            match granted {
                -1 => seed = quotas::usage(&self.pool, token.org_id, month, category).await?,
                0 => return Err(IngestError::QuotaExceeded { reset_at: next_month(now) }),
                n => return Ok(Grant { key: Some(key), granted: n as usize }),
            }
        }
    }

    /// Returns units for items that were not queued (Valkey refused the append).
    pub async fn refund(&self, grant: Grant) {
        let Some(key) = grant.key else { return };
        let result: redis::RedisResult<i64> =
            redis::cmd("DECRBY").arg(&key).arg(grant.granted).query_async(&mut self.conn.clone()).await;
        if let Err(err) = result {
            tracing::warn!(error = %err, "returning quota units failed; the org is charged for items it was refused");
        }
    }
}

fn next_month(now: OffsetDateTime) -> OffsetDateTime {
    sentori_store::partitions::month_start(now, 1).midnight().assume_utc()
}
