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
pub use ipnet::IpNet;
use sentori_config::Env;

/// Loopback and the private ranges.
pub const DEFAULT_TRUSTED_PROXIES: &str = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7";

/// Reads `SENTORI_TRUSTED_PROXIES` (comma-separated addresses or CIDR ranges).
pub fn trusted_proxies(env: &mut Env) -> Vec<IpNet> {
    let proxies = env.optional("SENTORI_TRUSTED_PROXIES").unwrap_or_else(|| DEFAULT_TRUSTED_PROXIES.into());
    let mut parsed = Vec::new();
    for entry in proxies.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match parse_net(entry) {
            Some(net) => parsed.push(net),
            None => env.invalid("SENTORI_TRUSTED_PROXIES", format!("{entry:?} is neither an address nor a CIDR range")),
        }
    }
    parsed
}

/// A CIDR range, or a single address as the range of just itself.
fn parse_net(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>().ok().or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
}

/// The client's address: see the module documentation.
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
        let trusted: Vec<IpNet> = DEFAULT_TRUSTED_PROXIES.split(',').map(|n| parse_net(n).unwrap()).collect();
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
        assert!(parse_net("10.0.0.0/33").is_none());
        assert!(parse_net("0.0.0.0/0").unwrap().contains(&remote));
        assert!(parse_net(" 192.0.2.1 ").unwrap().contains(&"192.0.2.1".parse::<IpAddr>().unwrap()));
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
