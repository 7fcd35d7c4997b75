//! `Authorization: Bearer <token>`, read one way by every service: the
//! scheme in any case (RFC 9110 makes it case-insensitive), spaces around
//! the token ignored, and an empty token no token.

use axum::http::HeaderValue;

pub fn bearer_token(value: &HeaderValue) -> Option<&str> {
    let (scheme, token) = value.to_str().ok()?.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_token_of_a_bearer_header_only() {
        let token = |value: &str| bearer_token(&HeaderValue::from_str(value).unwrap()).map(str::to_owned);
        assert_eq!(token("Bearer st_pk_x").as_deref(), Some("st_pk_x"));
        assert_eq!(token("bearer   st_pk_x  ").as_deref(), Some("st_pk_x"), "any case, spaces trimmed");
        assert_eq!(token("Basic dXNlcjpwdw=="), None);
        assert_eq!(token("Bearer "), None, "an empty token");
        assert_eq!(token("Bearer"), None);
    }
}
