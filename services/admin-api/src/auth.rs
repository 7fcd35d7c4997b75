//! Who is calling the admin API, and the operator's login.
//!
//! Three kinds of caller (admin-api.md):
//! - the operator, logged in with `SENTORI_ADMIN_PASSWORD`, holding the
//!   `sentori_session` cookie: everything, but a cookie-authenticated
//!   mutation must carry `X-Sentori-Csrf` (and a matching `Origin`, if any);
//! - an `admin` token (or the dev token): its own project's routes;
//! - a `public` token: an ingest token, refused here with a hint.
//!
//! The cookie is `<session id>.<expiry>.<HMAC-SHA256>`; the signature keeps
//! forged ids from reaching the database, and the `admin_sessions` row is
//! what makes logout real. Sessions slide: a session used more than an hour
//! after its last extension is extended to 7 days from now.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sentori_protocol::TokenKind;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use utoipa::ToSchema;
use uuid::Uuid;

pub use sentori_runtime::client_addr::{IpNet, client_addr};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Json;

pub const COOKIE_NAME: &str = "sentori_session";
pub const CSRF_HEADER: &str = "x-sentori-csrf";
pub const SESSION_TTL: Duration = Duration::days(7);
/// A session is extended at most this often, so a busy dashboard does not
/// write the sessions table on every request.
const SLIDE_EVERY: Duration = Duration::hours(1);
/// Failed logins allowed per client address per window.
pub const LOGIN_FAILURES_PER_WINDOW: u64 = 10;
const LOGIN_WINDOW_MS: u64 = 60_000;

/// An authenticated caller.
#[derive(Debug, Clone, Copy)]
pub enum Caller {
    /// The operator, through the session cookie: every project.
    Operator { session_id: Uuid },
    /// An admin token (or the dev token), limited to one project.
    ProjectAdmin { project_id: Uuid },
}

impl Caller {
    /// Fails unless the caller may act on `project_id`. Another project's
    /// token gets `404`, so ids of other projects cannot be probed.
    pub fn require_project(&self, project_id: Uuid) -> Result<(), ApiError> {
        match self {
            Caller::Operator { .. } => Ok(()),
            Caller::ProjectAdmin { project_id: own } if *own == project_id => Ok(()),
            Caller::ProjectAdmin { .. } => Err(ApiError::NotFound),
        }
    }

    /// Fails unless the caller is the operator (server-wide routes).
    pub fn require_operator(&self) -> Result<(), ApiError> {
        match self {
            Caller::Operator { .. } => Ok(()),
            Caller::ProjectAdmin { .. } => {
                Err(ApiError::Forbidden { hint: "only the operator (dashboard login) may do this; a token is limited to its project" })
            }
        }
    }

    /// The token's project, `None` for the operator.
    pub fn project_id(&self) -> Option<Uuid> {
        match self {
            Caller::Operator { .. } => None,
            Caller::ProjectAdmin { project_id } => Some(*project_id),
        }
    }
}

/// A live operator session, put in the request's extensions by [`sessions`].
#[derive(Debug, Clone)]
pub struct OperatorSession {
    pub id: Uuid,
    pub csrf_token: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // A bearer token wins over a cookie: scripts never carry the cookie,
        // and a token needs no CSRF protection (a browser never adds it by itself).
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let token = value
                .to_str()
                .ok()
                .and_then(|v| v.trim().split_once(' '))
                .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                .map(|(_, token)| token.trim().to_owned())
                .ok_or(ApiError::Unauthorized)?;
            let resolved = state.tokens.resolve(&token).await?.ok_or(ApiError::Unauthorized)?;
            return match resolved.kind {
                TokenKind::Admin => Ok(Caller::ProjectAdmin { project_id: resolved.project_id }),
                TokenKind::Public => Err(ApiError::Forbidden {
                    hint: "this is a public ingest token; create an admin token for the admin API",
                }),
            };
        }
        let session = parts.extensions.get::<OperatorSession>().ok_or(ApiError::Unauthorized)?;
        if !is_safe(&parts.method) {
            check_csrf(&parts.headers, session, &state.public_origin)?;
        }
        Ok(Caller::Operator { session_id: session.id })
    }
}

/// The operator, and only the operator: a token gets `403` before the
/// route reads its body.
#[derive(Debug, Clone, Copy)]
pub struct Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Caller::from_request_parts(parts, state).await?.require_operator()?;
        Ok(Operator)
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The CSRF header must equal the session's token, and an `Origin`, when the
/// browser sends one, must be the dashboard's own.
fn check_csrf(headers: &HeaderMap, session: &OperatorSession, public_origin: &str) -> Result<(), ApiError> {
    let sent = headers.get(CSRF_HEADER).ok_or(ApiError::Csrf("The X-Sentori-Csrf header is missing"))?;
    if !digest_eq(sent.as_bytes(), session.csrf_token.as_bytes()) {
        return Err(ApiError::Csrf("The X-Sentori-Csrf header does not match this session"));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("").trim_end_matches('/');
        if !origin.eq_ignore_ascii_case(public_origin) {
            return Err(ApiError::Csrf("The request comes from another origin than the dashboard's"));
        }
    }
    Ok(())
}

/// Constant-time comparison of the SHA-256 digests of two secrets, so neither
/// the position of the first difference nor the length leaks through timing.
pub fn digest_eq(a: &[u8], b: &[u8]) -> bool {
    let a: [u8; 32] = Sha256::digest(a).into();
    let b: [u8; 32] = Sha256::digest(b).into();
    sentori_store::tokens::constant_time_eq(&a, &b)
}

/// `scheme://host[:port]` of `SENTORI_PUBLIC_URL`, as browsers send `Origin`.
pub fn origin_of(url: &str) -> String {
    let url = url.trim();
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            format!("{}://{}", scheme.to_ascii_lowercase(), authority.to_ascii_lowercase())
        }
        None => url.trim_end_matches('/').to_ascii_lowercase(),
    }
}

/// Signs and checks cookie values.
pub struct SessionSigner {
    secret: Vec<u8>,
}

impl SessionSigner {
    pub fn new(secret: &str) -> Self {
        Self { secret: secret.as_bytes().to_vec() }
    }

    fn mac(&self, payload: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(payload.as_bytes());
        mac
    }

    pub fn sign(&self, id: Uuid, expires_at: OffsetDateTime) -> String {
        let payload = format!("{}.{}", id.simple(), expires_at.unix_timestamp());
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// The session id of a well-signed, unexpired cookie value.
    pub fn verify(&self, value: &str, now: OffsetDateTime) -> Option<Uuid> {
        let (payload, signature) = value.rsplit_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        // `verify_slice` compares in constant time.
        self.mac(payload).verify_slice(&signature).ok()?;
        let (id, expiry) = payload.split_once('.')?;
        let expiry = OffsetDateTime::from_unix_timestamp(expiry.parse().ok()?).ok()?;
        if expiry <= now {
            return None;
        }
        Uuid::try_parse(id).ok()
    }
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn session_cookie(state: &AppState, value: &str, max_age: Duration) -> HeaderValue {
    let secure = if state.config.public_url.trim().to_ascii_lowercase().starts_with("https://") { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE_NAME}={value}; Max-Age={}; Path=/; HttpOnly; SameSite=Lax{secure}",
        max_age.whole_seconds().max(0)
    );
    HeaderValue::from_str(&cookie).expect("cookie values are ASCII")
}

/// Resolves the session cookie for every admin API request (unless a bearer
/// token is sent), and re-issues it when the session slid forward.
pub async fn sessions(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let mut reissue = None;
    if !request.headers().contains_key(header::AUTHORIZATION) {
        let now = OffsetDateTime::now_utc();
        let id = cookie_value(request.headers(), COOKIE_NAME).and_then(|v| state.signer.verify(v, now));
        if let Some(id) = id {
            match load_session(&state, id, now).await {
                Ok(Some((session, slid_to))) => {
                    if let Some(expires_at) = slid_to {
                        reissue = Some(session_cookie(&state, &state.signer.sign(id, expires_at), SESSION_TTL));
                    }
                    request.extensions_mut().insert(session);
                }
                Ok(None) => {}
                Err(err) => return err.into_response(),
            }
        }
    }
    let mut response = next.run(request).await;
    if let Some(cookie) = reissue {
        if !response.headers().contains_key(header::SET_COOKIE) {
            response.headers_mut().insert(header::SET_COOKIE, cookie);
        }
    }
    response
}

/// Refuses a token of another project on every `/projects/{pid}/...` route
/// before the route reads its body, so the answer never depends on what the
/// body held (and routes merged from other modules are covered too). The
/// handlers check the scope again through [`Caller::require_project`].
pub async fn project_guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut segments = request.uri().path().trim_start_matches('/').split('/');
    let mut first = segments.next();
    if first == Some("admin") {
        segments.next();
        first = segments.next();
    }
    let project = (first == Some("projects")).then(|| segments.next()).flatten().and_then(|s| Uuid::try_parse(s).ok());
    if let (Some(project_id), Some(value)) = (project, request.headers().get(header::AUTHORIZATION)) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned());
        if let Some(token) = token {
            match state.tokens.resolve(&token).await {
                Ok(Some(resolved)) if resolved.kind == TokenKind::Admin && resolved.project_id != project_id => {
                    return ApiError::NotFound.into_response();
                }
                Ok(_) => {}
                Err(err) => return ApiError::from(err).into_response(),
            }
        }
    }
    next.run(request).await
}

/// The live session `id`, extended when due (then with its new expiry).
async fn load_session(
    state: &AppState,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<Option<(OperatorSession, Option<OffsetDateTime>)>, ApiError> {
    let row: Option<(String, OffsetDateTime)> = sqlx::query_as(
        "SELECT csrf_token, expires_at FROM admin_sessions WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()",
    )
    .bind(id)
    .fetch_optional(&state.pool)
    .await?;
    let Some((csrf_token, expires_at)) = row else { return Ok(None) };
    let mut slid_to = None;
    if expires_at < now + SESSION_TTL - SLIDE_EVERY {
        let new_expiry = now + SESSION_TTL;
        sqlx::query("UPDATE admin_sessions SET expires_at = $2 WHERE id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(new_expiry)
            .execute(&state.pool)
            .await?;
        slid_to = Some(new_expiry);
    }
    Ok(Some((OperatorSession { id, csrf_token }, slid_to)))
}

/// The client's address for the login rate limit ([`sentori_runtime::client_addr`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
        Ok(ClientAddr(client_addr(peer, &parts.headers, &state.config.trusted_proxies)))
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginBody {
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LoginAnswer {
    pub csrf_token: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeAnswer {
    /// `operator` (cookie) or `token` (bearer).
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub csrf_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OkBody {
    pub ok: bool,
}

impl OkBody {
    pub const fn yes() -> Self {
        OkBody { ok: true }
    }
}

fn login_key(state: &AppState, addr: ClientAddr) -> String {
    let who = addr.0.map(|ip| ip.to_string()).unwrap_or_else(|| "unknown".into());
    state.keys.counter(&format!("admin-login-failures:{who}"))
}

/// Log in with the operator password.
#[utoipa::path(post, path = "/login", tag = "auth", request_body = LoginBody, security(()),
    responses((status = 200, body = LoginAnswer, description = "logged in; sets the sentori_session cookie"),
              (status = 401, description = "wrong password"), (status = 429, description = "too many failures")))]
pub async fn login(State(state): State<AppState>, addr: ClientAddr, Json(body): Json<LoginBody>) -> Result<Response, ApiError> {
    let key = login_key(&state, addr);
    let mut conn = state.valkey.clone();
    let (failures, ttl_ms): (Option<u64>, i64) =
        redis::pipe().cmd("GET").arg(&key).cmd("PTTL").arg(&key).query_async(&mut conn).await?;
    if failures.unwrap_or(0) >= LOGIN_FAILURES_PER_WINDOW {
        let retry_after_ms = if ttl_ms > 0 { ttl_ms as u64 } else { LOGIN_WINDOW_MS };
        return Err(ApiError::RateLimited { retry_after_ms });
    }
    if !digest_eq(body.password.as_bytes(), state.config.admin_password.as_bytes()) {
        // The window starts at the first failure (SET NX) and is not
        // extended by later ones.
        let _: () = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(&key)
            .arg(0)
            .arg("NX")
            .arg("PX")
            .arg(LOGIN_WINDOW_MS)
            .ignore()
            .cmd("INCR")
            .arg(&key)
            .ignore()
            .query_async(&mut conn)
            .await?;
        tracing::warn!(client = ?addr.0, "failed admin login");
        return Err(ApiError::Unauthorized);
    }
    // Sessions that ended more than a day ago are of no further use.
    sqlx::query("DELETE FROM admin_sessions WHERE expires_at < now() - interval '1 day'").execute(&state.pool).await?;
    let id = Uuid::new_v4();
    let mut csrf = [0u8; 32];
    rand::rng().fill_bytes(&mut csrf);
    let csrf_token = URL_SAFE_NO_PAD.encode(csrf);
    let now = OffsetDateTime::now_utc();
    let expires_at = now + SESSION_TTL;
    sqlx::query("INSERT INTO admin_sessions (id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(&csrf_token)
        .bind(now)
        .bind(expires_at)
        .execute(&state.pool)
        .await?;
    let cookie = session_cookie(&state, &state.signer.sign(id, expires_at), SESSION_TTL);
    let mut response = axum::Json(LoginAnswer { csrf_token, expires_at }).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// End the operator's session on the server and in the browser.
#[utoipa::path(post, path = "/logout", tag = "auth", security(()),
    responses((status = 200, body = OkBody), (status = 403, description = "CSRF header missing on a live session")))]
pub async fn logout(
    State(state): State<AppState>,
    session: Option<axum::Extension<OperatorSession>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(axum::Extension(session)) = session {
        check_csrf(&headers, &session, &state.public_origin)?;
        sqlx::query("UPDATE admin_sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL")
            .bind(session.id)
            .execute(&state.pool)
            .await?;
    }
    let mut response = axum::Json(OkBody::yes()).into_response();
    response.headers_mut().insert(header::SET_COOKIE, session_cookie(&state, "", Duration::ZERO));
    Ok(response)
}

/// Who the dashboard is talking to.
#[utoipa::path(get, path = "/me", tag = "auth", responses((status = 200, body = MeAnswer), (status = 401)))]
pub async fn me(caller: Caller, session: Option<axum::Extension<OperatorSession>>) -> axum::Json<MeAnswer> {
    axum::Json(match caller {
        Caller::Operator { .. } => MeAnswer {
            kind: "operator",
            csrf_token: session.map(|axum::Extension(s)| s.csrf_token),
            project_id: None,
        },
        Caller::ProjectAdmin { project_id } => MeAnswer { kind: "token", csrf_token: None, project_id: Some(project_id) },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_values_verify_and_tampering_fails() {
        let signer = SessionSigner::new("0123456789abcdef0123456789abcdef");
        let now = OffsetDateTime::now_utc();
        let id = Uuid::new_v4();
        let value = signer.sign(id, now + Duration::hours(1));
        assert_eq!(signer.verify(&value, now), Some(id));
        assert_eq!(signer.verify(&value, now + Duration::hours(2)), None, "expired");
        let other = SessionSigner::new("another secret of at least 32 bytes!");
        assert_eq!(other.verify(&value, now), None, "another secret");
        let (payload, sig) = value.rsplit_once('.').unwrap();
        let forged = format!("{}.{}", payload.replace(&id.simple().to_string(), &Uuid::new_v4().simple().to_string()), sig);
        assert_eq!(signer.verify(&forged, now), None, "another id");
        assert_eq!(signer.verify("garbage", now), None);
    }

    #[test]
    fn origins_drop_paths_and_case() {
        assert_eq!(origin_of("https://Sentori.example.com/dash/"), "https://sentori.example.com");
        assert_eq!(origin_of("http://localhost:8000"), "http://localhost:8000");
    }
}
