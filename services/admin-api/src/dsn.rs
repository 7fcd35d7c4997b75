//! Sentry DSNs: `http(s)://<public token>@<ingest host>[/<path prefix>]/<project number>`.
//!
//! A Sentry SDK posts to `<scheme>://<host>[/<prefix>]/api/<number>/envelope/`
//! with the DSN's user part as `sentry_key`, so the DSN is all it needs.

/// The scheme and the rest (`host[:port][/prefix]`, no trailing slash) of
/// an ingest URL; `None` unless it is an absolute http(s) URL with a host.
pub fn parts(url: &str) -> Option<(&str, &str)> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    // A query or fragment has no place in a DSN; user info is replaced by the token.
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host).trim_end_matches('/');
    if rest.is_empty() || rest.starts_with('/') {
        return None;
    }
    Some((scheme, rest))
}

/// The DSN of `token` for project `number`, or `None` when the configured URL is unusable.
pub fn build(ingest_url: &str, token: &str, number: i64) -> Option<String> {
    let (scheme, rest) = parts(ingest_url)?;
    Some(format!("{}://{token}@{rest}/{number}", scheme.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dsn_keeps_the_host_port_and_path_prefix_and_ends_in_the_number() {
        assert_eq!(build("https://errors.example.com/", "st_pk_x", 3).unwrap(), "https://st_pk_x@errors.example.com/3");
        assert_eq!(build("http://localhost:8000", "k", 1).unwrap(), "http://k@localhost:8000/1");
        assert_eq!(build("HTTPS://h.example/sentori/?a=b", "k", 12).unwrap(), "https://k@h.example/sentori/12");
        assert_eq!(build("https://old@h.example", "k", 2).unwrap(), "https://k@h.example/2");
        for bad in ["", "localhost:8000", "ftp://h/", "https://", "https:///x"] {
            assert_eq!(build(bad, "k", 1), None, "{bad}");
        }
    }
}
