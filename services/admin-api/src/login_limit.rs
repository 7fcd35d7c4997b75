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
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::{IpNet, Ipv6Net};
use redis::aio::ConnectionManager;
use sentori_queue::Keys;

use crate::AppState;
use crate::error::ApiError;

/// Loopback and the private ranges.
pub const DEFAULT_TRUSTED_PROXIES: &str = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7";

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
    pub async fn count_try(&self, valkey: &ConnectionManager, client: ClientAddr) -> Result<(), ApiError> {
        let mut conn = valkey.clone();
        let (admitted, retry_after_ms): (u8, i64) = self
            .script
            .key(self.keys.counter(&format!("admin-login-tries:{}", client.limit_key())))
            .key(self.keys.counter("admin-login-tries:all"))
            .key(self.keys.counter("admin-login-backoff"))
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

/// The client's address for the login rate limit.
///
/// The socket peer is the client unless the peer is a trusted proxy
/// (`SENTORI_TRUSTED_PROXIES`; by default loopback and the private ranges,
/// where nginx of `deploy/nginx.conf` runs beside admin-api or in the same
/// container network). Then `X-Real-IP` (which that nginx sets to its own
/// peer), else the last `X-Forwarded-For` entry, names the client. A client
/// that reaches admin-api from anywhere else cannot choose its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl ClientAddr {
    /// What the client's tries are counted under: the address, or the /64 of an IPv6 one.
    pub fn limit_key(&self) -> String {
        match self.0.map(|ip| ip.to_canonical()) {
            Some(IpAddr::V6(ip)) => Ipv6Net::new(ip, 64).expect("64 is a valid IPv6 prefix").trunc().to_string(),
            Some(ip) => ip.to_string(),
            None => "unknown".into(),
        }
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
        Ok(ClientAddr(client_addr(peer, &parts.headers, &state.config.trusted_proxies)))
    }
}

pub fn client_addr(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let header_ip = |name: &str| -> Option<IpAddr> {
        let value = headers.get(name)?.to_str().ok()?;
        value.rsplit(',').next()?.trim().parse().ok()
    };
    match peer.map(|ip| ip.to_canonical()) {
        Some(ip) if trusted.iter().any(|net| net.contains(&ip)) => {
            header_ip("x-real-ip").or_else(|| header_ip("x-forwarded-for")).or(Some(ip))
        }
        other => other,
    }
}

/// A comma-separated list of CIDR ranges or single addresses; the entry that does not parse on error.
pub fn parse_trusted_proxies(list: &str) -> Result<Vec<IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| entry.parse::<IpNet>().or_else(|_| entry.parse::<IpAddr>().map(IpNet::from)).map_err(|_| entry.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let trusted = parse_trusted_proxies(DEFAULT_TRUSTED_PROXIES).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-real-ip", "203.0.113.7".parse().unwrap());
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        for proxy in ["127.0.0.1", "172.18.0.5", "10.1.2.3", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(client_addr(Some(proxy.parse().unwrap()), &headers, &trusted), Some(client), "{proxy}");
        }
        let remote: IpAddr = "198.51.100.2".parse().unwrap();
        assert_eq!(client_addr(Some(remote), &headers, &trusted), Some(remote), "an untrusted peer is the client");
        let outside_172: IpAddr = "172.32.0.1".parse().unwrap();
        assert_eq!(client_addr(Some(outside_172), &headers, &trusted), Some(outside_172));
        let mut xff = HeaderMap::new();
        xff.insert("x-forwarded-for", "10.0.0.1, 203.0.113.9".parse().unwrap());
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(client_addr(Some(loopback), &xff, &trusted), Some("203.0.113.9".parse().unwrap()));
        assert_eq!(client_addr(Some(loopback), &HeaderMap::new(), &trusted), Some(loopback));
        assert_eq!(client_addr(Some(loopback), &headers, &[]), Some(loopback), "nothing trusted");
    }

    #[test]
    fn trusted_proxy_lists_take_ranges_and_single_addresses() {
        let nets = parse_trusted_proxies(" 10.0.0.0/8, 192.0.2.1 ,,2001:db8::/32").unwrap();
        assert_eq!(nets.len(), 3);
        assert!(nets[1].contains(&"192.0.2.1".parse::<IpAddr>().unwrap()));
        assert_eq!(parse_trusted_proxies("10.0.0.0/33"), Err("10.0.0.0/33".into()));
        assert_eq!(parse_trusted_proxies("10.0.0.0/8,proxy.local"), Err("proxy.local".into()));
        assert!(parse_trusted_proxies("0.0.0.0/0").unwrap()[0].contains(&"198.51.100.2".parse::<IpAddr>().unwrap()));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let key = |ip: &str| ClientAddr(Some(ip.parse().unwrap())).limit_key();
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_eq!(key("2001:db8:1:2::9"), "2001:db8:1:2::/64");
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7", "a mapped IPv4 address is that address");
        assert_eq!(ClientAddr(None).limit_key(), "unknown");
    }
}
