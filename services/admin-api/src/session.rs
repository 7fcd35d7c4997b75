//! The operator's session cookie and its lifetime.
//!
//! The cookie is signed (axum-extra's signed jar, under a key derived from
//! `SENTORI_SESSION_SECRET`) and holds `<session id>.<password fingerprint>`.
//! The signature keeps forged ids from reaching the database; the
//! `admin_sessions` row is what makes logout real; the fingerprint, an HMAC
//! of the admin password, ends every session when the password changes
//! (admin-api reads it at start, so a restart with a new one suffices).
//!
//! A session ends when it has not been used for [`SESSION_IDLE`], and in any
//! case `SENTORI_SESSION_LIFETIME_SECS` after login. Over https the cookie is
//! `__Host-` prefixed: only this origin, over TLS, may have set it.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, Key, SameSite, SignedCookieJar};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::AppState;
use crate::auth::OperatorSession;
use crate::config::AdminConfig;
use crate::error::ApiError;

pub const COOKIE_NAME: &str = "sentori_session";
const SECURE_COOKIE_NAME: &str = "__Host-sentori_session";
/// A session unused for this long has ended.
pub const SESSION_IDLE: Duration = Duration::days(7);
/// `SENTORI_SESSION_LIFETIME_SECS`' default: a session ends this long after login, used or not.
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::days(30);
/// A session is extended at most this often, so a busy dashboard does not
/// write the sessions table on every request.
const SLIDE_EVERY: Duration = Duration::hours(1);
const FINGERPRINT_BYTES: usize = 16;

pub struct SessionCookies {
    key: Key,
    secure: bool,
    password_fingerprint: [u8; FINGERPRINT_BYTES],
    lifetime: Duration,
}

impl SessionCookies {
    pub fn new(config: &AdminConfig) -> Self {
        let mut mac = Hmac::<Sha256>::new_from_slice(config.session_secret.as_bytes()).expect("HMAC takes keys of any length");
        mac.update(b"sentori admin password\0");
        mac.update(config.admin_password.as_bytes());
        let mut password_fingerprint = [0; FINGERPRINT_BYTES];
        password_fingerprint.copy_from_slice(&mac.finalize().into_bytes()[..FINGERPRINT_BYTES]);
        Self {
            // The configuration refuses secrets under the 32 bytes this needs.
            key: Key::derive_from(config.session_secret.as_bytes()),
            secure: config.public_url.trim().to_ascii_lowercase().starts_with("https://"),
            password_fingerprint,
            lifetime: config.session_lifetime,
        }
    }

    pub fn name(&self) -> &'static str {
        if self.secure { SECURE_COOKIE_NAME } else { COOKIE_NAME }
    }

    /// When a session created at `created_at` and used `now` ends.
    pub fn expiry(&self, created_at: OffsetDateTime, now: OffsetDateTime) -> OffsetDateTime {
        (now + SESSION_IDLE).min(created_at + self.lifetime)
    }

    /// The session id of a well-signed cookie issued under the current password.
    pub fn session_id(&self, headers: &HeaderMap) -> Option<Uuid> {
        let cookie = SignedCookieJar::from_headers(headers, self.key.clone()).get(self.name())?;
        let (id, fingerprint) = cookie.value().split_once('.')?;
        let fingerprint = URL_SAFE_NO_PAD.decode(fingerprint).ok()?;
        if !bool::from(fingerprint.ct_eq(&self.password_fingerprint)) {
            return None;
        }
        Uuid::try_parse(id).ok()
    }

    /// The `Set-Cookie` of session `id`, kept by the browser from `now` until `expires_at`.
    pub fn issue(&self, id: Uuid, now: OffsetDateTime, expires_at: OffsetDateTime) -> SignedCookieJar {
        let value = format!("{}.{}", id.simple(), URL_SAFE_NO_PAD.encode(self.password_fingerprint));
        let max_age = (expires_at - now).max(Duration::ZERO);
        let mut cookie = self.cookie(value);
        cookie.set_max_age(max_age);
        SignedCookieJar::new(self.key.clone()).add(cookie)
    }

    /// The `Set-Cookie` that makes the browser drop the session cookie.
    pub fn clear(&self) -> CookieJar {
        let mut cookie = self.cookie(String::new());
        cookie.make_removal();
        CookieJar::new().add(cookie)
    }

    fn cookie(&self, value: String) -> Cookie<'static> {
        // `__Host-` needs Secure, Path=/ and no Domain; the plain name over http gets the same, less Secure.
        Cookie::build((self.name(), value)).path("/").http_only(true).same_site(SameSite::Lax).secure(self.secure).build()
    }
}

/// Resolves the session cookie for every admin API request (unless a bearer
/// token is sent), and re-issues it when the session slid forward.
pub async fn sessions(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let mut reissue = None;
    let bearer = request.headers().contains_key(header::AUTHORIZATION);
    let cookie_session = if bearer { None } else { state.sessions.session_id(request.headers()) };
    if let Some(id) = cookie_session {
        match load_session(&state, id).await {
            Ok(Some((session, slid_to))) => {
                reissue = slid_to.map(|(now, expires_at)| state.sessions.issue(id, now, expires_at));
                request.extensions_mut().insert(session);
            }
            Ok(None) => {}
            Err(err) => return err.into_response(),
        }
    }
    let response = next.run(request).await;
    match reissue {
        Some(cookie) if !response.headers().contains_key(header::SET_COOKIE) => (cookie, response).into_response(),
        _ => response,
    }
}

/// The live session `id`, extended when due (then with the time and its new expiry).
async fn load_session(
    state: &AppState,
    id: Uuid,
) -> Result<Option<(OperatorSession, Option<(OffsetDateTime, OffsetDateTime)>)>, ApiError> {
    let row: Option<(String, OffsetDateTime, OffsetDateTime)> = sqlx::query!(
        "SELECT csrf_token, created_at, expires_at FROM admin_sessions
          WHERE id = $1 AND revoked_at IS NULL AND expires_at > now() AND created_at > now() - make_interval(secs => $2)",
        id,
        state.sessions.lifetime.as_seconds_f64(),
    )
    .map(|row| (row.csrf_token, row.created_at, row.expires_at))
    .fetch_optional(&state.pool)
    .await?;
    let Some((csrf_token, created_at, expires_at)) = row else {
        return Ok(None);
    };
    let now = OffsetDateTime::now_utc();
    let new_expiry = state.sessions.expiry(created_at, now);
    let mut slid_to = None;
    if expires_at < new_expiry - SLIDE_EVERY {
        sqlx::query!("UPDATE admin_sessions SET expires_at = $2 WHERE id = $1 AND revoked_at IS NULL", id, new_expiry)
            .execute(&state.pool)
            .await?;
        slid_to = Some((now, new_expiry));
    }
    Ok(Some((OperatorSession { id, csrf_token }, slid_to)))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn cookies(password: &str, secret: &str) -> SessionCookies {
        let env = sentori_config::Env::from_pairs([
            ("SENTORI_DATABASE_URL", "postgres://x"),
            ("SENTORI_VALKEY_URL", "redis://y"),
            ("SENTORI_DEV_TOKEN", "dev-0123456789abcdef0123456789abcdef"),
            ("SENTORI_ADMIN_PASSWORD", password),
            ("SENTORI_SESSION_SECRET", secret),
        ]);
        SessionCookies::new(&AdminConfig::from_env(env).unwrap())
    }

    /// The request headers a browser sends back after `jar`'s `Set-Cookie`.
    fn sent_back(jar: SignedCookieJar) -> HeaderMap {
        let response = jar.into_response();
        let set_cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(set_cookie.split(';').next().unwrap()).unwrap());
        headers
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_cookie_verifies_only_under_the_same_secret_and_password() {
        let id = Uuid::new_v4();
        let now = OffsetDateTime::now_utc();
        let issued = sent_back(cookies("first password", SECRET).issue(id, now, now + Duration::hours(1)));
        assert_eq!(cookies("first password", SECRET).session_id(&issued), Some(id));
        assert_eq!(cookies("second password", SECRET).session_id(&issued), None, "the password changed");
        assert_eq!(cookies("first password", "another secret of at least 32 bytes!").session_id(&issued), None);

        let mut forged = issued.clone();
        let value =
            issued[header::COOKIE].to_str().unwrap().replace(&id.simple().to_string(), &Uuid::new_v4().simple().to_string());
        forged.insert(header::COOKIE, HeaderValue::from_str(&value).unwrap());
        assert_eq!(cookies("first password", SECRET).session_id(&forged), None, "another id under the old signature");
    }

    #[test]
    fn sessions_end_when_idle_and_at_their_lifetime() {
        let cookies = cookies("pw", SECRET);
        let login = OffsetDateTime::now_utc();
        assert_eq!(cookies.expiry(login, login), login + SESSION_IDLE);
        let late = login + DEFAULT_SESSION_LIFETIME - Duration::days(1);
        assert_eq!(cookies.expiry(login, late), login + DEFAULT_SESSION_LIFETIME, "never past the lifetime");
    }
}
