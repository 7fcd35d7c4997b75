//! Which key (a Sentori token: the DSN's user part) a Sentry SDK presented,
//! in the order protocol.md gives: `?sentry_key=`, `X-Sentry-Auth`,
//! `Authorization: Bearer`, then the envelope header's `dsn`.

use axum::http::HeaderMap;

use crate::auth::{bearer, percent_decode};

/// A presented key and whether it came in the URL (only public tokens may).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    pub key: String,
    pub from_query: bool,
}

/// The key from the request line or headers; `None` means "look in the envelope header".
pub fn from_request(query: Option<&str>, headers: &HeaderMap) -> Option<Presented> {
    let from_query = query.and_then(|q| query_param(q, "sentry_key")).map(|key| Presented { key, from_query: true });
    from_query
        .or_else(|| {
            let auth = headers.get("x-sentry-auth")?.to_str().ok()?;
            auth_param(auth, "sentry_key").map(|key| Presented { key, from_query: false })
        })
        .or_else(|| bearer(headers).map(|key| Presented { key, from_query: false }))
}

/// `sentry_client` from `X-Sentry-Auth` (or the query): the SDK's `name/version`.
pub fn client(query: Option<&str>, headers: &HeaderMap) -> Option<String> {
    let from_header = headers.get("x-sentry-auth").and_then(|v| v.to_str().ok()).and_then(|a| auth_param(a, "sentry_client"));
    from_header.or_else(|| query.and_then(|q| query_param(q, "sentry_client")))
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| percent_decode(value)).filter(|v| !v.is_empty())
    })
}

/// A parameter of `Sentry sentry_key=…, sentry_version=7, …` (the `Sentry`
/// scheme word is optional; old SDKs leave it out).
fn auth_param(header: &str, name: &str) -> Option<String> {
    let header = header.trim();
    let params = match header.split_once(char::is_whitespace) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("sentry") => rest,
        _ => header,
    };
    params.split(',').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key.trim() == name).then(|| value.trim().trim_matches('"').to_owned()).filter(|v| !v.is_empty())
    })
}

/// The key (user part) and project number (last path segment) of a DSN.
pub fn from_dsn(dsn: &str) -> Option<(String, Option<i64>)> {
    let (_scheme, rest) = dsn.trim().split_once("://")?;
    let (user, host_and_path) = rest.split_once('@')?;
    let key = user.split(':').next().filter(|k| !k.is_empty())?;
    let number = host_and_path.trim_end_matches('/').rsplit('/').next().and_then(|n| n.parse().ok());
    Some((percent_decode(key), number))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap())).collect()
    }

    #[test]
    fn the_query_wins_then_the_sentry_header_then_bearer() {
        let all = headers(&[
            ("x-sentry-auth", "Sentry sentry_key=from_header, sentry_version=7, sentry_client=sentry.python/2.19.0"),
            ("authorization", "Bearer from_bearer"),
        ]);
        let key = |q: Option<&str>, h: &HeaderMap| from_request(q, h).map(|p| (p.key, p.from_query));
        assert_eq!(key(Some("sentry_version=7&sentry_key=from_query"), &all), Some(("from_query".into(), true)));
        assert_eq!(key(Some("sentry_version=7"), &all), Some(("from_header".into(), false)));
        let bearer_only = headers(&[("authorization", "Bearer from_bearer")]);
        assert_eq!(key(None, &bearer_only), Some(("from_bearer".into(), false)));
        assert_eq!(key(Some("sentry_key="), &HeaderMap::new()), None);
        assert_eq!(client(None, &all).as_deref(), Some("sentry.python/2.19.0"));
    }

    #[test]
    fn the_auth_header_is_read_with_or_without_the_scheme_and_spaces() {
        assert_eq!(auth_param("Sentry sentry_key=k,sentry_version=7", "sentry_key").as_deref(), Some("k"));
        assert_eq!(auth_param("sentry_version=7, sentry_key=k", "sentry_key").as_deref(), Some("k"));
        assert_eq!(auth_param("sentry  sentry_key = k ,sentry_secret=s", "sentry_key").as_deref(), Some("k"));
        assert_eq!(auth_param("Sentry sentry_version=7", "sentry_key"), None);
    }

    #[test]
    fn a_dsn_gives_its_key_and_project_number() {
        assert_eq!(from_dsn("https://st_pk_abc@errors.example.com/12"), Some(("st_pk_abc".into(), Some(12))));
        assert_eq!(from_dsn("http://k:secret@localhost:8000/prefix/3/"), Some(("k".into(), Some(3))));
        assert_eq!(from_dsn("http://k@host/x"), Some(("k".into(), None)));
        assert_eq!(from_dsn("http://host/3"), None);
        assert_eq!(from_dsn("nonsense"), None);
    }
}
