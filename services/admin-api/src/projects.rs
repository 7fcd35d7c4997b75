//! Projects and their tokens.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use sentori_protocol::TokenKind;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{AdminToken, Caller, OkBody, Operator};
use crate::error::ApiError;
use crate::extract::{Json, Path};

/// The caller may act on `project_id` and the project exists; `404` otherwise.
pub async fn scope(state: &AppState, caller: &Caller, project_id: Uuid) -> Result<(), ApiError> {
    caller.require_project(project_id)?;
    let exists: bool = sqlx::query_scalar!(r#"SELECT EXISTS (SELECT 1 FROM projects WHERE id = $1) AS "exists!""#, project_id)
        .fetch_one(&state.pool)
        .await?;
    if exists { Ok(()) } else { Err(ApiError::NotFound) }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectRow {
    pub id: Uuid,
    /// The last path segment of the project's Sentry DSNs.
    pub number: i64,
    pub name: String,
    #[schema(required)]
    pub platform: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Events that happened in the current and the previous 23 hours (clamped as in the issue histogram).
    pub event_count24h: i64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedProject {
    #[serde(flatten)]
    pub project: ProjectRow,
    /// The project's first public token, shown once.
    pub token: CreatedToken,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewProject {
    pub name: String,
    pub platform: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenRow {
    pub id: Uuid,
    pub kind: String,
    #[schema(required)]
    pub label: Option<String>,
    pub last4: String,
    /// `operator` (the dashboard login or the dev token), or the id of the admin token that created this one.
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(required)]
    pub revoked_at: Option<OffsetDateTime>,
    /// Public tokens only. The token itself is not stored, so this DSN shows
    /// the token masked (`st_pk_…` + its last 4 characters): copy the full
    /// DSN from the answer that created the token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dsn: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    pub id: Uuid,
    pub kind: String,
    #[schema(required)]
    pub label: Option<String>,
    /// The token itself: only its digest is stored, so this is the one chance to copy it.
    pub token: String,
    /// As in the token list: `operator` or the creating token's id.
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// For a public token: the Sentry DSN `http(s)://<token>@<ingest host>/<project number>`
    /// that any Sentry SDK reports to unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dsn: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewToken {
    pub label: Option<String>,
    /// `public` (default) or `admin`.
    pub kind: Option<String>,
}

/// Projects the caller may see, by name.
#[utoipa::path(get, path = "/projects", operation_id = "list_projects", tag = "projects",
    responses((status = 200, body = [ProjectRow])))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<axum::Json<Vec<ProjectRow>>, ApiError> {
    Ok(axum::Json(project_rows(&state, caller.project_id()).await?))
}

/// Every project by name, or only the project `only`.
async fn project_rows(state: &AppState, only: Option<Uuid>) -> Result<Vec<ProjectRow>, sqlx::Error> {
    sqlx::query_as!(
        ProjectRow,
        r#"SELECT p.id, p.number, p.name, p.platform, p.created_at,
                  coalesce((SELECT sum(h.count) FROM issue_hourly h
                             WHERE h.project_id = p.id AND h.hour >= date_trunc('hour', now()) - interval '23 hours'), 0)::bigint
                    AS "event_count24h!"
             FROM projects p WHERE $1::uuid IS NULL OR p.id = $1 ORDER BY p.name, p.id"#,
        only,
    )
    .fetch_all(&state.pool)
    .await
}

async fn fetch_project(state: &AppState, id: Uuid) -> Result<ProjectRow, ApiError> {
    project_rows(state, Some(id)).await?.pop().ok_or(ApiError::NotFound)
}

/// Create a project (operator only), with a first public token.
#[utoipa::path(post, path = "/projects", operation_id = "create_project", tag = "projects", request_body = NewProject,
    responses((status = 201, body = CreatedProject), (status = 400), (status = 403)))]
pub async fn create(
    State(state): State<AppState>,
    _operator: Operator,
    Json(body): Json<NewProject>,
) -> Result<impl IntoResponse, ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid("name", "must be 1 to 100 characters"));
    }
    let platform = body.platform.as_deref().map(str::trim).filter(|p| !p.is_empty());
    if platform.is_some_and(|p| p.chars().count() > 64) {
        return Err(ApiError::invalid("platform", "must be at most 64 characters"));
    }
    let Some(id) = sentori_store::projects::create(&state.pool, name, platform).await? else {
        return Err(ApiError::Conflict { code: "noOrg", message: "No organisation exists to hold the project".into() });
    };
    let (token_id, token) = sentori_store::tokens::create_token(&state.pool, id, TokenKind::Public, "default").await?;
    let project = fetch_project(&state, id).await?;
    let dsn = crate::dsn::build(&state.config.public_ingest_url, &token, project.number);
    let token = CreatedToken {
        id: token_id,
        kind: "public".into(),
        label: Some("default".into()),
        dsn,
        token,
        created_by: CreatedBy::Operator.to_string(),
        created_at: project.created_at,
    };
    Ok((StatusCode::CREATED, axum::Json(CreatedProject { project, token })))
}

/// A project's tokens, newest first, revoked ones included.
#[utoipa::path(get, path = "/projects/{pid}/tokens", tag = "projects", params(("pid" = Uuid, Path)),
    responses((status = 200, body = [TokenRow])))]
pub async fn tokens(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<Uuid>,
) -> Result<axum::Json<Vec<TokenRow>>, ApiError> {
    scope(&state, &caller, project_id).await?;
    let mut rows = sqlx::query!(
        r#"SELECT id, kind, NULLIF(label, '') AS label, last4, coalesce(created_by_token::text, 'operator') AS "created_by!",
                  created_at, revoked_at
             FROM tokens WHERE project_id = $1 ORDER BY created_at DESC, id DESC"#,
        project_id,
    )
    .map(|row| TokenRow {
        id: row.id,
        kind: row.kind,
        label: row.label,
        last4: row.last4,
        created_by: row.created_by,
        created_at: row.created_at,
        revoked_at: row.revoked_at,
        dsn: None,
    })
    .fetch_all(&state.pool)
    .await?;
    let number = project_number(&state, project_id).await?;
    for row in rows.iter_mut().filter(|row| row.kind == TokenKind::Public.as_str()) {
        let masked = format!("{}…{}", sentori_protocol::token::TOKEN_PREFIX, row.last4);
        row.dsn = crate::dsn::build(&state.config.public_ingest_url, &masked, number);
    }
    Ok(axum::Json(rows))
}

/// Who creates a token, as recorded in `tokens.created_by_token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CreatedBy {
    /// The dashboard login or the dev token.
    Operator,
    Token {
        id: Uuid,
        created_by_operator: bool,
    },
}

impl CreatedBy {
    async fn of(state: &AppState, caller: &Caller) -> Result<Self, ApiError> {
        let sha256 = match caller {
            Caller::Operator { .. } | Caller::ProjectAdmin { token: AdminToken::Dev, .. } => return Ok(CreatedBy::Operator),
            Caller::ProjectAdmin { token: AdminToken::Stored { sha256 }, .. } => sha256,
        };
        let row: Option<(Uuid, Option<Uuid>)> =
            sqlx::query!(
                "SELECT id, created_by_token FROM tokens WHERE token_sha256 = $1 AND revoked_at IS NULL",
                &sha256[..],
            )
            .map(|row| (row.id, row.created_by_token))
            .fetch_optional(&state.pool)
            .await?;
        // Revoked since the token cache vouched for it.
        let (id, creator) = row.ok_or(ApiError::Unauthorized)?;
        Ok(CreatedBy::Token { id, created_by_operator: creator.is_none() })
    }

    fn token_id(self) -> Option<Uuid> {
        match self {
            CreatedBy::Operator => None,
            CreatedBy::Token { id, .. } => Some(id),
        }
    }
}

impl std::fmt::Display for CreatedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CreatedBy::Operator => f.write_str("operator"),
            CreatedBy::Token { id, .. } => write!(f, "{id}"),
        }
    }
}

/// Create a token; the answer is the only time its value is shown. An admin
/// token may create admin tokens only if the operator created it: admin
/// tokens are at most one generation away from the operator, so a leaked one
/// cannot keep itself alive through a chain of successors.
#[utoipa::path(post, path = "/projects/{pid}/tokens", tag = "projects", params(("pid" = Uuid, Path)), request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = 400),
              (status = 403, description = "an admin token created by another token asked for an admin token")))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<Uuid>,
    Json(body): Json<NewToken>,
) -> Result<impl IntoResponse, ApiError> {
    scope(&state, &caller, project_id).await?;
    let kind = match body.kind.as_deref() {
        None => TokenKind::Public,
        Some(kind) => TokenKind::parse(kind).ok_or_else(|| ApiError::invalid("kind", "must be public or admin"))?,
    };
    let label = body.label.as_deref().map(str::trim).unwrap_or("");
    if label.chars().count() > 100 {
        return Err(ApiError::invalid("label", "must be at most 100 characters"));
    }
    let created_by = CreatedBy::of(&state, &caller).await?;
    if kind == TokenKind::Admin && matches!(created_by, CreatedBy::Token { created_by_operator: false, .. }) {
        return Err(ApiError::Forbidden {
            hint: "this admin token was created by another token, so it may create only public tokens; \
                   ask the operator (dashboard login) for an admin token",
        });
    }
    let (id, token) = sentori_store::tokens::create_token_by(&state.pool, project_id, kind, label, created_by.token_id()).await?;
    let created_at: OffsetDateTime =
        sqlx::query_scalar!("SELECT created_at FROM tokens WHERE id = $1", id).fetch_one(&state.pool).await?;
    let label = (!label.is_empty()).then(|| label.to_owned());
    let created_by = created_by.to_string();
    let dsn = match kind {
        TokenKind::Public => crate::dsn::build(&state.config.public_ingest_url, &token, project_number(&state, project_id).await?),
        TokenKind::Admin => None,
    };
    let created = CreatedToken { id, kind: kind.as_str().into(), label, token, created_by, created_at, dsn };
    Ok((StatusCode::CREATED, axum::Json(created)))
}

async fn project_number(state: &AppState, project_id: Uuid) -> Result<i64, ApiError> {
    Ok(sqlx::query_scalar!("SELECT number FROM projects WHERE id = $1", project_id).fetch_one(&state.pool).await?)
}

/// Revoke a token; it stays listed with `revokedAt`.
#[utoipa::path(delete, path = "/projects/{pid}/tokens/{tid}", tag = "projects",
    params(("pid" = Uuid, Path), ("tid" = Uuid, Path)), responses((status = 200, body = OkBody), (status = 404)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_id, token_id)): Path<(Uuid, Uuid)>,
) -> Result<axum::Json<OkBody>, ApiError> {
    scope(&state, &caller, project_id).await?;
    let done = sqlx::query!(
        "UPDATE tokens SET revoked_at = coalesce(revoked_at, now()) WHERE project_id = $1 AND id = $2",
        project_id,
        token_id,
    )
    .execute(&state.pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::NotFound);
    }
    Ok(axum::Json(OkBody::yes()))
}
