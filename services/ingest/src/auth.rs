//! Who is sending: the bearer token, or `?token=` on the beacon routes, and
//! from which client address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri};
use sentori_protocol::TokenKind;
use sentori_store::{Cached, ResolvedToken};

use crate::AppState;
use crate::error::IngestError;

/// Whether a route accepts `?token=` (browsers' `sendBeacon` cannot set headers).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum QueryToken {
    Allowed,
    Refused,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: ResolvedToken,
    /// A stable, non-secret identity of the presented token for rate-limit keys.
    pub rate_key: String,
}

/// What a request says about who sent it: its headers (the token, the SDK),
/// its URI (`?token=`) and the client's address
/// ([`sentori_runtime::client_addr`]; `None` when the service is called
/// without a socket, as in-process tests do).
pub struct Sender {
    pub headers: HeaderMap,
    pub uri: Uri,
    pub client: Option<IpAddr>,
}

impl FromRequestParts<AppState> for Sender {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
        let client = sentori_runtime::client_addr::client_addr(peer, &parts.headers, &state.config.trusted_proxies);
        Ok(Sender { headers: parts.headers.clone(), uri: parts.uri.clone(), client })
    }
}

/// A query string ends up in proxy logs and browser history, so only a
/// token that may be public anyway is taken from one.
const QUERY_TOKEN_HINT: &str = "?token= accepts only public tokens; send this token as Authorization: Bearer";

pub async fn authenticate(state: &AppState, sender: &Sender, query_token: QueryToken) -> Result<Caller, IngestError> {
    let presented = bearer(&sender.headers).map(|token| (token, false)).or_else(|| match query_token {
        QueryToken::Allowed => sender.uri.query().and_then(token_from_query).map(|token| (token, true)),
        QueryToken::Refused => None,
    });
    let Some((token, from_query)) = presented else {
        return Err(IngestError::Unauthorized { hint: "send Authorization: Bearer <token>" });
    };
    authenticate_token(state, sender.client, token, from_query).await
}

/// Resolves a presented token. `from_query`: it came in a URL, where only
/// a public token may appear.
pub async fn authenticate_token(
    state: &AppState,
    client: Option<IpAddr>,
    token: String,
    from_query: bool,
) -> Result<Caller, IngestError> {
    let cached = state.tokens.cached(&token).await;
    // The dev token may be any string: it is known to the cache (compared in
    // constant time there), so the shape check applies to every other token.
    if !matches!(cached, Cached::Valid(_)) && !sentori_protocol::token::is_well_formed(&token) {
        return Err(IngestError::Unauthorized { hint: "the token is not of the form st_pk_ + 26 characters" });
    }
    let resolved = match cached {
        Cached::Valid(token) => Some(token),
        Cached::Invalid => None,
        Cached::WasValid => state.tokens.resolve(&token).await?,
        Cached::Unknown => {
            state.lookup_budget.charge(client)?;
            state.tokens.resolve(&token).await?
        }
    };
    let token_row = resolved.ok_or(IngestError::Unauthorized { hint: "the token is unknown or revoked" })?;
    if from_query && (token_row.kind != TokenKind::Public || token_row.is_dev) {
        return Err(IngestError::Unauthorized { hint: QUERY_TOKEN_HINT });
    }
    let digest = sentori_protocol::hash_token(&token);
    let rate_key = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    Ok(Caller { token: token_row, rate_key })
}

/// `Authorization: Bearer <token>`, else `x-sentori-token: <token>` (for
/// exporters whose header setting cannot hold a space or a scheme).
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    authorization(headers).or_else(|| {
        let token = headers.get(SENTORI_TOKEN)?.to_str().ok()?.trim();
        (!token.is_empty()).then(|| token.to_owned())
    })
}

const SENTORI_TOKEN: &str = "x-sentori-token";

fn authorization(headers: &HeaderMap) -> Option<String> {
    sentori_runtime::bearer::bearer_token(headers.get(AUTHORIZATION)?).map(str::to_owned)
}

fn token_from_query(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == "token").then(|| percent_decode(value))
    })
}

/// Tokens are plain ASCII; this only undoes what a URL encoder may have done.
pub(crate) fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_token_from_a_query_string() {
        assert_eq!(token_from_query("a=1&token=st_pk_abc").as_deref(), Some("st_pk_abc"));
        assert_eq!(token_from_query("token=dev%2Dtoken").as_deref(), Some("dev-token"));
        assert_eq!(token_from_query("tokens=x"), None);
        assert_eq!(token_from_query("token=50%").as_deref(), Some("50%"));
    }

    #[test]
    fn reads_bearer_tokens_case_insensitively() {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, "bearer st_pk_x".parse().unwrap());
        assert_eq!(bearer(&headers).as_deref(), Some("st_pk_x"));
        headers.insert(AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&headers), None);
        headers.insert(SENTORI_TOKEN, " st_pk_y ".parse().unwrap());
        assert_eq!(bearer(&headers).as_deref(), Some("st_pk_y"), "x-sentori-token when Authorization is not a bearer");
        headers.insert(AUTHORIZATION, "Bearer st_pk_x".parse().unwrap());
        assert_eq!(bearer(&headers).as_deref(), Some("st_pk_x"), "Authorization first");
    }
}
