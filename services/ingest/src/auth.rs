//! Who is sending: the bearer token, or `?token=` on the beacon routes.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use sentori_store::ResolvedToken;

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

pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    query: Option<&str>,
    query_token: QueryToken,
) -> Result<Caller, IngestError> {
    let presented = bearer(headers).or_else(|| match query_token {
        QueryToken::Allowed => query.and_then(token_from_query),
        QueryToken::Refused => None,
    });
    let Some(token) = presented else {
        return Err(IngestError::Unauthorized { hint: "send Authorization: Bearer <token>" });
    };
    // The dev token may be any string, so its check comes before the shape check.
    let shaped = token == state.config.dev_token || sentori_protocol::token::is_well_formed(&token);
    if !shaped {
        return Err(IngestError::Unauthorized { hint: "the token is not of the form st_pk_ + 26 characters" });
    }
    let resolved = state.tokens.resolve(&token).await?;
    let token_row = resolved.ok_or(IngestError::Unauthorized { hint: "the token is unknown or revoked" })?;
    let digest = sentori_protocol::hash_token(&token);
    let rate_key = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    Ok(Caller { token: token_row, rate_key })
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned()).filter(|t| !t.is_empty())
}

fn token_from_query(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == "token").then(|| percent_decode(value))
    })
}

/// Tokens are plain ASCII; this only undoes what a URL encoder may have done.
fn percent_decode(value: &str) -> String {
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
    }
}
