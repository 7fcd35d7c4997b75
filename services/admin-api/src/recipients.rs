//! Notification recipients of a project.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::auth::{Caller, OkBody};
use crate::error::ApiError;
use crate::extract::{Json, Path};
use crate::projects::scope;

// Every query here answers these columns (`query_as!` checks them against the fields).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecipientRow {
    pub id: Uuid,
    pub email: String,
    pub on_new_issue: bool,
    pub on_regression: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NewRecipient {
    pub email: String,
    pub on_new_issue: Option<bool>,
    pub on_regression: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecipientChange {
    pub on_new_issue: Option<bool>,
    pub on_regression: Option<bool>,
}

/// A deliberately plain address check: one `@`, a local part, a dotted
/// domain, no spaces or control characters. Deliverability is the mail
/// server's business.
pub fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else { return false };
    email.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && email.chars().all(|c| !c.is_whitespace() && !c.is_control() && !matches!(c, '<' | '>' | '"' | ',' | ';'))
}

/// Recipients by email.
#[utoipa::path(get, path = "/projects/{pid}/recipients", operation_id = "list_recipients", tag = "recipients",
    params(("pid" = Uuid, Path)),
    responses((status = 200, body = [RecipientRow])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<Uuid>,
) -> Result<axum::Json<Vec<RecipientRow>>, ApiError> {
    scope(&state, &caller, project_id).await?;
    let rows = sqlx::query_as!(
        RecipientRow,
        "SELECT id, email, on_new_issue, on_regression, created_at FROM recipients WHERE project_id = $1 ORDER BY lower(email), id",
        project_id,
    )
    .fetch_all(&state.pool)
    .await?;
    Ok(axum::Json(rows))
}

/// Add a recipient.
#[utoipa::path(post, path = "/projects/{pid}/recipients", operation_id = "create_recipient", tag = "recipients",
    params(("pid" = Uuid, Path)),
    request_body = NewRecipient,
    responses((status = 201, body = RecipientRow), (status = 400, description = "invalidEmail"), (status = 409, description = "duplicate")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_id): Path<Uuid>,
    Json(body): Json<NewRecipient>,
) -> Result<impl IntoResponse, ApiError> {
    scope(&state, &caller, project_id).await?;
    let email = body.email.trim();
    if !valid_email(email) {
        return Err(ApiError::BadRequest { code: "invalidEmail", message: format!("\"{email}\" is not an email address") });
    }
    let inserted = sqlx::query_as!(
        RecipientRow,
        "INSERT INTO recipients (project_id, id, email, on_new_issue, on_regression)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id, email, on_new_issue, on_regression, created_at",
        project_id,
        Uuid::now_v7(),
        email,
        body.on_new_issue.unwrap_or(true),
        body.on_regression.unwrap_or(true),
    )
    .fetch_optional(&state.pool)
    .await?;
    match inserted {
        Some(row) => Ok((StatusCode::CREATED, axum::Json(row))),
        None => Err(ApiError::Conflict { code: "duplicate", message: format!("{email} already receives this project's emails") }),
    }
}

/// Change what a recipient is told about.
#[utoipa::path(patch, path = "/projects/{pid}/recipients/{rid}", operation_id = "update_recipient", tag = "recipients",
    params(("pid" = Uuid, Path), ("rid" = Uuid, Path)), request_body = RecipientChange,
    responses((status = 200, body = RecipientRow), (status = 404)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_id, recipient_id)): Path<(Uuid, Uuid)>,
    Json(body): Json<RecipientChange>,
) -> Result<axum::Json<RecipientRow>, ApiError> {
    scope(&state, &caller, project_id).await?;
    let row = sqlx::query_as!(
        RecipientRow,
        "UPDATE recipients SET on_new_issue = coalesce($3, on_new_issue), on_regression = coalesce($4, on_regression)
          WHERE project_id = $1 AND id = $2 RETURNING id, email, on_new_issue, on_regression, created_at",
        project_id,
        recipient_id,
        body.on_new_issue,
        body.on_regression,
    )
    .fetch_optional(&state.pool)
    .await?
    .ok_or(ApiError::NotFound)?;
    Ok(axum::Json(row))
}

/// Remove a recipient.
#[utoipa::path(delete, path = "/projects/{pid}/recipients/{rid}", tag = "recipients",
    params(("pid" = Uuid, Path), ("rid" = Uuid, Path)), responses((status = 200, body = OkBody), (status = 404)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_id, recipient_id)): Path<(Uuid, Uuid)>,
) -> Result<axum::Json<OkBody>, ApiError> {
    scope(&state, &caller, project_id).await?;
    let done = sqlx::query!("DELETE FROM recipients WHERE project_id = $1 AND id = $2", project_id, recipient_id)
        .execute(&state.pool)
        .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::NotFound);
    }
    Ok(axum::Json(OkBody::yes()))
}

#[cfg(test)]
mod tests {
    use super::valid_email;

    #[test]
    fn plain_addresses_pass_and_junk_fails() {
        assert!(valid_email("ops@example.com"));
        assert!(valid_email("first.last+tag@sub.example.co.uk"));
        for bad in ["", "nobody", "@example.com", "a@b", "a b@example.com", "a@example..com", "a@.example.com", "<a@b.c>"] {
            assert!(!valid_email(bad), "{bad}");
        }
    }
}
