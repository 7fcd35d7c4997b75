//! Who a request comes from, for limits kept per client address.
//!
//! The socket peer is the client unless the peer is a trusted proxy
//! (`SENTORI_TRUSTED_PROXIES`; by default loopback and the private ranges,
//! where nginx of `deploy/nginx.conf` runs beside the services or in the
//! same container network). Then `X-Real-IP` (which that nginx sets to its
//! own peer), else the last `X-Forwarded-For` entry, names the client. A
//! client that reaches a service from anywhere else cannot choose its address.

use std::net::{IpAddr, Ipv6Addr};

use axum::http::HeaderMap;
use sentori_config::Env;

/// An address range in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl IpNet {
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr.parse::<IpAddr>().ok()?, Some(prefix.parse::<u8>().ok()?)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        let (net, ip, bits) = match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => (u128::from(u32::from(net)), u128::from(u32::from(ip)), 32),
            (IpAddr::V6(net), IpAddr::V6(ip)) => (u128::from(net), u128::from(ip), 128),
            _ => return false,
        };
        let shift = bits - u32::from(self.prefix);
        shift >= bits || (net >> shift) == (ip >> shift)
    }
}

/// Loopback and the private ranges.
pub const DEFAULT_TRUSTED_PROXIES: &str = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7";

/// Reads `SENTORI_TRUSTED_PROXIES` (comma-separated addresses or CIDR ranges).
pub fn trusted_proxies(env: &mut Env) -> Vec<IpNet> {
    let proxies = env.optional("SENTORI_TRUSTED_PROXIES").unwrap_or_else(|| DEFAULT_TRUSTED_PROXIES.into());
    let listed: Vec<&str> = proxies.split(',').filter(|n| !n.trim().is_empty()).collect();
    let parsed: Vec<IpNet> = listed.iter().filter_map(|n| IpNet::parse(n)).collect();
    if parsed.len() != listed.len() {
        env.invalid("SENTORI_TRUSTED_PROXIES", "must be a comma-separated list of addresses or CIDR ranges");
    }
    parsed
}

/// The client's address: see the module documentation.
pub fn client_addr(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let header_ip = |name: &str| -> Option<IpAddr> {
        let value = headers.get(name)?.to_str().ok()?;
        value.rsplit(',').next()?.trim().parse().ok()
    };
    match peer.map(|ip| ip.to_canonical()) {
        Some(ip) if trusted.iter().any(|net| net.contains(ip)) => {
            header_ip("x-real-ip").or_else(|| header_ip("x-forwarded-for")).or(Some(ip))
        }
        other => other,
    }
}

/// What a per-client limit is keyed by: the address itself for IPv4, its
/// /64 for IPv6, since one subscriber is routinely handed a whole /64 and
/// could otherwise pick a fresh address for every request.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let trusted: Vec<IpNet> = DEFAULT_TRUSTED_PROXIES.split(',').map(|n| IpNet::parse(n).unwrap()).collect();
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
        assert!(IpNet::parse("10.0.0.0/33").is_none());
        assert!(IpNet::parse("0.0.0.0/0").unwrap().contains(remote));
    }

    #[test]
    fn trusted_proxies_are_read_and_checked() {
        let mut env = Env::from_pairs([("SENTORI_TRUSTED_PROXIES", "192.0.2.1, 10.0.0.0/8")]);
        assert_eq!(trusted_proxies(&mut env).len(), 2);
        assert!(env.finish().is_ok());
        let mut env = Env::from_pairs([("SENTORI_TRUSTED_PROXIES", "10.0.0.0/8,nonsense")]);
        trusted_proxies(&mut env);
        assert!(env.finish().is_err());
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(limit_key(a), limit_key(b));
        assert_eq!(limit_key(a), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        assert_ne!(limit_key(a), limit_key(other));
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(limit_key(v4), v4);
        assert_eq!(limit_key("::ffff:203.0.113.7".parse().unwrap()), v4, "an IPv4-mapped address is its IPv4 address");
    }
}
