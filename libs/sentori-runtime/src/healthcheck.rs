//! `<service> healthcheck`: the binary answers its own container health
//! check, so runtime images need no shell, curl or wget.
//!
//! Deliberately blocking std I/O over one `TcpStream`: the probe runs before
//! any runtime or configuration is set up, speaks just enough HTTP/1.1 to
//! read a status line, and must never hang (every step has a timeout).

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// How long each step (connect, write, read) may take. Orchestrators run the
/// check with their own timeout too; this one only keeps the process from
/// outliving it.
const STEP_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a probe failed; printed to stderr so `docker inspect` shows it.
/// (Display by hand: this crate otherwise needs no error-derive dependency.)
#[derive(Debug)]
pub enum HealthcheckError {
    BadAddress { var: String, value: String },
    Connect { addr: SocketAddr, source: std::io::Error },
    Io { addr: SocketAddr, source: std::io::Error },
    Unhealthy { addr: SocketAddr, status_line: String },
}

impl std::fmt::Display for HealthcheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadAddress { var, value } => write!(f, "{var} is not a listen address: {value:?}"),
            Self::Connect { addr, source } => write!(f, "connecting to {addr} failed: {source}"),
            Self::Io { addr, source } => write!(f, "talking to {addr} failed: {source}"),
            Self::Unhealthy { addr, status_line } => write!(f, "{addr} answered /healthz with {status_line:?}"),
        }
    }
}

impl std::error::Error for HealthcheckError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Connect { source, .. } | Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// When the process was started as `<bin> healthcheck` (that single
/// argument), probes `GET /healthz` on the address in `addr_var` (or
/// `default_addr`) and exits: 0 on a 200, 1 otherwise. Any other command
/// line returns at once, so this is the first line of every `main`.
pub fn healthcheck_subcommand(addr_var: &str, default_addr: &str) {
    let mut args = std::env::args_os().skip(1);
    match (args.next(), args.next()) {
        (Some(arg), None) if arg == "healthcheck" => {}
        _ => return,
    }
    let configured = std::env::var(addr_var).ok().filter(|v| !v.trim().is_empty());
    let code = match probe_configured(addr_var, configured.as_deref().unwrap_or(default_addr)) {
        Ok(()) => 0,
        Err(err) => {
            eprintln!("healthcheck: {err}");
            1
        }
    };
    std::process::exit(code);
}

fn probe_configured(addr_var: &str, value: &str) -> Result<(), HealthcheckError> {
    let addr: SocketAddr = value
        .trim()
        .parse()
        .map_err(|_| HealthcheckError::BadAddress { var: addr_var.to_owned(), value: value.to_owned() })?;
    probe_healthz(addr)
}

/// The address a local client uses to reach a server listening on `addr`:
/// a wildcard listen address is reached over loopback.
pub fn connect_addr(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

/// One `GET /healthz` to the server listening on `listen_addr`; `Ok` only
/// when it answers `200`.
pub fn probe_healthz(listen_addr: SocketAddr) -> Result<(), HealthcheckError> {
    let addr = connect_addr(listen_addr);
    let mut stream =
        TcpStream::connect_timeout(&addr, STEP_TIMEOUT).map_err(|source| HealthcheckError::Connect { addr, source })?;
    let io = |source| HealthcheckError::Io { addr, source };
    stream.set_read_timeout(Some(STEP_TIMEOUT)).map_err(io)?;
    stream.set_write_timeout(Some(STEP_TIMEOUT)).map_err(io)?;
    let request =
        format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: sentori-healthcheck\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).map_err(io)?;

    // Only the status line matters; stop reading at its end (or at a small
    // cap, so a misbehaving peer cannot make us buffer without bound).
    let mut head = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    while !head.contains(&b'\n') && head.len() < 1024 {
        let n = stream.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let status_line = String::from_utf8_lossy(&head).lines().next().unwrap_or_default().trim().to_owned();
    if status_is_ok(&status_line) {
        Ok(())
    } else {
        Err(HealthcheckError::Unhealthy { addr, status_line })
    }
}

/// `HTTP/1.x 200 …` and nothing else counts as healthy.
fn status_is_ok(status_line: &str) -> bool {
    let mut parts = status_line.split_ascii_whitespace();
    matches!((parts.next(), parts.next()), (Some(version), Some("200")) if version.starts_with("HTTP/1."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_listen_address_is_probed_over_loopback() {
        assert_eq!(connect_addr("0.0.0.0:8080".parse().unwrap()), "127.0.0.1:8080".parse().unwrap());
        assert_eq!(connect_addr("[::]:8081".parse().unwrap()), "[::1]:8081".parse().unwrap());
        assert_eq!(connect_addr("10.1.2.3:8082".parse().unwrap()), "10.1.2.3:8082".parse().unwrap());
    }

    #[test]
    fn only_a_200_status_line_is_healthy() {
        assert!(status_is_ok("HTTP/1.1 200 OK"));
        assert!(status_is_ok("HTTP/1.0 200"));
        assert!(!status_is_ok("HTTP/1.1 503 Service Unavailable"));
        assert!(!status_is_ok("HTTP/1.1 2000 OK"));
        assert!(!status_is_ok("SSH-2.0-OpenSSH_9.6"));
        assert!(!status_is_ok(""));
    }

    #[test]
    fn an_unparsable_address_names_the_variable() {
        let err = probe_configured("SENTORI_INGEST_ADDR", "localhost").unwrap_err();
        assert!(err.to_string().contains("SENTORI_INGEST_ADDR"), "{err}");
    }
}
