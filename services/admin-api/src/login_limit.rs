//! How many password guesses reach the comparison.
//!
//! Every login try is counted before the password is compared, in one Valkey
//! script, so N parallel guesses count N and at most the limit of them are
//! ever compared. Tries are counted per client (an IPv4 address, or the /64
//! of an IPv6 one, since a single host usually holds a whole /64), and across
//! all clients: past the global limit every login waits out a back-off, which
//! bounds a guesser spread over many addresses too.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use sentori_queue::Valkey;
use sentori_runtime::client_addr::{client_addr, limit_key};
use sentori_queue::Keys;

use crate::AppState;
use crate::error::ApiError;

/// Login tries per client per window (`SENTORI_LOGIN_TRIES_PER_MIN`).
pub const DEFAULT_TRIES_PER_CLIENT: u64 = 10;
/// Login tries of all clients together per window (`SENTORI_LOGIN_GLOBAL_TRIES_PER_MIN`).
pub const DEFAULT_TRIES_OVERALL: u64 = 100;
const WINDOW_MS: u64 = 60_000;
/// How long every login is refused once all clients together passed their limit.
const GLOBAL_BACKOFF_MS: u64 = 5 * 60_000;

/// `KEYS`: this client's tries, all clients' tries, the global back-off.
/// `ARGV`: per-client limit, window, overall limit, back-off (ms).
/// Answers `{admitted, retry_after_ms}`. A try refused by its own client's
/// limit is not counted overall, so one client cannot trigger the back-off.
const COUNT_TRY: &str = r"
local backoff = redis.call('PTTL', KEYS[3])
if backoff > 0 then return {0, backoff} end
local function count(key)
  local n = redis.call('INCR', key)
  if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, ARGV[2]) end
  return n
end
if count(KEYS[1]) > tonumber(ARGV[1]) then return {0, redis.call('PTTL', KEYS[1])} end
if count(KEYS[2]) > tonumber(ARGV[3]) then
  redis.call('SET', KEYS[3], 1, 'PX', ARGV[4])
  return {0, tonumber(ARGV[4])}
end
return {1, 0}
";

#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    pub per_client: u64,
    pub overall: u64,
}

pub struct LoginLimiter {
    script: redis::Script,
    keys: Keys,
    limits: LoginLimits,
}

impl LoginLimiter {
    pub fn new(keys: Keys, limits: LoginLimits) -> Self {
        Self { script: redis::Script::new(COUNT_TRY), keys, limits }
    }

    /// Counts one try of `client`; `RateLimited` when it may not be compared.
    pub async fn count_try(&self, valkey: &Valkey, client: ClientAddr) -> Result<(), ApiError> {
        let mut conn = valkey.clone();
        let (admitted, retry_after_ms): (u8, i64) = self
            .script
            // One script, three keys: one hash tag, so they share a Valkey Cluster slot.
            .key(self.keys.counter(&format!("{{admin-login}}:tries:{}", client.limit_key())))
            .key(self.keys.counter("{admin-login}:tries:all"))
            .key(self.keys.counter("{admin-login}:backoff"))
            .arg(self.limits.per_client)
            .arg(WINDOW_MS)
            .arg(self.limits.overall)
            .arg(GLOBAL_BACKOFF_MS)
            .invoke_async(&mut conn)
            .await?;
        if admitted == 1 {
            return Ok(());
        }
        tracing::warn!(client = ?client.0, "admin login refused by the rate limit");
        Err(ApiError::RateLimited { retry_after_ms: u64::try_from(retry_after_ms).unwrap_or(WINDOW_MS).max(1) })
    }
}

/// The client's address for the login rate limit ([`sentori_runtime::client_addr`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    /// What the client's tries are counted under: the address, or the /64 of an IPv6 one.
    pub fn limit_key(&self) -> String {
        self.0.map_or_else(|| "unknown".into(), |ip| limit_key(ip).to_string())
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
        Ok(ClientAddr(client_addr(peer, &parts.headers, &state.config.trusted_proxies)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let key = |ip: &str| ClientAddr(Some(ip.parse().unwrap())).limit_key();
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_eq!(key("2001:db8:1:2::9"), "2001:db8:1:2::");
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7", "a mapped IPv4 address is that address");
        assert_eq!(ClientAddr(None).limit_key(), "unknown");
    }
}
