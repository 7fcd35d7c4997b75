//! Who is calling the admin API, and the operator's login.
//!
//! Three kinds of caller (admin-api.md):
//! - the operator, logged in with `SENTORI_ADMIN_PASSWORD`, holding the
//!   session cookie (session.rs): everything, but a cookie-authenticated
//!   mutation must carry `X-Sentori-Csrf` (and a matching `Origin`, if any);
//! - an `admin` token (or the dev token): its own project's routes;
//! - a `public` token: an ingest token, refused here with a hint.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sentori_protocol::{TokenKind, hash_token};
use sentori_runtime::bearer::bearer_token;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::Json;
use crate::login_limit::ClientAddr;

pub const CSRF_HEADER: &str = "x-sentori-csrf";

/// An authenticated caller.
#[derive(Debug, Clone, Copy)]
pub enum Caller {
    /// The operator, through the session cookie: every project.
    Operator { session_id: Uuid },
    /// An admin token (or the dev token), limited to one project.
    ProjectAdmin { project_id: Uuid, token: AdminToken },
}

/// The admin token a caller presented.
#[derive(Debug, Clone, Copy)]
pub enum AdminToken {
    /// `SENTORI_DEV_TOKEN`: set by the operator, so it acts for the operator when creating tokens.
    Dev,
    /// A row of `tokens`, by the SHA-256 under which it is stored.
    Stored { sha256: [u8; 32] },
}

impl Caller {
    /// Fails unless the caller may act on `project_id`. Another project's
    /// token gets `404`, so ids of other projects cannot be probed.
    pub fn require_project(&self, project_id: Uuid) -> Result<(), ApiError> {
        match self {
            Caller::Operator { .. } => Ok(()),
            Caller::ProjectAdmin { project_id: own, .. } if *own == project_id => Ok(()),
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
            Caller::ProjectAdmin { project_id, .. } => Some(*project_id),
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
            let token = bearer_token(value).ok_or(ApiError::Unauthorized)?;
            let resolved = state.tokens.resolve(token).await?.ok_or(ApiError::Unauthorized)?;
            let token = if resolved.is_dev { AdminToken::Dev } else { AdminToken::Stored { sha256: hash_token(token) } };
            return match resolved.kind {
                TokenKind::Admin => Ok(Caller::ProjectAdmin { project_id: resolved.project_id, token }),
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
    Sha256::digest(a).ct_eq(&Sha256::digest(b)).into()
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
        if let Some(token) = bearer_token(value) {
            match state.tokens.resolve(token).await {
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

/// Log in with the operator password.
#[utoipa::path(post, path = "/login", tag = "auth", request_body = LoginBody, security(()),
    responses((status = 200, body = LoginAnswer,
               description = "logged in; sets the session cookie (`__Host-sentori_session` over https, else `sentori_session`)"),
              (status = 401, description = "wrong password"),
              (status = 429, description = "too many tries from this client, or from all clients together; see Retry-After")))]
pub async fn login(State(state): State<AppState>, addr: ClientAddr, Json(body): Json<LoginBody>) -> Result<Response, ApiError> {
    state.login_limiter.count_try(&state.valkey, addr).await?;
    if !digest_eq(body.password.as_bytes(), state.config.admin_password.as_bytes()) {
        tracing::warn!(client = ?addr.0, "failed admin login");
        return Err(ApiError::Unauthorized);
    }
    // Sessions that ended more than a day ago are of no further use.
    sqlx::query!("DELETE FROM admin_sessions WHERE expires_at < now() - interval '1 day'").execute(&state.pool).await?;
    let id = Uuid::new_v4();
    let mut csrf = [0u8; 32];
    rand::rng().fill_bytes(&mut csrf);
    let csrf_token = URL_SAFE_NO_PAD.encode(csrf);
    let now = OffsetDateTime::now_utc();
    let expires_at = state.sessions.expiry(now, now);
    sqlx::query!(
        "INSERT INTO admin_sessions (id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        id,
        &csrf_token,
        now,
        expires_at,
    )
    .execute(&state.pool)
    .await?;
    Ok((state.sessions.issue(id, now, expires_at), axum::Json(LoginAnswer { csrf_token, expires_at })).into_response())
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
        sqlx::query!("UPDATE admin_sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", session.id)
            .execute(&state.pool)
            .await?;
    }
    Ok((state.sessions.clear(), axum::Json(OkBody::yes())).into_response())
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
        Caller::ProjectAdmin { project_id, .. } => MeAnswer { kind: "token", csrf_token: None, project_id: Some(project_id) },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_drop_paths_and_case() {
        assert_eq!(origin_of("https://Sentori.example.com/dash/"), "https://sentori.example.com");
        assert_eq!(origin_of("http://localhost:8000"), "http://localhost:8000");
    }
}
